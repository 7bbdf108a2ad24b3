"""Trace once, run fast: the graph a function records, and the engine's gradient graph of it,
written out as one program.

The eager engine makes a Python object per node on every call, yet the graph of a function
without branches is the same every time. ``compile(fn)`` runs ``fn`` once on Values (tracing),
asks the engine for the gradient graph (``gradients(out, inputs, create_graph=True)``: the op
table's derivative rules run on Values), and writes both out, one line per node, from the op
table's rows (``tracing``, ``optimise``, ``emit``). There is one reverse mode, the engine's:

>>> from autograd_mini import compile
>>> f = compile(lambda x, y: (x * y + y.tanh()) ** 2)
>>> f(1.0, 2.0)                                   # traced on this first call
8.785459495450104
>>> value, (dx, dy) = f.value_and_grad(1.0, 2.0)  # no Value objects made
>>> round(dx, 6), round(dy, 6)
(11.85611, 6.346877)

On a batch (``f.batch(X)``, ``f.batch_value_and_grad(X)``: a row of ``X`` per example) each
group of nodes doing the same op at the same depth becomes one NumPy operation, and a group of
weighted sums sharing their inputs (a layer) a matrix product. ``print(f)`` shows that program;
for a network it reads like the four equations of backpropagation (see ``nn.compiled``).

Numbers. On floats (``f(...)``, ``f.value_and_grad(...)``) the program runs the table's float
rules in the engine's order: the eager engine's results, bit for bit (up to the sign of a
zero sum). On NumPy batches the
array rules (NumPy's exp, log, tanh...) and matrix products round differently: results agree
with the engine to a few units in the last place of the terms summed (the tests hold them to
1e-12 relative). The engine lets an exact zero on an edge carry nothing (``0 * inf`` is 0 there);
a program just multiplies, so where a gradient comes out inf or nan the row is recomputed by
the eager engine on the recorded graph.

Limits, plainly:

- Python control flow cannot be captured. A branch on a value is taken once, when tracing, and
  replayed for every input. Comparing traced Values, ``float(x)``, ``max`` of Values or
  ``Value(x)`` inside ``fn`` raises ``TracingError`` naming the line (``strict=False`` warns);
  reading ``x.data`` directly is not seen while tracing, but on a sample of later calls at new
  inputs the function is traced again and a different graph raises ``GraphChangedError``.
  Ops with kinks (``relu``, ``abs``, ``max``) are ops, not branches: they compile fine.
- Numbers the function computes without Values are frozen at their traced values; Values it
  reads from outside (the parameters of a model) are read afresh at every call.
- A node made micrograd's way, with a ``_backward`` closure, hides its derivative in code:
  compiling through it raises ``TypeError`` (as forward mode does); define the op with
  ``defop`` instead.
- Without NumPy everything runs on plain floats; ``batch`` then loops over the rows.
"""
from __future__ import annotations

import inspect
import math
import warnings
from numbers import Real
from typing import Callable

from ..value import Value
from .emit import Program, numpy_module
from .optimise import Plan
from .tracing import GraphChangedError, Trace, TracingError, read_report, reverse

__all__ = ["compile", "CompiledFunction", "TracingError", "GraphChangedError", "Program", "Plan",
           "Trace", "joint_plan", "numpy_module", "read_report"]

CHECKS = ("sampled", "always", "never")


def joint_plan(trace: Trace, wrt, *, seed=1.0, outputs=None, totals: bool = False) -> Plan:
    """The plan of ``trace``'s outputs and d output[0] / d (each node of ``wrt``), from the
    engine's gradient graph: per row, or with ``totals`` summed over a batch's rows.
    ``plan.generic``: the graph holds at every input (see ``tracing.reverse``)."""
    cut = trace.inputs + trace.params
    found, generic = reverse(trace.outputs[0], wrt, cut, seed, trace.order)
    grads = [found.get(node, 0.0) for node in wrt]
    names = {g: node for node, g in found.items() if isinstance(g, Value)}
    outputs = list(trace.outputs if outputs is None else outputs)
    params = trace.params + ([seed] if isinstance(seed, Value) else [])
    if totals:
        plan = Plan(outputs, trace.inputs, params, totals=grads, grad_names=names)
    else:
        plan = Plan(outputs + grads, trace.inputs, params, grad_names=names)
    plan.generic = generic
    return plan


