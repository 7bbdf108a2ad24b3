"""Recording a computation step by step, to watch the graph grow and the derivatives pile up.

>>> from autograd_mini import Value, trace
>>> with trace() as t:
...     a = Value(2.0, label="a"); b = Value(1.0, label="b")
...     c = a + b; c.label = "c"
...     d = b + 1; d.label = "d"
...     e = c * d; e.label = "e"
>>> t.backward(e)
>>> for frame in t.frames:
...     print(frame.caption)
a = 2
b = 1
c = a + b = 3
d = b + 1 = 2
e = c * d = 6
start at e: de/de = 1
e sends 1 x 2 = 2 to c
e sends 1 x 3 = 3 to d
c sends 2 x 1 = 2 to a
c sends 2 x 1 = 2 to b
d sends 3 x 1 = 3 to b; b now holds 2 + 3 = 5

The events come from the engine (``autograd_mini.context.listening``): a node was created, the
reverse pass started at a root, a node sent (its gradient) x (an edge's local derivative) to a
parent, and the same two for forward mode. Labels are read when the frames are made, so a label
given after the node was created (``c.label = "c"`` above) still names it. Unlabelled nodes are
called v1, v2, ...

Each frame draws the whole traced graph, with the nodes not made yet hidden, so that every frame
has the same layout and a player can step through them without the picture jumping about.
"""
from __future__ import annotations

import html
import json
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

KINDS = ("create", "seed", "send", "tangent_seed", "tangent")
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
    """One step: ``kind`` (one of ``KINDS``), a one-line ``caption``, what to highlight.

    ``nodes`` are the nodes the step is about (the new node; or the sender and the receiver),
    ``edges`` the ``(parent, child)`` edges it uses. ``values`` are the derivatives piled up so
    far in this pass, as they stood at this step (``grads`` in reverse mode, tangents in forward
    mode); ``complete`` the nodes whose derivative is final by then (reverse mode).
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
        """In Jupyter: the picture with the step's caption above it."""
        from .viz import RenderError
        try:
            title = f"step {self.index + 1}: {self.caption}"
            return {"image/svg+xml": str(self.to_svg(title=title)), "text/plain": repr(self)}
        except (RenderError, ValueError) as error:
            return {"text/plain": f"{self!r}\n(not drawn: {error})"}

    def __repr__(self) -> str:
        return f"<Frame {self.index}, {self.kind}: {self.caption}>"


@dataclass(eq=False)
class _Pass:
    """One reverse or forward pass: the piles after each step, and when each node was done."""

    mode: str  # "reverse" or "forward"
    root: Value
    updates: list = field(default_factory=list)  # (node, pile after the step), in order
    completed_at: dict = field(default_factory=dict)  # node -> first step it is final at
    members: set = field(default_factory=set)  # the nodes of the root's graph


