"""Recording a computation step by step, to watch the graph grow and the derivatives pile up.

>>> from autograd_mini import Value, trace
>>> with trace() as t:
...     a = Value(2.0, label="a"); b = Value(1.0, label="b")
...     c = a + b; c.label = "c"
...     d = b + 1; d.label = "d"
...     e = c * d; e.label = "e"
>>> t.backward(e)
>>> for frame in t.frames:
...     print(frame.number, frame.caption)
1 a = 2
2 b = 1
3 c = a + b = 3
4 d = b + 1 = 2
5 e = c * d = 6
6 start at e: de/de = 1
7 e sends 1 x 2 = 2 to c
8 e sends 1 x 3 = 3 to d
9 c sends 2 x 1 = 2 to a
10 c sends 2 x 1 = 2 to b
11 d sends 3 x 1 = 3 to b; b now holds 2 + 3 = 5
12 every input's derivative: de/da = 2, de/db = 5

The recording only listens: every step is an event the engine sent (see
``autograd_mini.context`` for the kinds): a node made, a pass started, an edge's contribution
sent, an edge that carried nothing (and why), a node's derivative final. After the last reverse
pass, a summary step lists every input's derivative. Labels are read when the frames are made,
so a label given after the node was created (``c.label = "c"`` above) still names it.
Unlabelled nodes are called v1, v2, ...

Each frame draws the whole traced graph, with the nodes not made yet hidden, so that every frame
has the same layout and a player (``autograd_mini.player``) can step through them without the
picture jumping about. ``Trace.player_data()`` is everything the player takes.
"""
from __future__ import annotations

import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from . import context
from .graph import forward_derivative, topological_order
from .value import Value

__all__ = ["trace", "Trace", "Frame", "DEFAULT_MAX_FRAMES"]

DEFAULT_MAX_FRAMES = 20_000
"""Frames a player holds by default (a frame is a few changes to one picture: 1,000 frames take
about 100 KB)."""
PLAYER_MAX_NODES = 600
"""Nodes a player lays out by default (one Graphviz layout, a few seconds at most)."""

SENT = "#dc2626"        # the edge a derivative travels along
RECEIVED = "#fdba74"    # the node whose pile just grew
SENDER = "#f9a8d4"      # the node sending (not blue: blue is an input's colour)
COMPLETE = "#bbf7d0"    # a node whose derivative is final
NEW = "#fde68a"         # a node just made
# A node's state in a frame: h hidden (not made yet), n new, s sending, r receiving, c complete
# (its derivative is final), f faded (not part of this pass), "" nothing special.
STATES = ("h", "n", "s", "r", "c", "f", "")
FILL = {"n": NEW, "s": SENDER, "r": RECEIVED, "c": COMPLETE}


@contextmanager
def trace(number_format: str = ".4g") -> Iterator[Trace]:
    """Record everything the engine does inside the block: ``with trace() as t: ...``.

    ``number_format`` writes the numbers in captions and pictures (see ``viz.number_formatter``).
    """
    recording = Trace(number_format)
    with recording._listening():
        yield recording


