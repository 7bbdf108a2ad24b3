"""Walking a recorded graph: topological order, reverse mode, forward mode.

No recursion anywhere, so a chain of a million ops works at Python's default recursion limit.
An edge whose local derivative is exactly 0 carries nothing, even times nan or inf: the
derivative of x ** relu(x) at x = -1 is 0, not nan. Both modes follow this rule, so they agree.

The eager reverse pass is the hot loop of training, so it is written out plainly; everything
that needs more (create_graph, gradients of chosen inputs, tracing, anomaly checks) goes through
``gradients`` and ``tangents``, which work on floats or Values alike.
"""
from __future__ import annotations

import functools
import gc
import math
from contextlib import contextmanager
from typing import Iterable, Sequence

from . import context
from .value import CONSTANT, Value, constant

_ACTIVE = context.ACTIVE


@contextmanager
def collector_paused():
    """Pause Python's cycle collector inside this block (as it was, after).

    A graph holds no reference cycles, so the collector can find nothing in what building or
    walking one allocates (nodes, stacks, orders, gradient nodes); yet on a big graph it would be
    triggered thousands of times and rescan every live node, which can cost more than the work
    itself. Graph walks run inside it; so does each step of ``nn.fit``.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _collector_paused(walk):
    @functools.wraps(walk)
    def paused(*args, **kwargs):
        with collector_paused():
            return walk(*args, **kwargs)
    return paused


@_collector_paused
def topological_order(root: Value, stop_at: Iterable[Value] = (), *,
                      forwards: bool = False) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents (``root`` last).

    By default parents are visited last-first, so that walking the order backwards (reverse
    mode) reaches a node's parents in their written order: for e = (a+b)*(b+1), c before d, as
    in the texts. ``forwards=True`` gives that written order reading the list forwards (what a
    drawing wants, to place c above d). Nodes in ``stop_at`` are treated as leaves: the walk
    does not go above them.
    """
    order: list[Value] = []
    seen = set(stop_at)
    if root in seen or not root._parents:
        return [root]
    seen.add(root)
    parents_of = iter if forwards else reversed
    stack = [(root, parents_of(root._parents))]
    push, pop, emit_node, visit = stack.append, stack.pop, order.append, seen.add
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in seen:
                visit(parent)
                if parent._parents:
                    push((parent, parents_of(parent._parents)))
                    break
                emit_node(parent)
        else:
            pop()
            emit_node(node)
    return order


