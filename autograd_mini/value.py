"""The node of the computational graph.

A ``Value`` holds a number, the gradient piled up in it, its parents and the local derivative of
itself with respect to each parent (the number written on each edge of the texts' figure). The
operations themselves live in one table, ``autograd_mini.ops``; this file only knows how to make
a node from a table entry. Nodes hold no closures and point only at their parents, so a graph
has no reference cycles and is freed by reference counting the moment it is dropped.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Callable, Iterable

from . import context

_ACTIVE = context.ACTIVE  # non-zero while no_grad / detect_anomaly / a trace is on somewhere
_new = object.__new__


class Value:
    """A scalar in a computational graph.

    >>> a = Value(2.0, label="a"); b = Value(1.0, label="b")
    >>> e = (a + b) * (b + 1)
    >>> e.backward()
    >>> e.data, a.grad, b.grad
    (6.0, 2.0, 5.0)

    Attributes: ``data`` (float), ``grad`` (float; a Value after ``backward(create_graph=True)``),
    ``label``; read-only ``parents``, ``local_grads`` (d self / d parent, same order) and ``op``.
    """

    __slots__ = ("data", "grad", "label", "_parents", "_local", "_rule")

    def __init__(self, data: float | int, label: str = "") -> None:
        self.data = _to_float(data, "Value(data)")
        self.grad = 0.0
        self.label = label if isinstance(label, str) else _bad_label(label)
        self._parents = ()
        self._local = ()
        self._rule = None  # None: a leaf that owes gradients; CONSTANT: a number lifted into a graph
        if _ACTIVE[0]:
            context.emit("create", self)

    # -- the recorded graph -------------------------------------------------------------------
    @property
    def parents(self) -> tuple[Value, ...]:
        """The nodes this one was computed from (empty for a leaf)."""
        return self._parents

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d self / d parent for each parent, computed when the node was made."""
        return self._local

    @property
    def op(self) -> str:
        """The op's short name ("+", "*", "tanh", ...); "" for a leaf or a constant."""
        rule = self._rule
        return "" if rule is None or rule is CONSTANT else rule.symbol

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    @property
    def is_constant(self) -> bool:
        """True for a number mixed into an expression: no gradient is owed to it."""
        return self._rule is CONSTANT

    # -- micrograd compatibility (its lecture's draw_dot reads _prev and _op, and calls _backward) --
    @property
    def _prev(self) -> set[Value]:
        return set(self._parents)

    @property
    def _op(self) -> str:
        return self.op

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's one-node backward step: send this node's grad to its parents."""
        def step() -> None:
            for parent, local in zip(self._parents, self._local):
                if parent._rule is not CONSTANT:
                    parent.grad += local * self.grad
        return step

    # -- reverse and forward mode (implemented in graph.py) --------------------------------------
    def backward(self, gradient: float = 1.0, *, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this one depends on, in one reverse topological pass.

        Leaf grads accumulate across calls (as in PyTorch; zero them between steps); the grads of
        intermediate nodes are recomputed on each call, never double counted. With
        ``create_graph=True`` the grads are Values themselves, so they can be differentiated again.

        >>> x = Value(3.0); y = x * x
        >>> y.backward(); x.grad
        6.0
        >>> y.backward(); x.grad     # leaves accumulate
        12.0
        """
        from .graph import backward
        backward(self, gradient, create_graph=create_graph)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows a Value as the SVG of its graph (see ``autograd_mini.viz``)."""
        from .viz import value_mimebundle
        return value_mimebundle(self, include, exclude)

    # -- plain-number conveniences ----------------------------------------------------------
    def item(self) -> float:
        return self.data

    def __float__(self) -> float:
        return self.data

    def detach(self) -> Value:
        """A new leaf holding the same number, cut off from this graph."""
        return Value(self.data, self.label)

    def __repr__(self) -> str:
        if self._rule is CONSTANT:
            return f"<constant {self.data!r}>"
        text = f"Value(data={self.data!r}, grad={self.grad!r}"
        if self.label:
            text += f", label={self.label!r}"
        if self._rule is not None:
            text += f", op={self.op!r}"
        return text + ")"

    # Comparisons read the numbers (they are not differentiable). Equality stays identity, so
    # Values can be dict keys and set members, as the graph algorithms need.
    def __lt__(self, other): return self.data < _number(other)
    def __le__(self, other): return self.data <= _number(other)
    def __gt__(self, other): return self.data > _number(other)
    def __ge__(self, other): return self.data >= _number(other)

    __hash__ = object.__hash__


class _Constant:
    """Marks a node as a constant (a number lifted into the graph); not an op."""

    symbol = ""
    name = "constant"

    def __repr__(self) -> str:
        return "CONSTANT"


CONSTANT = _Constant()

ACCEPTED = "a Value, an int or a float"


def _to_float(x, where: str) -> float:
    cls = x.__class__
    if cls is float:
        return x
    if cls is Value:
        return x.data
    if cls is int or isinstance(x, Real):  # int, bool, fractions, NumPy scalars
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where}: {x!r} is too large for a float") from None
    if isinstance(x, Value):  # a subclass
        return x.data
    raise TypeError(f"{where} got {type(x).__name__} {x!r:.40}; expected {ACCEPTED}")


def _bad_label(label) -> str:
    raise TypeError(f"Value(label=...) must be a str, got {type(label).__name__}")


def _number(x) -> float:
    return x.data if isinstance(x, Value) else _to_float(x, "comparison with a Value")


def constant(x: float) -> Value:
    """A constant leaf: a number mixed into an expression."""
    return make_node(x, (), (), CONSTANT)


def lift(x, op_symbol: str = "") -> Value:
    """A Value as is; a number as a constant leaf; anything else a clear TypeError."""
    cls = x.__class__
    if cls is float:
        return constant(x)
    if cls is int:
        return constant(_to_float(x, "operand"))
    if isinstance(x, Value):
        return x
    if isinstance(x, Real):  # numbers.Real is a slow check, so the common types go first
        return constant(_to_float(x, "operand"))
    where = f"operand of {op_symbol!r}" if op_symbol else "operand"
    raise TypeError(f"unsupported {where}: {type(x).__name__} {x!r:.40}; expected {ACCEPTED}")


def make_node(data: float, parents: tuple, local: tuple, rule) -> Value:
    """Make an op's output node (the hot path: no checks, no hooks)."""
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node._parents = parents
    node._local = local
    node._rule = rule
    return node


