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

# -- what derivative rules may call besides arithmetic -------------------------------------------
# Each takes floats and gives a float, or takes Values and gives a Value (so second derivatives
# see it): the table's rows marked ``rule_function=True`` (exp, log, tanh, div, ...; made by
# ``_rule_function`` as the table is filled) and the indicators below (step, sign, ...).
# ``math.exp(x)`` or ``float(x)`` inside a rule would turn a Value into a float: under
# ``create_graph`` that raises GraphCutError, naming the op.
RULE_FUNCTIONS: list[str] = []


def _rule_function(op: Op) -> Callable:
    """``op`` as a derivative rule calls it: its float rule on floats, a node on Values.

    >>> from autograd_mini import Value, ops
    >>> ops.tanh(0.5) == Value(0.5).tanh().data, ops.tanh(Value(0.5)).op
    (True, 'tanh')
    """
    value, apply = op.value, op.apply
    if op.arity == 1:
        def function(x):
            return apply((x,)) if isinstance(x, Value) else value(x)
    elif op.arity == 2:
        def function(a, b):
            return apply((a, b)) if isinstance(a, Value) or isinstance(b, Value) else value(a, b)
    else:
        def function(*xs):
            return apply(xs) if any(isinstance(x, Value) for x in xs) else value(*xs)
    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = f"{op.name} on floats or Values: {op.doc}"
    return function


class _Indicator:
    """A helper that is constant between kinks (a step, a sign): a number on numbers; on Values
    a node of its own op, whose derivative is 0, so that a gradient graph built with
    ``create_graph`` recomputes it at other inputs (what ``compile`` replays) instead of keeping
    the number it had when the graph was built."""

    def __init__(self, name, value, numpy, doc):
        self.op = Op(name, symbol=name, arity=_arity_of(value), value=value,
                     derivative=lambda out, *xs: (0.0,) * len(xs), doc=doc, numpy=numpy)
        RULE_FUNCTIONS.append(name)

    def __call__(self, *xs):
        for x in xs:  # a plain loop: relu's derivative calls this once per node made
            if isinstance(x, Value):
                return self.op(*xs)
        return self.op.value(*xs)


def _first_max_at(i, *xs) -> float:
    return 1.0 if floats.argmax(xs) == i else 0.0


def _first_max_at_array(np, i, *xs):
    stacked = np.stack(np.broadcast_arrays(*xs))
    top = np.argmax(np.where(np.isnan(stacked), np.inf, stacked), axis=0)  # the first nan wins
    return np.where(top == i, 1.0, 0.0)


def leaky_slope(x, slope):
    """d leaky_relu(x, slope) / dx: 1 where x > 0, else the slope (PyTorch's choice at 0)."""
    if isinstance(x, Value):
        s = step(x)
        return s + (1.0 - s) * slope  # 1 or slope exactly
    return 1.0 if x > 0.0 else slope


def below_zero(x):
    """d leaky_relu(x, slope) / d slope: 0 where x > 0, else x."""
    return (1.0 - step(x)) * x if isinstance(x, Value) else (0.0 if x > 0.0 else x)


def first_max(xs) -> tuple:
    """max's local derivatives: 1 for the first largest operand, 0 for the others."""
    if any(isinstance(x, Value) for x in xs):
        return tuple(first_max_at(float(i), *xs) for i in range(len(xs)))
    top = floats.argmax(xs)
    return tuple(1.0 if i == top else 0.0 for i in range(len(xs)))


def power_rule(x, y):
    """d(x**y)/dx = y * x**(y - 1), taken as 0 where y == 0 (x**0 is 1 everywhere, so its
    derivative is 0 even at x = 0, where 0 * 0**-1 would be nan), as PyTorch and JAX do."""
    if isinstance(x, Value) or isinstance(y, Value):  # m = [y != 0]: y * x**(y - m), 0 at y = 0
        return y * pow(x, y - nonzero(y))
    return 0.0 if y == 0.0 else y * floats.pow(x, y - 1.0)


def exponent_rule(out, x):
    """d(x**y)/dy = x**y * log(x) (``out`` is x**y), taken as 0 where x == 0 (the limit for
    y > 0, as PyTorch)."""
    if isinstance(x, Value):  # m = [x != 0]: m * (out * log(x + 1 - m)) is 0 at x = 0, as a graph
        m = nonzero(x)
        return m * (out * log(x + (1.0 - m)))
    return 0.0 if x == 0.0 else out * log(x)


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


def _affine_shown(names) -> str:
    """w1·i1 + w2·i2 + b1; past three inputs, the middle ones as "…"."""
    paired = len(names) - len(names) % 2
    terms = [f"{names[i]}·{names[i + 1]}" for i in range(0, paired, 2)]
    if len(terms) > 3:
        terms = terms[:2] + ["…"] + terms[-1:]
    return " + ".join(terms + names[paired:])


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


