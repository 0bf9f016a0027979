"""Fetch and cache the official HybridNets weights (paper release v1.0)."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ..errors import CheckpointError, OutputError
from ..fileio import atomic_output

OFFICIAL_URL = "https://github.com/datvuthanh/HybridNets/releases/download/v1.0/hybridnets.pth"
OFFICIAL_FILENAME = "hybridnets.pth"
CHUNK_BYTES = 1 << 20
URL_SCHEMES = ("https", "http", "file")


def cache_dir() -> Path:
    """$HYBRIDNETS_HOME, else $XDG_CACHE_HOME/hybridnets, else ~/.cache/hybridnets."""
    if os.environ.get("HYBRIDNETS_HOME"):
        return Path(os.environ["HYBRIDNETS_HOME"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hybridnets"


def cached_official_weights() -> Path:
    """Where `hybridnets weights download` puts the official file."""
    return cache_dir() / OFFICIAL_FILENAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str, destination: Path, expected_sha256: str | None = None, timeout: float = 30.0
) -> Path:
    """Stream `url` to `destination` with a progress bar, checking its size and hash.

    The file appears only when complete and verified; on any failure nothing is left behind.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES or not (parts.netloc or parts.path):
        raise CheckpointError(
            f"--url {url!r} is not a download address; give an https://, http:// or file:// URL"
        )
    if destination.is_dir():
        raise OutputError(f"{destination} is a folder; pass the file to write as --dest")
    with atomic_output(destination) as temporary:
        try:
            with (
                urllib.request.urlopen(url, timeout=timeout) as response,
                temporary.open("wb") as output,
            ):
                expected_size = int(response.headers.get("Content-Length") or 0)
                received = 0
                with tqdm(total=expected_size or None, unit="B", unit_scale=True) as bar:
                    for block in iter(lambda: response.read(CHUNK_BYTES), b""):
                        output.write(block)
                        received += len(block)
                        bar.update(len(block))
        except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CheckpointError(
                f"cannot download {url} ({reason}); fetch it by hand and save it as {destination}"
            ) from exc
        if expected_size and received != expected_size:
            raise CheckpointError(
                f"download of {url} stopped at {received} of {expected_size} bytes; run it again"
            )
        digest = sha256_of(temporary)
        if expected_sha256 and digest != expected_sha256.lower():
            raise CheckpointError(
                f"{url} has sha256 {digest}, expected {expected_sha256}; the file was not saved"
            )
    return destination