def replay(trace: Trace, xs, params=None) -> tuple[Value, list[Value]]:
    """The eager engine on the recorded graph at other inputs: (output, new input leaves)."""
    new = {id(leaf): Value(x) for leaf, x in zip(trace.inputs, xs)}
    new.update({id(p): p for p in trace.params})
    for node in trace.order:
        if id(node) not in new:
            new[id(node)] = node._rule(*[new[id(p)] for p in node.parents]) if node.parents \
                else node
    return new[id(trace.outputs[0])], [new[id(leaf)] for leaf in trace.inputs]


class CompiledFunction:
    """``fn`` compiled (see the module docstring): ``f(*numbers)``, ``f.value_and_grad(*numbers)``,
    ``f.batch(X)`` and ``f.batch_value_and_grad(X)`` (``X``: a list of rows or a 2-D array; a
    flat list for one input), ``f.source`` / ``print(f)``, ``f.graph``, ``f.params``.

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
        self._trace: Trace | None = None
        self._programs: dict[bool, Program] = {}
        self._arity: int | None = None
        self._seen: set = set()      # argument tuples already traced or checked
        self._new_points = 0         # calls at inputs not seen before
        self._names = _parameter_names(fn)

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

    # -- tracing and checking -----------------------------------------------------------------
    def _record(self, xs: tuple) -> Trace:
        names = self._names if self._names is not None and len(self._names) == len(xs) \
            else [f"x{i}" for i in range(len(xs))]
        trace = Trace(self.fn, xs, names)
        if trace.reads:
            message = (f"compile({self.__name__}): the function read .data of a traced Value "
                       f"while tracing:\n{read_report(trace.reads)}\nA compiled program replays the "
                       "ops recorded on the first call; it cannot follow a branch on a value, "
                       "nor a number taken from .data (it would stay frozen at the traced "
                       "value). Write it with ops (relu, abs, max, ...), or do not compile this "
                       "function (compile(..., strict=False) only warns).")
            if self.strict:
                raise TracingError(message)
            warnings.warn(message, RuntimeWarning, stacklevel=4)
        return trace

    def _first_trace(self, xs: tuple) -> None:
        if self._names is not None and len(xs) != len(self._names):
            raise TypeError(f"{self.__name__} takes {len(self._names)} argument(s), got {len(xs)}")
        self._trace = self._record(xs)
        self._arity, self._signature = len(xs), self._trace.signature()
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
        new = self._record(xs).signature()  # parameters are compared by identity
        old = self._signature
        if new == old:
            return
        first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(new), len(old)))
        describe = lambda shape, i: "nothing (the graph ended)" if i >= len(shape) else \
            f"the number {shape[i][1]}" if shape[i][0] == "number" else \
            {"input": "an input", "parameter": "a parameter"}.get(shape[i][0], f"a {shape[i][0]} node")
        traced_at = ", ".join(repr(leaf.data) for leaf in self._trace.inputs)
        raise GraphChangedError(
            f"compile({self.__name__}): the function builds a different graph at "
            f"({', '.join(map(repr, xs))}) than at ({traced_at}), where it was traced: node "
            f"{first} of the graph is {describe(new, first)} here but was "
            f"{describe(old, first)}. It takes a Python branch on a value (or its numbers "
            "change between calls), which a compiled program cannot follow. Write it with ops "
            "(relu, abs, max, ...), or do not compile this function.")

    def _prepare(self, xs: tuple) -> None:
        if self._trace is None:
            self._first_trace(xs)
        elif self._due(xs):
            self._verify(xs)

    def _program(self, grad: bool, xs: tuple | None = None) -> Program | None:
        """The program of the value (``grad`` False) or of value and gradients. A gradient graph
        traced where a number was inf or nan holds there only (``joint_plan``): it is traced
        again at the next point ``xs`` asked for, and None means "use the eager engine"."""
        program = self._programs.get(grad)
        if program is not None and (not grad or program.plan.generic):
            return program
        trace = self._trace if program is None or xs is None else self._record(xs)
        plan = joint_plan(trace, trace.inputs) if grad else \
            Plan(trace.outputs, trace.inputs, trace.params)
        if grad and not plan.generic and program is not None:
            return None
        self._programs[grad] = Program(plan, self.__name__)
        return self._programs[grad] if not grad or plan.generic else None

    @property
    def program(self) -> Program:
        """The program of the value alone (``_program(True)``: with the gradients)."""
        self._traced("its program")
        return self._program(False)

    def _param_values(self) -> list:
        return [p.data for p in self._trace.params]

    def _call(self, run, xs):
        return run(*xs, self._param_values()) if self._trace.params else run(*xs)

    def _eager(self, xs) -> tuple[float, tuple]:
        """Value and gradients by the eager engine on the recorded graph (its exact zeros)."""
        from ..graph import gradients
        out, leaves = replay(self._trace, xs)
        found = gradients(out, leaves)
        return out.data, tuple(found[leaf] for leaf in leaves)

    # -- running ---------------------------------------------------------------------------------
    def __call__(self, *args) -> float:
        xs = self._numbers(args)
        self._prepare(xs)
        return self._call(self._program(False).function("float"), xs)[0][0]

    def value_and_grad(self, *args) -> tuple[float, tuple]:
        """``(value, (d value / d arg for each argument))``, by the compiled reverse pass."""
        xs = self._numbers(args)
        self._prepare(xs)
        program = self._program(True, xs)
        if program is None:
            return self._eager(xs)
        outputs, _ = self._call(program.function("float"), xs)
        grads = tuple(outputs[1:])
        if not all(map(math.isfinite, grads)):
            return self._eager(xs)
        return outputs[0], grads

    def _rows(self, X, np):
        """X as a 2-D float array of rows (NumPy) or a list of float tuples (without)."""
        width = self._arity if self._arity is not None else (len(self._names) if self._names else None)
        if np is None:  # (each row is checked as the arguments of a call)
            return [self._numbers((row,) if isinstance(row, Real) else tuple(row)) for row in X]
        try:
            A = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{self.__name__}.batch takes rows of numbers (a list of lists or "
                            f"a 2-D array): {error}") from None
        if A.ndim == 1 and width == 1:  # one input: a flat list
            A = A.reshape(-1, 1)
        if A.ndim != 2 or (width is not None and A.shape[1] != width):
            want = f"{width} column(s)" if width is not None else "one column per argument"
            raise ValueError(f"{self.__name__}.batch takes rows of inputs, {want}; got an "
                             f"array of shape {A.shape}")
        return A

    def _prepare_batch(self, rows) -> None:
        n = len(rows)
        if n == 0:
            if self._trace is None:
                raise ValueError(f"{self.__name__}.batch: no rows, and the function has not been "
                                 "traced yet (it needs one row to trace)")
            return
        first = tuple(float(v) for v in rows[0])
        if self._trace is None:
            self._first_trace(self._numbers(first))
            picks = [n - 1, n // 2] if n > 1 else []
        else:
            picks = {"always": range(n), "sampled": [0, n - 1, n // 2], "never": []}[self.check]
        for i in picks:
            xs = tuple(float(v) for v in rows[i])
            if self._due(xs):
                self._verify(xs)

    def _run_batch(self, grad: bool, X):
        """(the rows, the program's outputs: a list per row without NumPy, else a column each)."""
        np = numpy_module()
        rows = self._rows(X, np)
        self._prepare_batch(rows)
        n = len(rows)
        program = self._program(grad, tuple(map(float, rows[0])) if n else None)
        if program is None:  # no gradient program that holds at every input yet: eagerly
            results = [[v, *g] for v, g in (self._eager(tuple(map(float, r))) for r in rows)]
        elif np is None:
            results = [self._call(program.function("float"), row)[0] for row in rows]
        else:
            outputs, _ = program.function("numpy")(rows, np.array(self._param_values()))
            return rows, [np.array(np.broadcast_to(np.asarray(o, dtype=float), (n,)))
                          for o in outputs]
        return rows, results if np is None else [np.array(c, dtype=float).reshape(n)
                                                  for c in zip(*results)] or [np.zeros(0)]

    def batch(self, X):
        """The value at each row of ``X``.

        >>> from autograd_mini import compile
        >>> compile(lambda a, b: a * b).batch([[1, 2], [3, 4]]).tolist()
        [2.0, 12.0]
        """
        _, result = self._run_batch(False, X)
        return result[0] if numpy_module() is not None else [r[0] for r in result]

    def batch_value_and_grad(self, X):
        """``(values, grads)`` at each row of ``X``; ``grads[i, j]`` is d value / d input j at row i.

        >>> from autograd_mini import compile
        >>> values, grads = compile(lambda a, b: a * b).batch_value_and_grad([[1, 2], [3, 4]])
        >>> values.tolist(), grads.tolist()
        ([2.0, 12.0], [[2.0, 1.0], [4.0, 3.0]])
        """
        np = numpy_module()
        rows, result = self._run_batch(True, X)
        if np is None:  # (a row whose gradient is inf or nan: the eager engine's exact zeros)
            pairs = [(r[0], tuple(r[1:])) if all(map(math.isfinite, r[1:])) else self._eager(row)
                     for r, row in zip(result, rows)]
            return [v for v, _ in pairs], [g for _, g in pairs]
        values = result[0]
        grads = np.stack(result[1:], axis=1) if self._arity else np.zeros((len(rows), 0))
        for i in np.flatnonzero(~np.isfinite(grads).all(axis=1)):
            values[i], grads[i] = self._eager(tuple(rows[i].tolist()))
        return values, grads

    # -- looking inside ------------------------------------------------------------------------
    def _traced(self, what: str) -> Trace:
        if self._trace is None:
            raise RuntimeError(f"{self.__name__} is traced on its first call; call it once "
                               f"before asking for {what}")
        return self._trace

    @property
    def source(self) -> str:
        """The program of the value and gradients: on NumPy arrays (vectorised), or on floats
        without NumPy."""
        self._traced("its source")
        program = self._program(True) or self._programs[True]  # (held where traced, if not generic)
        return program.source("numpy" if numpy_module() else "float")

    @property
    def graph(self) -> Value:
        """The output node of the traced graph (draw it with ``autograd_mini.to_dot``), its
        nodes named as in the program of the value."""
        trace = self._traced("its graph")
        program = self.program
        program.function("float")
        for node in trace.order:
            planned = program.plan.memo.get(id(node))
            if not node.label and planned is not None and planned.op is node._rule and planned.name:
                node.label = planned.name
        return trace.outputs[0]

    @property
    def params(self) -> list[Value]:
        """Values the function reads from outside; their current numbers are used at each call."""
        return list(self._traced("its parameters").params)

    def __str__(self) -> str:
        return self.source if self._trace is not None else repr(self)

    def __repr__(self) -> str:
        if self._trace is None:
            return f"<compiled {self.__name__}: not traced yet>"
        nodes = sum(1 for n in self._trace.order if n.parents)
        return (f"<compiled {self.__name__}: {self._arity} input(s), {len(self._trace.params)} "
                f"parameter(s), {nodes} op node(s)>")


def _parameter_names(fn) -> list[str] | None:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in params):
        return None
    return [p.name for p in params]


def compile(fn: Callable | None = None, *, check: str = "sampled",
            strict: bool = True) -> CompiledFunction | Callable[[Callable], CompiledFunction]:
    """Compile ``fn`` (a function of scalars built from Value ops) into a program.

    Traced on the first call; see the module docstring for what you get and the limits.
    ``check``: "sampled" (default) traces again at the 1st, 2nd, 4th, 8th ... call at new inputs
    (and at a few rows of the first batch) and raises ``GraphChangedError`` if the graph
    differs; "always" at every new input; "never" trusts the first trace. ``strict``: a branch
    on a traced Value raises ``TracingError`` (False: warns). Usable as a decorator.

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