@dataclass(frozen=True, eq=False)
class Frame:
    """One step: ``kind`` (create, seed, send, tangent_seed, tangent or summary), a one-line
    ``caption``, what to highlight; ``number`` is its step number (from 1), as players show it.

    ``nodes`` are the nodes the step is about (the new node; or the sender and the receiver),
    ``edges`` the ``(parent, child)`` edges it uses. ``values`` are the derivatives piled up so
    far in this pass, as they stood at this step (``grads`` in reverse mode, tangents in forward
    mode); ``complete`` the nodes whose derivative is final by then.
    """

    index: int
    kind: str
    caption: str
    nodes: tuple[Value, ...]
    edges: tuple[tuple[Value, Value], ...]
    _trace: Trace = field(repr=False)
    _pass: _Pass | None = field(default=None, repr=False)
    _step: int = field(default=0, repr=False)  # how many of the pass's updates have happened
    _created: int = field(default=0, repr=False)  # how many nodes have been made by now
    carried_nothing: bool = field(default=False, repr=False)  # a send whose edge gave 0

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def values(self) -> dict[Value, object]:
        return dict(self._pass.updates[:self._step]) if self._pass else {}

    @property
    def grads(self) -> dict[Value, object]:
        """The gradient piles as they stood at this step (empty outside a reverse pass)."""
        return self.values if self._pass and self._pass.mode == "reverse" else {}

    @property
    def complete(self) -> frozenset[Value]:
        if not self._pass:
            return frozenset()
        return frozenset(n for n, step in self._pass.completed_at.items() if step <= self._step)

    def to_dot(self, **options):
        """This step as a ``graphviz.Digraph`` (options: ``rankdir``, ``number_format``,
        ``hide_constants``, ``title``)."""
        return self._trace._draw(self, **options)

    def to_svg(self, backend: str = "auto", **options):
        """This step as SVG text (``.backend`` says which Graphviz drew it)."""
        from .viz import to_svg
        return to_svg(self.to_dot(**options), backend=backend)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """In Jupyter: the picture with the step's number and caption above it."""
        from .viz import RenderError
        try:
            title = f"step {self.number}: {self.caption}"
            return {"image/svg+xml": str(self.to_svg(title=title)), "text/plain": repr(self)}
        except (RenderError, ValueError) as error:
            return {"text/plain": f"{self!r}\n(not drawn: {error})"}

    def __repr__(self) -> str:
        return f"<step {self.number}, {self.kind}: {self.caption}>"


@dataclass(eq=False)
class _Pass:
    """One reverse or forward pass: the piles after each step, and when each node was final."""

    mode: str  # "reverse" or "forward"
    root: Value
    updates: list = field(default_factory=list)  # (node, pile after the step), in order
    completed_at: dict = field(default_factory=dict)  # node -> first step it is final at
    members: set = field(default_factory=set)  # the nodes the pass reached


