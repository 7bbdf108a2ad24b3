"""micrograd's import names answered by this project, so micrograd code runs unchanged.

Code written for micrograd (https://github.com/karpathy/micrograd) says
``from micrograd.engine import Value`` and ``from micrograd.nn import MLP``. While the aliases are
installed, ``micrograd`` is a package of this project, ``micrograd.engine.Value`` is
``autograd_mini.Value`` and ``micrograd.nn`` holds ``nn``'s ``Module``, ``Neuron``, ``Layer`` and
``MLP`` (``autograd_mini.micrograd_nn``: nn's classes reading a list of another length as
micrograd's zip does; micrograd's API: ``MLP(2, [16, 16, 1])``, ``Neuron(nin, nonlin=False)``,
``parameters()``, ``zero_grad()``). Nothing is installed on import and nothing is written to
disk: a finder goes first on ``sys.meta_path`` and leaves again, and whatever was imported under
those names before comes back, so a real micrograd installed next to this project is untouched
outside the aliased run.

Three ways in: ``autograd-mini run SCRIPT`` (or ``run -m MODULE``) from a shell,
``%load_ext autograd_mini.micrograd`` in Jupyter/IPython, and ``aliased()`` in Python:

>>> from autograd_mini import Value, micrograd
>>> with micrograd.aliased():
...     from micrograd.engine import Value as MicrogradValue
...     from micrograd.nn import MLP
>>> MicrogradValue is Value, MLP(2, [3, 1]).num_parameters()
(True, 13)
"""
from __future__ import annotations

import contextlib
import os
import sys
from importlib.machinery import ModuleSpec
from typing import Iterator

NAMES = ("micrograd", "micrograd.engine", "micrograd.nn")


def _is_micrograd(name: str) -> bool:
    return name == "micrograd" or name.startswith("micrograd.")


def _fill_package(module) -> None:
    module.__doc__ = ("micrograd's names served by autograd_mini (see autograd_mini.micrograd); "
                      "micrograd.engine and micrograd.nn are this project's engine and nn.")


def _fill_engine(module) -> None:
    from autograd_mini import Value
    module.Value = Value
    module.__doc__ = "micrograd.engine served by autograd_mini: Value is autograd_mini.Value."


def _fill_nn(module) -> None:
    import nn
    ours = os.path.join(os.path.dirname(engine_location()), "nn")
    if os.path.dirname(os.path.abspath(getattr(nn, "__file__", None) or "?")) != ours:
        raise ImportError(f"micrograd.nn is served by autograd_mini's nn package ({ours}), but "
                          f"the name nn is taken by {getattr(nn, '__file__', None) or nn!r}; "
                          "rename that module or folder")
    from . import micrograd_nn
    # micrograd's nn.py exposes exactly these (it imports random and Value at its top)
    for name in micrograd_nn.__all__:
        setattr(module, name, getattr(micrograd_nn, name))
    module.__doc__ = micrograd_nn.__doc__.split("\n\n")[0]


_FILL = {"micrograd": _fill_package, "micrograd.engine": _fill_engine, "micrograd.nn": _fill_nn}