def _operand_list(name: str, args: tuple) -> tuple:
    """``Value.sum([a, b, c])`` or ``Value.sum(a, b, c)``: the operands as a tuple."""
    if len(args) != 1:
        return args
    try:
        return tuple(args[0])
    except TypeError:  # x.max(y) lands here with y alone: say how to call it, never drop x
        raise TypeError(f"give the operands as one iterable or one by one, e.g. "
                        f"Value.{name}([x, y]) or Value.{name}(x, y); got the single "
                        f"{type(args[0]).__name__} {args[0]!r:.40}") from None


class Op:
    """One row of the table. Call it to apply the op: ``OPS["exp"](2.0)`` is ``Value(2.0).exp()``."""

    __slots__ = ("name", "symbol", "arity", "value", "derivative", "sympy", "methods", "doc",
                 "operands", "numpy", "code", "pairs", "shows")

    def __init__(self, name, *, symbol, arity, value, derivative, sympy=None, methods=(), doc="",
                 operands=None, numpy=None, code=None, pairs=False, shows=None):
        self.name, self.symbol, self.arity = name, symbol, arity
        self.value, self.derivative, self.sympy = value, derivative, sympy
        self.methods, self.doc = methods, doc
        # an n-ary op's method form: its arguments -> the operand list (default: one iterable,
        # or the operands one by one, as the builtin max takes them)
        self.operands = operands or (lambda *args: _operand_list(name, args))
        # the array rule ``numpy(np, *arrays)`` (default: the float rule element by element),
        # how generated code writes the op ("{0} + {1}"; default ``name(operands)``), and
        # ``pairs``: the value is (last operand if odd) + x0*x1 + x2*x3 + ... (a group of such
        # nodes sharing the odd operands is a matrix product, for the compiler)
        self.numpy = numpy or _elementwise(value)
        self.code, self.pairs = code, pairs
        # how drawings and the player write the op over its operands' names: a template
        # ("{0} + {1}") or a function of the list of names; default ``name(a, b, ...)``
        self.shows = shows

    def written(self, names: list[str]) -> str:
        """The op written over its operands' names, as drawings and captions show it.

        >>> OPS["add"].written(["a", "b"]), OPS["tanh"].written(["h"])
        ('a + b', 'tanh(h)')
        >>> OPS["affine"].written(["w1", "i1", "w2", "i2", "b1"])
        'w1·i1 + w2·i2 + b1'
        """
        shows = self.shows
        if callable(shows):
            return shows(names)
        if shows is not None and len(names) == self.arity:
            return shows.format(*names)
        if len(names) > 4:
            names = names[:3] + [f"… {len(names)} terms"]
        return f"{self.name}({', '.join(names)})"

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


def _elementwise(value: Callable) -> Callable:
    """The default array rule: the float rule applied element by element."""
    def apply(np, *arrays):
        return np.vectorize(value, otypes=[float])(*arrays)
    return apply


def _register(name, *, symbol, value, derivative, sympy=None, methods=None, doc="",
              arity=None, operands=None, numpy=None, code=None, pairs=False, shows=None,
              rule_function=False) -> Op:
    if arity is None:
        arity = _arity_of(value)
    methods = (name,) if methods is None else methods
    op = Op(name, symbol=symbol, arity=arity, value=value, derivative=derivative, sympy=sympy,
            methods=methods, doc=doc or name, operands=operands, numpy=numpy, code=code,
            pairs=pairs, shows=shows)
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
        # the name pickle finds it by (a model sent to a spawned process holds its activation)
        getattr(attribute, "__func__", attribute).__qualname__ = f"Value.{method}"
        setattr(Value, method, attribute)
    OPS[name] = op
    if rule_function:
        globals()[name] = _rule_function(op)
        RULE_FUNCTIONS.append(name)
    return op