class Trace:
    """What happened inside a ``trace()`` block, as ``events`` and as ``frames``.

    ``t.backward(out)`` and ``t.forward(out, wrt)`` run and record reverse and forward mode (a
    ``backward()`` called inside the block is recorded too). ``t.to_html(path)`` writes a
    step-through player; ``t.player()`` shows it in Jupyter; ``t.player_data()`` is what the
    player takes, for a page of your own (``autograd_mini/templates/player.js``).
    """

    def __init__(self, number_format: str = ".4g") -> None:
        from .viz import number_formatter
        self.number_format = number_format
        self._write = number_formatter(number_format)
        self.events: list[tuple] = []  # (kind, *details), as the engine sent them
        self._listening_now = 0
        self._frames: list[Frame] | None = None

    # -- recording ------------------------------------------------------------------------------
    def _listen(self, kind: str, *details) -> None:
        self.events.append((kind, *details))
        self._frames = None

    @contextmanager
    def _listening(self):
        if self._listening_now:  # already recording (t.backward inside the with block)
            yield
            return
        self._listening_now += 1
        try:
            with context.listening(self._listen):
                yield
        finally:
            self._listening_now -= 1

    def backward(self, output: Value, gradient: float = 1.0) -> None:
        """Run ``output.backward(gradient)`` and record each step (it fills ``.grad`` too)."""
        if not isinstance(output, Value):
            raise TypeError(f"Trace.backward needs a Value, got {type(output).__name__}")
        with self._listening():
            output.backward(gradient)

    def forward(self, output: Value, wrt: Value) -> float:
        """Run forward mode from ``wrt`` and record each step; returns d output / d wrt."""
        with self._listening():
            return forward_derivative(output, wrt)

    # -- frames ---------------------------------------------------------------------------------
    @property
    def frames(self) -> list[Frame]:
        """The steps, in order: one per node made, one per start, send and edge that carried
        nothing in each pass, and a summary after the last reverse pass."""
        if self._frames is None:
            self._frames = self._make_frames()
        return self._frames

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def __getitem__(self, index: int) -> Frame:
        return self.frames[index]

    def _make_frames(self) -> list[Frame]:
        self._prepare()
        name, write = self.name_of, self._write
        frames: list[Frame] = []
        created = 0
        current: _Pass | None = None
        last_reverse: _Pass | None = None

        def add(kind, caption, nodes=(), edges=(), step=0, nothing=False):
            frames.append(Frame(len(frames), kind, caption, tuple(nodes), tuple(edges), self,
                                current, step, created, nothing))

        def holds(receiver, before, amount, total):
            if _is_zero(before):
                return ""
            return f"; {name(receiver)} now holds {write(before)} + {write(amount)} = {write(total)}"

        for kind, *details in self.events:
            if kind == "create":
                node, = details
                created += 1
                text = _formula(node, name, self._groups)
                add(kind, f"{name(node)} = {write(node.data)}" if text is None else
                    f"{name(node)} = {text} = {write(node.data)}", [node])
            elif kind in ("seed", "tangent_seed"):
                node, seed = details
                current = _Pass("reverse" if kind == "seed" else "forward", node)
                current.updates.append((node, seed))
                if kind == "seed":
                    last_reverse = current
                    start = f"start at {name(node)}"
                else:
                    start = f"forward mode from {name(node)}"
                add(kind, f"{start}: d{name(node)}/d{name(node)} = {write(seed)}", [node], step=1)
            elif current is None:
                continue  # a pass's event without its start: not recorded here
            elif kind == "final":
                node, _ = details
                current.members.add(node)
                if not node.is_constant:  # final from the step the pass is at
                    current.completed_at.setdefault(node, len(current.updates))
            elif kind in ("send", "tangent", "closure_send"):
                if kind == "closure_send":  # micrograd's way: the closure gives only amounts
                    sender, receiver, incoming, amount, before, total = details
                    how = (f"sends {write(amount)} to {name(receiver)} (by its _backward "
                           f"closure: no edge derivative known)")
                else:
                    sender, receiver, local, incoming, amount, before, total = details
                    forward = " forward" if kind == "tangent" else ""
                    how = (f"sends {write(incoming)} x {write(local)} = {write(amount)}{forward} "
                           f"to {name(receiver)}")
                current.updates.append((receiver, total))
                edge = (sender, receiver) if kind == "tangent" else (receiver, sender)
                add("tangent" if kind == "tangent" else "send",
                    f"{name(sender)} {how}{holds(receiver, before, amount, total)}",
                    [sender, receiver], [edge], len(current.updates))
            elif kind in ("nothing_sent", "tangent_nothing_sent"):
                sender, receiver, local, incoming = details
                if receiver.is_constant or local is None:
                    continue  # a constant has no derivative to tell about
                child, parent = (sender, receiver) if kind == "nothing_sent" else \
                    (receiver, sender)
                forward = "" if kind == "nothing_sent" else " forward"
                add("send" if kind == "nothing_sent" else "tangent",
                    f"{name(sender)} sends nothing{forward} to {name(receiver)}: "
                    f"{self._why_zero(child, parent, local)}: {_nothing(write, incoming, local)}",
                    [sender, receiver], [(parent, child)], len(current.updates), nothing=True)
        if last_reverse is not None:
            current = last_reverse
            caption, inputs, self._table = self._summary(last_reverse)
            add("summary", caption, inputs, (), len(last_reverse.updates))
        else:
            self._table = None
        return frames

    def _why_zero(self, child: Value, parent: Value, local) -> str:
        """Why an edge carried nothing: "relu is off" for an op of one Value that its table row
        writes as a function (``relu(z)``), else the edge's derivative."""
        names = [self.name_of(p) for p in child.parents]
        one = sum(not p.is_constant for p in child.parents) == 1
        if _number(local) == 0.0 and one and \
                child._rule.written(names) == f"{child._rule.name}({', '.join(names)})":
            return f"{child._rule.name} is off"
        return f"d{self.name_of(child)}/d{self.name_of(parent)} = {self._write(_number(local))}"

    def _prepare(self) -> None:
        """The nodes every frame draws (parents first), and names for the unlabelled ones."""
        seen: set[Value] = set()
        universe: list[Value] = []
        made: list[Value] = []
        for kind, *details in self.events:
            roots = [details[0]] if kind in ("create", "seed", "tangent_seed") else []
            if kind == "create":
                made.append(details[0])
            for root in roots:
                for node in topological_order(root, stop_at=seen):
                    if node not in seen:
                        seen.add(node)
                        universe.append(node)
        self._universe = universe
        self._shown_cache = None
        if hasattr(self, "_child_map"):
            del self._child_map
        self._made = made
        self._made_index = {node: i for i, node in enumerate(made)}
        from .groups import find_groups  # neurons' nodes are named as drawings name them
        self._groups = find_groups(universe)  # parents come first in it, as find_groups needs
        names: dict[Value, str] = dict(self._groups.names)
        taken = {node.label for node in universe if node.label} | set(names.values())
        counter = 0
        for node in made + universe:
            if node.label or node.is_constant or node in names:
                continue
            counter += 1
            while f"v{counter}" in taken:
                counter += 1
            names[node] = f"v{counter}"
        self._names = names
        self._prepared_at = len(self.events)

    def name_of(self, node: Value) -> str:
        """How the recording's captions and pictures name ``node``: its label, else the name
        the drawings give it (``v1``, ``v2``, ... or a neuron's part), a constant by its value.

        >>> from autograd_mini import Value, trace
        >>> with trace() as t:
        ...     x = Value(3.0, label="x"); y = x * 2 + 1
        >>> [t.name_of(node) for node in (x, y, y.parents[0], y.parents[1])]
        ['x', 'v2', 'v1', '1']
        """
        if getattr(self, "_prepared_at", None) != len(self.events):
            self._prepare()  # names for the nodes recorded since
        if node.is_constant and not node.label:
            return self._write(node.data)
        return node.label or self._names.get(node) or "?"

    # -- drawing --------------------------------------------------------------------------------
    def _look(self, frame: Frame, write) -> tuple[dict, dict, str]:
        """How ``frame`` shows each node: a state code (``STATES``), the text of its gradient
        row (``"–"`` while nothing has piled up in it), and that row's name."""
        created = frame._created
        shown_from = self._shown_from()
        active = frame._pass
        values = frame.values
        complete = frame.complete
        row = "grad"
        if active is not None and active.mode == "forward":
            row = f"∂/∂{self.name_of(active.root)}"
        states, texts = {}, {}
        for node in self._universe:
            if created <= shown_from[node]:
                states[node] = "h"
            elif active is not None and node not in active.members and not node.is_constant:
                states[node] = "f"
            else:
                states[node] = "c" if node in complete else ""
            if not node.is_constant:
                value = values.get(node)
                texts[node] = (write(value) if value is not None else
                               "0" if node in complete else "–")
        if frame.kind == "create":
            states[frame.nodes[0]] = "n"
        elif frame.kind in ("seed", "tangent_seed"):
            states[frame.nodes[0]] = "r"
        elif frame.kind != "summary" and frame.nodes:
            states[frame.nodes[0]], states[frame.nodes[1]] = "s", "r"
        return states, texts, row

    def _shown_from(self) -> dict[Value, int]:
        """Node -> the last count of nodes made while it is still hidden (-1: always shown).

        A node made inside the block appears when it is made; a constant with the first of its
        consumers (``b + 1`` shows its 1 with it); anything else was there before the block.
        """
        if getattr(self, "_shown_cache", None) is None:
            made = self._made_index
            shown = {node: made.get(node, -1) for node in self._universe}
            for node in self._universe:
                if node.is_constant and node not in made:
                    children = self._children(node)
                    shown[node] = min((made.get(child, -1) for child in children), default=-1)
            self._shown_cache = shown
        return self._shown_cache

    def _draw(self, frame: Frame, *, rankdir: str = "LR", number_format: str | None = None,
              hide_constants: bool = False, max_nodes: int | None = None,
              title: str | None = None):
        from .viz import DEFAULT_MAX_NODES, draw_nodes, number_formatter
        frames = self.frames  # also prepares the universe and names
        limit = DEFAULT_MAX_NODES if max_nodes is None else max_nodes
        if len(self._universe) > limit:
            raise ValueError(f"this trace has {len(self._universe):,} nodes; a frame draws at "
                             f"most {limit} (max_nodes=...): trace a smaller computation")
        write = number_formatter(number_format or self.number_format)
        states, texts, row = self._look(frame, write)
        fill = {node: FILL[code] for node, code in states.items() if code in FILL}
        edge_color = {frame.edges[0]: SENT} if frame.kind == "send" and frame.edges else {}
        widths = self._widths(write, frames)
        return draw_nodes(self._universe, outputs=[], number_format=write, rankdir=rankdir,
                          hide_constants=hide_constants, grads=texts, grad_name=row,
                          names=self._names, fill=fill, bold=frame.nodes,
                          hidden=[n for n, code in states.items() if code == "h"],
                          faded=[n for n, code in states.items() if code == "f"],
                          edge_color=edge_color, min_chars=widths, title=title,
                          groups=self._groups)

    def _children(self, node: Value) -> list[Value]:
        if not hasattr(self, "_child_map"):
            self._child_map: dict[Value, list[Value]] = {}
            for child in self._universe:
                for parent in child.parents:
                    self._child_map.setdefault(parent, []).append(child)
        return self._child_map.get(node, [])

    def _widths(self, write, frames) -> dict[Value, int]:
        """The widest row each node will show in any frame, so that no frame is wider."""
        from .viz import _header
        widths: dict[Value, int] = {}
        names = {node: self.name_of(node) for node in self._universe}
        for node in self._universe:
            widths[node] = max(_width(f"data {write(node.data)}"), _width("grad 0"),
                               _width(_header(node, lambda n: names.get(n), self._groups.neuron_of) or ""))
        for frame_pass in {id(f._pass): f._pass for f in frames if f._pass}.values():
            prefix = "grad " if frame_pass.mode == "reverse" else f"∂/∂{self.name_of(frame_pass.root)} "
            for node, value in frame_pass.updates:
                widths[node] = max(widths.get(node, 0), _width(prefix + write(value)))
        return widths

    def to_svg(self, index: int = -1, backend: str = "auto", **options):
        """One frame (the last by default) as SVG text."""
        return self.frames[index].to_svg(backend=backend, **options)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self)}
        if self.frames:
            from .viz import RenderError
            try:
                bundle["image/svg+xml"] = str(self.to_svg())
            except (RenderError, ValueError) as error:
                bundle["text/plain"] += f"\n(not drawn: {error})"
        return bundle

    def __repr__(self) -> str:
        kinds = [event[0] for event in self.events]
        made = kinds.count("create")
        passes = kinds.count("seed")
        forward = kinds.count("tangent_seed")
        steps = len(self.frames)
        return (f"<Trace: {steps} step{'s' * (steps != 1)}; {made} node{'s' * (made != 1)} made, "
                f"{passes} backward and {forward} forward pass{'es' * (forward != 1)}>")

    # -- what a player takes ---------------------------------------------------------------------
    def to_html(self, path: str | os.PathLike | None = None, *, frames=None,
                title: str = "autograd-mini: step by step", max_frames: int = DEFAULT_MAX_FRAMES,
                backend: str = "auto", group: str | None = "auto", **options) -> str:
        """Write a self-contained HTML step-through player to ``path`` (or return it as text).

        One file, no network: one picture of the graph, laid out once, and per step only what
        changes (node colours, gradient rows, the edge in use, the caption), so a thousand steps
        take about 100 KB. Previous / next / play buttons, a slider, the list of steps (a node's
        three or more sends in a row are one step there, which opens), zoom and pan, and the
        keyboard (arrows step, space plays, Home and End jump, + and - zoom). The last step
        sums up every input's derivative. ``group="neuron"`` boxes each neuron (``"auto"``, the
        default, does when the graph has neurons; ``None`` never). ``options`` (``rankdir``,
        ``number_format``, ``hide_constants``, ``max_nodes``) style the picture. The file is
        written whole or not at all. Returns the page's HTML.

        >>> from autograd_mini import Value, trace
        >>> with trace() as t:
        ...     x = Value(3.0, label="x"); y = x * x; y.label = "y"
        >>> t.backward(y)
        >>> page = t.to_html(backend="wasm")
        >>> len(t.frames), "dy/dx = 6" in page    # 5 steps and the summary
        (6, True)
        """
        from .files import write_atomic
        from .player import page
        data = self.player_data(frames=frames, max_frames=max_frames, backend=backend,
                                group=group, title=title, **options)
        text = page(data)
        if path is not None:
            write_atomic(path, text)
        return text

    def player(self, *, widgets: bool | None = None, frames=None,
               max_frames: int = DEFAULT_MAX_FRAMES, backend: str = "auto",
               group: str | None = "auto", **options):
        """The same player in Jupyter, in a cell (an isolated iframe).

        Where scripts do not run (a notebook on GitHub, an untrusted notebook) the cell shows
        the picture of the last step and the list of steps instead. ``widgets`` is accepted for compatibility and
        ignored: the HTML player needs no widget library.
        """
        from .player import InlinePlayer
        return InlinePlayer(self.player_data(frames=frames, max_frames=max_frames,
                                             backend=backend, group=group, **options))

    def player_data(self, *, frames=None, max_frames: int = DEFAULT_MAX_FRAMES,
                    render: bool = True, backend: str = "auto", group: str | None = "auto",
                    title: str = "autograd-mini: step by step", **options) -> dict:
        """Everything the player (``templates/player.js``) takes, as JSON-able data.

        ``dot``: the one picture (every node as the summary shows it) in Graphviz's language;
        ``svg``: that picture drawn (left out with ``render=False``: a page may draw ``dot``
        itself and put the SVG in before mounting); node ``i`` is the element ``id="n{i}"`` of
        the picture, edge ``j`` (``edges[j] = [parent, child]``) is ``id="e{j}"``. ``frames``:
        per step its caption ``c``, kind ``k``, changed node states ``s`` (``[node, state]``,
        states h hidden, n new, s sending, r receiving, c final, f faded, "" plain), changed
        gradient rows ``t`` (``[node, text]``), nodes to keep in view ``f``, edges in use ``e``
        (``z``: true when they carried nothing), its group ``g`` (a group's ``z``: its edges
        that carried nothing). ``groups``: runs of sends from one node shown as one step. ``table``:
        every input's derivative (with a summary step).

        >>> from autograd_mini import Value, trace
        >>> with trace() as t:
        ...     x = Value(3.0, label="x"); y = x * x; y.label = "y"
        >>> t.backward(y)
        >>> data = t.player_data(render=False)
        >>> [frame["c"] for frame in data["frames"]][-1], data["table"], "svg" in data
        ("every input's derivative: dy/dx = 6", [['dy/dx', '6']], False)
        """
        from .viz import _visible, number_formatter, to_svg
        frames = self.frames if frames is None else list(frames)
        if not frames:
            raise ValueError("nothing to play: no steps were recorded (create Values or run "
                             "t.backward(output) inside or after the trace() block)")
        if len(frames) > max_frames:
            raise ValueError(f"this trace has {len(frames):,} frames; a player holds at most "
                             f"{max_frames} (max_frames=...): trace a smaller computation, or "
                             f"pass frames=t.frames[:{max_frames}]")
        if group not in (None, "auto", "neuron"):
            raise ValueError(f"group must be None, 'auto' or 'neuron', got {group!r}")
        options = dict(options)
        limit = options.pop("max_nodes", None) or PLAYER_MAX_NODES
        if len(self._universe) > limit:
            raise ValueError(f"this trace has {len(self._universe):,} nodes; a player lays out "
                             f"at most {limit} (max_nodes=...): trace a smaller computation")
        unknown = set(options) - {"rankdir", "number_format", "hide_constants"}
        if unknown:
            raise TypeError(f"unknown player option(s): {', '.join(sorted(unknown))} (allowed: "
                            f"rankdir, number_format, hide_constants, max_nodes, group)")
        write = number_formatter(options.pop("number_format", None) or self.number_format)
        looks = [self._look(frame, write) for frame in frames]
        drawing = self._picture(looks[-1], write, frames, group, options)
        universe = self._universe
        index = {node: i for i, node in enumerate(universe)}
        edge_ids = {edge: j for j, edge in enumerate(drawing.edge_list)}
        data = {"title": _visible(title), "nodes": len(universe),
                "edges": [[index[parent], index[child]] for parent, child in drawing.edge_list],
                "frames": [], "groups": [], "dot": drawing.source}
        if render:
            svg = to_svg(drawing, backend=backend)
            data["svg"], data["backend"] = _compact(_svg_body(str(svg))), svg.backend
        before_states: dict = {}
        before_texts: dict = {}
        for frame, (states, texts, row) in zip(frames, looks):
            texts = {node: f"{row} {text}" for node, text in texts.items()}
            entry = {"c": _visible(frame.caption), "k": frame.kind,
                     "s": [[index[n], code] for n, code in states.items()
                           if before_states.get(n) != code],
                     "t": [[index[n], text] for n, text in texts.items()
                           if before_texts.get(n) != text],
                     "f": [index[n] for n in frame.nodes if n in index]}
            lit = [edge_ids[edge] for edge in frame.edges if edge in edge_ids]
            if lit:
                entry["e"] = lit
                if frame.carried_nothing:
                    entry["z"] = True
            data["frames"].append(entry)
            before_states, before_texts = states, texts
        if frames[-1].kind == "summary" and self._table:
            data["table"] = [[_visible(name), value] for name, value in self._table]
        for number, (first, last, sender, incoming) in enumerate(_send_runs(frames)):
            receivers = last - first + 1
            data["groups"].append({
                "first": first, "last": last, "focus": [index[sender]],
                "caption": _visible(f"{self.name_of(sender)} sends {write(incoming)} x its edges' "
                           f"derivatives to its {receivers} inputs"),
                "edges": [edge_ids[e] for f in frames[first:last + 1] for e in f.edges
                          if e in edge_ids],
                "z": [edge_ids[e] for f in frames[first:last + 1] if f.carried_nothing
                      for e in f.edges if e in edge_ids]})
            for f in range(first, last + 1):
                data["frames"][f]["g"] = number
        return data

    def _picture(self, look, write, frames, group, options):
        """The one drawing a player restyles: every node, as the last step shows it."""
        from .viz import draw_nodes
        states, texts, row = look
        kinds = {node: ("k-data" if node.label else "k-const") if node.is_constant else
                 "k-input" if node.is_leaf else "k-op" for node in self._universe}
        fill = {node: FILL[code] for node, code in states.items() if code in FILL}
        return draw_nodes(self._universe, outputs=[], number_format=write,
                          rankdir=options.get("rankdir", "LR"),
                          hide_constants=options.get("hide_constants", False), grads=texts,
                          grad_name=row, names=self._names, fill=fill,
                          min_chars=self._widths(write, frames),
                          node_ids={node: f"n{i}" for i, node in enumerate(self._universe)},
                          classes=kinds, groups=self._groups, tooltips=False,
                          clusters=self._clustered(group))

    def _clustered(self, group) -> bool:
        """Box each neuron? ``"neuron"``: yes; ``"auto"``: when the trace ran a network on one
        example (boxes repeated per example make a picture too big to follow)."""
        if not group or not self._groups:
            return False
        return group == "neuron" or all(layer.instances == 1 for layer in self._groups.layers)

    def _reading_order(self, node: Value) -> tuple:
        """w0[3,1] after b0[3] after w0[2,0]...: by the numbers in the name, then the name."""
        name = self.name_of(node)
        return tuple(int(n) for n in re.findall(r"\d+", name)), name

    def _summary(self, record: _Pass):
        """The summary step of a reverse pass: its caption, the inputs, the table of their
        derivatives (as the pass left them)."""
        piles = dict(record.updates)
        root = self.name_of(record.root)
        inputs = sorted((node for node in record.members if node.is_leaf and not node.is_constant),
                        key=self._reading_order)
        write = self._write
        table = [[f"d{root}/d{self.name_of(node)}", write(piles.get(node, 0.0))] for node in inputs]
        listed = ", ".join(f"{name} = {value}" for name, value in table[:6])
        more = f", … ({len(table)} inputs: the table lists them all)" if len(table) > 6 else ""
        caption = f"every input's derivative: {listed}{more}" if table else \
            f"{root} depends on no input"
        return caption, inputs, table