class Trace:
    """What happened inside a ``trace()`` block, as ``events`` and as ``frames``.

    ``t.backward(out)`` and ``t.forward(out, wrt)`` run and record reverse and forward mode (a
    ``backward()`` called inside the block is recorded too). ``t.to_html(path)`` writes a
    step-through player; ``t.player()`` shows it in Jupyter.
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
        """The steps, in order: one per node made, one per start and send of each pass."""
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
        name, write = self._name, self._write
        frames: list[Frame] = []
        created = 0
        current: _Pass | None = None
        closer = None

        def add(kind, caption, nodes=(), edges=(), step=0):
            frames.append(Frame(len(frames), kind, caption, tuple(nodes), tuple(edges), self,
                                current, step, created))

        quiet = None  # in a reverse pass: the edges that carry nothing, to say why

        for kind, *details in self.events:
            if kind not in ("send", "closure_send") and quiet is not None:
                quiet.finish(add)
                quiet = None
            if kind == "create":
                node, = details
                created += 1
                text = _formula(node, name, self._groups)
                if text is None:
                    add(kind, f"{name(node)} = {write(node.data)}", [node])
                else:
                    add(kind, f"{name(node)} = {text} = {write(node.data)}", [node])
            elif kind in ("seed", "tangent_seed"):
                node, seed = details
                mode = "reverse" if kind == "seed" else "forward"
                current = _Pass(mode, node)
                current.updates.append((node, seed))
                if mode == "reverse":
                    closer = _Completion(current)
                    closer.seed()
                    quiet = _Silence(current, closer, node, seed, name, write)
                    caption = f"start at {name(node)}: d{name(node)}/d{name(node)} = {write(seed)}"
                else:
                    current.members.update(self._downstream(node))
                    caption = (f"forward mode from {name(node)}: "
                               f"d{name(node)}/d{name(node)} = {write(seed)}")
                add(kind, caption, [node], step=1)
            elif kind == "closure_send" and current is not None:
                # a node made micrograd's way: its _backward closure gives only the amounts
                sender, receiver, incoming, amount, before, total = details
                if quiet is not None:
                    quiet.before_send(sender, add)
                current.updates.append((receiver, total))
                step = len(current.updates)
                closer.sent(sender, receiver, step)
                if quiet is not None:
                    quiet.piles[receiver] = total
                caption = (f"{name(sender)} sends {write(amount)} to {name(receiver)} (by its "
                           f"_backward closure: no edge derivative known)")
                if not _is_zero(before):
                    caption += (f"; {name(receiver)} now holds {write(before)} + "
                                f"{write(amount)} = {write(total)}")
                add("send", caption, [sender, receiver], [(receiver, sender)], step)
            elif kind in ("send", "tangent") and current is not None:
                if kind == "send":
                    sender, receiver, local, incoming, amount, before, total = details
                    if quiet is not None:
                        quiet.before_send(sender, add)
                    edge = (receiver, sender)
                    verb = f"sends {write(incoming)} x {write(local)} = {write(amount)} to"
                else:
                    sender, receiver, local, incoming, amount, before, total = details
                    edge = (sender, receiver)
                    verb = (f"sends {write(incoming)} x {write(local)} = {write(amount)} "
                            f"forward to")
                current.updates.append((receiver, total))
                step = len(current.updates)
                if kind == "send":
                    closer.sent(sender, receiver, step)
                    if quiet is not None:
                        quiet.piles[receiver] = total
                caption = f"{name(sender)} {verb} {name(receiver)}"
                if not _is_zero(before):
                    caption += (f"; {name(receiver)} now holds {write(before)} + "
                                f"{write(amount)} = {write(total)}")
                add(kind, caption, [sender, receiver], [edge], step)
        if quiet is not None:
            quiet.finish(add)
        for frame in frames:  # the last step of each reverse pass: every derivative is final
            is_last = frame is frames[-1] or frames[frame.index + 1]._pass is not frame._pass
            if frame._pass is not None and frame._pass.mode == "reverse" and is_last:
                for node in frame._pass.members:
                    if not node.is_constant:
                        frame._pass.completed_at.setdefault(node, frame._step)
        return frames

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

    def _name(self, node: Value) -> str:
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
            row = f"∂/∂{self._name(active.root)}"
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
        elif frame.nodes:
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
        edge_color = {frame.edges[0]: SENT} if frame.kind == "send" else {}
        widths = self._widths(write, frames)
        return draw_nodes(self._universe, outputs=[], number_format=write, rankdir=rankdir,
                          hide_constants=hide_constants, grads=texts, grad_name=row,
                          names=self._names, fill=fill, bold=frame.nodes,
                          hidden=[n for n, code in states.items() if code == "h"],
                          faded=[n for n, code in states.items() if code == "f"],
                          edge_color=edge_color, min_chars=widths, title=title,
                          groups=self._groups)

    def _downstream(self, start: Value) -> set[Value]:
        """``start`` and every traced node computed from it (what forward mode from it reaches)."""
        reached = {start}
        for node in self._universe:  # parents come first
            if any(parent in reached for parent in node.parents):
                reached.add(node)
        return reached

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
        names = {node: self._name(node) for node in self._universe}
        for node in self._universe:
            widths[node] = max(_width(f"data {write(node.data)}"), _width("grad 0"),
                               _width(_header(node, lambda n: names.get(n), self._groups.neuron_of) or ""))
        for frame_pass in {id(f._pass): f._pass for f in frames if f._pass}.values():
            prefix = "grad " if frame_pass.mode == "reverse" else f"∂/∂{self._name(frame_pass.root)} "
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
        return (f"<Trace: {len(self.frames)} frames; {made} node{'s' * (made != 1)} made, "
                f"{passes} backward and {forward} forward pass{'es' * (forward != 1)}>")

    # -- the player -----------------------------------------------------------------------------
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
        >>> page.count("<li data-frame="), "dy/dx = 6" in page    # 5 steps and the summary
        (6, True)
        """
        from .files import write_atomic
        page = _player_page(*self._player_data(frames, max_frames, backend, group, options),
                            title)
        if path is not None:
            write_atomic(path, page)
        return page

    def player(self, *, widgets: bool | None = None, frames=None,
               max_frames: int = DEFAULT_MAX_FRAMES, backend: str = "auto",
               group: str | None = "auto", **options):
        """The same player in Jupyter, in a cell (an isolated iframe).

        Where scripts do not run (a notebook on GitHub, an untrusted notebook) the cell shows
        the picture of the last step instead. ``widgets`` is accepted for compatibility and
        ignored: the HTML player needs no widget library.
        """
        data, used = self._player_data(frames, max_frames, backend, group, options)
        picture = data["svg"]
        return InlinePlayer(_player_page(data, used, "autograd-mini: step by step"), picture)

    def _player_data(self, frames, max_frames, backend, group, options) -> tuple[dict, str]:
        """The picture (final state), and per frame its caption and changes; the renderer."""
        from .viz import number_formatter, to_svg
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
        summary = self._summary(frames, write)
        if summary is not None:
            looks.append(looks[-1])
        drawing = self._picture(looks[-1], write, frames, group, options)
        svg = to_svg(drawing, backend=backend)
        universe = self._universe
        index = {node: i for i, node in enumerate(universe)}
        edge_ids = {edge: j for j, edge in enumerate(drawing.edge_list)}
        data = {"nodes": len(universe), "svg": _compact(_svg_body(str(svg))),
                "edges": [[index[parent], index[child]] for parent, child in drawing.edge_list],
                "frames": [], "groups": []}
        before_states: dict = {}
        before_texts: dict = {}
        for number, frame in enumerate(frames):
            states, texts, row = looks[number]
            texts = {node: f"{row} {text}" for node, text in texts.items()}
            entry = {"c": frame.caption, "k": frame.kind,
                     "s": [[index[n], code] for n, code in states.items()
                           if before_states.get(n) != code],
                     "t": [[index[n], text] for n, text in texts.items()
                           if before_texts.get(n) != text],
                     "f": [index[n] for n in frame.nodes if n in index]}
            lit = [edge_ids[edge] for edge in frame.edges if edge in edge_ids]
            if lit:
                entry["e"] = lit
            data["frames"].append(entry)
            before_states, before_texts = states, texts
        if summary is not None:
            caption, focus, table = summary
            data["frames"].append({"c": caption, "k": "summary",
                                   "s": [[index[n], "c"] for n in focus
                                         if before_states.get(n) != "c"],
                                   "f": [index[n] for n in focus]})
            data["table"] = table
        for number, (first, last, sender, incoming) in enumerate(_send_runs(frames)):
            receivers = len(frames[first:last + 1])
            data["groups"].append({
                "first": first, "last": last, "focus": [index[sender]],
                "caption": f"{self._name(sender)} sends {write(incoming)} x its edges' "
                           f"derivatives to its {receivers} inputs",
                "edges": [edge_ids[e] for f in frames[first:last + 1] for e in f.edges
                          if e in edge_ids]})
            for f in range(first, last + 1):
                data["frames"][f]["g"] = number
        return data, svg.backend

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
        name = self._name(node)
        return tuple(int(n) for n in re.findall(r"\d+", name)), name

    def _summary(self, frames, write):
        """The last step: every input's derivative after the last reverse pass, or None."""
        passes = [f._pass for f in frames if f._pass is not None and f._pass.mode == "reverse"]
        if not passes:
            return None
        record = passes[-1]
        piles = dict(record.updates)
        root = self._name(record.root)
        inputs = sorted((node for node in topological_order(record.root, forwards=True)
                         if node.is_leaf and not node.is_constant), key=self._reading_order)
        table = [[f"d{root}/d{self._name(node)}", write(piles.get(node, 0.0))] for node in inputs]
        listed = ", ".join(f"{name} = {value}" for name, value in table[:6])
        more = f", … ({len(table)} inputs: the table lists them all)" if len(table) > 6 else ""
        caption = f"every input's derivative: {listed}{more}" if table else \
            f"{root} depends on no input"
        return caption, inputs, table

