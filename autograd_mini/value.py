"""The node of the computational graph.

A ``Value`` holds a number, the gradient piled up in it, its parents and the local derivative of
itself with respect to each parent (the number written on each edge of Olah's figure of
e = (a+b)(b+1)). The operations themselves live in one table, ``autograd_mini.ops``, which gives
this class its operators and methods (and graph.py its ``backward``); this file knows how to make
a node from a table row. A node made from a row holds no closure and points only at its parents,
so a graph has no reference cycles and is freed by reference counting the moment it is dropped.

How a node is stored (it matters for speed and memory, see bench/): one or two parents and their
local derivatives sit in the node itself (``_a``, ``_b``, ``_da``, ``_db``), so a binary node is
ONE object tracked by Python's cycle collector, not three (node, parents tuple, derivatives tuple).
With three or more parents, ``_a`` and ``_da`` hold tuples and ``_b`` is the marker ``MANY``.
A node made in micrograd's way (``Value(data, children, op)`` and a ``_backward`` closure) keeps
its children in ``_a``, its closure in ``_da`` and the marker ``CLOSURE`` in ``_b``.

A number operand of a binary op (the 2 of ``x * 2``) stays a float in its parent slot, with
``None`` for its derivative (reverse mode skips the edge): one object per op. ``parents`` makes
its constant node on the first look and keeps it in the slot (the same node ever after), and
``local_grads`` recomputes the edge's derivative from the rule, so every view sees the graph as
if the constant had been a node all along. While a trace, listener or no_grad is on, numbers
become constant nodes at once.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Callable, Iterable

from . import context

_ACTIVE = context.ACTIVE  # non-zero while no_grad / detect_anomaly / a trace is on somewhere
_new = object.__new__


class _Marker:
    """A named singleton stored in a node's ``_b`` slot to say how its parents are kept."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):
        return self.name  # pickles as the module-level singleton of that name

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


MANY = _Marker("MANY")        # three or more parents: _a is the parents tuple, _da the derivatives
CLOSURE = _Marker("CLOSURE")  # a user's _backward closure: _a is the children tuple, _da the closure


