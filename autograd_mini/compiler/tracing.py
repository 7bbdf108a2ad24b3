"""Tracing: run a function once on Values and keep the graph the engine records, then ask the
engine for the gradient graph of it (``gradients(..., create_graph=True)``). Forward and reverse
together are one graph of table ops: the joint graph the compiler writes out.

Tracing listens to the engine's events (``autograd_mini.context.listening``): "create" for each
node made, "read" when the function takes a traced Value's number through a comparison,
``float()`` or ``Value(x)`` (a branch on a value, which a replayed graph cannot follow).
"""
from __future__ import annotations

import linecache
import math
import os
import sys
from numbers import Real
from typing import Callable, Sequence

from ..context import enable_grad, listening
from ..graph import _collector_paused, _leading_to, _reverse_pass, topological_order
from ..value import CONSTANT, Value, closure_refusal


class TracingError(RuntimeError):
    """``fn`` did something a recorded graph cannot replay (it branched on a traced Value)."""


class GraphChangedError(TracingError):
    """Traced again at other inputs, ``fn`` built a different graph: it branches on values."""


_ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _caller() -> tuple:
    """(file, line, function) of the first frame outside the engine: who read the number."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_ENGINE_DIR):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name) if frame else \
        ("<engine>", 0, "?")


def read_report(reads: list) -> str:
    lines, seen = [], set()
    for filename, lineno, function in reads:
        if (filename, lineno) not in seen and len(lines) < 5:
            seen.add((filename, lineno))
            code = linecache.getline(filename, lineno).strip()
            lines.append(f"  {filename}:{lineno} in {function}: {code}")
    return "\n".join(lines)


class Trace:
    """One run of ``fn`` on Values: ``inputs`` (leaves made from ``args``), ``outputs``, the
    ``params`` (Values from outside that fn reads: a model's weights, read afresh at each call),
    ``order`` (every node, parents first) and ``reads`` (where fn branched on a value).
    ``several``: fn may return a list of Values."""

    @_collector_paused  # tracing makes many objects and no cycles (graph.py)
    def __init__(self, fn: Callable, args: Sequence[float], names: Sequence[str],
                 several: bool = False):
        self.inputs = [Value(x, label=name) for x, name in zip(args, names)]
        made, reads = [], []

        def note(kind, *details):
            if kind == "create":
                made.append(details[0])
            elif kind == "read" and details[0]._rule is not CONSTANT:
                reads.append((details[0], _caller()))

        with enable_grad(), listening(note):
            out = fn(*self.inputs)
        self.single = not (several and isinstance(out, (list, tuple)))
        self.outputs = []
        for item in ([out] if self.single else out):
            if isinstance(item, Real) and not isinstance(item, bool):
                item = Value(float(item))  # fn ignores its inputs here: a constant output
                made.append(item)
            if not isinstance(item, Value):
                wanted = "a Value or a list of Values" if several else "one Value (a scalar)"
                raise TypeError(f"compile: the function must return {wanted}, got "
                                f"{type(item).__name__}")
            self.outputs.append(item)
        created = {id(node) for node in made}
        # a leaf fn made from a number holds just that number: reading it is harmless
        self.reads = [where for node, where in reads
                      if not (id(node) in created and not node.parents)]
        created.update(id(leaf) for leaf in self.inputs)
        # Nodes fn did not make (a model's weights, or a node computed before the call) are
        # read afresh at every call: they are the program's parameters.
        params, seen = [], set()
        for node in made + [o for o in self.outputs if id(o) not in created]:
            for parent in (node.parents if id(node) in created else (node,)):
                if id(parent) not in created and parent._rule is not CONSTANT \
                        and id(parent) not in seen:
                    seen.add(id(parent))
                    params.append(parent)
        self.order = _order(self.outputs, self.inputs + params)
        for node in self.order:  # a program is written from the table's rules, not closures
            if node.has_closure:
                raise closure_refusal(node, "compile")
        in_order = {id(n) for n in self.order}
        self.params = [p for p in params if id(p) in in_order]

    def signature(self) -> list[tuple]:
        """The graph's shape: each node's kind and op, its parents' positions, baked numbers."""
        position = {id(node): i for i, node in enumerate(self.order)}
        slot = {id(leaf): i for i, leaf in enumerate(self.inputs)}
        param = {id(p) for p in self.params}
        shape = []
        for node in self.order:
            if id(node) in slot:
                shape.append(("input", slot[id(node)]))
            elif id(node) in param:
                shape.append(("parameter", id(node)))
            elif not node.parents:  # repr: nan equals nan, and -0.0 differs from 0.0
                shape.append(("number", repr(node.data)))
            else:
                shape.append((node._rule.name, tuple(position[id(p)] for p in node.parents)))
        shape.append(("outputs", tuple(position[id(o)] for o in self.outputs)))
        return shape


def _order(outputs: Sequence[Value], cut: Sequence[Value]) -> list[Value]:
    """The cut points (inputs, parameters) as leaves, then every node the outputs need, parents
    first, in the eager engine's order (``topological_order``)."""
    order, stops = list(cut), set(cut)
    for out in outputs:
        if out not in stops:
            part = topological_order(out, stop_at=stops)
            order += part
            stops.update(part)
    return order


@_collector_paused
def reverse(output: Value, wrt: Sequence[Value] | None, cut: Sequence[Value], seed,
            forward: Sequence[Value] = ()) -> tuple[dict, bool]:
    """The engine's gradient graph: d output / d node for each node of ``wrt`` and the nodes
    between (default: every node), as Values built by the op table's derivative rules
    (``gradients(create_graph=True)``), none where the output does not depend on the node; and
    whether that graph holds at every input. It does unless a number on the way was inf or
    nan: the engine's exact-zero rule (an exact 0 against an inf or nan carries nothing) then
    dropped edges for this input only.
    A rule that takes a number out of a Value (``float(x)``, ``math.exp(x)``, ``if x > 0``)
    would freeze it: that is refused, naming the line."""
    reads: list = []
    made: list = []

    def note(kind, *details):
        if kind == "read" and details[0]._rule is not CONSTANT:
            reads.append(_caller())
        elif kind == "create":
            made.append(details[0])

    stop = set(cut)
    order = topological_order(output, stop)
    # every gradient walked, not only wrt's: the plan names each after the node it is of
    reach = None if wrt is None else _leading_to(order, list(wrt), stop, output)
    with enable_grad(), listening(note):
        found = _reverse_pass(output, seed, True, stop, order, reach)
    if reads:
        raise TracingError("compile: a derivative rule took the number out of a Value, so the "
                           "gradient graph would keep the number it had when traced:\n"
                           f"{read_report(reads)}\nWrite derivative rules with arithmetic and the "
                           "functions of autograd_mini.ops (they take floats or Values).")
    generic = all(math.isfinite(node.data) for nodes in (made, forward) for node in nodes)
    return found, generic
