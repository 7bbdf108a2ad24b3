"""The op table: every operation defined once, as a value rule and a local-derivative rule.

Reverse mode, forward mode, higher-order derivatives, graph labels and the property tests all read
this table; adding an op is one ``defop`` line. A derivative rule ``d(out, *inputs)`` returns the
local derivative of the output with respect to each input. It is written with arithmetic and the
functions below (which accept floats or Values), so the same rule gives plain floats when a node is
made and differentiable Values under ``backward(create_graph=True)``.
"""
from __future__ import annotations

import inspect
from functools import reduce
from operator import add as _plus, mul as _times
from typing import Callable

from . import floats
from .context import ACTIVE
from .value import Value, apply_slow, binary_methods, lift, make_node, nary_function, unary_method

# -- functions that derivative rules may use: floats in, floats out; Values in, Values out --------


def div(a, b):
    return a / b if isinstance(a, Value) or isinstance(b, Value) else floats.div(a, b)


def log(x):
    return x.log() if isinstance(x, Value) else floats.log(x)


def sin(x):
    return x.sin() if isinstance(x, Value) else floats.sin(x)


def cos(x):
    return x.cos() if isinstance(x, Value) else floats.cos(x)


def pow(x, y):
    return x ** y if isinstance(x, Value) or isinstance(y, Value) else floats.pow(x, y)


def exp(x):
    return x.exp() if isinstance(x, Value) else floats.exp(x)


def sigmoid(x):
    return x.sigmoid() if isinstance(x, Value) else floats.sigmoid(x)


def tanh(x):
    return x.tanh() if isinstance(x, Value) else floats.tanh(x)


def sqrt(x):
    return x.sqrt() if isinstance(x, Value) else floats.sqrt(x)


def log1p(x):
    return x.log1p() if isinstance(x, Value) else floats.log1p(x)


def softplus(x):
    return x.softplus() if isinstance(x, Value) else floats.softplus(x)


def relu(x):
    return x.relu() if isinstance(x, Value) else floats.relu(x)


def logsumexp(*xs):
    if any(isinstance(x, Value) for x in xs):
        return Value.logsumexp(xs)
    return floats.logsumexp(*xs)


RULE_FUNCTIONS = ("div", "pow", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid",
                  "softplus", "relu", "logsumexp", "step", "sign")
"""What a ``defop`` derivative rule may call besides arithmetic: each takes floats and gives a
float, or takes Values and gives a Value (so second derivatives see it). ``math.exp(x)`` or
``float(x)`` inside a rule would turn a Value into a float: under ``create_graph`` that raises.

>>> from autograd_mini import Value, ops
>>> ops.tanh(0.5) == Value(0.5).tanh().data, ops.tanh(Value(0.5)).op
(True, 'tanh')
"""


def _number(x) -> float:
    return x.data if isinstance(x, Value) else x


def step(x) -> float:
    """relu's derivative: a constant 0 or 1 (its own derivative is 0 almost everywhere)."""
    return floats.step(x.data if isinstance(x, Value) else x)


def sign(x) -> float:
    """abs's derivative: a constant -1, 0 or 1."""
    return floats.sign(x.data if isinstance(x, Value) else x)


def leaky_slope(x, slope):
    """d leaky_relu(x, slope) / dx: 1 where x > 0, else the slope (PyTorch's choice at 0)."""
    return 1.0 if _number(x) > 0.0 else slope


def below_zero(x):
    """d leaky_relu(x, slope) / d slope: 0 where x > 0, else x."""
    return 0.0 if _number(x) > 0.0 else x


def first_max(xs) -> tuple:
    """max's local derivatives: 1 for the first largest operand, 0 for the others."""
    top = floats.argmax([_number(x) for x in xs])
    return tuple(1.0 if i == top else 0.0 for i in range(len(xs)))