def _width(text: str) -> int:
    """Room for ``text`` in character widths (Graphviz may take a symbol such as ∂ as wide)."""
    return sum(1 if ord(c) < 128 else 2 for c in text)


def _is_zero(x) -> bool:
    return not isinstance(x, Value) and x == 0.0


def _formula(node: Value, name, groups=None) -> str | None:
    from .viz import formula
    return formula(node, name, groups.neuron_of.get(node) if groups else None)


class _Silence:
    """The edges of a reverse pass that carry nothing, each told as a step that says why.

    The engine sends nothing along an edge whose local derivative is 0 (relu off, a factor of 0),
    so those steps are not among its events: they are found here, when the pass has moved past
    the node that would have sent them, in the engine's order (reverse topological).
    """

    def __init__(self, record: _Pass, closer: _Completion, root: Value, seed, name, write):
        self.record, self.order, self.position = record, closer.order, closer.position
        self.piles = {root: seed}
        self.name, self.write = name, write
        self.sender: Value | None = None
        self.next = len(self.order) - 1  # nodes at or below this position are still to come

    def before_send(self, sender: Value, add) -> None:
        if sender is self.sender:
            return
        position = self.position.get(sender)
        if position is None:  # a pass over part of the graph (stop_at): leave it be
            return
        self._pass_by(position, add)  # the sender itself is closed after its own sends
        self.sender = sender

    def finish(self, add) -> None:
        self._pass_by(-1, add)

    def _pass_by(self, position: int, add) -> None:
        """Close the nodes the engine is done with, those above ``position``: their zero edges."""
        while self.next > position:
            self._zero_edges(self.order[self.next], add)
            self.next -= 1

    def _zero_edges(self, node: Value, add) -> None:
        incoming = self.piles.get(node, 0.0)
        if _is_zero(incoming):
            return
        for parent, local in zip(node.parents, node.local_grads):
            if parent.is_constant or local is None or not _is_zero(local):
                continue
            name, write = self.name, self.write
            if len(node.parents) - sum(p.is_constant for p in node.parents) == 1 and \
                    len(node.parents) <= 2 and node.op not in ("*", "/", "+", "-", "**"):
                why = f"{node._rule.name} is off"
            else:
                why = f"d{name(node)}/d{name(parent)} = 0"
            add("send", f"{name(node)} sends nothing to {name(parent)}: {why}: "
                f"{write(incoming)} x 0 = 0", [node, parent], [(parent, node)],
                len(self.record.updates))


