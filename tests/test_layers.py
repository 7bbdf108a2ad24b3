"""The project's floors: every module of autograd_mini and nn sits on one, and imports only from
its own floor or the floors below (function-level imports count), with no import circle.

A new module fails here until it is given a floor: add its name to ``FLOORS``.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("autograd_mini", "nn")

# Bottom to top. A name ending in ".*" covers a package's modules not named elsewhere.
FLOORS = [
    ("numbers", ["autograd_mini.floats", "autograd_mini.context", "autograd_mini.files"]),
    ("node", ["autograd_mini.value"]),
    ("table", ["autograd_mini.ops"]),
    ("walks", ["autograd_mini.graph", "autograd_mini.functional", "autograd_mini.check"]),
    ("compiler and views", [
        "autograd_mini.compiler", "autograd_mini.compiler.*", "autograd_mini.compile",
        "autograd_mini.expr", "autograd_mini.labels", "autograd_mini.groups", "autograd_mini.viz",
        "autograd_mini.render", "autograd_mini.display", "autograd_mini.trace",
        "autograd_mini.recording", "autograd_mini.player"]),
    ("autograd_mini's public names", ["autograd_mini"]),
    ("nn", ["nn", "nn.*"]),
    ("faces", ["autograd_mini.cli", "autograd_mini.__main__", "autograd_mini.demo",
               "autograd_mini.micrograd", "autograd_mini.micrograd_nn", "autograd_mini.runner",
               "autograd_mini.site",
               "autograd_mini.playground", "nn.cli"]),
]

def floor_of(module: str) -> int:
    """The index in ``FLOORS`` of a module (an exact name wins over a ``package.*``)."""
    for exact in (True, False):
        for level, (_, names) in enumerate(FLOORS):
            for name in names:
                if name == module if exact else \
                        name.endswith(".*") and module.startswith(name[:-1]):
                    return level
    raise LookupError(f"{module} is on no floor: add it to FLOORS in tests/test_layers.py "
                      f"(bottom to top: {' -> '.join(floor for floor, _ in FLOORS)})")


def project_modules() -> dict[str, pathlib.Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: pathlib.Path, known) -> set[str]:
    """The project modules ``module`` imports anywhere in its file (top level or in a function).

    ``from package import name`` counts as importing the submodule ``package.name`` when there
    is one, else the package itself (its ``__init__``'s public names)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else source)
    return {name for name in found if name.split(".")[0] in PACKAGES}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def test_every_module_is_on_a_floor(graph):
    unplaced = []
    for module in graph:
        try:
            floor_of(module)
        except LookupError as error:
            unplaced.append(str(error))
    assert not unplaced, "\n".join(unplaced)


def upward_imports(graph) -> list[str]:
    return [f"{module} ({FLOORS[floor_of(module)][0]}) imports {target} "
            f"({FLOORS[floor_of(target)][0]})"
            for module, targets in sorted(graph.items()) for target in sorted(targets)
            if target in graph and floor_of(target) > floor_of(module)]


def import_circles(graph) -> list[str]:
    """One circle (at least) through each module that is the least of some circle."""
    circles = []
    for start in sorted(graph):  # a depth-first search from each module back to itself
        stack, seen = [(start, [start])], set()
        while stack:
            module, path = stack.pop()
            for target in sorted(graph.get(module, ())):
                if target == start:
                    circles.append(" -> ".join(path + [start]))
                elif target not in seen and target > start:  # each circle from its least
                    seen.add(target)
                    stack.append((target, path + [target]))
    return circles


def test_nothing_imports_upward(graph):
    upward = upward_imports(graph)
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_circle(graph):
    circles = import_circles(graph)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_checks_see_an_upward_import_and_a_circle(tmp_path):
    """The tests above can fail: a function-level upward import and a circle are both found."""
    (tmp_path / "value.py").write_text("def f():\n    from .viz import draw\n")
    (tmp_path / "viz.py").write_text("from . import value\n")
    known = {"autograd_mini.value", "autograd_mini.viz"}
    found = {name: imports_of(name, tmp_path / f"{name.split('.')[1]}.py", known) for name in known}
    assert found == {"autograd_mini.value": {"autograd_mini.viz"},
                     "autograd_mini.viz": {"autograd_mini.value"}}
    assert upward_imports(found) == [
        "autograd_mini.value (node) imports autograd_mini.viz (compiler and views)"]
    assert import_circles(found) == [
        "autograd_mini.value -> autograd_mini.viz -> autograd_mini.value"]
    with pytest.raises(LookupError, match="autograd_mini.nonesuch is on no floor: add it to FLOORS"):
        floor_of("autograd_mini.nonesuch")


def test_import_autograd_mini_loads_no_nn_and_no_face():
    code = ("import sys, autograd_mini; print(sorted(m for m in sys.modules if m == 'nn' or "
            "m.startswith('nn.') or m in ('autograd_mini.cli', 'autograd_mini.demo', "
            "'autograd_mini.micrograd', 'autograd_mini.runner')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout.strip()
    assert loaded == "[]"
