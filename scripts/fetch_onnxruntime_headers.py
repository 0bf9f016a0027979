#!/usr/bin/env python3
"""Fetch ONNX Runtime's C/C++ headers (Debian's libonnxruntime-dev) into a folder.

The onnxruntime wheel ships no headers, and our native INT8 op (hybridnets_core/native) needs
onnxruntime_c_api.h to build. The package is resolved through the suite's index and checked
against its SHA-256. Only the stable C ABI is used, so headers older than the installed
onnxruntime are fine.

Usage: scripts/fetch_onnxruntime_headers.py DEST   (e.g. .venv/include/onnxruntime)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = os.environ.get("ONNXRUNTIME_HEADERS_SUITE", "trixie")
PACKAGE = "libonnxruntime-dev"
HEADER_PREFIX = "./usr/include/onnxruntime/"
AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def package_entry(index: str) -> tuple[str, str]:
    """(Filename, SHA256) of PACKAGE in a Packages index."""
    for stanza in index.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") == PACKAGE:
            return fields["Filename"], fields["SHA256"]
    raise SystemExit(f"{PACKAGE} is not in {SUITE}; set ONNXRUNTIME_HEADERS_SUITE")


def ar_members(archive: bytes) -> dict[str, bytes]:
    """Members of a .deb (an ar archive) by name."""
    if not archive.startswith(AR_MAGIC):
        raise SystemExit("downloaded file is not a .deb archive")
    members, offset = {}, len(AR_MAGIC)
    while offset + AR_HEADER_SIZE <= len(archive):
        header = archive[offset : offset + AR_HEADER_SIZE]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        start = offset + AR_HEADER_SIZE
        members[name] = archive[start : start + size]
        offset = start + size + size % 2  # members are 2-byte aligned
    return members


def extract_headers(deb: bytes, dest: Path) -> list[str]:
    """Write the package's onnxruntime headers into dest (atomically, via a temp folder)."""
    data = next(blob for name, blob in ar_members(deb).items() if name.startswith("data.tar"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".onnxruntime_headers_", dir=dest.parent))
    written = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(HEADER_PREFIX):
                relative = Path(member.name[len(HEADER_PREFIX) :])
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
                written.append(str(relative))
    staging.chmod(0o755)  # mkdtemp makes it private; headers are for every user's builds
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to hold onnxruntime_c_api.h")
    dest = parser.parse_args().dest
    if (dest / "onnxruntime_c_api.h").is_file():
        print(f"onnxruntime headers already in {dest}")
        return 0
    index = lzma.decompress(download(f"{MIRROR}/dists/{SUITE}/main/binary-amd64/Packages.xz"))
    filename, sha256 = package_entry(index.decode())
    deb = download(f"{MIRROR}/{filename}")
    if hashlib.sha256(deb).hexdigest() != sha256:
        raise SystemExit(f"{filename}: SHA-256 does not match the {SUITE} index")
    headers = extract_headers(deb, dest)
    print(f"{len(headers)} onnxruntime headers from {Path(filename).name} in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
