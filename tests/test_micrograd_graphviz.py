"""micrograd's draw_dot (a graphviz.Digraph the user builds) draws without the system Graphviz
under `autograd-mini run` and `%load_ext autograd_mini.micrograd`: the embedded WebAssembly
Graphviz stands in for the missing `dot`, and only inside that compatibility mode.

"Without dot" is a PATH holding an empty folder. The draw_dot below is written here in
micrograd's style (its trace_graph.ipynb); with MICROGRAD_CHECKOUT naming a micrograd checkout
(or its git directory), micrograd's own trace_graph.ipynb runs too.
"""
from __future__ import annotations

import html
import json
import os
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autograd_mini
from autograd_mini.render import available_backends

ROOT = Path(autograd_mini.__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif("wasm" not in available_backends(),
                                reason="the embedded WebAssembly Graphviz is not installed")

DRAW_DOT = '''\
from graphviz import Digraph

def trace(root):
    nodes, edges = set(), set()
    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges

def draw_dot(root, format='svg', rankdir='LR'):
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})
    for n in nodes:
        dot.node(name=str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad),
                 shape='record')
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot
'''

# y = relu(2x + 1) at x = 1: y = 3, dy/dx = 2 (by hand)
EXAMPLE = '''\
from micrograd.engine import Value
x = Value(1.0)
y = (x * 2 + 1).relu()
y.backward()
'''


def texts(svg: str) -> list[str]:
    """The words an SVG shows."""
    return [html.unescape(t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def shows_the_example(svg: str) -> bool:
    words = texts(svg)
    return (svg.lstrip().startswith(("<?xml", "<svg")) and "data 1.0000" in words
            and "grad 2.0000" in words and "data 3.0000" in words and "relu" in words)


@pytest.fixture
def no_dot(tmp_path) -> dict:
    """An environment whose PATH has no `dot`."""
    empty = tmp_path / "bin-without-dot"
    empty.mkdir()
    return {**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT)}


def test_draw_dot_pipes_displays_and_renders_under_run_without_dot(tmp_path, no_dot):
    script = tmp_path / "draw.py"
    script.write_text(DRAW_DOT + EXAMPLE + textwrap.dedent('''\
        import json
        dot = draw_dot(y)
        piped = dot.pipe(format='svg').decode()
        shown = dot._repr_mimebundle_()['image/svg+xml']
        written = dot.render('gout')                   # micrograd's notebook: gout.svg
        chosen = dot.render(outfile='chosen.svg')
        print(json.dumps([piped, shown, written, chosen]))
        '''))
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "run", str(script)], cwd=tmp_path,
                          env=no_dot, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    piped, shown, written, chosen = json.loads(done.stdout)
    assert (written, chosen) == ("gout.svg", "chosen.svg")
    for svg in (piped, shown, (tmp_path / "gout.svg").read_text(),
                (tmp_path / "chosen.svg").read_text()):
        assert shows_the_example(svg), svg[:300]


def test_without_the_mode_a_missing_dot_is_reported_as_before(tmp_path, no_dot):
    program = textwrap.dedent('''\
        import graphviz
        from autograd_mini import micrograd
        def attempt():
            try:
                graphviz.Digraph(body=['a -> b']).pipe(format='svg')
            except graphviz.ExecutableNotFound:
                return 'not found'
            return 'drawn'
        before = attempt()
        with micrograd.aliased():
            inside = attempt()
            try:
                graphviz.Digraph(body=['a -> b']).pipe(format='png')
            except graphviz.ExecutableNotFound as error:
                png = str(error)
        print(before, inside, attempt())
        print(png)
        ''')
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=no_dot,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, png = done.stdout.splitlines()
    assert first == "not found drawn not found"
    assert "failed to execute" in png and "makes SVG" in png and "-Tpng" in png


def run_notebook(cells: list[str], folder: Path, monkeypatch, no_dot) -> dict:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    monkeypatch.setenv("PATH", no_dot["PATH"])  # the kernel inherits it
    monkeypatch.setenv("PYTHONPATH", no_dot["PYTHONPATH"])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def svg_outputs(cell) -> list[str]:
    return [output["data"]["image/svg+xml"] for output in cell.get("outputs", [])
            if "image/svg+xml" in output.get("data", {})]


def test_draw_dot_displays_in_jupyter_after_load_ext_without_dot(tmp_path, monkeypatch, no_dot):
    notebook = run_notebook(["%load_ext autograd_mini.micrograd", DRAW_DOT, EXAMPLE,
                             "draw_dot(y)"], tmp_path, monkeypatch, no_dot)
    pictures = svg_outputs(notebook.cells[-1])
    assert len(pictures) == 1 and shows_the_example(pictures[0])


def micrograd_notebook() -> str | None:
    """trace_graph.ipynb from the checkout (or git directory) MICROGRAD_CHECKOUT names."""
    where = os.environ.get("MICROGRAD_CHECKOUT")
    if not where:
        return None
    path = Path(where) / "trace_graph.ipynb"
    if path.exists():
        return path.read_text()
    shown = subprocess.run(["git", f"--git-dir={where}", "show", "HEAD:trace_graph.ipynb"],
                           capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def test_micrograds_own_trace_graph_notebook_without_dot(tmp_path, monkeypatch, no_dot):
    text = micrograd_notebook()
    if text is None:
        pytest.skip("set MICROGRAD_CHECKOUT to a micrograd checkout to run its trace_graph.ipynb")
    nbformat = pytest.importorskip("nbformat")
    original = nbformat.reads(text, as_version=4)
    cells = ["%load_ext autograd_mini.micrograd"] + [c.source for c in original.cells
                                                     if c.cell_type == "code"]
    notebook = run_notebook(cells, tmp_path, monkeypatch, no_dot)
    drawn = [cell for cell in notebook.cells if svg_outputs(cell)]
    assert len(drawn) == 2  # draw_dot(y) and `dot`
    # the simple example: y = relu(2x + 1) at x = 1
    assert shows_the_example(svg_outputs(drawn[0])[0])
    # the neuron: micrograd's Neuron(2) after random.seed(1337) draws w from U(-1, 1), b = 0;
    # y = relu(w . x + b) at x = (1, -2), and dy/dw_k = x_k where y > 0
    rng = random.Random(1337)
    w = [rng.uniform(-1, 1) for _ in range(2)]
    y = max(0.0, w[0] * 1.0 + w[1] * -2.0)
    words = texts(svg_outputs(drawn[1])[0])
    assert "data 1.0000" in words and "data -2.0000" in words and f"data {y:.4f}" in words
    assert f"data {w[0]:.4f}" in words and f"data {w[1]:.4f}" in words
    if y > 0:
        assert "grad -2.0000" in words  # w[1]'s gradient
    assert (tmp_path / "gout.svg").read_text().count("<svg") == 1
