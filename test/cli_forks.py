"""Run many `hybridnets` command lines as real child processes, paying the import once.

`run_cli_processes(cases)` starts one Python interpreter that imports the CLI and then forks a
fresh process per case. Each child has its own stdout/stderr files and exit status; an uncaught
exception prints its traceback and exits 1 exactly as the interpreter would, and a case that
hangs is killed by SIGALRM after CASE_TIMEOUT_S. `extra_path` is put first on PYTHONPATH of the
interpreter (e.g. a sitecustomize that blocks an optional package).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CASE_TIMEOUT_S = 60
ROOT = Path(__file__).resolve().parents[1]

_SERVER = r"""
import json, os, signal, sys, tempfile, traceback
from hybridnets_core.cli.main import main

try:  # what most commands load (the CLI imports it lazily): once here, not in every child
    import hybridnets_core.inference.pipeline, hybridnets_core.model.hybridnets
except ImportError:  # torch blocked on purpose: the children see the same
    pass

def child(case, out, err):
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.environ.update(case.get("env", {}))
    if case.get("cwd"):
        os.chdir(case["cwd"])
    signal.alarm(case["timeout"])
    try:
        code = main(case["argv"])
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

results = []
for case in json.load(sys.stdin):
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        child(case, out.fileno(), err.fileno())
    _, status = os.waitpid(pid, 0)
    texts = []
    for stream in (out, err):
        stream.seek(0)
        texts.append(stream.read().decode(errors="replace"))
    code = os.waitstatus_to_exitcode(status)
    results.append({"code": code, "stdout": texts[0], "stderr": texts[1]})
print(json.dumps(results))
"""


@dataclass
class Outcome:
    """What one command line did: exit code (negative: killed by that signal) and output."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def one_line_error(self, command: str) -> str:
        """The error line; AssertionError unless this is a clean `hybridnets COMMAND: error:`
        with exit code 2 and no traceback."""
        lines = self.stderr.strip().splitlines()
        prefix = f"hybridnets {command}: error:"
        assert self.code == 2, (self.argv, self.code, self.stderr[-2000:])
        assert "Traceback" not in self.stderr, (self.argv, self.stderr[-2000:])
        errors = [line for line in lines if line.startswith(prefix)]
        assert len(errors) == 1 and lines[-1] == errors[0], (self.argv, self.stderr[-2000:])
        return errors[0]


def run_cli_processes(
    cases: list[list[object]],
    extra_path: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> list[Outcome]:
    """Run every argv (without the leading `hybridnets`) in its own child process."""
    argvs = [[str(a) for a in case] for case in cases]
    payload = [
        {"argv": argv, "env": env or {}, "cwd": str(cwd) if cwd else None,
         "timeout": CASE_TIMEOUT_S}
        for argv in argvs
    ]  # fmt: skip
    paths = [str(extra_path)] if extra_path else []
    server_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*paths, str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _SERVER],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=server_env,
        timeout=CASE_TIMEOUT_S * len(cases) + 120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return [Outcome(argv, r["code"], r["stdout"], r["stderr"]) for argv, r in zip(argvs, results)]
