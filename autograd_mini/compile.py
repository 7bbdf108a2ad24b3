"""Trace once, run fast: turn the graph a function records into a flat Python program.

The eager engine makes a Python object per node on every call, yet the graph of a function
without branches is the same every time. ``compile(fn)`` runs ``fn`` once on Values, then writes
the recorded graph out as straight-line code, one line per node, and runs that instead:

>>> from autograd_mini import compile
>>> f = compile(lambda x, y: (x * y + y.tanh()) ** 2)
>>> f(1.0, 2.0)                                   # traced on this first call
8.785459495450104
>>> value, (dx, dy) = f.value_and_grad(1.0, 2.0)  # no Value objects made
>>> round(dx, 6), round(dy, 6)
(11.85611, 6.346877)
>>> print(f)
def f_value_and_grad(x, y):
    # forward: each node from its parents (the op table's value rules)
    v1 = x * y
    v2 = tanh(y)
    v3 = v1 + v2
    v4 = pow(v3, 2.0)
    # reverse: d v4 / d node, from the output back (the op table's derivative rules)
    dv3 = 2.0 * pow(v3, 1.0)
    dv1 = dv3
    dv2 = dv3
    dx = y * dv1
    dy = x * dv1
    dy += (1.0 - v2 * v2) * dv2
    return v4, (dx, dy)

Each line comes from the op table (``autograd_mini.ops``): the generator evaluates an op's value
rule and derivative rule on symbols instead of numbers, so ``1.0 - out * out`` (tanh's rule)
becomes the text ``1.0 - v2 * v2``. A rule it cannot write out (one that branches on its
operands, or calls a function it does not know) is called by reference instead, e.g.
``v5 = cube(v4)``; either way an op added with ``defop`` compiles with no extra code. The reverse
pass visits the nodes in the eager engine's order and sends each gradient the same way
(``parent += local * incoming``), so a compiled result is the eager one, float for float.

``f.batch(X)`` runs the same program on NumPy columns: each node becomes one vector operation
over the rows of ``X``. Arithmetic and ``sqrt`` are exact IEEE operations in NumPy as in
Python; for exp, log, sin, cos, tanh and pow NumPy's own routine is used only if it returns the
same bits as Python's ``math`` on a probe of test values, otherwise ``math``'s is applied to each
element (slower, but still equal to the eager engine).

Limits, plainly:

- Python control flow cannot be captured. A branch on a value (``if x.data > 0``, ``max`` of
  Values, ``float(x)``) is taken once, when tracing, and the program replays that branch for
  every input. So the tracer watches for it: reading ``.data`` of a traced node inside ``fn``
  (directly or through a comparison, ``float()`` or ``Value(x)``) raises ``TracingError`` naming
  the line (``strict=False`` makes it a warning), and on a sample of later calls at new inputs
  the function is traced again and a different graph raises ``GraphChangedError``. Ops with
  kinks (``relu``, ``abs``) are ops, not branches: they compile fine.
- Numbers the function computes without Values are frozen at their traced values; Values it
  reads from outside (the parameters of a model) are read afresh at every call.
- The eager engine lets an exact zero carry nothing (``0 * inf`` is 0 on an edge). The printed
  program just multiplies; when a gradient comes out inf or nan, a careful variant of it runs
  instead and gives the engine's numbers (see ``Program.function``).
- Without NumPy everything runs on plain floats; ``batch`` then loops over the rows.
"""
from __future__ import annotations

import builtins
import contextlib
import contextvars
import inspect
import linecache
import math
import operator
import os
import sys
import threading
import types
import warnings
import weakref
from numbers import Real
from typing import Any, Callable, Sequence

from . import floats, ops
from .context import enable_grad, listening
from .graph import _collector_paused, topological_order
from .value import CONSTANT, Value

__all__ = ["compile", "CompiledFunction", "Program", "TracingError", "GraphChangedError"]


class TracingError(RuntimeError):
    """``fn`` did something a recorded graph cannot replay (it read ``.data`` of a traced node)."""


class GraphChangedError(TracingError):
    """Traced again at other inputs, ``fn`` built a different graph: it branches on values."""


# == 1. Tracing: run fn once on Values, note the nodes it makes and the .data it reads ============

_DATA_SLOT = Value.__dict__["data"]  # the slot descriptor that stores a node's number
_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
_reads: contextvars.ContextVar[list | None] = contextvars.ContextVar("compile_reads", default=None)
_watch_lock = threading.Lock()
_watchers = [0]


def _user_facing_codes() -> set:
    """Engine functions that read ``.data`` on the user's behalf: the read is the caller's."""
    from . import value as value_module
    names = ("__lt__", "__le__", "__gt__", "__ge__", "__float__", "item", "detach", "__init__")
    found = [getattr(Value, n, None) for n in names]
    found += [getattr(value_module, n, None) for n in ("_number", "_to_float")]
    return {f.__code__ for f in found if hasattr(f, "__code__")}


_USER_FACING = _user_facing_codes()