@_collector_paused
def backward(root: Value, gradient: float = 1.0, *, create_graph: bool = False) -> None:
    """``root.backward()``: fill ``.grad`` of every node reachable from ``root``."""
    if not isinstance(root, Value):
        raise TypeError(f"backward() needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    for node in order:  # intermediate grads are recomputed on each call; leaves accumulate
        if node._parents:
            node.grad = 0.0
    if create_graph or _ACTIVE[0]:
        grads = gradients(root, None, gradient, create_graph=create_graph, order=order)
        for node, g in grads.items():
            if node._parents:
                node.grad = g
            elif node._rule is not CONSTANT:
                node.grad = _pile(node.grad, g)
        return
    root.grad += float(gradient)
    for node in reversed(order):
        g = node.grad
        if g:
            for parent, local in zip(node._parents, node._local):
                if local and parent._rule is not CONSTANT:  # an exact 0 sends nothing, nan included
                    parent.grad += local * g


def _is_zero(x) -> bool:
    return not isinstance(x, Value) and x == 0.0


def _pile(before, amount):
    """A pile of derivatives grown by ``amount`` (an empty pile takes it as is: no ``0 + v`` node)."""
    return amount if _is_zero(before) else before + amount


def _local_derivatives(node: Value, create_graph: bool) -> tuple:
    """The edge derivatives: the floats stored at creation, or the table's rule rerun on Values."""
    return node._rule.local_grads(node, node._parents) if create_graph else node._local


@_collector_paused
def gradients(root: Value, wrt: Sequence[Value] | None = None, seed=1.0, *,
              create_graph: bool = False, stop_at: Iterable[Value] = (),
              order: list[Value] | None = None) -> dict[Value, object]:
    """d root / d node for the nodes of ``wrt`` (default: every node), without touching ``.grad``.

    With ``create_graph`` the results are Values built from the op table's derivative rules, so
    they can be differentiated again. A node that ``root`` does not depend on gets 0.0. Nodes in
    ``stop_at`` are treated as inputs: the pass does not go above them.
    """
    stop = set(stop_at)
    if order is None:
        order = topological_order(root, stop)
    listening = bool(_ACTIVE[0]) and bool(context.listeners.get())
    checking = bool(_ACTIVE[0]) and context.anomaly_enabled.get()
    if create_graph and not isinstance(seed, Value):
        seed = constant(float(seed))
    grad: dict[Value, object] = {root: seed}
    if listening:
        context.emit("seed", root, seed)
    for node in reversed(order):
        g = grad.get(node, 0.0)
        if _is_zero(g) or not node._parents or (node in stop and node is not root):
            continue
        local = _local_derivatives(node, create_graph)
        for parent, d in zip(node._parents, local):
            if parent._rule is CONSTANT or _is_zero(d):
                continue
            amount = d * g
            if checking and not math.isfinite(_number(amount)):
                raise context.AnomalyError(
                    f"backward: the gradient sent from {_describe(node)} to {_describe(parent)} is "
                    f"{_number(amount)!r} (local derivative {_number(d)!r} x incoming {_number(g)!r})")
            before = grad.get(parent, 0.0)
            total = _pile(before, amount)
            grad[parent] = total
            if listening:
                context.emit("send", node, parent, d, g, amount, before, total)
    if wrt is None:
        return grad
    return {node: grad.get(node, 0.0) for node in wrt}


@_collector_paused
def tangents(root: Value, seeds: dict[Value, object], *, create_graph: bool = False,
             order: list[Value] | None = None) -> dict[Value, object]:
    """Forward mode: d node / d (seeded inputs) for every node, following the arrows once.

    ``seeds`` maps input nodes to their tangents (1.0 for d / d that input). Only edges leaving a
    node with a tangent are multiplied, as in the texts' one pass per input.
    """
    if order is None:
        order = topological_order(root)
    listening = bool(_ACTIVE[0]) and bool(context.listeners.get())
    tangent: dict[Value, object] = dict(seeds)
    if listening:
        for node, t in seeds.items():
            context.emit("tangent_seed", node, t)
    for node in order:
        if node in seeds or not node._parents:
            continue
        local = None
        total = 0.0
        for i, parent in enumerate(node._parents):
            t = tangent.get(parent)
            if t is None or _is_zero(t):
                continue
            if local is None:
                local = _local_derivatives(node, create_graph)
            if _is_zero(local[i]):
                continue
            amount = local[i] * t
            before = total
            total = _pile(before, amount)
            if listening:
                context.emit("tangent", parent, node, local[i], t, amount, before, total)
        if local is not None:
            tangent[node] = total
    return tangent


def forward_derivative(output: Value, wrt: Value) -> float:
    """d output / d wrt by forward mode: one pass from ``wrt`` along the arrows.

    >>> from autograd_mini import Value, forward_derivative
    >>> a = Value(2.0); b = Value(1.0)
    >>> e = (a + b) * (b + 1)
    >>> forward_derivative(e, a), forward_derivative(e, b)
    (2.0, 5.0)
    """
    for name, node in (("output", output), ("wrt", wrt)):
        if not isinstance(node, Value):
            raise TypeError(f"forward_derivative: {name} must be a Value, got {type(node).__name__}")
    return tangents(output, {wrt: 1.0}).get(output, 0.0)


def _number(x) -> float:
    return x.data if isinstance(x, Value) else x


def _describe(node: Value) -> str:
    name = node.label or (node.op and f"the {node.op} node") or "a leaf"
    return f"{name} (value {node.data!r})"


def count_multiplications(output: Value, inputs: Sequence[Value]) -> dict[str, int]:
    """How many edge multiplications each mode does to get d output / d input for every input.

    Reverse mode: one pass from ``output``, one multiplication per edge it crosses. Forward mode:
    one pass per input, each multiplying along the edges reachable from that input.

    >>> from autograd_mini import Value
    >>> a = Value(2.0); b = Value(1.0)
    >>> count_multiplications((a + b) * (b + 1), [a, b])
    {'reverse': 5, 'forward': 6}
    """
    counts = {"reverse": 0, "forward": 0}

    def count(kind, *details):
        if kind == "send":
            counts["reverse"] += 1
        elif kind == "tangent":
            counts["forward"] += 1

    with context.listening(count):
        gradients(output, list(inputs))
        for x in inputs:
            tangents(output, {x: 1.0})
    return counts