def power_rule(x, y):
    """d(x**y)/dx = y * x**(y - 1), taken as 0 where y == 0 (x**0 is 1 everywhere, so its
    derivative is 0 even at x = 0, where 0 * 0**-1 would be nan), as PyTorch and JAX do."""
    if isinstance(x, Value) or isinstance(y, Value):  # m = [y != 0]: y * x**(y - m), 0 at y = 0
        return y * pow(x, y - nonzero(y))
    return 0.0 if y == 0.0 else y * floats.pow(x, y - 1.0)


def xlogy(out, x):
    """d(x**y)/dy = x**y * log(x), taken as 0 where x == 0 (the limit for y > 0, as PyTorch)."""
    x_number = x.data if isinstance(x, Value) else x
    return 0.0 if x_number == 0.0 else out * log(x)


def _affine(p):
    """w1*x1 + ... + wn*xn (+ b when the operand count is odd), summed from b on, in order, as
    micrograd's neuron does, so both give the same floats."""
    paired = len(p) - len(p) % 2
    products = map(_times, p[0:paired:2], p[1:paired:2])  # one add after another, in C
    return reduce(_plus, products, p[paired]) if paired < len(p) else reduce(_plus, products)


def _affine_derivative(p) -> tuple:
    """d/dw_k = x_k, d/dx_k = w_k (each operand's partner in its pair), d/db = 1."""
    paired = len(p) - len(p) % 2
    local = [1.0] * len(p)  # the bias's 1.0 stays at the end
    local[0:paired:2] = p[1:paired:2]
    local[1:paired:2] = p[0:paired:2]
    return tuple(local)


def _interleave(weights, inputs, bias=None) -> list:
    weights, inputs = list(weights), list(inputs)
    if len(weights) != len(inputs):
        raise ValueError(f"affine: {len(weights)} weight(s) for {len(inputs)} input(s); "
                         "give one weight per input")
    operands = [None] * (2 * len(weights))
    operands[0::2] = weights
    operands[1::2] = inputs
    if bias is not None:
        operands.append(bias)
    return operands


# -- the table ----------------------------------------------------------------------------------


class Op:
    """One row of the table. Call it to apply the op: ``OPS["exp"](2.0)`` is ``Value(2.0).exp()``."""

    __slots__ = ("name", "symbol", "arity", "value", "derivative", "sympy", "methods", "doc",
                 "operands")

    def __init__(self, name, symbol, arity, value, derivative, sympy, methods, doc,
                 operands=None):
        self.name, self.symbol, self.arity = name, symbol, arity
        self.value, self.derivative, self.sympy = value, derivative, sympy
        self.methods, self.doc = methods, doc
        # an n-ary op's method form: its arguments -> the operand list (default: one iterable)
        self.operands = operands or tuple

    def local_grads(self, out: float, xs) -> tuple:
        return self.derivative(out, *xs)

    def __call__(self, *args) -> Value:
        return self.apply(args)

    def apply(self, operands) -> Value:
        """This op's node for a sequence of operands (Values; numbers become constants)."""
        parents = operands if operands.__class__ is tuple else tuple(operands)
        n = len(parents)
        if n != self.arity and self.arity is not None:
            raise TypeError(f"{self.name} takes {self.arity} operand(s), got {n}")
        if not n:
            raise ValueError(f"{self.name} needs at least one operand")
        if list(map(type, parents)).count(Value) != n:  # (a C-speed check) a number among them
            parents = tuple(lift(a, self.symbol) for a in parents)
        if ACTIVE[0]:
            return apply_slow(self, parents)
        xs = [p.data for p in parents]
        out = self.value(*xs)
        return make_node(out, parents, self.derivative(out, *xs), self)

    # A pickled or copied node refers to its op by name (rules are code, often lambdas).
    def __reduce__(self):
        return (op_named, (self.name,))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"<op {self.name} ({self.symbol}), arity {self.arity if self.arity else 'n'}>"


OPS: dict[str, Op] = {}