class Value:
    """A scalar in a computational graph.

    >>> a = Value(2.0, label="a"); b = Value(1.0, label="b")
    >>> e = (a + b) * (b + 1)
    >>> e.backward()
    >>> e.data, a.grad, b.grad
    (6.0, 2.0, 5.0)

    Attributes: ``data`` (float), ``grad`` (float; a Value after ``backward(create_graph=True)``),
    ``label``; read-only ``parents``, ``local_grads`` (d self / d parent, same order) and ``op``.
    A Value takes attributes of your own (``p.m = 0.0`` for an optimizer's moment,
    ``node.color = "red"`` for a drawing); they live in a dictionary made on the first one, so
    nodes without any cost nothing extra.

    micrograd's constructor works too: ``Value(data, _children=(), _op='', label='')``. A node
    made that way gets its gradient rule from a closure you set, as in micrograd's lecture:

    >>> x = Value(0.5, label="x")
    >>> t = math.tanh(x.data)
    >>> out = Value(t, (x,), "tanh")
    >>> def _backward():
    ...     x.grad += (1 - t ** 2) * out.grad
    >>> out._backward = _backward
    >>> out.backward(); round(x.grad, 12), out.op, out.parents == (x,)
    (0.786447732966, 'tanh', True)

    The trade-off against a table op (``autograd_mini.defop``): reverse mode calls the closure
    in topological order like micrograd (when the node's gradient is not exactly 0: an exact zero
    carries nothing, as on every edge), and drawings show the node's children and op; but the
    derivative is hidden inside code, so the engine cannot show the number on each edge (a trace
    says "no edge derivative known"), cannot run forward mode, ``backward(create_graph=True)``
    or ``compile`` through it (each refuses with a message), and cannot pickle it. A ``defop``
    row gives the same op every mode of differentiation.
    """

    __slots__ = ("data", "grad", "_rule", "_a", "_b", "_da", "_db", "__dict__")

    label = ""  # the default; a node's own label goes into its attribute dictionary

    def __init__(self, data: float | int, _children: Iterable[Value] = (), _op: str = "",
                 label: str = "") -> None:
        if data.__class__ is not float:
            data = _to_float(data, "Value(data)")
        self.data = data
        self.grad = 0.0
        self._rule = None  # None: a leaf that owes gradients; CONSTANT: a number lifted into a graph
        self._a = None
        self._b = None
        self._da = None
        self._db = None
        if label.__class__ is not str and not isinstance(label, str):
            _bad_label(label)
        if label:
            self.label = label
        if _children or _op:
            _adopt(self, _children, _op)
        if _ACTIVE[0]:
            context.emit("create", self)

    # -- the recorded graph -------------------------------------------------------------------
    @property
    def parents(self) -> tuple[Value, ...]:
        """The nodes this one was computed from (empty for a leaf)."""
        b = self._b
        if b is None:
            a = self._a
            return () if a is None else (a,)
        if b is MANY or b is CLOSURE:
            return self._a
        a = self._a
        if a.__class__ is float:  # a number kept on the edge: its constant node, made once
            a = self._a = constant(a)
        if b.__class__ is float:
            b = self._b = constant(b)
        return (a, b)

    @property
    def local_grads(self) -> tuple:
        """d self / d parent for each parent, computed when the node was made (None for each
        parent of a node whose backward step is a closure: its derivatives are not known)."""
        b = self._b
        if b is None:
            return () if self._a is None else (self._da,)
        if b is MANY:
            return self._da
        if b is CLOSURE:
            return (None,) * len(self._a)
        if self._da is None or self._db is None:  # a number's edge: its derivative, as made
            return self._rule.derivative(self.data, _edge_number(self._a), _edge_number(b))
        return (self._da, self._db)

    _parents = parents  # the older spelling, which bench/worker.py reads (it measures old versions too)

    @property
    def op(self) -> str:
        """The op's short name ("+", "*", "tanh", ...); "" for a leaf or a constant."""
        rule = self._rule
        return "" if rule is None else rule.symbol

    @property
    def is_leaf(self) -> bool:
        return self._a is None

    @property
    def is_constant(self) -> bool:
        """True for a number mixed into an expression: no gradient is owed to it."""
        return self._rule is CONSTANT

    @property
    def has_closure(self) -> bool:
        """True for a node whose backward step is a user's ``_backward`` closure (micrograd's way)."""
        return self._b is CLOSURE

    # -- micrograd compatibility (its lecture's draw_dot reads _prev and _op, and calls _backward) --
    @property
    def _prev(self) -> set[Value]:
        return set(self.parents)

    @_prev.setter
    def _prev(self, children) -> None:
        # as in micrograd, where backward walks _prev: the node's backward step stays what it was
        # (a closure over the old parents' derivatives) and reverse mode visits the new children
        if self._rule is CONSTANT:
            raise TypeError("a constant (a number lifted into a graph) cannot take children")
        step = self._backward
        _adopt(self, children, self._op)
        self._backward = step

    _op_written = None  # a name assigned to _op, where it cannot rename the node's op

    @property
    def _op(self) -> str:
        return self.op if self._op_written is None else self._op_written

    @_op.setter
    def _op(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"_op must be a str, got {type(name).__name__}")
        if isinstance(self._rule, UserOp):
            self._rule = user_op(name)  # a closure node's op is only its name
        self._op_written = name  # a table op keeps computing as its row says

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's one-node backward step: send this node's grad to its parents.

        For a table op it is made from the stored local derivatives; a closure you assign
        (``out._backward = fn``) becomes the node's gradient rule for reverse mode.
        """
        if self._b is CLOSURE:
            return self._da
        edges = tuple(zip(self.parents, self.local_grads))  # the step is bound to these edges

        def step() -> None:
            g = self.grad
            for parent, local in edges:
                if local and parent._rule is not CONSTANT:
                    parent.grad += local * g
        return step

    @_backward.setter
    def _backward(self, closure: Callable[[], None]) -> None:
        if not callable(closure):
            raise TypeError(f"_backward must be a function of no arguments, got "
                            f"{type(closure).__name__}")
        if self._rule is CONSTANT:
            raise TypeError("a constant (a number lifted into a graph) cannot take a _backward")
        children = self.parents
        self._rule = user_op(self.op)
        self._a, self._b, self._da, self._db = children, CLOSURE, closure, None

    # ``backward()`` is this class's method too: graph.py, where the walk is, attaches it.

    # -- plain-number conveniences ----------------------------------------------------------
    def item(self) -> float:
        if _ACTIVE[0]:
            _read(self)
        return self.data

    def __float__(self) -> float:
        if _ACTIVE[0]:
            _read(self)
        return self.data

    def detach(self) -> Value:
        """A new leaf holding the same number, cut off from this graph."""
        return Value(self.data, label=self.label)

    def __repr__(self) -> str:
        if self._rule is CONSTANT:
            return f"<constant {self.data!r}>"
        text = f"Value(data={self.data!r}, grad={self.grad!r}"
        if self.label:
            text += f", label={self.label!r}"
        if self._rule is not None:
            text += f", op={self.op!r}"
        return text + ")"

    # -- copying and pickling: ops travel by name, constants stay constants ---------------------
    def __reduce_ex__(self, protocol):
        if self._b is CLOSURE:
            raise TypeError(
                f"cannot copy or pickle a Value whose backward step is a closure (a {self.op!r} "
                "node made with micrograd's constructor): a closure is code bound to other "
                "nodes. Use a table op (autograd_mini.defop), or detach() the node")
        return (_rebuild, (self.data, self.grad, self._rule, self.parents, self.local_grads,
                           _own_attributes(self)))

    # Comparisons read the numbers (they are not differentiable). Equality stays identity, so
    # Values can be dict keys and set members, as the graph algorithms need.
    def __lt__(self, other): return (_read(self, other) if _ACTIVE[0] else self).data < _number(other)
    def __le__(self, other): return (_read(self, other) if _ACTIVE[0] else self).data <= _number(other)
    def __gt__(self, other): return (_read(self, other) if _ACTIVE[0] else self).data > _number(other)
    def __ge__(self, other): return (_read(self, other) if _ACTIVE[0] else self).data >= _number(other)

    __hash__ = object.__hash__


# CPython 3.11 and 3.12 give every new instance room for the attribute names that appeared while
# the type's first few dozen instances were being made (8 B a name, on every node). Making those
# first instances here, before any label or user attribute exists, keeps a node that has none at
# its smallest whatever the program sets later (a node with attributes gets its own dictionary).
for _ in range(64):
    _new(Value)


class _Constant:
    """Marks a node as a constant (a number lifted into the graph); not an op."""

    symbol = ""
    name = "constant"

    def __repr__(self) -> str:
        return "CONSTANT"

    def __reduce__(self):
        return "CONSTANT"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


CONSTANT = _Constant()


class UserOp:
    """The op of a node made with micrograd's constructor: a name to draw, its rule a closure."""

    __slots__ = ("symbol", "name")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.name = symbol or "closure"

    def local_grads(self, out, xs):
        raise closure_refusal(out, "this")

    def written(self, names: list[str]) -> str:
        """As micrograd's op strings read: "a + b", "a**2", else "tanh(a)"."""
        if self.symbol and not self.symbol.isidentifier() and len(names) in (1, 2):
            return f" {self.symbol} ".join(names) if len(names) == 2 else names[0] + self.symbol
        return f"{self.name}({', '.join(names)})"

    def __repr__(self) -> str:
        return f"<micrograd-style op {self.symbol!r} (a _backward closure)>"

    def __reduce__(self):
        return (user_op, (self.symbol,))


