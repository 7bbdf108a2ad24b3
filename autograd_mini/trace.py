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
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from . import context
from .graph import forward_derivative, topological_order
from .value import Value

__all__ = ["trace", "Trace", "Frame", "DEFAULT_MAX_FRAMES"]

DEFAULT_MAX_FRAMES = 400
"""Frames a player draws by default (each is one Graphviz layout)."""

KINDS = ("create", "seed", "send", "tangent_seed", "tangent")
SENT = "#dc2626"        # the edge a derivative travels along
RECEIVED = "#fdba74"    # the node whose pile just grew
SENDER = "#bfdbfe"      # the node sending
COMPLETE = "#bbf7d0"    # a node whose derivative is final
NEW = "#fde68a"         # a node just made


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
        ``hide_constants``)."""
        return self._trace._draw(self, **options)

    def to_svg(self, backend: str = "auto", **options):
        """This step as SVG text (``.backend`` says which Graphviz drew it)."""
        from .viz import to_svg
        return to_svg(self.to_dot(**options), backend=backend)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .viz import RenderError
        try:
            return {"image/svg+xml": str(self.to_svg()), "text/plain": repr(self)}
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

        for kind, *details in self.events:
            if kind == "create":
                node, = details
                created += 1
                text = _formula(node, name)
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
                    caption = f"start at {name(node)}: d{name(node)}/d{name(node)} = {write(seed)}"
                else:
                    current.members.update(self._downstream(node))
                    caption = (f"forward mode from {name(node)}: "
                               f"d{name(node)}/d{name(node)} = {write(seed)}")
                add(kind, caption, [node], step=1)
            elif kind in ("send", "tangent") and current is not None:
                if kind == "send":
                    sender, receiver, local, incoming, amount, before, total = details
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
                caption = f"{name(sender)} {verb} {name(receiver)}"
                if not _is_zero(before):
                    caption += (f"; {name(receiver)} now holds {write(before)} + "
                                f"{write(amount)} = {write(total)}")
                add(kind, caption, [sender, receiver], [edge], step)
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
        self._made = made
        self._made_index = {node: i for i, node in enumerate(made)}
        taken = {node.label for node in universe if node.label}
        names: dict[Value, str] = {}
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
        if node.is_constant:
            return self._write(node.data)
        return node.label or self._names.get(node) or "?"

    # -- drawing --------------------------------------------------------------------------------
    def _draw(self, frame: Frame, *, rankdir: str = "LR", number_format: str | None = None,
              hide_constants: bool = False, max_nodes: int | None = None):
        from .viz import DEFAULT_MAX_NODES, draw_nodes, number_formatter
        frames = self.frames  # also prepares the universe and names
        limit = DEFAULT_MAX_NODES if max_nodes is None else max_nodes
        if len(self._universe) > limit:
            raise ValueError(f"this trace has {len(self._universe):,} nodes; a frame draws at "
                             f"most {limit} (max_nodes=...): trace a smaller computation")
        write = number_formatter(number_format or self.number_format)
        hidden = {node for node in self._made[frame._created:]}
        hidden |= {node for node in self._universe
                   if node.is_constant and all(child in hidden for child in self._children(node))}
        values = frame.values
        active = frame._pass
        fill = {node: COMPLETE for node in frame.complete}
        edge_color = {}
        if frame.kind == "create":
            fill[frame.nodes[0]] = NEW
        elif frame.kind in ("seed", "tangent_seed"):
            fill[frame.nodes[0]] = RECEIVED
        else:
            sender, receiver = frame.nodes
            fill[sender] = SENDER
            fill[receiver] = RECEIVED
            edge_color = {frame.edges[0]: SENT}
        faded = set()
        if active is not None:
            faded = {node for node in self._universe
                     if node not in active.members and not node.is_constant}
        grad_name = "grad"
        if active is not None and active.mode == "forward":
            grad_name = f"∂/∂{self._name(active.root)}"
        widths = self._widths(write, frames)
        return draw_nodes(self._universe, outputs=[], number_format=write, rankdir=rankdir,
                          hide_constants=hide_constants, grads=values, grad_name=grad_name,
                          names=self._names, fill=fill, bold=frame.nodes, hidden=hidden,
                          faded=faded, edge_color=edge_color, min_chars=widths)

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
                               _width(_header(node, lambda n: names.get(n)) or ""))
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
    def _rendered(self, frames, max_frames, backend, options) -> tuple[list[dict], str]:
        frames = self.frames if frames is None else list(frames)
        if not frames:
            raise ValueError("nothing to play: no steps were recorded (create Values or run "
                             "t.backward(output) inside or after the trace() block)")
        if len(frames) > max_frames:
            raise ValueError(f"this trace has {len(frames):,} frames; a player holds at most "
                             f"{max_frames} (max_frames=...): trace a smaller computation, or "
                             f"pass frames=t.frames[:{max_frames}]")
        rendered, used = [], ""
        for frame in frames:
            svg = frame.to_svg(backend=backend, **options)
            used = svg.backend
            rendered.append({"kind": frame.kind, "caption": frame.caption,
                             "svg": _svg_body(str(svg))})
        return rendered, used

    def to_html(self, path: str | os.PathLike | None = None, *, frames=None,
                title: str = "autograd-mini: step by step", max_frames: int = DEFAULT_MAX_FRAMES,
                backend: str = "auto", **options) -> str:
        """Write a self-contained HTML step-through player to ``path`` (or return it as text).

        One file, no network: previous / next / play buttons, a slider, the list of steps, and
        the keyboard (left and right arrows step, space plays, Home and End jump). ``options``
        (``rankdir``, ``number_format``, ``hide_constants``) style each frame. The file is
        written whole or not at all. Returns the page's HTML.
        """
        rendered, used = self._rendered(frames, max_frames, backend, options)
        page = _player_page(rendered, title, used)
        if path is not None:
            from .files import write_atomic
            write_atomic(path, page)
        return page

    def player(self, *, widgets: bool | None = None, frames=None,
               max_frames: int = DEFAULT_MAX_FRAMES, backend: str = "auto", **options):
        """The stepper in Jupyter: ipywidgets when installed (or ``widgets=True``), else the HTML
        player inline (``widgets=False``)."""
        if widgets is None:
            try:
                import ipywidgets  # noqa: F401
                widgets = True
            except ImportError:
                widgets = False
        rendered, used = self._rendered(frames, max_frames, backend, options)
        if widgets:
            return _widget_player(rendered)
        return InlinePlayer(_player_page(rendered, "autograd-mini: step by step", used))


def _width(text: str) -> int:
    """Room for ``text`` in character widths (Graphviz may take a symbol such as ∂ as wide)."""
    return sum(1 if ord(c) < 128 else 2 for c in text)


def _is_zero(x) -> bool:
    return not isinstance(x, Value) and x == 0.0


def _formula(node: Value, name) -> str | None:
    from .viz import formula
    return formula(node, name)


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


def _script_json(data) -> str:
    """JSON that can sit inside a <script> element: no "</script>" or "<!--" can end it early."""
    return (json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _player_page(frames: list[dict], title: str, backend: str) -> str:
    steps = "\n".join(
        f'<li data-index="{i}" class="{html.escape(frame["kind"])}">'
        f'{html.escape(frame["caption"])}</li>' for i, frame in enumerate(frames))
    return (_PAGE.replace("__TITLE__", html.escape(title))
            .replace("__BACKEND__", html.escape(backend))
            .replace("__COUNT__", str(len(frames)))
            .replace("__LAST__", str(len(frames) - 1))
            .replace("__STEPS__", steps)
            .replace("__FRAMES__", _script_json(frames)))


class InlinePlayer:
    """The HTML player for a notebook cell, isolated in an iframe; ``.html`` is the page."""

    def __init__(self, page: str) -> None:
        self.html = page

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width:100%;height:640px;border:1px solid #ddd" '
                f'sandbox="allow-scripts"></iframe>')


def _widget_player(frames: list[dict]):
    import ipywidgets as widgets

    last = len(frames) - 1
    play = widgets.Play(value=0, min=0, max=last, step=1, interval=900, description="play")
    slider = widgets.IntSlider(value=0, min=0, max=last, description="step",
                               continuous_update=True)
    previous = widgets.Button(description="◀ prev", layout=widgets.Layout(width="80px"))
    following = widgets.Button(description="next ▶", layout=widgets.Layout(width="80px"))
    caption = widgets.HTML()
    picture = widgets.HTML()
    widgets.jslink((play, "value"), (slider, "value"))

    def show(change=None) -> None:
        frame = frames[slider.value]
        caption.value = (f"<b>{slider.value + 1} / {last + 1}</b> &nbsp; "
                         f"{html.escape(frame['caption'])}")
        picture.value = frame["svg"]

    previous.on_click(lambda _: setattr(slider, "value", max(0, slider.value - 1)))
    following.on_click(lambda _: setattr(slider, "value", min(last, slider.value + 1)))
    slider.observe(show, names="value")
    show()
    return widgets.VBox([widgets.HBox([previous, play, following, slider]), caption, picture])


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="autograd-mini (Graphviz: __BACKEND__)">
<title>__TITLE__</title>
<style>
  :root { --ink: #1a202c; --muted: #718096; --line: #e2e8f0; --accent: #dc2626; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial,
         sans-serif; color: var(--ink); background: #f7fafc; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 16px; padding: 16px;
         max-width: 1400px; margin: 0 auto; }
  h1 { font-size: 17px; margin: 0 0 8px; font-weight: 600; }
  .panel { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
  #caption { font-size: 18px; font-weight: 600; min-height: 1.5em; margin: 4px 0 10px; }
  #kind { display: inline-block; font-size: 12px; font-weight: 600; text-transform: uppercase;
          letter-spacing: .04em; padding: 2px 8px; border-radius: 10px; margin-right: 8px;
          vertical-align: 2px; background: #edf2f7; color: #4a5568; }
  #kind.create { background: #fef3c7; color: #92400e; }
  #kind.seed, #kind.send { background: #fee2e2; color: #991b1b; }
  #kind.tangent_seed, #kind.tangent { background: #dbeafe; color: #1e40af; }
  #stage { overflow: auto; text-align: center; min-height: 200px; }
  #stage svg { width: 100%; height: auto; max-height: 72vh; }
  .controls { display: flex; align-items: center; gap: 8px; margin-top: 10px; flex-wrap: wrap; }
  button { font: inherit; padding: 5px 12px; border: 1px solid #cbd5e0; border-radius: 6px;
           background: white; cursor: pointer; }
  button:hover { background: #edf2f7; }
  button:disabled { color: #a0aec0; cursor: default; background: white; }
  #slider { flex: 1; min-width: 120px; }
  select { font: inherit; padding: 4px; border: 1px solid #cbd5e0; border-radius: 6px; }
  #counter { font-variant-numeric: tabular-nums; color: var(--muted); min-width: 5em;
             text-align: right; }
  ol { margin: 0; padding-left: 2.2em; max-height: 70vh; overflow: auto; font-size: 13px; }
  li { padding: 2px 4px; border-radius: 4px; cursor: pointer; }
  li:hover { background: #edf2f7; }
  li.current { background: #fde68a; font-weight: 600; }
  .legend { font-size: 12px; color: var(--muted); margin-top: 10px; }
  .swatch { display: inline-block; width: 11px; height: 11px; border: 1px solid #4a5568;
            border-radius: 2px; margin: 0 3px 0 10px; vertical-align: -1px; }
  .help { font-size: 12px; color: var(--muted); margin-top: 8px; }
  @media (max-width: 800px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<main>
  <section class="panel">
    <h1>__TITLE__</h1>
    <div><span id="kind"></span><span id="caption" aria-live="polite"></span></div>
    <div id="stage"></div>
    <div class="controls">
      <button id="first" title="first step (Home)">|&#x25C0;</button>
      <button id="prev" title="previous step (left arrow)">&#x25C0; Prev</button>
      <button id="play" title="play / pause (space)">&#x25B6; Play</button>
      <button id="next" title="next step (right arrow)">Next &#x25B6;</button>
      <button id="last" title="last step (End)">&#x25B6;|</button>
      <input id="slider" type="range" min="0" max="__LAST__" value="0" aria-label="step">
      <span id="counter">1 / __COUNT__</span>
      <select id="speed" title="play speed" aria-label="play speed">
        <option value="0.5">0.5&times;</option><option value="1" selected>1&times;</option>
        <option value="2">2&times;</option><option value="4">4&times;</option>
      </select>
    </div>
    <div class="legend">
      <span class="swatch" style="background:#fde68a"></span>just made
      <span class="swatch" style="background:#bfdbfe"></span>sending
      <span class="swatch" style="background:#fdba74"></span>receiving
      <span class="swatch" style="background:#bbf7d0"></span>derivative final
      <span class="swatch" style="background:#dc2626;border-color:#dc2626"></span>edge in use
      &nbsp; Edges carry the local derivative d(child)/d(parent).
    </div>
    <div class="help">Keys: &larr; &rarr; step, space play / pause, Home / End.</div>
  </section>
  <aside class="panel">
    <h1>Steps</h1>
    <ol id="steps">
__STEPS__
    </ol>
  </aside>
</main>
<script id="frames" type="application/json">__FRAMES__</script>
<script>
(function () {
  "use strict";
  var frames = JSON.parse(document.getElementById("frames").textContent);
  var stage = document.getElementById("stage"), caption = document.getElementById("caption");
  var kind = document.getElementById("kind"), slider = document.getElementById("slider");
  var counter = document.getElementById("counter"), playButton = document.getElementById("play");
  var items = document.querySelectorAll("#steps li");
  var labels = {create: "build", seed: "backward", send: "backward",
                tangent_seed: "forward", tangent: "forward"};
  var current = -1, timer = null, last = frames.length - 1;

  function show(index) {
    index = Math.max(0, Math.min(last, index));
    if (index === current) return;
    if (current >= 0) items[current].classList.remove("current");
    current = index;
    var frame = frames[index];
    stage.innerHTML = frame.svg;
    var svg = stage.querySelector("svg"), natural = svg && parseFloat(svg.getAttribute("width"));
    if (natural) svg.style.maxWidth = Math.round(natural * 1.333 * 2) + "px"; // at most 2x
    caption.textContent = frame.caption;
    kind.textContent = labels[frame.kind] || frame.kind;
    kind.className = frame.kind;
    slider.value = index;
    counter.textContent = (index + 1) + " / " + frames.length;
    items[index].classList.add("current");
    items[index].scrollIntoView({block: "nearest"});
    document.body.setAttribute("data-frame", index);
    document.getElementById("prev").disabled = document.getElementById("first").disabled = index === 0;
    document.getElementById("next").disabled = document.getElementById("last").disabled = index === last;
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.innerHTML = "&#x25B6; Play";
    document.body.removeAttribute("data-playing");
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current === last) show(0);
    playButton.innerHTML = "&#x275A;&#x275A; Pause";
    document.body.setAttribute("data-playing", "");
    timer = setInterval(advance, 900 / speed());
  }
  function advance() {
    if (current >= last) { stop(); return; }
    show(current + 1);
    if (current >= last) stop();
  }
  function speed() { return parseFloat(document.getElementById("speed").value) || 1; }
  document.getElementById("speed").onchange = function () {
    if (timer !== null) { clearInterval(timer); timer = setInterval(advance, 900 / speed()); }
  };
  function step(delta) { stop(); show(current + delta); }

  document.getElementById("first").onclick = function () { stop(); show(0); };
  document.getElementById("prev").onclick = function () { step(-1); };
  document.getElementById("next").onclick = function () { step(1); };
  document.getElementById("last").onclick = function () { stop(); show(last); };
  playButton.onclick = play;
  slider.oninput = function () { stop(); show(parseInt(slider.value, 10)); };
  items.forEach(function (item) {
    item.onclick = function () { stop(); show(parseInt(item.getAttribute("data-index"), 10)); };
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target === slider && event.key.indexOf("Arrow") === 0) return; // the slider steps
    var keys = {ArrowRight: function () { step(1); }, ArrowDown: function () { step(1); },
                ArrowLeft: function () { step(-1); }, ArrowUp: function () { step(-1); },
                Home: function () { stop(); show(0); }, End: function () { stop(); show(last); },
                " ": play};
    if (keys[event.key] && !(event.key === " " && event.target.tagName === "BUTTON")) {
      event.preventDefault();
      keys[event.key]();
    }
  });
  show(0);
})();
</script>
</body>
</html>
"""
