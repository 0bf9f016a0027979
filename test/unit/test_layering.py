"""The package's structure, checked on its source: no import cycles between modules, no import
from a lower layer into a higher one, no ROS in hybridnets_core, few modules at its top."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "hybridnets_core"
PACKAGE = "hybridnets_core"
MAX_TOP_MODULES = 8
# What each layer may import besides itself, bottom to top. `base` is the top-level modules
# (errors, limits, settings, fileio, media, provenance) and the package's own __init__.
ALLOWED = {
    "base": set(),
    "model": {"base"},
    "native": {"base"},
    "decoding": {"base", "model"},
    "runtime": {"base", "model", "native", "decoding"},
    "inference": {"base", "model", "decoding", "runtime"},
    "export": {"base", "model", "native", "decoding", "runtime", "inference"},
    "scene": {"base", "model", "decoding", "inference"},
    "outputs": {"base", "model", "decoding", "inference", "scene"},
    "serving": {"base", "model", "decoding", "inference", "scene", "outputs"},
    "data": {"base", "model", "decoding", "inference"},
    "synth": {"base", "model", "decoding", "inference", "scene"},
    "evaluation": {"base", "model", "decoding", "inference", "scene", "data"},
    "training": {"base", "model", "decoding", "runtime", "inference", "data", "evaluation"},
    "bag": {
        "base", "model", "decoding", "runtime", "inference", "scene", "outputs", "serving",
        "data", "synth", "evaluation",
    },
    "cli": {
        "base", "model", "native", "decoding", "runtime", "inference", "export", "scene",
        "outputs", "serving", "data", "synth", "evaluation", "training", "bag",
    },
}  # fmt: skip
FORBIDDEN_ROOTS = ("rclpy", "hybridnets_ros")


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of hybridnets_core (packages by __init__)."""
    modules = {}
    for path in sorted(CORE.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(CORE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path, modules: set[str]) -> set[str]:
    """Every module `module` imports anywhere in its file (top level, functions, TYPE_CHECKING),
    absolute: `from X import y` counts as X.y when that is one of `modules`, else as X."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                member = f"{source}.{alias.name}"
                names.add(member if member in modules else source)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of hybridnets_core it imports."""
    modules = module_files()
    known = set(modules)
    return {
        module: (imported_names(module, path, known) & known) - {module}
        for module, path in modules.items()
    }


def layer_of(module: str) -> str:
    """The subpackage a module belongs to, or "base" for the top-level modules."""
    inner = module.split(".")[1:]
    is_package = len(inner) > 1 or (inner and (CORE / inner[0]).is_dir())
    return inner[0] if is_package else "base"


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules (first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_the_allowed_table_is_layered() -> None:
    """The table itself has no cycle, names only known layers, and covers every subpackage."""
    layers = {name: set(allowed) for name, allowed in ALLOWED.items()}
    assert find_cycle(layers) == []
    assert set().union(*ALLOWED.values()) <= set(ALLOWED)
    assert {layer_of(module) for module in module_files()} == set(ALLOWED)


def test_no_import_cycles() -> None:
    assert find_cycle(import_graph()) == []


def test_no_upward_imports() -> None:
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if layer_of(target) != layer_of(module)
        and layer_of(target) not in ALLOWED[layer_of(module)]
    ]
    assert upward == []


def test_core_never_imports_ros() -> None:
    modules = module_files()
    found = [
        f"{module} imports {name}"
        for module, path in modules.items()
        for name in sorted(imported_names(module, path, set(modules)))
        if name.split(".")[0] in FORBIDDEN_ROOTS
    ]
    assert found == []


def test_few_modules_at_the_top() -> None:
    top = [path.name for path in CORE.glob("*.py") if path.name != "__init__.py"]
    assert len(top) <= MAX_TOP_MODULES, sorted(top)


def test_the_checks_see_real_imports() -> None:
    """The graph finds known edges (relative, nested, TYPE_CHECKING-guarded and lazy ones), so
    an empty list above means no violation rather than an empty graph."""
    graph = import_graph()
    assert "hybridnets_core.model.config" in graph["hybridnets_core.model.anchors"]
    assert "hybridnets_core.decoding.boxes" in graph["hybridnets_core.scene.tracking.tracker"]
    assert "hybridnets_core.runtime.torch_runtime" in graph["hybridnets_core.runtime.backends"]
    assert "hybridnets_core.runtime.base" in graph["hybridnets_core.runtime.raw_outputs"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert layer_of("hybridnets_core.inference.pipeline") == "inference"
    assert layer_of("hybridnets_core.decoding.nms") == "decoding"
    assert layer_of("hybridnets_core.errors") == "base"
    assert layer_of("hybridnets_core.scene.tracking.tracker") == "scene"