def _arity_of(fn: Callable) -> int | None:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def defop(name: str, value_fn: Callable, derivative_fn: Callable, *, symbol: str | None = None,
          sympy: Callable | None = None, method: str | None = None, doc: str = "",
          numpy: Callable | None = None) -> Op:
    """Add an op to the table; every mode of differentiation and the graph labels pick it up.

    ``value_fn(*inputs) -> float`` computes the value on floats. ``derivative_fn(out, *inputs)``
    returns d out / d input for each input (one value for a unary op), using arithmetic and the
    functions of ``autograd_mini.ops`` (``RULE_FUNCTIONS``: exp, log, tanh, sigmoid, log1p, ...)
    so that it works on floats and on Values (the latter is what makes second derivatives work;
    a rule that calls ``math.exp`` or ``float()`` on a Value raises ``GraphCutError`` there,
    naming the op). A constant operand reaches the rule as a number. ``sympy(sp, *symbols)`` optionally gives the same function in
    sympy, for the property tests. ``numpy(np, *arrays)`` optionally gives it on NumPy arrays
    (for compiled batches; by default ``value_fn`` runs element by element). The op becomes a
    method ``Value.<method or name>`` and the returned ``Op`` is callable on Values or numbers.

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

    return _register(name, symbol=symbol or name, value=value_fn, derivative=derivative,
                     sympy=sympy, methods=(method or name,), doc=doc, arity=arity, numpy=numpy)


# -- array rules (NumPy passed in, so the engine itself never imports it) ------------------------


def _where_positive(np, x, then, otherwise):
    """x > 0 (or nan, which stays nan) -> then, else otherwise: relu and leaky_relu's branches."""
    return np.where((x > 0.0) | np.isnan(x), then, otherwise)


def _sigmoid_array(np, x):  # floats.sigmoid's two branches, so that exp never overflows
    z = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))


def _logsumexp_array(np, *xs):
    top = np.maximum.reduce(np.broadcast_arrays(*xs))
    finite = np.isfinite(top)
    shift = np.where(finite, top, 0.0)
    total = sum(np.exp(x - shift) for x in xs)
    return np.where(finite, shift + np.log(total), top)


def _sum_array(np, *xs):  # from 0.0, as the float rule: a sum of -0.0 terms is 0.0
    return sum(xs, 0.0)


step = _Indicator("step", floats.step, lambda np, x: (x > 0.0).astype(float),
                  "relu's derivative: 1 where x > 0, else 0")
sign = _Indicator("sign", floats.sign, lambda np, x: np.sign(x), "abs's derivative: -1, 0 or 1")
nonzero = _Indicator("nonzero", lambda x: 1.0 if x != 0.0 else 0.0,
                     lambda np, x: (x != 0.0).astype(float), "1 where x != 0, else 0")
first_max_at = _Indicator("first_max_at", _first_max_at, _first_max_at_array,
                          "1 if operand i + 1 is the first largest of the others, else 0")

# Each row: its name; the symbol a node shows as its op; the value rule on floats; the local
# derivatives d out / d inputs; a sympy oracle (for the property tests); the Value methods it
# becomes; a doc; the array rule (NumPy passed in); how generated code and drawings write it.
_register("add", symbol="+", value=lambda a, b: a + b, derivative=lambda out, a, b: (1.0, 1.0),
          sympy=lambda sp, a, b: a + b, methods=("__add__", "__radd__"), doc="a + b",
          numpy=lambda np, a, b: a + b, code="{0} + {1}", shows="{0} + {1}")
_register("sub", symbol="-", value=lambda a, b: a - b, derivative=lambda out, a, b: (1.0, -1.0),
          sympy=lambda sp, a, b: a - b, methods=("__sub__", "__rsub__"), doc="a - b",
          numpy=lambda np, a, b: a - b, code="{0} - {1}", shows="{0} - {1}")
_register("mul", symbol="*", value=lambda a, b: a * b, derivative=lambda out, a, b: (b, a),
          sympy=lambda sp, a, b: a * b, methods=("__mul__", "__rmul__"), doc="a * b",
          numpy=lambda np, a, b: a * b, code="{0} * {1}", shows="{0} * {1}")
_register("div", symbol="/", value=floats.div,
          derivative=lambda out, a, b: (div(1.0, b), div(-out, b)),
          sympy=lambda sp, a, b: a / b, methods=("__truediv__", "__rtruediv__"), doc="a / b",
          numpy=lambda np, a, b: np.true_divide(a, b), shows="{0} / {1}", rule_function=True)
_register("pow", symbol="**", value=floats.pow,
          derivative=lambda out, x, y: (power_rule(x, y), exponent_rule(out, x)),
          sympy=lambda sp, x, y: x ** y, methods=("__pow__", "__rpow__"), doc="x ** y",
          numpy=lambda np, x, y: np.power(x, y), shows="{0} ** {1}", rule_function=True)
_register("neg", symbol="neg", value=lambda x: -x, derivative=lambda out, x: (-1.0,),
          sympy=lambda sp, x: -x, methods=("__neg__",), doc="-x",
          numpy=lambda np, x: -x, code="-{0}", shows="-{0}")
_register("pos", symbol="pos", value=lambda x: x, derivative=lambda out, x: (1.0,),
          sympy=lambda sp, x: x, methods=("__pos__",), doc="+x (identity)",
          numpy=lambda np, x: x, code="{0}", shows="+{0}")
_register("abs", symbol="abs", value=abs, derivative=lambda out, x: (sign(x),),
          sympy=lambda sp, x: sp.Abs(x), methods=("__abs__",), doc="|x|",
          numpy=lambda np, x: np.abs(x))