def apply_slow(rule, parents: tuple) -> Value:
    """Make an op's output node while a switch is on: no_grad, detect_anomaly or a listener."""
    xs = [p.data for p in parents]
    out = rule.value(*xs)
    if context.anomaly_enabled.get() and not math.isfinite(out):
        operands = ", ".join(repr(x) for x in xs)
        raise context.AnomalyError(f"{rule.name}({operands}) produced {out!r}")
    if not context.grad_enabled.get():
        return constant(out)
    node = make_node(out, parents, rule.local_grads(out, xs), rule)
    context.emit("create", node)
    return node


def unary_method(rule) -> Callable[[Value], Value]:
    value, derivative = rule.value, rule.derivative

    def method(self: Value) -> Value:
        if _ACTIVE[0]:
            return apply_slow(rule, (self,))
        x = self.data
        out = value(x)
        node = _new(Value)  # make_node, inlined: the call would cost a fifth of the op
        node.data, node.grad, node.label = out, 0.0, ""
        node._parents, node._local, node._rule = (self,), derivative(out, x), rule
        return node

    method.__name__ = rule.name
    method.__doc__ = f"{rule.name}(self): {rule.doc}"
    return method


def binary_methods(rule) -> tuple[Callable, Callable]:
    value, derivative, symbol = rule.value, rule.derivative, rule.symbol

    def forward(self: Value, other) -> Value:
        if other.__class__ is not Value:
            other = lift(other, symbol)
        if _ACTIVE[0]:
            return apply_slow(rule, (self, other))
        a = self.data
        b = other.data
        out = value(a, b)
        node = _new(Value)  # make_node, inlined: the call would cost a fifth of the op
        node.data, node.grad, node.label = out, 0.0, ""
        node._parents, node._local, node._rule = (self, other), derivative(out, a, b), rule
        return node

    def reflected(self: Value, other) -> Value:  # other <op> self, with other a number
        other = lift(other, symbol)
        if _ACTIVE[0]:
            return apply_slow(rule, (other, self))
        a = other.data
        b = self.data
        out = value(a, b)
        return make_node(out, (other, self), derivative(out, a, b), rule)

    forward.__doc__ = reflected.__doc__ = f"{rule.name}: {rule.doc}"
    return forward, reflected


def nary_function(rule) -> Callable[[Iterable], Value]:
    operands = rule.operands

    def function(*args) -> Value:
        return rule(*operands(*args))  # Op.__call__: lifts numbers, makes one node

    function.__name__ = rule.name
    function.__doc__ = f"{rule.name}(iterable): {rule.doc}"
    return staticmethod(function)