def _width(text: str) -> int:
    """Room for ``text`` in character widths (Graphviz may take a symbol such as ∂ as wide)."""
    return sum(1 if ord(c) < 128 else 2 for c in text)


def _number(x) -> float:
    """The number in a derivative (a float, or a Value under create_graph); -0.0 reads 0."""
    return (x.data if isinstance(x, Value) else x) + 0.0


def _is_zero(x) -> bool:
    return not isinstance(x, Value) and x == 0.0


def _nothing(write, incoming, local) -> str:
    """The arithmetic of an edge that carried nothing: an exact 0 sends nothing, even times an
    infinity or nan (the engine's rule)."""
    g, d = _number(incoming), _number(local)
    if math.isfinite(g) and math.isfinite(d):
        return f"{write(g)} x {write(d)} = 0"
    return f"{write(g)} x {write(d)}: an exact 0 sends nothing, even times {write(g if d == 0 else d)}"


def _formula(node: Value, name, groups=None) -> str | None:
    from .viz import formula
    return formula(node, name, groups.neuron_of.get(node) if groups else None)


def _send_runs(frames: list[Frame]):
    """(first, last, sender, incoming) for each run of three or more sends in a row from one
    node (a neuron's input sum sending to its weights, inputs and bias): one step in a player."""
    run: list[Frame] = []

    def close():
        if len(run) >= 3:
            sender = run[0].nodes[0]
            incoming = dict(run[0]._pass.updates[:run[0]._step]).get(sender, 0.0)
            yield run[0].index, run[-1].index, sender, incoming

    for frame in frames:
        if run and (frame.kind != "send" or frame.nodes[0] is not run[0].nodes[0]
                    or frame._pass is not run[0]._pass):
            yield from close()
            run = []
        if frame.kind == "send":
            run.append(frame)
    yield from close()


# -- the picture, smaller for a player -------------------------------------------------------------


def _svg_body(svg: str) -> str:
    """The <svg> element alone: no XML declaration, doctype or comments before it."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_TITLE = re.compile(r"<title>[^<]*</title>\s*")
_FONT = re.compile(r' font-family="[^"]*"')
_GEOMETRY = re.compile(r'\b(d|points|x|y|transform)="([^"]*)"')
_DIGITS = re.compile(r"(\.\d)\d+")


def _compact(svg: str) -> str:
    """Graphviz's SVG, smaller for a player: no comments, no per-element titles (the player's
    ids name things), one font for the whole picture, coordinates to 0.1 pt."""
    from .viz import FONT
    svg = _COMMENT.sub("", svg)
    svg = _TITLE.sub("", svg)
    svg = _FONT.sub("", svg)
    svg = svg.replace("<svg ", f'<svg font-family="{FONT}" ', 1)
    return _GEOMETRY.sub(lambda m: m.group(1) + '="' + _DIGITS.sub(r"\1", m.group(2)) + '"', svg)