def _register(name, symbol, value, derivative, sympy=None, methods=None, doc="", arity=None,
              operands=None) -> Op:
    if arity is None:
        arity = _arity_of(value)
    methods = (name,) if methods is None else methods
    op = Op(name, symbol, arity, value, derivative, sympy, methods, doc or name, operands)
    for method in methods:
        if hasattr(Value, method):
            raise ValueError(f"defop: Value already has an attribute {method!r}; pick another name")
    if arity == 1:
        attributes = [unary_method(op)]
    elif arity == 2:
        attributes = list(binary_methods(op))
    else:
        attributes = [nary_function(op)]
    for method, attribute in zip(methods, attributes):  # a binary user op gets x.name(y) only
        setattr(Value, method, attribute)
    OPS[name] = op
    return op


def _arity_of(fn: Callable) -> int | None:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def defop(name: str, value_fn: Callable, derivative_fn: Callable, *, symbol: str | None = None,
          sympy: Callable | None = None, method: str | None = None, doc: str = "") -> Op:
    """Add an op to the table; every mode of differentiation and the graph labels pick it up.

    ``value_fn(*inputs) -> float`` computes the value on floats. ``derivative_fn(out, *inputs)``
    returns d out / d input for each input (one value for a unary op), using arithmetic and the
    functions of ``autograd_mini.ops`` so that it works on floats and on Values (the latter is what
    makes second derivatives work). ``sympy(sp, *symbols)`` optionally gives the same function in
    sympy, for the property tests. The op becomes a method ``Value.<method or name>`` and the
    returned ``Op`` is callable on Values or numbers.

    >>> from autograd_mini import Value, defop
    >>> cube = defop("cube", lambda x: x ** 3, lambda out, x: 3 * x * x)
    >>> y = Value(2.0).cube(); y.backward(); y.data, y.parents[0].grad
    (8.0, 12.0)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"defop: name must be a Python identifier, got {name!r}")
    if name in OPS:
        raise ValueError(f"defop: an op named {name!r} already exists")
    if not callable(value_fn) or not callable(derivative_fn):
        raise TypeError("defop: value_fn and derivative_fn must be callable")
    arity = _arity_of(value_fn)
    if arity == 0:
        raise ValueError("defop: value_fn must take at least one input")

    def derivative(out, *xs):
        local = derivative_fn(out, *xs)
        local = tuple(local) if isinstance(local, (tuple, list)) else (local,)
        if len(local) != len(xs):
            raise ValueError(f"op {name!r}: derivative_fn returned {len(local)} derivative(s) "
                             f"for {len(xs)} input(s)")
        return tuple(float(d) if isinstance(d, int) else d for d in local)

    return _register(name, symbol or name, value_fn, derivative, sympy, (method or name,), doc,
                     arity)


# name   symbol  value rule (floats)        local derivatives d out / d inputs        sympy oracle
_register("add", "+", lambda a, b: a + b, lambda out, a, b: (1.0, 1.0),
          lambda sp, a, b: a + b, ("__add__", "__radd__"), "a + b")
_register("sub", "-", lambda a, b: a - b, lambda out, a, b: (1.0, -1.0),
          lambda sp, a, b: a - b, ("__sub__", "__rsub__"), "a - b")
_register("mul", "*", lambda a, b: a * b, lambda out, a, b: (b, a),
          lambda sp, a, b: a * b, ("__mul__", "__rmul__"), "a * b")
_register("div", "/", floats.div, lambda out, a, b: (div(1.0, b), div(-out, b)),
          lambda sp, a, b: a / b, ("__truediv__", "__rtruediv__"), "a / b")
_register("pow", "**", floats.pow, lambda out, x, y: (power_rule(x, y), xlogy(out, x)),
          lambda sp, x, y: x ** y, ("__pow__", "__rpow__"), "x ** y")
_register("neg", "neg", lambda x: -x, lambda out, x: (-1.0,),
          lambda sp, x: -x, ("__neg__",), "-x")
_register("pos", "pos", lambda x: x, lambda out, x: (1.0,),
          lambda sp, x: x, ("__pos__",), "+x (identity)")
_register("abs", "abs", abs, lambda out, x: (sign(x),),
          lambda sp, x: sp.Abs(x), ("__abs__",), "|x|")
_register("exp", "exp", floats.exp, lambda out, x: (out,),
          lambda sp, x: sp.exp(x), None, "e ** x")
_register("log", "log", floats.log, lambda out, x: (div(1.0, x),),
          lambda sp, x: sp.log(x), None, "natural logarithm")
_register("sqrt", "sqrt", floats.sqrt, lambda out, x: (div(0.5, out),),
          lambda sp, x: sp.sqrt(x), None, "square root")
_register("sin", "sin", floats.sin, lambda out, x: (cos(x),),
          lambda sp, x: sp.sin(x), None, "sine")
_register("cos", "cos", floats.cos, lambda out, x: (-sin(x),),
          lambda sp, x: sp.cos(x), None, "cosine")
_register("tanh", "tanh", floats.tanh, lambda out, x: (1.0 - out * out,),
          lambda sp, x: sp.tanh(x), None, "hyperbolic tangent")
_register("sigmoid", "sigmoid", floats.sigmoid, lambda out, x: (out * (1.0 - out),),
          lambda sp, x: 1 / (1 + sp.exp(-x)), None, "1 / (1 + e ** -x)")
_register("relu", "relu", floats.relu, lambda out, x: (step(x),),
          lambda sp, x: sp.Max(0, x), None, "max(0, x)")
_register("sum", "sum", lambda *xs: sum(xs, 0.0), lambda out, *xs: (1.0,) * len(xs),
          lambda sp, *xs: sp.Add(*xs), None, "one node adding any number of terms")
_register("affine", "w·x+b", lambda *p: _affine(p), lambda out, *p: _affine_derivative(p),
          lambda sp, *p: _affine(p), None,
          "a neuron's input w1*x1 + ... + wn*xn + b as one node (operands w1, x1, ..., wn, xn, b)",
          operands=lambda weights, inputs, bias=None: _interleave(weights, inputs, bias))
_register("max", "max", floats.maximum, lambda out, *xs: first_max(xs),
          lambda sp, *xs: sp.Max(*xs), None, "the largest operand (its gradient goes to the first)")
_register("leaky_relu", "leaky_relu", floats.leaky_relu,
          lambda out, x, slope: (leaky_slope(x, slope), below_zero(x)),
          lambda sp, x, slope: sp.Max(0, x) + slope * sp.Min(0, x), None,
          "x where x > 0, else slope * x")
_register("softplus", "softplus", floats.softplus, lambda out, x: (sigmoid(x),),
          lambda sp, x: sp.log(1 + sp.exp(x)), None, "log(1 + e ** x), a smooth relu")
_register("log1p", "log1p", floats.log1p, lambda out, x: (div(1.0, 1.0 + x),),
          lambda sp, x: sp.log(1 + x), None, "log(1 + x), exact near x = 0")
_register("logsumexp", "logsumexp", floats.logsumexp,
          lambda out, *xs: tuple(exp(x - out) for x in xs),
          lambda sp, *xs: sp.log(sp.Add(*[sp.exp(x) for x in xs])), None,
          "log(e ** x1 + ... + e ** xn), never overflowing")


def op_named(name: str) -> Op:
    """The table's op called ``name`` (how pickled and copied nodes find their op again).

    >>> op_named("tanh") is OPS["tanh"]
    True
    """
    op = OPS.get(name)
    if op is None:
        helper = getattr(globals().get(name), "op", None)  # a rule helper's own op (step, sign)
        if isinstance(helper, Op):
            return helper
        raise ValueError(f"no op named {name!r} in the table: define it (autograd_mini.defop) "
                         "before loading nodes that use it")
    return op
