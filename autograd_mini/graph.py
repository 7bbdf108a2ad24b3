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
import operator
from numbers import Real
from typing import Iterable, Sequence

from . import context
from .value import CLOSURE, CONSTANT, MANY, Value, closure_refusal, constant

_ACTIVE = context.ACTIVE


class collector_paused:
    """Pause Python's cycle collector inside this block (as it was, after).

    A graph holds no reference cycles, so the collector can find nothing in what building or
    walking one allocates. The engine itself no longer needs this (a node is one tracked object
    and the walks allocate none per node: see bench/results.md), but a loop that builds very
    large graphs may still use it; ``nn.fit`` runs each step inside it.

    >>> import gc
    >>> from autograd_mini import collector_paused
    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """

    __slots__ = ("_was_enabled",)

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc) -> None:
        if self._was_enabled:
            gc.enable()


def _collector_paused(walk):
    """Decorator form of ``collector_paused`` (for code that allocates many objects per node)."""
    @functools.wraps(walk)
    def paused(*args, **kwargs):
        with collector_paused():
            return walk(*args, **kwargs)
    return paused


_parents = Value.parents.fget  # node.parents without the descriptor lookup (walks: once a node)


def topological_order(root: Value, stop_at: Iterable[Value] = (), *,
                      forwards: bool = False) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents (``root`` last).

    By default parents are visited last-first, so that walking the order backwards (reverse
    mode) reaches a node's parents in their written order: for e = (a+b)*(b+1), c before d, as
    in Olah's figure. ``forwards=True`` gives that written order reading the list forwards (what a
    drawing wants, to place c above d). Nodes in ``stop_at`` are treated as leaves: the walk
    does not go above them, and they are not listed.

    >>> from autograd_mini import Value
    >>> a = Value(2.0, label="a"); b = Value(1.0, label="b")
    >>> [n.label or n.op or n.data for n in topological_order((a + b) * (b + 1))]
    [1.0, 'b', '+', 'a', '+', '*']
    """
    stop = set(stop_at)
    if root in stop or root._a is None:
        return [root]
    # A depth-first walk with an explicit stack (no recursion: a 10^6-node chain is fine) that
    # allocates nothing per node: a node is pushed once to be expanded and once more, under its
    # parents, to be placed; ``placed`` maps it to False in between and to True once listed.
    order: list[Value] = []
    placed: dict[Value, bool] = {}
    stack = [root]
    pop, push, extend, emit, state = stack.pop, stack.append, stack.extend, order.append, placed.get
    while stack:
        node = pop()
        done = state(node)
        if done is None:
            if node in stop:
                continue
            parents = _parents(node)
            if not parents:
                placed[node] = True
                emit(node)
                continue
            placed[node] = False
            push(node)
            extend(reversed(parents) if forwards else parents)  # the one to visit first on top
        elif done is False:
            placed[node] = True
            emit(node)
    return order


_op_node = operator.attrgetter("_a")  # truthy for a node with parents, None for a leaf


def _ops_in_order(root: Value) -> list[Value]:
    """The op nodes under ``root`` (root included) in ``topological_order``'s order, leaves
    left out, each one's ``grad`` reset to 0.0: what reverse mode walks.

    The walk keeps its state in the nodes' ``grad``, which it resets anyway: a node being
    visited holds the zero ``opened``, a placed one the zero ``placed``. Both are float objects
    made for this call (equal to 0.0, told apart by identity), so no dictionary of the graph's
    nodes is built, and marks left by an earlier call are never mistaken for this one's.
    """
    opened = float(0)
    placed = float(0)
    order: list[Value] = []
    stack = [root]
    while stack:
        node = stack.pop()
        mark = node.grad
        if mark is placed:
            continue
        if mark is not opened:
            # Push the node back under those of its parents still to place (leaves never: they
            # have nothing to order); a node with none left is placed at once.
            stack.append(node)
            a = node._a
            b = node._b
            if b is None:
                if a._a is not None and a.grad is not placed:
                    stack.append(a)
            elif b is MANY or b is CLOSURE:
                stack.extend(filter(_op_node, a))  # in C: an affine node's leaves cost ~nothing
            else:  # two parents; a number kept on an edge (a float) has nothing to order
                if a.__class__ is not float and a._a is not None and a.grad is not placed:
                    stack.append(a)
                if b.__class__ is not float and b._a is not None and b.grad is not placed:
                    stack.append(b)
            if stack[-1] is not node:
                node.grad = opened
                continue
            stack.pop()
        node.grad = placed  # == 0.0: intermediate grads are recomputed on each call
        order.append(node)
    return order


def backward(root: Value, gradient: float = 1.0, create_graph: bool = False) -> None:
    """``root.backward()``: fill ``.grad`` of every node reachable from ``root``."""
    if root.__class__ is not Value and not isinstance(root, Value):
        raise TypeError(f"backward() needs a Value, got {type(root).__name__}")
    if gradient.__class__ is not float:
        gradient = _seed(gradient)
    if create_graph or _ACTIVE[0]:
        return _backward_through_gradients(root, gradient, create_graph)
    if root._a is None:  # a leaf: d root / d root = 1
        if root._rule is not CONSTANT:
            root.grad += gradient
        return
    order = _ops_in_order(root)
    root.grad = gradient
    try:
        _send_back(order)
    except TypeError:
        _explain_bad_grad(order)
        raise


def _explain_bad_grad(order: list) -> None:
    """A TypeError in the hot loop is, most often, a grad that is not a number (PyTorch's
    ``p.grad = None``): name it, say what to do."""
    for node in order:
        for parent in node.parents:
            if not isinstance(parent.grad, (Real, Value)) and not parent.is_constant:
                raise TypeError(
                    f"backward() cannot add to the grad of {_describe(parent)}: it is "
                    f"{parent.grad!r}, not a number; reset gradients with p.grad = 0.0 "
                    "(model.zero_grad()), not None") from None


def _send_back(order: list) -> None:
    # The hot loop of training, written out: one branch per way a node keeps its parents.
    # An exact 0 (a local derivative or an incoming gradient) sends nothing, nan included.
    for node in reversed(order):
        g = node.grad
        if g:
            a = node._a
            b = node._b
            if b is None:  # one parent
                d = node._da
                if d and a._rule is not CONSTANT:
                    a.grad += d * g
            elif b is MANY:
                for parent, d in zip(a, node._da):
                    if d and parent._rule is not CONSTANT:
                        parent.grad += d * g
            elif b is CLOSURE:
                node._da()  # micrograd's way: the closure sends node.grad to the children
            else:  # two parents (a number's edge has d None: it sends nothing)
                d = node._da
                if d and a._rule is not CONSTANT:
                    a.grad += d * g
                d = node._db
                if d and b._rule is not CONSTANT:
                    b.grad += d * g


def _backward_through_gradients(root: Value, gradient, create_graph: bool) -> None:
    """``backward`` when more is asked than the hot loop does (create_graph, listeners, anomaly
    checks): ``gradients`` over every node, leaves included (so a listener hears each one
    become final), then the same ``.grad`` updates. Under ``create_graph`` every gradient is a
    Value, a constant 0 where nothing arrived, so that it can be differentiated again."""
    order = topological_order(root)
    grads = gradients(root, None, gradient, create_graph=create_graph, order=order)
    for node in order:
        g = grads.get(node)
        if node._a is not None:  # intermediate gradients are recomputed, never piled
            node.grad = g if g is not None else constant(0.0) if create_graph else 0.0
        elif node._rule is not CONSTANT:
            if g is not None:
                node.grad = _pile(node.grad, g)
            if create_graph and not isinstance(node.grad, Value):
                node.grad = constant(float(node.grad))


def _seed(gradient) -> float:
    try:
        return float(gradient)
    except (TypeError, ValueError):
        raise TypeError(f"backward(gradient=...) must be a number, got "
                        f"{type(gradient).__name__}") from None


def _is_zero(x) -> bool:
    return not isinstance(x, Value) and x == 0.0


def _carries_nothing(d, g) -> bool:
    """The exact-zero rule in every mode: an edge whose local derivative or incoming gradient is
    exactly 0 sends nothing. As floats, a 0 either way; as Values (create_graph), a 0 VALUE
    against an inf or nan one, whose product would be nan (a 0 against a finite number is
    still multiplied, so that its own derivative reaches the next order)."""
    if d.__class__ is not Value and g.__class__ is not Value:
        return d == 0.0 or g == 0.0
    dn, gn = _number(d), _number(g)
    if dn == 0.0:
        return _is_zero(d) or not math.isfinite(gn)
    if gn == 0.0:
        return _is_zero(g) or not math.isfinite(dn)
    return False


def _pile(before, amount):
    """A pile of derivatives grown by ``amount`` (an empty pile takes it as is: no ``0 + v`` node)."""
    return amount if _is_zero(before) else before + amount


def _local_derivatives(node: Value, create_graph: bool, mode: str) -> tuple:
    """The edge derivatives: the floats stored at creation, or the table's rule rerun on Values.

    Rerun on Values, a constant parent is passed as its number; the rule may still build
    derivative nodes for edges that are never used (the exponent's edge of x ** 2):
    detect_anomaly does not judge those while they are built; the pass checks what each used
    edge sends. A rule that turns a Value
    into a float (math.exp(x), float(x)) would cut the graph of the next order: it raises.
    """
    if node._b is CLOSURE:
        raise closure_refusal(node, mode)
    if not create_graph:
        return node.local_grads
    rule = node._rule
    # a constant parent is a number: the rule sees it as one, so nothing is built for it
    inputs = [p.data if p._rule is CONSTANT else p for p in _parents(node)]
    anomaly_token = context.anomaly_enabled.set(False)
    rule_token = context.rule_running.set(rule.name)
    _ACTIVE[0] += 1  # so that a Value read inside the rule is noticed
    try:
        return rule.local_grads(node, inputs)
    finally:
        _ACTIVE[0] -= 1
        context.rule_running.reset(rule_token)
        context.anomaly_enabled.reset(anomaly_token)


def _run_closure(node: Value, g: float) -> list:
    """What a user's ``_backward`` closure sends to each child when its node holds ``g``, read
    off the children's ``.grad`` (each set to 0 first and restored after)."""
    children = list(dict.fromkeys(node._a))
    saved = [child.grad for child in children]
    saved_own = node.grad
    try:
        for child in children:
            child.grad = 0.0
        node.grad = g
        node._da()
        return [(child, child.grad) for child in children]
    finally:
        for child, before in zip(children, saved):
            child.grad = before
        node.grad = saved_own


def gradients(root: Value, wrt: Sequence[Value] | None = None, seed=1.0, *,
              create_graph: bool = False, stop_at: Iterable[Value] = (),
              order: list[Value] | None = None) -> dict[Value, object]:
    """d root / d node for the nodes of ``wrt`` (default: every node), without touching ``.grad``.

    With ``create_graph`` the results are Values built from the op table's derivative rules, so
    they can be differentiated again. A node that ``root`` does not depend on gets 0.0. Nodes in
    ``stop_at`` are treated as inputs: the pass does not go above them. Given ``wrt``, the pass
    walks only the nodes on a path from ``root`` down to a node of ``wrt`` (with create_graph, no
    gradient graph is built for the rest).

    >>> from autograd_mini import Value, gradients
    >>> a = Value(2.0); b = Value(1.0)
    >>> e = (a + b) * (b + 1)
    >>> found = gradients(e, [a, b]); found[a], found[b]
    (2.0, 5.0)
    """
    stop = set(stop_at)
    if order is None:
        order = topological_order(root, stop)
    if wrt is None:
        return _reverse_pass(root, seed, create_graph, stop, order)
    wanted = list(wrt)
    reach = _leading_to(order, wanted, stop, root)
    grad = _reverse_pass(root, seed, create_graph, stop, order, reach)
    return {node: grad.get(node, 0.0) for node in wanted}


def _leading_to(order: list[Value], wanted: Sequence[Value], stop: set, root: Value) -> set:
    """The nodes of ``order`` from which a path down to a node of ``wanted`` leads (with the
    wanted nodes themselves): the only ones whose gradients the wanted ones are made of, since
    a gradient is piled from the node's children alone. The pass does not go above a stop node."""
    reach = set(wanted)
    add = reach.add
    for node in order:  # parents first: a node leads to a wanted one if one of its parents does
        if node not in reach and (node is root or node not in stop):
            for parent in _parents(node):
                if parent in reach:
                    add(node)
                    break
    return reach


def _reverse_pass(root: Value, seed, create_graph: bool, stop: set, order: list[Value],
                  reach: set | None = None) -> dict[Value, object]:
    """``gradients``' walk: d root / d node for every node walked (reversed ``order``; with
    ``reach``, only its nodes, and only edges into them are followed)."""
    listening = bool(_ACTIVE[0]) and bool(context.listeners.get())
    checking = bool(_ACTIVE[0]) and context.anomaly_enabled.get()
    if create_graph and not isinstance(seed, Value):
        seed = constant(float(seed))
    grad: dict[Value, object] = {root: seed}
    if listening:
        context.emit("seed", root, seed)
    if reach is not None:
        order = [node for node in order if node in reach] if root in reach else []
    for node in reversed(order):
        g = grad.get(node, 0.0)
        if listening:  # nothing reaches a node once the walk is at it: its gradient is final
            context.emit("final", node, g)
        if _is_zero(g) or node._a is None or (node in stop and node is not root):
            continue
        if node._b is CLOSURE and not create_graph:
            for child, amount in _run_closure(node, _number(g)):
                if reach is not None and child not in reach:
                    continue
                if child._rule is CONSTANT or amount == 0.0:
                    if listening:
                        context.emit("nothing_sent", node, child, None, g)
                    continue
                _check_sent(checking, node, child, None, g, amount)
                before = grad.get(child, 0.0)
                total = grad[child] = _pile(before, amount)
                if listening:  # no local derivative to show: the closure only gives the amount
                    context.emit("closure_send", node, child, g, amount, before, total)
            continue
        local = _local_derivatives(node, create_graph, "backward(create_graph=True)")
        for parent, d in zip(_parents(node), local):
            if reach is not None and parent not in reach:
                continue
            if parent._rule is CONSTANT or _carries_nothing(d, g):
                if listening:
                    context.emit("nothing_sent", node, parent, d, g)
                continue
            amount = d * g
            _check_sent(checking, node, parent, d, g, amount)
            before = grad.get(parent, 0.0)
            total = _pile(before, amount)
            grad[parent] = total
            if listening:
                context.emit("send", node, parent, d, g, amount, before, total)
    return grad


def _check_sent(checking: bool, node: Value, parent: Value, d, g, amount) -> None:
    if checking and not math.isfinite(_number(amount)):
        how = ("sent by its _backward closure" if d is None
               else f"local derivative {_number(d)!r} x incoming {_number(g)!r}")
        raise context.AnomalyError(
            f"backward: the gradient sent from {_describe(node)} to {_describe(parent)} is "
            f"{_number(amount)!r} ({how})")


def tangents(root: Value, seeds: dict[Value, object], *, create_graph: bool = False,
             order: list[Value] | None = None) -> dict[Value, object]:
    """Forward mode: d node / d (seeded inputs) for every node, following the arrows once.

    ``seeds`` maps input nodes to their tangents (1.0 for d / d that input). Only edges leaving a
    node with a tangent are multiplied, one pass per input, as Olah describes forward-mode
    differentiation. A node whose derivative is a user's ``_backward`` closure cannot be crossed
    (TypeError).

    >>> from autograd_mini import Value, tangents
    >>> a = Value(2.0); b = Value(1.0)
    >>> e = (a + b) * (b + 1)
    >>> tangents(e, {b: 1.0})[e]
    5.0
    """
    if order is None:
        order = topological_order(root)
    listening = bool(_ACTIVE[0]) and bool(context.listeners.get())
    tangent: dict[Value, object] = dict(seeds)
    if listening:
        for node, t in seeds.items():
            context.emit("tangent_seed", node, t)
    for node in order:
        if node in seeds or node._a is None:
            if listening and node in seeds:  # a tangent is final once the walk is past it
                context.emit("final", node, tangent[node])
            continue
        local = None
        total = 0.0
        for i, parent in enumerate(_parents(node)):
            t = tangent.get(parent)
            if t is None or _is_zero(t):
                continue
            if local is None:
                local = _local_derivatives(node, create_graph, "forward mode")
            if _carries_nothing(local[i], t):
                if listening:
                    context.emit("tangent_nothing_sent", parent, node, local[i], t)
                continue
            amount = local[i] * t
            before = total
            total = _pile(before, amount)
            if listening:
                context.emit("tangent", parent, node, local[i], t, amount, before, total)
        if local is not None:
            tangent[node] = total
            if listening:
                context.emit("final", node, total)
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


def _backward_method(self: Value, gradient: float = 1.0, *, create_graph: bool = False) -> None:
    """Fill ``.grad`` of every node this one depends on, in one reverse topological pass.

    Leaf grads accumulate across calls (as in PyTorch; zero them between steps); the grads of
    intermediate nodes are recomputed on each call, never double counted. With
    ``create_graph=True`` the grads are Values themselves, so they can be differentiated again.

    >>> from autograd_mini import Value
    >>> x = Value(3.0); y = x * x
    >>> y.backward(); x.grad
    6.0
    >>> y.backward(); x.grad     # leaves accumulate
    12.0
    """
    backward(self, gradient, create_graph)


_backward_method.__name__, _backward_method.__qualname__ = "backward", "Value.backward"
Value.backward = _backward_method  # the node's method, kept beside the walk (value.py is below)