_USER_OPS: dict[str, UserOp] = {}


def user_op(symbol: str) -> UserOp:
    op = _USER_OPS.get(symbol)
    if op is None:
        op = _USER_OPS[symbol] = UserOp(symbol)
    return op


def closure_refusal(node: Value, mode: str) -> TypeError:
    """The error forward mode and create_graph raise at a node whose derivative is a closure."""
    return TypeError(
        f"{mode} needs the local derivatives of every node, but the {node.op or 'unnamed'!r} "
        f"node (value {node.data!r}) has a user _backward closure: its derivative is hidden in "
        "code. Only reverse mode (backward()) runs closures; define the op with "
        "autograd_mini.defop to get every mode")


def _adopt(node: Value, children, op) -> None:
    """micrograd's ``Value(data, _children, _op)``: a node with children and no rule yet (its
    ``_backward`` does nothing until a closure is assigned, as in micrograd)."""
    if isinstance(children, (str, bytes)):
        raise TypeError(f"Value(data, _children, _op, label): _children must be Values, got the "
                        f"string {children!r}; pass a label as label=...")
    try:
        children = tuple(children)
    except TypeError:
        raise TypeError(f"Value(_children=...) must be a tuple of Values, got "
                        f"{type(children).__name__}") from None
    for child in children:
        if not isinstance(child, Value):
            raise TypeError(f"Value(_children=...) must hold Values, got {type(child).__name__} "
                            f"{child!r:.40}")
    if not isinstance(op, str):
        raise TypeError(f"Value(_op=...) must be a str, got {type(op).__name__}")
    node._rule = user_op(op)
    if children or node._a is not None:
        node._a, node._b, node._da, node._db = children, CLOSURE, _no_step, None


