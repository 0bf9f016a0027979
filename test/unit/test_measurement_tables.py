"""The published numbers are the JSON files' numbers: every generated table in README.md and
docs/measurements.md renders from benchmarks/results/ exactly as committed, every result carries
its provenance, and no measured number is typed outside a generated block."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
MEASURED_UNITS = re.compile(r"\d[\d,.]*\s?(ms|µs|frames/s|images/s|MiB|GiB|Hz per camera)\b")


def load_script(name: str):
    """A benchmarks/ script as a module (it is not a package)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


tables = load_script("tables")
run_all = load_script("run_all")


@pytest.mark.parametrize("document", tables.DOCUMENTS, ids=lambda path: path.name)
def test_generated_tables_match_the_json(document: Path) -> None:
    text = document.read_text()
    assert tables.BLOCK.search(text), f"{document.name} has no generated block"
    assert tables.regenerate(text) == text, "stale: run python benchmarks/tables.py --write"


def test_every_table_is_published_once_and_every_benchmark_has_its_json() -> None:
    names = [m.group(2) for doc in tables.DOCUMENTS for m in tables.BLOCK.finditer(doc.read_text())]
    assert sorted(names) == sorted(tables.TABLES)
    for benchmark in run_all.BENCHMARKS:
        report = json.loads((RESULTS / f"{benchmark.name}.json").read_text())
        stamp = report["provenance"]
        assert re.fullmatch(r"[0-9a-f]{40}", stamp["machine"]["git"]["commit"])
        assert stamp["command"][0] == "python" and stamp["wall_s"] > 0
    published = {path.stem for path in RESULTS.glob("*.json")}
    assert published == {benchmark.name for benchmark in run_all.BENCHMARKS}, (
        "every JSON in benchmarks/results/ comes from benchmarks/run_all.py"
    )


def outside_generated_blocks(text: str) -> str:
    return tables.BLOCK.sub("", text)


def test_no_measured_number_is_typed_by_hand() -> None:
    for document in tables.DOCUMENTS:
        text = document.read_text()
        typed = [m.group(0) for m in MEASURED_UNITS.finditer(outside_generated_blocks(text))]
        assert not typed, f"{document.name} has measured numbers outside generated tables: {typed}"


def test_a_hand_edited_table_is_caught_and_regenerated() -> None:
    document = (REPO / "docs" / "measurements.md").read_text()
    block = tables.BLOCK.search(document)
    edited = block.group(1) + "| typed by hand | 1 ms |\n" + block.group(3) + block.group(4)
    stale = document.replace(block.group(0), edited, 1)
    assert tables.regenerate(stale) != stale
    assert tables.regenerate(stale) == document


def test_every_benchmark_script_imports_against_the_current_package() -> None:
    """A moved or renamed module breaks a benchmark only when it runs: import them all here."""
    scripts = sorted((REPO / "benchmarks").glob("*.py"))
    for script in scripts:
        load_script(script.stem)
    named = {shlex.split(b.arguments)[0] for b in run_all.BENCHMARKS} - {"-m"}
    assert all((REPO / path).is_file() for path in named), named