class _Completion:
    """Which nodes have their final derivative, step by step, in one reverse pass.

    The engine visits nodes in reverse topological order; a node that has a gradient sends to
    all its parents, one with none sends nothing. So a node is complete once every edge to its
    consumers has either carried its amount or belongs to a consumer that was passed by.
    """

    def __init__(self, record: _Pass) -> None:
        self.record = record
        self.order = topological_order(record.root)
        record.members.update(self.order)
        self.position = {node: i for i, node in enumerate(self.order)}
        self.waiting: dict[Value, int] = {}
        for node in self.order:
            for parent in node.parents:
                if not parent.is_constant:
                    self.waiting[parent] = self.waiting.get(parent, 0) + 1
        self.senders: set[Value] = set()
        self.next_to_close = len(self.order) - 1

    def seed(self) -> None:
        self.record.completed_at[self.record.root] = 1

    def sent(self, sender: Value, receiver: Value, step: int) -> None:
        position = self.position.get(sender)
        if position is None:  # a pass over part of the graph (stop_at): leave it be
            return
        while self.next_to_close > position:  # consumers that were passed by without sending
            node = self.order[self.next_to_close]
            if node not in self.senders:
                for parent in node.parents:
                    self._arrived(parent, step)
            self.next_to_close -= 1
        self.senders.add(sender)
        self._arrived(receiver, step)

    def _arrived(self, node: Value, step: int) -> None:
        if node.is_constant or node not in self.waiting:
            return
        self.waiting[node] -= 1
        if self.waiting[node] == 0:
            self.record.completed_at.setdefault(node, step)