def _no_step() -> None:
    """micrograd's default ``_backward`` of a node: nothing."""


ACCEPTED = "a Value, an int or a float"


def _to_float(x, where: str) -> float:
    cls = x.__class__
    if cls is float:
        return x
    if cls is Value:
        return (_read(x) if _ACTIVE[0] else x).data
    if cls is int or isinstance(x, Real) or _one_number(x):  # bool, fractions, NumPy scalars
        try:
            return float(x)
        except OverflowError:  # an int: its digits can be too many to print, so give its size
            digits = int(abs(x).bit_length() * 0.30103) + 1
            raise OverflowError(f"{where}: an integer of about {digits} digits is too large "
                                f"for a float (at most about 1.8e308)") from None
    if isinstance(x, Value):  # a subclass
        return _read(x).data
    raise TypeError(f"{where} got {type(x).__name__} {x!r:.40}; expected {ACCEPTED}")


def _one_number(x) -> bool:
    """A 0-d array of real numbers (``np.array(3.0)``), read by duck typing so that the engine
    imports no NumPy: micrograd code multiplies by one, as NumPy makes it a number too."""
    return getattr(x, "ndim", None) == 0 and getattr(getattr(x, "dtype", None), "kind", "") \
        in ("b", "i", "u", "f") and hasattr(x, "__float__")


def _bad_label(label) -> str:
    raise TypeError(f"Value(label=...) must be a str, got {type(label).__name__}")


def _graph_cut(value: Value):
    op = context.rule_running.get()
    raise context.GraphCutError(
        f"op {op!r}: its derivative rule turned a Value (data {value.data!r}) into a float "
        "(math.exp(x), float(x) or x.item() on an input), which cuts the graph that "
        "backward(create_graph=True) builds, so second derivatives would be wrong. Write the "
        "rule with arithmetic and autograd_mini.ops' functions (exp, log, tanh, sigmoid, ...), "
        "which take floats or Values")


def _number(x) -> float:
    return x.data if isinstance(x, Value) else _to_float(x, "comparison with a Value")


def _read(value: Value, other=None) -> Value:
    """A Value's number taken out (float(), a comparison, Value(x)): listeners hear "read" (the
    compiler refuses to replay a branch on a value); inside a derivative rule run on Values
    (create_graph) it would cut the graph of the next order, so it raises, naming the op."""
    if _ACTIVE[0]:
        for node in (value, other):
            if isinstance(node, Value):
                context.emit("read", node)
                if context.rule_running.get() is not None:
                    _graph_cut(node)
    return value


def constant(x: float) -> Value:
    """A constant leaf: a number mixed into an expression."""
    node = _new(Value)
    node.data = x
    node.grad = 0.0
    node._rule = CONSTANT
    node._a = node._b = node._da = node._db = None
    return node


def lift(x, op_symbol: str = "") -> Value:
    """A Value as is; a number as a constant leaf; anything else a clear TypeError."""
    x = _operand(x, op_symbol)
    return constant(x) if x.__class__ is float else x