def _read_data(node: Value):
    value = _DATA_SLOT.__get__(node, Value)
    log = _reads.get()
    if log is not None and node._rule is not CONSTANT:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code in _USER_FACING:
            frame = frame.f_back
        if frame is not None and not frame.f_code.co_filename.startswith(_ENGINE_DIR):
            log.append((node, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
    return value


def _write_data(node: Value, value) -> None:
    _DATA_SLOT.__set__(node, value)


@contextlib.contextmanager
def _watching_data_reads(log: list):
    """While tracing, ``Value.data`` is a property that notes reads made outside the engine.

    The engine's own reads (making nodes) are not noted; a comparison or ``float()`` counts as a
    read by whoever compared. Other threads see the property too (correct, a little slower), but
    only this context's reads are logged.
    """
    token = _reads.set(log)
    with _watch_lock:
        if _watchers[0] == 0:
            Value.data = property(_read_data, _write_data, doc="the number held (watched by compile)")
        _watchers[0] += 1
    try:
        yield
    finally:
        with _watch_lock:
            _watchers[0] -= 1
            if _watchers[0] == 0:
                Value.data = _DATA_SLOT
        _reads.reset(token)


class _Trace:
    """What one run of ``fn`` on Values recorded. ``several``: fn may return a list of Values."""

    @_collector_paused  # tracing and writing code make many objects and no cycles (graph.py)
    def __init__(self, fn: Callable, args: Sequence[float], names: Sequence[str],
                 several: bool = False):
        self.inputs = [Value(x, label=name) for x, name in zip(args, names)]
        made: list[Value] = []
        self.reads: list = []

        def note(kind, *details):
            if kind == "create":
                made.append(details[0])

        with enable_grad(), listening(note), _watching_data_reads(self.reads):
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
        self.reads = [r for r in self.reads if not (id(r[0]) in created and not r[0]._parents)]
        created.update(id(leaf) for leaf in self.inputs)
        # Nodes fn did not make (a model's weights, or a node computed before the call) are read
        # afresh at every call: they are the program's parameters.
        params, seen = [], set()
        for node in made + [o for o in self.outputs if id(o) not in created]:
            for parent in (node._parents if id(node) in created else (node,)):
                if id(parent) not in created and parent._rule is not CONSTANT and id(parent) not in seen:
                    seen.add(id(parent))
                    params.append(parent)
        self.order = _order(self.outputs, self.inputs, params)
        in_graph = {id(o) for o in self.outputs}
        in_graph.update(id(p) for node in self.order if id(node) in created for p in node._parents)
        self.params = [p for p in params if id(p) in in_graph]
        self.order = [n for n in self.order if id(n) in in_graph or id(n) in created]
        self.created = created
        in_order = {id(n) for n in self.order}
        self.made = [n for n in made if id(n) in in_order and n._parents]  # in creation order

    @property
    def output(self) -> Value:
        return self.outputs[0]

    def signature(self) -> list[tuple]:
        """The graph's shape: each node's kind and op, its parents' positions, baked numbers."""
        position = {id(node): i for i, node in enumerate(self.order)}
        slot = {id(leaf): i for i, leaf in enumerate(self.inputs)}
        param = {id(p): i for i, p in enumerate(self.params)}
        shape = []
        for node in self.order:
            key = id(node)
            if key in slot:
                shape.append(("input", slot[key]))
            elif key in param:
                shape.append(("parameter", id(node)))
            elif not node._parents:  # repr: nan equals nan, and -0.0 differs from 0.0
                shape.append(("number", repr(_DATA_SLOT.__get__(node, Value))))
            else:
                shape.append((node._rule.name, tuple(position[id(p)] for p in node._parents)))
        shape.append(("outputs", tuple(position[id(o)] for o in self.outputs)))
        return shape

    def read_report(self) -> str:
        lines, seen = [], set()
        for node, filename, lineno, function in self.reads:
            if (filename, lineno) in seen:
                continue
            seen.add((filename, lineno))
            code = linecache.getline(filename, lineno).strip()
            lines.append(f"  {filename}:{lineno} in {function}: {code}")
            if len(lines) == 5:
                break
        return "\n".join(lines)


# == 2. Symbols: evaluating the op table's rules on names writes their code ======================

ATOM, UNARY, PRODUCT, SUM = 4, 3, 2, 1  # Python's precedence levels, enough to place brackets


class NotSymbolic(Exception):
    """A rule did something that cannot be written as straight-line code (e.g. ``if x > 0``)."""


def _literal(x) -> Sym:
    if type(x) is int:
        return Sym(repr(x), UNARY if x < 0 else ATOM)
    if type(x) is not float:
        raise NotSymbolic(f"{type(x).__name__} operand")
    if x != x:
        return Sym("nan")
    if math.isinf(x):
        return Sym("inf" if x > 0 else "-inf", ATOM if x > 0 else UNARY)
    return Sym(repr(x), UNARY if math.copysign(1.0, x) < 0 else ATOM)


def _sym(x) -> Sym:
    return x if isinstance(x, Sym) else _literal(x)


def _is_number(x) -> bool:
    return type(x) is float or type(x) is int


def _binary(a, b, symbol: str, level: int) -> Sym:
    a, b = _sym(a), _sym(b)
    left = a.text if a.level >= level else f"({a.text})"
    right = b.text if b.level > level else f"({b.text})"  # a - (b - c): keep the order
    return Sym(f"{left} {symbol} {right}", level, a.batched or b.batched)


def _product(a, b) -> Sym:
    for one, other in ((a, b), (b, a)):  # x * 1.0 is x and x * -1.0 is -x, bit for bit
        if _is_number(one) and one == 1:
            return _sym(other)
        if _is_number(one) and one == -1:
            return -_sym(other)
    return _binary(a, b, "*", PRODUCT)


def _call(name: str, *args) -> Sym:
    syms = [_sym(a) for a in args]
    return Sym(f"{name}({', '.join(s.text for s in syms)})", ATOM, any(s.batched for s in syms))


class Sym:
    """A number known by name: arithmetic on it writes code. ``batched``: it varies by row."""

    __slots__ = ("text", "level", "batched")

    def __init__(self, text: str, level: int = ATOM, batched: bool = False):
        self.text, self.level, self.batched = text, level, batched

    def __add__(self, other): return _binary(self, other, "+", SUM)
    def __radd__(self, other): return _binary(other, self, "+", SUM)
    def __sub__(self, other): return _binary(self, other, "-", SUM)
    def __rsub__(self, other): return _binary(other, self, "-", SUM)
    def __mul__(self, other): return _product(self, other)
    def __rmul__(self, other): return _product(other, self)
    # / and ** become the engine's IEEE functions: they never raise where Python's operators would
    def __truediv__(self, other): return _call("div", self, other)
    def __rtruediv__(self, other): return _call("div", other, self)
    def __pow__(self, other, modulo=None):
        if modulo is not None:
            raise NotSymbolic("pow with a modulus")
        return _call("pow", self, other)
    def __rpow__(self, other): return _call("pow", other, self)
    def __pos__(self): return self
    def __abs__(self): return _call("abs", self)

    def __neg__(self):
        inner = self.text if self.level > UNARY else f"({self.text})"
        return Sym(f"-{inner}", UNARY, self.batched)

    def _branch(self, *_):
        raise NotSymbolic("the rule compares or converts its operand (a branch on the value)")
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _branch
    __bool__ = __float__ = __int__ = __index__ = __round__ = _branch
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __divmod__ = _branch
    __hash__ = None

    def __repr__(self) -> str:
        return f"Sym({self.text!r})"


class _Primitive:
    """A function rules may call (``ops.log``, ``floats.tanh``, ``sum``...), written as a call.

    On numbers only it just computes (a constant folded at compile time, as the eager engine
    would compute it); given a symbol it writes ``name(args)``.
    """

    def __init__(self, name: str, on_floats: Callable):
        self.name, self.on_floats = name, on_floats

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise NotSymbolic(f"{self.name} called with keywords")
        if self.name == "sum":
            terms, start = list(args[0]), (args[1] if len(args) > 1 else 0)
            if not any(isinstance(t, Sym) for t in terms + [start]):
                return builtins.sum(terms, start)
            inside = ", ".join(_sym(t).text for t in terms) + ("," if len(terms) == 1 else "")
            rest = _sym(start)
            return Sym(f"sum(({inside}), {rest.text})", ATOM,
                       any(_sym(t).batched for t in terms) or rest.batched)
        if not any(isinstance(a, Sym) for a in args):
            return self.on_floats(*args)
        return _call(self.name, *args)


# name -> (the function on floats, the engine objects that mean it). The float function is the
# one the eager engine runs, so the program computes exactly what the engine computes.
_FLOAT_PRIMITIVES: dict[str, tuple[Callable, tuple]] = {
    "div": (floats.div, (floats.div, ops.div)),
    "exp": (floats.exp, (floats.exp,)),
    "log": (floats.log, (floats.log, ops.log)),
    "sqrt": (floats.sqrt, (floats.sqrt,)),
    "sin": (floats.sin, (floats.sin, ops.sin)),
    "cos": (floats.cos, (floats.cos, ops.cos)),
    "tanh": (floats.tanh, (floats.tanh,)),
    "sigmoid": (floats.sigmoid, (floats.sigmoid,)),
    "relu": (floats.relu, (floats.relu,)),
    "step": (floats.step, (floats.step, ops.step)),
    "sign": (floats.sign, (floats.sign, ops.sign)),
    "pow": (floats.pow, (floats.pow, ops.pow)),
    "xlogy": (ops.xlogy, (ops.xlogy,)),
    "abs": (builtins.abs, (builtins.abs,)),
    "sum": (builtins.sum, (builtins.sum,)),
}
_EMITTERS = {id(obj): _Primitive(name, on_floats)
             for name, (on_floats, objects) in _FLOAT_PRIMITIVES.items() for obj in objects}
_rebound_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _symbolic(fn: Callable, depth: int = 0) -> Callable:
    """``fn`` with the primitives it calls by global name (and those of the functions in its
    closure) replaced by emitters, so that calling it on symbols writes its code."""
    if id(fn) in _EMITTERS:
        return _EMITTERS[id(fn)]
    if not isinstance(fn, types.FunctionType) or depth > 3:
        return fn
    try:
        return _rebound_cache[fn]
    except KeyError:
        pass
    module_globals = fn.__globals__
    builtin_names = module_globals.get("__builtins__", builtins)
    builtin_names = builtin_names if isinstance(builtin_names, dict) else vars(builtin_names)
    swaps = {}
    for name in fn.__code__.co_names:
        obj = module_globals[name] if name in module_globals else builtin_names.get(name)
        if id(obj) in _EMITTERS:
            swaps[name] = _EMITTERS[id(obj)]
    closure = fn.__closure__
    if closure:
        cells = []
        for cell in closure:
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                cells.append(cell)
                continue
            replaced = _symbolic(content, depth + 1) if callable(content) else content
            cells.append(cell if replaced is content else types.CellType(replaced))
        closure = tuple(cells)
    if swaps or closure != fn.__closure__:
        rebound = types.FunctionType(fn.__code__, {**module_globals, **swaps}, fn.__name__,
                                     fn.__defaults__, closure)
        rebound.__kwdefaults__ = fn.__kwdefaults__
    else:
        rebound = fn
    _rebound_cache[fn] = rebound
    return rebound


def _is_expression(x) -> bool:
    return isinstance(x, Sym) or _is_number(x)


_written: dict = {}  # (op, "value" or "derivative", kinds of operands) -> the rule's code, or None


def _write_rule(op, kind: str, args: list):
    """The code of ``op``'s value rule (``kind="value"``) or derivative rule on ``args`` (names
    and numbers): a Sym, a number (all operands numbers), a tuple of those for a derivative,
    or None when the rule cannot be written out.

    A rule is evaluated on symbols once per op and pattern of operands (which are names, and the
    numbers given), with placeholders for the names; later nodes only fill in their names.
    """
    pattern = tuple(("name", a.batched) if isinstance(a, Sym) else (type(a), repr(a)) for a in args)
    key = (id(op), kind, pattern)
    if key not in _written:
        slots = [Sym(f"{{{i}}}", ATOM, a.batched) if isinstance(a, Sym) else a
                 for i, a in enumerate(args)]
        rule = op.value if kind == "value" else op.derivative
        try:
            result = _symbolic(rule)(*slots)
        except Exception:  # NotSymbolic, or the rule needs real numbers (math.exp, ...)
            result = None
        if kind == "value":
            result = result if _is_expression(result) else None
        elif not (isinstance(result, (tuple, list)) and len(result) == len(args) - 1
                  and all(_is_expression(d) for d in result)):
            result = None
        _written[key] = (op, result)  # the op is kept alive, so its id is not reused
    result = _written[key][1]
    if result is None:
        return None
    names = [a.text if isinstance(a, Sym) else "" for a in args]
    if kind == "value":
        return _fill(result, names)
    return tuple(_fill(d, names) for d in result)


def _fill(template, names: list):
    if not isinstance(template, Sym):
        return template
    return Sym(template.text.format(*names), template.level, template.batched)


# == 3. The program: the traced graph written out as Python ======================================

_PROBE = [0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 1.0, -1.0, 2.0, 3.5, -7.25, 20.0, -20.0, 700.0,
          -745.0, 1e300, -1e300, math.inf, -math.inf, math.nan] + [
          (k * 0.6180339887498949) % 19.0 - 9.5 for k in range(1, 400)]


def _numpy():
    """NumPy, or None when it is not installed (everything then runs on floats)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


_array_primitives_cache: dict = {}


def _array_primitives(np) -> dict[str, Callable]:
    """The primitives on NumPy arrays, each equal to its float version (see module docstring)."""
    cached = _array_primitives_cache.get(id(np))
    if cached is not None:
        return cached

    def elementwise(on_floats):
        def apply(*args):
            arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
            if arrays[0].ndim == 0:
                return on_floats(*[float(a) for a in args])
            flat = [a.ravel().tolist() for a in arrays]
            return np.array([on_floats(*xs) for xs in zip(*flat)], dtype=float).reshape(arrays[0].shape)
        return apply

    probe = np.array(_PROBE)
    other = np.concatenate([probe[1:], probe[:1]])

    def exact(vectorised, on_floats, two=False):
        args = (probe, other) if two else (probe,)
        with np.errstate(all="ignore"):
            try:
                fast = vectorised(*args)
            except Exception:
                return elementwise(on_floats)
        slow = [on_floats(*xs) for xs in zip(*[a.tolist() for a in args])]
        return vectorised if np.array_equal(fast, np.array(slow), equal_nan=True) else elementwise(on_floats)

    exp = exact(np.exp, floats.exp)
    log = exact(np.log, floats.log)

    def sigmoid(x):  # floats.sigmoid's two branches, so that exp never overflows
        x = np.asarray(x, dtype=float)
        z = exp(np.where(x >= 0.0, -x, x))
        return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))

    def step(x):
        return np.greater(x, 0.0).astype(float)

    def xlogy(out, x):
        return np.where(np.equal(x, 0.0), 0.0, out * log(x))

    def add_up(terms, start=0.0):
        total, owned = start, False  # left to right, as Python's sum of floats
        for term in terms:
            if owned:
                total += term
            else:
                total = total + term
                owned = isinstance(total, np.ndarray)
        return total

    table = {
        "div": np.true_divide, "exp": exp, "log": log, "sqrt": np.sqrt,
        "sin": exact(np.sin, floats.sin), "cos": exact(np.cos, floats.cos),
        "tanh": exact(np.tanh, floats.tanh), "sigmoid": sigmoid, "relu": lambda x: np.maximum(x, 0.0),
        "step": step, "sign": np.sign, "pow": exact(np.power, floats.pow, two=True),
        "xlogy": xlogy, "abs": np.abs, "sum": add_up, "dot": np.dot, "total": np.sum,
        "times": lambda a, b: np.where(np.equal(a, 0.0) | np.equal(b, 0.0), 0.0,
                                       np.multiply(a, b)),
        "elementwise": elementwise, "inf": math.inf, "nan": math.nan,
    }
    _array_primitives_cache[id(np)] = table
    return table


def _order(outputs: Sequence[Value], inputs: Sequence[Value], params: Sequence[Value]) -> list[Value]:
    """Inputs and parameters (as leaves), then every node the outputs need, parents first.

    Above the cut points the order is the eager engine's (``topological_order``), so the reverse
    pass adds up each node's gradient in the same order, hence to the same float.
    """
    is_input = {id(x) for x in inputs}
    cut = list(inputs) + [p for p in params if id(p) not in is_input]
    order, stops = list(cut), set(cut)
    for out in outputs:
        if out not in stops:
            part = topological_order(out, stop_at=stops)
            order += part
            stops.update(part)
    return order


class Program:
    """A recorded graph written out as straight-line Python: one line per node.

    ``outputs``: the output node (or a list of them); ``inputs``: the nodes that become the
    program's arguments (a number each, or a NumPy column each for a batch); ``params``: nodes
    read afresh at each run (a model's weights: pass their numbers as ``params``). Every other
    node above the outputs is a constant, baked in. Most users want ``compile``; this is the
    layer under it (and under ``nn.compiled``).

    >>> from autograd_mini import Value
    >>> from autograd_mini.compile import Program
    >>> x, w = Value(3.0, label="x"), Value(0.5, label="w")
    >>> p = Program(w * x + 1, [x], params=[w])
    >>> run = p.function(grad=True, wrt="params")
    >>> run(3.0, [0.5]), run(4.0, [2.0])           # (value, d value / d params)
    ((2.5, (3.0,)), (9.0, (4.0,)))
    >>> print(p.source(grad=True, wrt="params"))
    def f_value_and_grad(x, params):
        w, = params
        # forward: each node from its parents (the op table's value rules)
        v1 = w * x
        v2 = v1 + 1.0
        # reverse: d v2 / d node, from the output back (the op table's derivative rules)
        dw = x
        return v2, (dw,)
    """

    def __init__(self, outputs: Value | Sequence[Value], inputs: Sequence[Value],
                 params: Sequence[Value] = (), *, name: str = "f",
                 order: list[Value] | None = None, made: list[Value] | None = None):
        self.single = isinstance(outputs, Value)
        self.outputs = [outputs] if self.single else list(outputs)
        for what, nodes in (("outputs", self.outputs), ("inputs", inputs), ("params", params)):
            for node in nodes:
                if not isinstance(node, Value):
                    raise TypeError(f"Program: {what} must be Values, got {type(node).__name__}")
        if not self.outputs:
            raise ValueError("Program: no outputs")
        self.inputs, self.params = list(inputs), list(params)
        # the reverse pass follows ``order`` (the eager engine's); the forward lines and the
        # names v1, v2, ... follow ``made``, the order the nodes were made in, if known
        self.order = order if order is not None else _order(self.outputs, self.inputs, self.params)
        cut = {id(n) for n in self.inputs + self.params}
        in_order = {id(n) for n in self.order}
        ops = [n for n in self.order if n._parents and id(n) not in cut]
        if made is not None:
            made = [n for n in made if id(n) in in_order and n._parents and id(n) not in cut]
        self.forward_order = made if made is not None and len(made) == len(ops) else ops
        self.name = name if name.isidentifier() else "f"
        self._functions: dict = {}
        self._sources: dict = {}
        self._names()

    # -- names: the user's labels where they are identifiers, else x0, p0, v1, v2, ... ----------
    def _names(self) -> None:
        taken: set[str] = set()  # names, and "d" + name (their gradients)

        def free(name: str) -> bool:
            return (name.isidentifier() and name not in _RESERVED and name not in taken
                    and "d" + name not in taken and not name.startswith("seed"))

        def pick(label: str, fallback: str) -> str:
            name = label if label and free(label) and not _looks_generated(label) else fallback
            k = 0
            while not free(name):
                k += 1
                name = f"{fallback}_{k}"
            taken.update((name, "d" + name))
            return name

        self.input_names = [pick(leaf.label, f"x{i}") for i, leaf in enumerate(self.inputs)]
        self.param_names = [pick(p.label, f"p{i}") for i, p in enumerate(self.params)]
        self.var = {id(n): name for n, name in zip(self.inputs, self.input_names)}
        self.var.update({id(p): name for p, name in zip(self.params, self.param_names)})
        self.is_input = {id(n) for n in self.inputs}
        self.is_param = {id(p) for p in self.params} - self.is_input
        constant = set()  # ops on constants only: folded into numbers, no line and no name
        for node in self.order:
            if id(node) not in self.var and all(id(p) in constant for p in node._parents):
                constant.add(id(node))
        count = 0
        for node in self.forward_order:
            if id(node) not in constant:
                count += 1
                self.var[id(node)] = pick(node.label, f"v{count}")
        self._taken = taken

    # -- code generation -----------------------------------------------------------------------
    def source(self, *, grad: bool = True, wrt: str = "inputs", seed: bool = False,
               reduce: bool = False) -> str:
        """The program's text.

        - ``grad``: also the reverse pass, returning ``(value, grads)``.
        - ``wrt``: the derivatives returned: "inputs", "params", or "both" (then the program
          returns ``(value, input_grads, param_grads)``).
        - ``seed``: the program takes the output's gradient as an argument ``seed`` (a sequence,
          one per output, for several outputs); without it the gradient starts at 1.0. ``seed``
          may also be a function, called with the output value(s) once the forward pass has
          run, returning the seed(s): that is how a loss computed outside the program (in
          ``nn.compiled``) sends its gradient back in.
        - ``reduce``: the inputs are batch columns and the parameters' gradients are summed over
          the rows (``dot``, ``total``), as a training step on a batch needs (requires ``seed``).
        """
        key = (grad, wrt, seed, reduce, False)
        if key not in self._sources:
            self._sources[key] = self._generate(*key)[0]
        return self._sources[key]

    @_collector_paused
    def _generate(self, grad: bool, wrt: str, seeded: bool, reduce: bool, careful: bool = False):
        if wrt not in ("inputs", "params", "both"):
            raise ValueError(f"wrt must be 'inputs', 'params' or 'both', got {wrt!r}")
        if reduce and not (grad and seeded):
            raise ValueError("reduce=True sums gradients over a batch: it needs grad=True and "
                             "seed=True (the outputs' gradient for each row)")
        if grad and not seeded and not self.single:
            raise ValueError("a program with several outputs needs seed=True for its gradient")
        refs: dict[str, tuple] = {}  # rules called by reference: name -> (op, "value"/"derivative")

        def reference(op, kind: str) -> str:
            base = op.name if kind == "value" else f"d_{op.name}"
            name, k = base, 0
            while (name in refs and refs[name] != (op, kind)) or name in _RESERVED or name in self._taken:
                k += 1
                name = f"{base}_{k}"
            refs[name] = (op, kind)
            return name

        expr: dict[int, Any] = {}  # node -> a Sym naming its variable, or its number
        for node, name in zip(self.inputs, self.input_names):
            expr[id(node)] = Sym(name, batched=True)
        for node, name in zip(self.params, self.param_names):
            expr.setdefault(id(node), Sym(name))
        for node in self.order:  # constants, and leaves fn made: their numbers are baked in
            if not node._parents and id(node) not in expr:
                expr[id(node)] = _DATA_SLOT.__get__(node, Value)
        lines = []
        for node in self.forward_order:
            key = id(node)
            args = [expr[id(p)] for p in node._parents]
            if not any(isinstance(a, Sym) for a in args):  # an op on constants: baked in too
                expr[key] = _DATA_SLOT.__get__(node, Value)
                continue
            result = _write_rule(node._rule, "value", args)
            if result is None:
                result = _call(reference(node._rule, "value"), *args)
            name = self.var[key]
            lines.append(f"{name} = {result.text}")
            expr[key] = Sym(name, batched=result.batched)
        if lines:
            lines.insert(0, "# forward: each node from its parents (the op table's value rules)")
        outs = [_sym(expr[id(o)]) for o in self.outputs]
        returned = outs[0].text if self.single else self._tuple(outs)
        arguments = self.input_names + (["params"] if self.params else [])
        if grad:
            if seeded:
                arguments.append("seed")
            reverse, grads = self._reverse(expr, outs, wrt, seeded, reduce, careful, reference)
            lines += reverse
            returned += f", {grads}"
        head = [f"def {self.name}{'_value_and_grad' if grad else ''}({', '.join(arguments)}):"]
        if self.params:
            unpack = ", ".join(self.param_names) + ("," if len(self.params) == 1 else "")
            head.append(f"    {unpack} = params")
        text = "\n".join(head + [f"    {line}" for line in lines] + [f"    return {returned}"])
        return text, refs

    def _reverse(self, expr, outs, wrt, seeded, reduce, careful, reference):
        wanted = set()
        if wrt in ("inputs", "both"):
            wanted |= self.is_input
        if wrt in ("params", "both"):
            wanted |= self.is_param
        needs = {}  # does a wanted node lie above this one?
        for node in self.order:
            key = id(node)
            needs[key] = key in wanted or (key not in self.is_input and key not in self.is_param
                                           and any(needs[id(p)] for p in node._parents))
        lines: list[str] = []
        grad: dict[int, Any] = {}  # node -> its gradient so far: a Sym naming a variable, or a number
        owned: set[int] = set()    # gradients in a variable of their own (safe to add into)

        def send(target: Value, amount) -> None:
            """``target``'s gradient += amount, as the eager engine's ``parent.grad += ...``."""
            key = id(target)
            name = f"d{self.var[key]}"
            if key not in grad:
                if isinstance(amount, Sym):
                    lines.append(f"{name} = {amount.text}")
                    grad[key] = Sym(name, batched=amount.batched)
                    if amount.level != ATOM or "(" in amount.text:  # a new number, not an alias
                        owned.add(key)
                else:
                    grad[key] = amount
                return
            before = grad[key]
            if not isinstance(before, Sym) and not isinstance(amount, Sym):
                grad[key] = before + amount
                return
            if key in owned:
                lines.append(f"{name} += {_sym(amount).text}")
            else:
                lines.append(f"{name} = {_binary(before, amount, '+', SUM).text}")
                owned.add(key)
            grad[key] = Sym(name, batched=_batched(before) or _batched(amount))

        if seeded:
            names = ["seed"] if self.single else [f"seed{k}" for k in range(len(outs))]
            given = ", ".join(o.text for o in outs)
            unpack = names[0] if self.single else ", ".join(names)
            lines.append(f"{unpack} = seed({given}) if callable(seed) else seed")
            seeds = [Sym(n, batched=reduce) for n in names]
        else:
            seeds = [1.0]
        first = self.var.get(id(self.outputs[0]), "output") if self.single else "outputs"
        lines.append(f"# reverse: d {first} / d node, from the output back "
                     "(the op table's derivative rules)")
        mark = len(lines)
        for out, seed in zip(self.outputs, seeds):
            if needs[id(out)]:
                send(out, _call("total", seed) if reduce and not _batched(expr[id(out)]) else seed)
        for node in reversed(self.order):
            key = id(node)
            if key not in grad or key in self.is_input or key in self.is_param or not node._parents:
                continue
            targets = [(i, p) for i, p in enumerate(node._parents) if needs[id(p)]]
            if not targets:
                continue
            g = grad[key]
            args = [expr[id(p)] for p in node._parents]
            local = _write_rule(node._rule, "derivative", [expr[key]] + args)
            if local is None:  # the rule runs as is; its results are picked from a tuple
                holder = f"l{self.var[key]}"
                while holder in self._taken or holder in _RESERVED:
                    holder += "_"
                call = _call(reference(node._rule, "derivative"), expr[key], *args)
                lines.append(f"{holder} = {call.text}")
                local = [Sym(f"{holder}[{i}]", batched=call.batched) for i in range(len(args))]
            for i, parent in targets:
                d = local[i]
                if _is_number(d) and d == 0:
                    continue  # an exact zero carries nothing, as in the eager engine
                if careful and not (_is_number(d) and math.isfinite(d)):
                    amount = _call("times", d, g)  # 0 if either is 0: 0 * inf is 0 here
                else:
                    amount = d * g  # the eager engine's local * incoming (x * 1.0 is x)
                if reduce and _batched(amount) and not _batched(expr[id(parent)]):
                    # a weight's share from every row, added up
                    amount = _call("total", amount) if careful else _summed(d, g)
                send(parent, amount)
        if len(lines) == mark:
            lines.pop()  # nothing to send: no comment either
        parts = []
        if wrt in ("inputs", "both"):
            parts.append(self._tuple([grad.get(id(n), 0.0) for n in self.inputs]))
        if wrt in ("params", "both"):
            parts.append(self._tuple([grad.get(id(p), 0.0) for p in self.params]))
        return lines, ", ".join(parts)

    @staticmethod
    def _tuple(items) -> str:
        texts = [_sym(x).text for x in items]
        return f"({texts[0]},)" if len(texts) == 1 else f"({', '.join(texts)})"

    # -- turning text into functions -------------------------------------------------------------
    def function(self, *, grad: bool = False, wrt: str = "inputs", seed: bool = False,
                 reduce: bool = False, backend: str = "float") -> Callable:
        """The program as a Python function (written, compiled and cached on first request).

        Arguments: one per input (numbers; NumPy columns with ``backend="numpy"``), then
        ``params`` (a sequence with the parameters' numbers) if there are parameters, then
        ``seed`` if asked for (see ``source``). It returns the value (a tuple for several
        outputs), or with ``grad`` the pair ``(value, grads)`` (``(value, input_grads,
        param_grads)`` for ``wrt="both"``). The NumPy version runs with floating-point warnings
        off: IEEE results, as on floats.
        """
        if backend not in ("float", "numpy"):
            raise ValueError(f"backend must be 'float' or 'numpy', got {backend!r}")
        key = (grad, wrt, seed, reduce, backend)
        cached = self._functions.get(key)
        if cached is not None:
            return cached
        fast = self._build(grad, wrt, seed, reduce, False, backend)
        if grad:
            fast = self._with_careful_fallback(fast, (grad, wrt, seed, reduce, True, backend))
        self._functions[key] = fast
        return fast

    @_collector_paused
    def _build(self, grad, wrt, seed, reduce, careful, backend) -> Callable:
        text, refs = self._generate(grad, wrt, seed, reduce, careful)
        self._sources.setdefault((grad, wrt, seed, reduce, careful), text)
        if backend == "float":
            namespace = dict(_FLOAT_NAMESPACE)
            for name, (op, kind) in refs.items():
                namespace[name] = op.value if kind == "value" else op.derivative
        else:
            np = _numpy()
            if np is None:
                raise ImportError("a batched program needs NumPy (pip install numpy); the "
                                  "float backend runs without it")
            namespace = dict(_array_primitives(np))
            each = namespace["elementwise"]
            for name, (op, kind) in refs.items():
                namespace[name] = each(op.value) if kind == "value" else _each_derivative(np, op)
        kind = ("careful " if careful else "") + ("grad" if grad else "value")
        filename = f"<compiled {self.name}, {backend}, {kind}, {id(self):x}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        exec(builtins.compile(text, filename, "exec"), namespace)
        function = namespace[f"{self.name}{'_value_and_grad' if grad else ''}"]
        return _ieee(np, function) if backend == "numpy" else function

    def _with_careful_fallback(self, fast: Callable, careful_key: tuple) -> Callable:
        """``fast``, run again in its careful variant when a gradient comes out inf or nan.

        The fast program multiplies every edge; the eager engine lets an exact zero (a local
        derivative, or a node's whole gradient) carry nothing, so 0 * inf is 0 there and nan
        here. Without an inf or nan on the way the two agree, and an inf or nan on the way
        always reaches a returned gradient (sums and products keep it), so a finite result
        needs no second look. Otherwise the careful variant (``times(local, g)``, 0 if either
        is 0) gives the engine's numbers.
        """
        careful: list = []
        np = _numpy() if careful_key[-1] == "numpy" else None

        def run(*args):
            result = fast(*args)
            total = 0.0
            for grads in result[1:]:
                total = sum(grads, total)
            if np.isfinite(total).all() if np is not None else math.isfinite(total):
                return result  # (an overflow in this sum only costs the careful run)
            if not careful:
                careful.append(self._build(*careful_key))
            return careful[0](*args)

        run.fast = fast
        return run

    def __str__(self) -> str:
        return self.source(grad=True) if self.single else self.source(grad=False)

    def __repr__(self) -> str:
        nodes = sum(1 for n in self.order if n._parents)
        return (f"<Program {self.name}: {len(self.inputs)} input(s), {len(self.params)} "
                f"parameter(s), {nodes} op node(s), {len(self.outputs)} output(s)>")


_RESERVED = set(_FLOAT_PRIMITIVES) | {"dot", "total", "times", "inf", "nan", "params", "seed",
                                      "callable", "elementwise"} | set(dir(builtins))
_FLOAT_NAMESPACE = {name: on_floats for name, (on_floats, _) in _FLOAT_PRIMITIVES.items()}
_FLOAT_NAMESPACE.update(dot=operator.mul, total=lambda x: x, inf=math.inf, nan=math.nan,
                        times=lambda a, b: a * b if a and b else 0.0)


def _summed(local, g) -> Sym:
    """A batch-wide node's share of ``local * g`` from every row of the batch, added up."""
    if _batched(local) and _batched(g):
        return _call("dot", local, g)
    if _batched(g):
        return _product(local, _call("total", g))
    return _product(_call("total", local), g)


def _looks_generated(name: str) -> bool:
    """v3, l7, x0, p2: names the generator makes itself."""
    return len(name) > 1 and name[0] in "vlxp" and name[1:].isdigit()


def _batched(x) -> bool:
    return isinstance(x, Sym) and x.batched


def _ieee(np, function):
    def run(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    run.__wrapped__ = function
    return run


def _each_derivative(np, op):
    """An op's derivative rule applied row by row (for rules that need real floats)."""
    def apply(*args):
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
        if arrays[0].ndim == 0:
            return op.derivative(*[float(a) for a in args])
        rows = [op.derivative(*xs) for xs in zip(*[a.tolist() for a in arrays])]
        return tuple(np.array(column, dtype=float) for column in zip(*rows))
    return apply


# == 4. compile(fn): trace on the first call, check now and then, run the program ================

CHECKS = ("sampled", "always", "never")


class CompiledFunction:
    """``fn`` compiled: call it with numbers. Made by ``compile(fn)``; see the module docstring.

    - ``f(*numbers)`` -> the value (a float)
    - ``f.value_and_grad(*numbers)`` -> ``(value, (d/d arg0, d/d arg1, ...))``
    - ``f.batch(X)`` -> the value for each row of ``X`` (rows of inputs: a list of lists or a 2-D
      NumPy array; for a one-input function a flat list also works): a NumPy array, or a list
      of floats without NumPy
    - ``f.batch_value_and_grad(X)`` -> ``(values, grads)``, grads with one row per row of ``X``
      (NumPy arrays of shapes (n,) and (n, inputs); without NumPy a list and a list of tuples)
    - ``f.source`` / ``print(f)``: the generated program; ``f.graph``: the traced output Value
      (``autograd_mini.to_dot(f.graph)`` draws it, nodes named as in the program);
      ``f.program``: the ``Program``; ``f.params``: Values read from outside at every call.

    >>> from autograd_mini import compile
    >>> f = compile(lambda x: x * x + 1)
    >>> f.batch([[1.0], [2.0], [3.0]]).tolist()
    [2.0, 5.0, 10.0]
    >>> values, grads = f.batch_value_and_grad([[1.0], [2.0], [3.0]])
    >>> grads.tolist()
    [[2.0], [4.0], [6.0]]
    """

    def __init__(self, fn: Callable, *, check: str = "sampled", strict: bool = True):
        if not callable(fn):
            raise TypeError(f"compile needs a function, got {type(fn).__name__}")
        if check not in CHECKS:
            raise ValueError(f"compile: check must be one of {', '.join(CHECKS)}, got {check!r}")
        self.fn, self.check, self.strict = fn, check, strict
        self.__name__ = getattr(fn, "__name__", "f")
        self.__doc__ = getattr(fn, "__doc__", None)
        self._trace: _Trace | None = None
        self._signature: list | None = None
        self._arity: int | None = None
        self._seen: set = set()      # argument tuples already traced or checked
        self._new_points = 0         # calls at inputs not seen before
        self._names = self._parameter_names(fn)

    @staticmethod
    def _parameter_names(fn) -> list[str] | None:
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return None
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in params):
            return None
        return [p.name for p in params]

    # -- arguments -----------------------------------------------------------------------------
    def _numbers(self, args: tuple) -> tuple:
        for i, a in enumerate(args):
            if isinstance(a, Value) or not isinstance(a, Real) or isinstance(a, bool):
                what = "a Value" if isinstance(a, Value) else f"{type(a).__name__} {a!r:.30}"
                raise TypeError(f"{self.__name__} (compiled) takes numbers; argument {i} is {what}"
                                + (" (call the plain function to build a graph of Values)"
                                   if isinstance(a, Value) else ""))
        if self._arity is not None and len(args) != self._arity:
            raise TypeError(f"{self.__name__} (compiled) takes {self._arity} number(s), "
                            f"got {len(args)}")
        return tuple(float(a) for a in args)

    def _trace_names(self, n: int) -> list[str]:
        names = self._names
        if names is None or len(names) != n:
            return [f"x{i}" for i in range(n)]
        return names

    # -- tracing and checking -----------------------------------------------------------------
    def _record(self, xs: tuple) -> _Trace:
        trace = _Trace(self.fn, xs, self._trace_names(len(xs)))
        if trace.reads:
            message = (f"compile({self.__name__}): the function read .data of a traced Value "
                       f"while tracing:\n{trace.read_report()}\nA compiled program replays the "
                       "ops recorded on the first call; it cannot follow a branch on a value, "
                       "nor a number taken from .data (it would stay frozen at the traced "
                       "value). Write it with ops (relu, abs, ...), or do not compile this "
                       "function (compile(..., strict=False) only warns).")
            if self.strict:
                raise TracingError(message)
            warnings.warn(message, RuntimeWarning, stacklevel=4)
        return trace

    def _first_trace(self, xs: tuple) -> None:
        if self._names is not None and len(xs) != len(self._names):
            raise TypeError(f"{self.__name__} takes {len(self._names)} argument(s), got {len(xs)}")
        trace = self._record(xs)
        self._arity = len(xs)
        self._trace, self._signature = trace, trace.signature()
        self.program = Program(trace.output, trace.inputs, trace.params, name=self.__name__,
                               order=trace.order, made=trace.made)
        for node in trace.order:  # the drawn graph uses the program's names
            if id(node) in self.program.var and not node.label and id(node) in trace.created:
                node.label = self.program.var[id(node)]
        self._seen.add(xs)

    def _due(self, xs: tuple) -> bool:
        if self.check == "never" or xs in self._seen:
            return False
        if self.check == "always":
            return True
        self._new_points += 1
        n = self._new_points
        return n & (n - 1) == 0  # the 1st, 2nd, 4th, 8th ... new point

    def _verify(self, xs: tuple) -> None:
        if len(self._seen) < 256:
            self._seen.add(xs)
        trace = self._record(xs)
        new = trace.signature()  # parameters are compared by identity
        if new == self._signature:
            return
        first = next((i for i, (a, b) in enumerate(zip(self._signature, new)) if a != b),
                     min(len(new), len(self._signature)))

        def describe(shape, i):
            if i >= len(shape):
                return "nothing (the graph ended)"
            kind, detail = shape[i]
            if kind == "number":
                return f"the number {detail}"
            if kind in ("input", "parameter"):
                return f"an {kind}" if kind == "input" else "a parameter"
            return f"a {kind} node"
        traced_at = ", ".join(f"{v!r}" for v in (leaf.data for leaf in self._trace.inputs))
        raise GraphChangedError(
            f"compile({self.__name__}): the function builds a different graph at "
            f"({', '.join(map(repr, xs))}) than at ({traced_at}), where it was traced: node "
            f"{first} of the graph is {describe(new, first)} here but was "
            f"{describe(self._signature, first)}. It takes a Python branch on a value (or its "
            "numbers change between calls), which a compiled program cannot follow. Write it "
            "with ops (relu, abs, ...), or do not compile this function.")

    def _prepare(self, xs: tuple) -> None:
        if self._trace is None:
            self._first_trace(xs)
        elif self._due(xs):
            self._verify(xs)

    def _param_values(self) -> list:
        return [_DATA_SLOT.__get__(p, Value) for p in self._trace.params]

    # -- running ---------------------------------------------------------------------------------
    def __call__(self, *args) -> float:
        xs = self._numbers(args)
        self._prepare(xs)
        run = self.program.function()  # written and compiled on first use, then cached
        if self._trace.params:
            return run(*xs, self._param_values())
        return run(*xs)

    def value_and_grad(self, *args) -> tuple[float, tuple]:
        """``(value, (d value / d arg for each argument))``, by the compiled reverse pass."""
        xs = self._numbers(args)
        self._prepare(xs)
        run = self.program.function(grad=True)
        if self._trace.params:
            return run(*xs, self._param_values())
        return run(*xs)

    def _rows(self, X, np):
        """X as a 2-D float array of rows (NumPy) or a list of float tuples (without)."""
        width = self._arity
        if np is not None:
            try:
                A = np.asarray(X, dtype=float)
            except (TypeError, ValueError) as error:
                raise TypeError(f"{self.__name__}.batch takes rows of numbers (a list of lists or "
                                f"a 2-D array): {error}") from None
            if A.ndim == 1 and (width or len(self._names or ())) == 1:  # one input: a flat list
                A = A.reshape(-1, 1)
            if A.ndim != 2 or (width is not None and A.shape[1] != width):
                want = f"{width} column(s)" if width is not None else "one column per argument"
                raise ValueError(f"{self.__name__}.batch takes rows of inputs, {want}; got an "
                                 f"array of shape {A.shape}")
            return A
        rows = []
        for i, row in enumerate(X):
            row = (row,) if isinstance(row, Real) else tuple(row)
            if width is not None and len(row) != width:
                raise ValueError(f"{self.__name__}.batch: row {i} has {len(row)} number(s), "
                                 f"expected {width}")
            rows.append(self._numbers(row))
        return rows

    def _prepare_batch(self, rows, np) -> None:
        n = len(rows)
        if n == 0:
            if self._trace is None:
                raise ValueError(f"{self.__name__}.batch: no rows, and the function has not been "
                                 "traced yet (it needs one row to trace)")
            return
        first = tuple(float(v) for v in rows[0])
        if self._trace is None:
            self._numbers(first)
            self._first_trace(first)
            picks = [n - 1, n // 2] if n > 1 else []
        elif self.check == "always":
            picks = range(n)
        else:
            picks = [0, n - 1, n // 2] if self.check == "sampled" else []
        for i in picks:
            xs = tuple(float(v) for v in rows[i])
            if self._due(xs):
                self._verify(xs)

    def batch(self, X):
        """The value at each row of ``X``: one vector operation per node (NumPy), else a loop.

        >>> from autograd_mini import compile
        >>> compile(lambda a, b: a * b).batch([[1, 2], [3, 4]]).tolist()
        [2.0, 12.0]
        """
        np = _numpy()
        rows = self._rows(X, np)
        self._prepare_batch(rows, np)
        if np is None:
            return [self._call_floats(self.program.function(), row) for row in rows]
        n = rows.shape[0]
        if n == 0:
            return np.zeros(0)
        run = self.program.function(backend="numpy")
        args = list(rows.T) + ([self._param_values()] if self._trace.params else [])
        return _column(np, run(*args), n)

    def batch_value_and_grad(self, X):
        """``(values, grads)`` at each row of ``X``; ``grads[i, j]`` is d value / d input j at row i.

        >>> from autograd_mini import compile
        >>> values, grads = compile(lambda a, b: a * b).batch_value_and_grad([[1, 2], [3, 4]])
        >>> values.tolist(), grads.tolist()
        ([2.0, 12.0], [[2.0, 1.0], [4.0, 3.0]])
        """
        np = _numpy()
        rows = self._rows(X, np)
        self._prepare_batch(rows, np)
        if np is None:
            run = self.program.function(grad=True)
            results = [self._call_floats(run, row) for row in rows]
            return [v for v, _ in results], [g for _, g in results]
        n = rows.shape[0]
        if n == 0:
            return np.zeros(0), np.zeros((0, self._arity))
        run = self.program.function(grad=True, backend="numpy")
        args = list(rows.T) + ([self._param_values()] if self._trace.params else [])
        value, grads = run(*args)
        return _column(np, value, n), np.stack([_column(np, g, n) for g in grads], axis=1)

    def _call_floats(self, function, row):
        if self._trace.params:
            return function(*row, self._param_values())
        return function(*row)

    # -- looking inside ------------------------------------------------------------------------
    def _traced(self, what: str) -> _Trace:
        if self._trace is None:
            raise RuntimeError(f"{self.__name__} is traced on its first call; call it once "
                               f"before asking for {what}")
        return self._trace

    @property
    def source(self) -> str:
        """The generated program (forward and reverse pass), as Python text."""
        self._traced("its source")
        return self.program.source(grad=True)

    @property
    def graph(self) -> Value:
        """The output node of the traced graph (draw it with ``autograd_mini.to_dot``)."""
        return self._traced("its graph").output

    @property
    def params(self) -> list[Value]:
        """Values the function reads from outside; their current numbers are used at each call."""
        return list(self._traced("its parameters").params)

    def __str__(self) -> str:
        return self.source if self._trace is not None else repr(self)

    def __repr__(self) -> str:
        if self._trace is None:
            return f"<compiled {self.__name__}: not traced yet>"
        return (f"<compiled {self.__name__}: {self._arity} input(s), {len(self._trace.params)} "
                f"parameter(s), {sum(1 for n in self._trace.order if n._parents)} op node(s)>")


def _column(np, x, n: int):
    """A result as a fresh float array of n rows (constants and parameter-only results too)."""
    return np.array(np.broadcast_to(np.asarray(x, dtype=float), (n,)))


def compile(fn: Callable | None = None, *, check: str = "sampled",
            strict: bool = True) -> CompiledFunction | Callable[[Callable], CompiledFunction]:
    """Compile ``fn`` (a function of scalars built from Value ops) into a flat program.

    Traced on the first call; see the module docstring for what you get and the limits.
    ``check``: "sampled" (default) traces again at the 1st, 2nd, 4th, 8th ... call at new inputs
    (and at a few rows of the first batch) and raises ``GraphChangedError`` if the graph
    differs; "always" at every new input; "never" trusts the first trace. ``strict``: reading
    ``.data`` of a traced Value while tracing raises ``TracingError`` (False: warns).
    Usable as a decorator, with or without arguments.

    >>> from autograd_mini import compile
    >>> @compile
    ... def f(x, y):
    ...     return x.relu() * y
    >>> f(-1.0, 3.0), f.value_and_grad(2.0, 3.0)
    (0.0, (6.0, (3.0, 2.0)))
    """
    if fn is None:
        return lambda f: CompiledFunction(f, check=check, strict=strict)
    return CompiledFunction(fn, check=check, strict=strict)