# -- the HTML player -----------------------------------------------------------------------------


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
    svg = _COMMENT.sub("", svg)
    svg = _TITLE.sub("", svg)
    svg = _FONT.sub("", svg)
    svg = svg.replace("<svg ", f'<svg font-family="{_font()}" ', 1)
    return _GEOMETRY.sub(lambda m: m.group(1) + '="' + _DIGITS.sub(r"\1", m.group(2)) + '"', svg)


def _font() -> str:
    from .viz import FONT
    return FONT


def _script_json(data) -> str:
    """JSON that can sit inside a <script> element: no "</script>" or "<!--" can end it early."""
    return (json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _player_page(data: dict, backend: str, title: str) -> str:
    from .viz import _visible
    svg = data.pop("svg")
    table = data.pop("table", None)
    lines = []
    group_at = {group["first"]: (number, group) for number, group in enumerate(data["groups"])}
    for number, frame in enumerate(data["frames"]):
        if number in group_at:
            g, group = group_at[number]
            lines.append(f'<li data-group="{g}" class="group"><button class="toggle" '
                         f'aria-label="show the steps">&#x25B8;</button><span class="n">'
                         f'{group["first"] + 1}&ndash;{group["last"] + 1}</span><span class="t">'
                         f'{html.escape(_visible(group["caption"]))}</span></li>')
        member = ' class="member"' if "g" in frame else ""
        lines.append(f'<li data-frame="{number}"{member}><span class="n">{number + 1}</span>'
                     f'<span class="t">{html.escape(_visible(frame["c"]))}</span></li>')
    summary = ""
    if table:
        rows = "".join(f"<tr><td>{html.escape(_visible(name))}</td><td>{html.escape(value)}</td></tr>"
                       for name, value in table)
        summary = f"<table><tbody>{rows}</tbody></table>"
    page = _template()
    for key, value in (("__TITLE__", html.escape(_visible(title))),
                       ("__BACKEND__", html.escape(backend)),
                       ("__COUNT__", str(len(data["frames"]))),
                       ("__LAST__", str(len(data["frames"]) - 1)),
                       ("__SUMMARY__", summary),
                       ("__STEPS__", "\n".join(lines)),
                       ("__SVG__", svg),
                       ("__DATA__", _script_json(data))):
        page = page.replace(key, value, 1) if key in ("__SVG__", "__DATA__") else \
            page.replace(key, value)
    return page


def _template() -> str:
    """The player page (HTML, CSS and script), shipped as package data."""
    from importlib import resources
    return resources.files(__package__).joinpath("templates", "player.html").read_text("utf-8")


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


class InlinePlayer:
    """The HTML player for a notebook cell, isolated in an iframe; ``.html`` is the page.

    Where HTML with scripts is not shown (GitHub, an untrusted notebook), the picture of the
    last step (``.svg``) stands in for it.
    """

    def __init__(self, page: str, svg: str = "") -> None:
        self.html = page
        self.svg = svg

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width:100%;height:640px;border:1px solid #ddd" '
                f'sandbox="allow-scripts"></iframe>')

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/html": self._repr_html_(), "text/plain": "<step-through player>"}
        if self.svg:
            bundle["image/svg+xml"] = self.svg
        return bundle