def _operand(x, op_symbol: str = ""):
    """A Value as is; a number as a float (a binary op keeps it on its edge); else a TypeError."""
    cls = x.__class__
    if cls is float:
        return x
    if cls is int:
        try:
            return float(x)
        except OverflowError:
            _to_float(x, "operand")  # raises, saying what was wrong
    if isinstance(x, Value):
        return x
    if isinstance(x, Real) or _one_number(x):  # slow checks, so the common types go first
        return _to_float(x, "operand")
    where = f"operand of {op_symbol!r}" if op_symbol else "operand"
    raise TypeError(f"unsupported {where}: {type(x).__name__} {x!r:.40}; expected {ACCEPTED}")


def _edge_number(x) -> float:
    """The number an operand slot stands for: a float kept on the edge, or a node's data."""
    return x if x.__class__ is float else x.data


def make_node(data: float, parents: tuple, local: tuple, rule) -> Value:
    """Make an op's output node (no checks, no hooks): parents stored as the module doc says."""
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node._rule = rule
    n = len(parents)
    if n == 2:
        node._a, node._b = parents
        node._da, node._db = local
    elif n == 1:
        node._a, = parents
        node._da, = local
        node._b = node._db = None
    elif n == 0:
        node._a = node._b = node._da = node._db = None
    else:
        node._a, node._b, node._da, node._db = tuple(parents), MANY, tuple(local), None
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
        node.data = out
        node.grad = 0.0
        node._rule = rule
        node._a = self
        node._b = None
        node._da, = derivative(out, x)
        node._db = None
        return node

    method.__name__ = rule.name
    method.__doc__ = f"{rule.name}(self): {rule.doc}"
    return method


def binary_methods(rule) -> tuple[Callable, Callable]:
    value, derivative, symbol = rule.value, rule.derivative, rule.symbol

    def forward(self: Value, other) -> Value:
        if other.__class__ is not Value:
            other = other if other.__class__ is float else _operand(other, symbol)
            if other.__class__ is float:
                return reflected(self, other, False)
        if _ACTIVE[0]:
            return apply_slow(rule, (self, other))
        a = self.data
        b = other.data
        out = value(a, b)
        node = _new(Value)  # make_node, inlined: the call would cost a fifth of the op
        node.data = out
        node.grad = 0.0
        node._rule = rule
        node._a = self
        node._b = other
        node._da, node._db = derivative(out, a, b)
        return node

    # other <op> self with other a number (self <op> other when number_first is False): the
    # number stays a float on its edge, with no derivative (reverse mode skips the edge)
    def reflected(self: Value, other, number_first: bool = True) -> Value:
        c = other if other.__class__ is float else _operand(other, symbol)
        if c.__class__ is not float:
            return forward(c, self)
        if _ACTIVE[0]:
            return apply_slow(rule, (constant(c), self) if number_first else (self, constant(c)))
        x = self.data
        node = _new(Value)
        node.grad = 0.0
        node._rule = rule
        if number_first:
            node.data = out = value(c, x)
            node._a, node._b, node._da, node._db = c, self, None, derivative(out, c, x)[1]
        else:
            node.data = out = value(x, c)
            node._a, node._b, node._da, node._db = self, c, derivative(out, x, c)[0], None
        return node

    forward.__doc__ = reflected.__doc__ = f"{rule.name}: {rule.doc}"
    return forward, reflected


def nary_function(rule) -> Callable[[Iterable], Value]:
    operands, apply = rule.operands, rule.apply

    def function(*args) -> Value:
        return apply(operands(*args))  # Op.apply: one node, numbers lifted

    function.__name__ = rule.name
    function.__doc__ = f"{rule.name}(iterable): {rule.doc}"
    return staticmethod(function)


def _own_attributes(node: Value):
    """The node's attribute dictionary, or None, without creating one where there is none."""
    if _GETSTATE is not None:
        state = _GETSTATE(node)
        attributes = state[0] if state.__class__ is tuple else state
        return dict(attributes) if attributes else None
    return dict(node.__dict__) or None  # Python 3.10: reading __dict__ makes one


_GETSTATE = getattr(object, "__getstate__", None)  # Python 3.11+


def _rebuild(data, grad, rule, parents, local, attributes) -> Value:
    """Unpickling and deepcopy: the node as it was (its rule found again by name)."""
    node = make_node(data, parents, local, rule)
    node.grad = grad
    if attributes:
        node.__dict__.update(attributes)
    return node