class _MicrogradFinder:
    """Finds and loads the three micrograd modules (a meta-path finder and its loader in one)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _FILL:
            return None  # any other micrograd.x: not found in our package's empty __path__
        spec = ModuleSpec(fullname, self, origin=f"autograd_mini ({engine_location()})",
                          is_package=fullname == "micrograd")
        if fullname == "micrograd":
            spec.submodule_search_locations = []
        return spec

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module) -> None:
        _FILL[module.__name__](module)

    def __repr__(self) -> str:
        return "<autograd_mini's micrograd aliases>"


class _AliasesInChild:
    """Sent to each child process multiprocessing starts with ``spawn`` or ``forkserver`` (in
    the data it unpickles before re-importing the parent's main module), where unpickling it
    installs the aliases: without them the child cannot import the script, and a Pool waits."""

    def __reduce__(self):
        return install, ()


def _spawned_children_get_aliases(on: bool) -> None:
    import multiprocessing.spawn as spawn
    original = getattr(spawn.get_preparation_data, "__wrapped__", spawn.get_preparation_data)
    if not on:
        spawn.get_preparation_data = original
        return

    def get_preparation_data(name):
        data = original(name)
        data["autograd_mini.micrograd"] = _AliasesInChild()
        return data
    get_preparation_data.__wrapped__ = original
    spawn.get_preparation_data = get_preparation_data


# -- graphviz without the system `dot`: micrograd's draw_dot builds a graphviz.Digraph ------------

def _graphviz_falls_back_to_wasm(on: bool) -> None:
    """While the aliases are on, a ``graphviz`` command that fails for want of the program
    ``dot`` (``ExecutableNotFound``: micrograd's most common setup failure) is run by the
    embedded WebAssembly Graphviz instead: SVG through ``pipe()``, Jupyter's display and
    ``render()``. Other formats and layout engines still need the system Graphviz."""
    try:
        from graphviz.backend import execute
    except ImportError:  # graphviz is not installed: draw_dot code fails as it would anyway
        return
    original = getattr(execute.run_check, "__wrapped__", execute.run_check)
    if not on:
        execute.run_check = original
        return

    def run_check(cmd, *, input_lines=None, encoding=None, quiet=False, **kwargs):
        try:
            return original(cmd, input_lines=input_lines, encoding=encoding, quiet=quiet,
                            **kwargs)
        except execute.ExecutableNotFound as missing:
            return _dot_in_wasm(cmd, input_lines, encoding, kwargs, missing)
    run_check.__wrapped__ = original
    execute.run_check = run_check


def _dot_in_wasm(cmd, input_lines, encoding, kwargs, missing):
    """``dot -Kdot -Tsvg [-O FILE | -o OUT FILE | < stdin]`` as the system ``dot`` runs it."""
    import subprocess

    from .files import write_atomic
    from .render import RendererMissing, render
    args = [os.fspath(arg) for arg in cmd]
    folder = kwargs.get("cwd") or "."
    source = output = None
    options = iter(args[1:])
    for arg in options:
        if arg in ("-O", "-o"):
            target = next(options)
            if arg == "-o":
                output = target
            else:
                source, output = target, target + ".svg"
        elif arg in ("-Kdot", "-Tsvg"):
            continue
        elif arg.startswith("-"):  # another engine, format or flag: the system dot's work
            missing.args = (f"{missing.args[0]}; without it, micrograd code under autograd_mini "
                            f"draws through the embedded WebAssembly Graphviz, which makes SVG "
                            f"with the dot layout only (not {arg})",)
            raise missing
        else:
            source = arg
    if source is not None:
        with open(os.path.join(folder, source), encoding="utf-8") as file:
            text = file.read()
    elif input_lines is not None:
        text = "".join(line.decode() if isinstance(line, bytes) else line
                       for line in input_lines)
    else:
        text = kwargs.get("input") or ""
        text = text.decode() if isinstance(text, bytes) else text
    try:
        svg, _ = render(text, "svg", "wasm")
    except RendererMissing:
        raise missing from None
    if output is not None:
        write_atomic(os.path.join(folder, output), svg)
        svg = b""
    return subprocess.CompletedProcess(args, 0, svg.decode(encoding) if encoding else svg,
                                       "" if encoding else b"")


_FINDER = _MicrogradFinder()
_saved: dict = {}  # micrograd modules imported before install(), put back by uninstall()


def installed() -> bool:
    """Are the aliases on?"""
    return _FINDER in sys.meta_path


def install() -> None:
    """Answer ``micrograd``, ``micrograd.engine`` and ``micrograd.nn`` with this project.

    Modules already imported under micrograd's names are set aside (``uninstall`` restores
    them), so the next ``import micrograd.engine`` gets this engine, and so do the child processes
    multiprocessing starts with ``spawn`` meanwhile. Calling it twice is harmless.
    """
    if installed():
        return
    _saved.clear()
    for name in [name for name in sys.modules if _is_micrograd(name)]:
        _saved[name] = sys.modules.pop(name)
    sys.meta_path.insert(0, _FINDER)
    _spawned_children_get_aliases(True)
    _graphviz_falls_back_to_wasm(True)


def uninstall() -> None:
    """Take the aliases away and put back whatever micrograd modules were there before."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    _spawned_children_get_aliases(False)
    _graphviz_falls_back_to_wasm(False)
    for name in [name for name in sys.modules if _is_micrograd(name)]:
        del sys.modules[name]
    sys.modules.update(_saved)
    _saved.clear()


@contextlib.contextmanager
def aliased() -> Iterator[None]:
    """``install()`` for the duration of a ``with`` block (the state before is restored after)."""
    was_on = installed()
    install()
    try:
        yield
    finally:
        if not was_on:
            uninstall()


def engine_location() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def engine_line() -> str:
    """The one line that says which engine runs micrograd code."""
    from autograd_mini import __version__
    return (f"autograd-mini: micrograd, micrograd.engine and micrograd.nn are autograd_mini "
            f"{__version__} ({engine_location()}), not micrograd")


# -- IPython / Jupyter: %load_ext autograd_mini.micrograd ------------------------------------------


def load_ipython_extension(ipython) -> None:
    """``%load_ext autograd_mini.micrograd``: micrograd imports in later cells get this engine."""
    replaced = any(_is_micrograd(name) for name in sys.modules) and not installed()
    install()
    print(engine_line())
    if replaced:
        print("autograd-mini: micrograd was imported before this line; run its imports again "
              "(objects made before keep the old classes)")


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext autograd_mini.micrograd``: micrograd's names mean what they meant before."""
    uninstall()