_register("exp", symbol="exp", value=floats.exp, derivative=lambda out, x: (out,),
          sympy=lambda sp, x: sp.exp(x), doc="e ** x",
          numpy=lambda np, x: np.exp(x), rule_function=True)
_register("log", symbol="log", value=floats.log, derivative=lambda out, x: (div(1.0, x),),
          sympy=lambda sp, x: sp.log(x), doc="natural logarithm",
          numpy=lambda np, x: np.log(x), rule_function=True)
_register("sqrt", symbol="sqrt", value=floats.sqrt, derivative=lambda out, x: (div(0.5, out),),
          sympy=lambda sp, x: sp.sqrt(x), doc="square root",
          numpy=lambda np, x: np.sqrt(x), rule_function=True)
_register("sin", symbol="sin", value=floats.sin, derivative=lambda out, x: (cos(x),),
          sympy=lambda sp, x: sp.sin(x), doc="sine",
          numpy=lambda np, x: np.sin(x), rule_function=True)
_register("cos", symbol="cos", value=floats.cos, derivative=lambda out, x: (-sin(x),),
          sympy=lambda sp, x: sp.cos(x), doc="cosine",
          numpy=lambda np, x: np.cos(x), rule_function=True)
_register("tanh", symbol="tanh", value=floats.tanh, derivative=lambda out, x: (1.0 - out * out,),
          sympy=lambda sp, x: sp.tanh(x), doc="hyperbolic tangent",
          numpy=lambda np, x: np.tanh(x), rule_function=True)
_register("sigmoid", symbol="sigmoid", value=floats.sigmoid,
          derivative=lambda out, x: (out * (1.0 - out),),
          sympy=lambda sp, x: 1 / (1 + sp.exp(-x)), doc="1 / (1 + e ** -x)",
          numpy=_sigmoid_array, rule_function=True)
_register("relu", symbol="relu", value=floats.relu, derivative=lambda out, x: (step(x),),
          sympy=lambda sp, x: sp.Max(0, x), doc="max(0, x)",
          numpy=lambda np, x: np.maximum(x, 0.0), rule_function=True)
_register("sum", symbol="sum", value=lambda *xs: sum(xs, 0.0),
          derivative=lambda out, *xs: (1.0,) * len(xs),
          sympy=lambda sp, *xs: sp.Add(*xs), doc="one node adding any number of terms",
          numpy=_sum_array)
_register("affine", symbol="w·x+b", value=lambda *p: _affine(p),
          derivative=lambda out, *p: _affine_derivative(p), sympy=lambda sp, *p: _affine(p),
          doc="a neuron's input w1*x1 + ... + wn*xn + b as one node (operands w1, x1, ..., wn, "
              "xn, b)",
          operands=lambda weights, inputs, bias=None: _interleave(weights, inputs, bias),
          numpy=lambda np, *p: _affine(p), pairs=True, shows=_affine_shown)
_register("max", symbol="max", value=floats.maximum, derivative=lambda out, *xs: first_max(xs),
          sympy=lambda sp, *xs: sp.Max(*xs),
          doc="the largest operand (its gradient goes to the first)",
          numpy=lambda np, *xs: np.maximum.reduce(np.broadcast_arrays(*xs)))
_register("leaky_relu", symbol="leaky_relu", value=floats.leaky_relu,
          derivative=lambda out, x, slope: (leaky_slope(x, slope), below_zero(x)),
          sympy=lambda sp, x, slope: sp.Max(0, x) + slope * sp.Min(0, x),
          doc="x where x > 0, else slope * x",
          numpy=lambda np, x, slope: _where_positive(np, x, x, slope * x))
_register("softplus", symbol="softplus", value=floats.softplus,
          derivative=lambda out, x: (sigmoid(x),),
          sympy=lambda sp, x: sp.log(1 + sp.exp(x)), doc="log(1 + e ** x), a smooth relu",
          numpy=lambda np, x: np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))),
          rule_function=True)
_register("log1p", symbol="log1p", value=floats.log1p, derivative=lambda out, x: (div(1.0, 1.0 + x),),
          sympy=lambda sp, x: sp.log(1 + x), doc="log(1 + x), exact near x = 0",
          numpy=lambda np, x: np.log1p(x), rule_function=True)
_register("logsumexp", symbol="logsumexp", value=floats.logsumexp,
          derivative=lambda out, *xs: tuple(exp(x - out) for x in xs),
          sympy=lambda sp, *xs: sp.log(sp.Add(*[sp.exp(x) for x in xs])),
          doc="log(e ** x1 + ... + e ** xn), never overflowing",
          numpy=_logsumexp_array, rule_function=True)


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
