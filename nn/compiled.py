"""Training on whole batches at once: ``fit(..., compile=True)`` runs each step as a compiled program.

The model's graph for one example is traced once (``autograd_mini.compile.Program``) and written
out as straight-line code. Run on NumPy columns, each scalar node of that graph becomes one
vector operation over all the examples of a batch, and each weight's gradient is summed over the
rows (``dot(x, dv)``) in the reverse pass. The loss is the loss function you give ``fit``, called
on the batch's outputs: compiled too once the same targets come round again (the graph of a loss
depends on its targets), or run eagerly if it branches on values for stability (``bce`` and
``cross_entropy`` do), so every loss works, your own included. The L2 penalty is a compiled
program of the weights alone. Then the optimizer steps as in ``fit``. Batches of fewer than
``SMALL_BATCH`` rows run the same program on floats, one example after another (faster there).

The numbers are ``fit``'s: outputs and losses are the same floats, gradients differ only in the
order the batch's rows are added up (about 1e-16 relative), so training follows the same path.

>>> import nn
>>> X, y = nn.datasets.make_moons(60, noise=0.1, seed=1)
>>> model = nn.MLP(2, [16, 16, 1], seed=1)
>>> history = nn.fit(model, X, y, loss="hinge", l2=1e-4, epochs=40, compile=True,
...                  optimizer=nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, 40)))
>>> history.accuracy[-1] > 0.9
True

Without NumPy the same program runs on floats, one example after another (slower, same
numbers). The model's forward pass must not branch on values (read ``.data``): such a model is
refused with ``autograd_mini.compile.TracingError``; train it with ``compile=False``.
"""
from __future__ import annotations

import math
from numbers import Real

from autograd_mini import Value, gradients
from autograd_mini.compile import GraphChangedError, Program, TracingError, _numpy, _Trace

from .losses import get_loss, l2_penalty
from .module import Module
from .train import History

__all__ = ["compiled_fit", "CompiledStep", "CompiledSteps"]

SMALL_BATCH = 16  # fewer rows than this run on floats, one example after another


class CompiledStep:
    """The gradient of ``loss(model(X), y) [+ l2 penalty]`` on a batch, by compiled programs.

    ``loss``: a name ("mse", "hinge", "bce", "cross_entropy") or a function
    ``(predictions, targets) -> Value``, as for ``fit``. The model is traced on its first batch.
    ``backend``: "numpy" (whole batch at once), "float" (one example after another), or None
    (the default): NumPy for batches of ``SMALL_BATCH`` rows or more, if it is installed.

    >>> import nn
    >>> from nn.compiled import CompiledStep
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> step = CompiledStep(model, "mse")
    >>> loss, grads, outputs = step([[1.0, 2.0], [0.5, -1.0]], [0.3, -0.2])
    >>> outs = [model([1.0, 2.0]), model([0.5, -1.0])]           # the eager engine, for comparison
    >>> eager = nn.mse_loss(outs, [0.3, -0.2]); eager.backward()
    >>> loss == eager.data, outputs == [o.data for o in outs]
    (True, True)
    >>> all(abs(g - p.grad) <= 1e-15 for g, p in zip(grads, model.parameters()))
    True
    """

    def __init__(self, model: Module, loss, l2: float = 0.0, *, backend: str | None = None):
        if not isinstance(model, Module):
            raise TypeError(f"CompiledStep needs a model (an nn.Module), got {type(model).__name__}")
        if not isinstance(l2, Real) or isinstance(l2, bool) or not 0 <= l2 < math.inf:
            raise ValueError(f"l2 must be a number >= 0, got {l2!r}")
        if backend not in (None, "numpy", "float"):
            raise ValueError(f"backend must be 'numpy', 'float' or None, got {backend!r}")
        self.model, self.loss_fn, self.l2 = model, get_loss(loss), float(l2)
        self.np = _numpy() if backend != "float" else None
        self.backend = backend
        if backend == "numpy" and self.np is None:
            raise ImportError("CompiledStep(backend='numpy') needs NumPy (pip install numpy)")
        self.parameters = _unique(model.parameters())
        self.program: Program | None = None
        self.penalty: Program | None = None
        self._loss_compilable = True
        self._loss_programs: dict = {}
        self._loss_seen: set = set()

    # -- tracing ---------------------------------------------------------------------------------
    def _trace(self, rows: list[list[float]]) -> None:
        width = len(rows[0])
        names = [f"x{i}" for i in range(width)]

        def forward(*xs):
            return self.model(list(xs))

        trace = _Trace(forward, rows[0], names, several=True)
        if trace.reads:
            raise TracingError(
                f"compile=True: the model's forward pass reads .data of a Value:\n"
                f"{trace.read_report()}\nA compiled step replays one recorded graph for every "
                "example and cannot follow a branch on a value; train with compile=False.")
        if len(rows) > 1:  # the graph must not depend on the example (a cheap, once-only check)
            again = _Trace(forward, rows[-1], names, several=True)
            if again.signature() != trace.signature():
                raise GraphChangedError("compile=True: the model builds a different graph for "
                                        "different examples; train with compile=False.")
        slot = {id(p): i for i, p in enumerate(self.parameters)}
        unknown = [p for p in trace.params if id(p) not in slot]
        if unknown:
            raise TracingError(f"compile=True: the model's output depends on {len(unknown)} "
                               "Value(s) that are not among model.parameters() (they would be "
                               f"frozen): {unknown[0]!r}")
        self.single = trace.single
        self.program = Program(trace.output if trace.single else trace.outputs, trace.inputs,
                               trace.params, name="step", order=trace.order, made=trace.made)
        self._slots = [slot[id(p)] for p in trace.params]
        if self.l2:
            penalty = _Trace(lambda: l2_penalty(self.model, self.l2), (), ())
            self.penalty = Program(penalty.output, [], penalty.params, name="penalty",
                                   order=penalty.order, made=penalty.made)
            self._penalty_slots = [slot[id(p)] for p in penalty.params if id(p) in slot]
            if len(self._penalty_slots) != len(penalty.params):
                raise TracingError("compile=True: the L2 penalty reaches Values that are not "
                                   "among model.parameters()")

    def _numpy_for(self, rows: int):
        """NumPy for a batch this big, or None: below about 16 rows a NumPy call costs more than
        the rows it serves, and the float program, example after example, is faster."""
        if self.backend == "numpy" or (self.backend is None and rows >= SMALL_BATCH):
            return self.np
        return None

    # -- one batch ------------------------------------------------------------------------------
    def __call__(self, X, y) -> tuple[float, list[float], list]:
        """``(loss, gradients, outputs)`` on the batch: ``X`` rows of inputs, ``y`` targets.

        The gradients follow ``model.parameters()`` (each listed once); ``outputs`` has one
        entry per example (a float, or a list of floats for a model with several outputs).
        Nothing is changed in the model.
        """
        rows = [[float(v) for v in row] for row in X]
        targets = y.tolist() if hasattr(y, "tolist") else list(y)
        if not rows:
            raise ValueError("CompiledStep: the batch is empty")
        if self.program is None:
            self._trace(rows)
        params = [_data(p) for p in self.program.params]
        np = self._numpy_for(len(rows))
        found: dict = {}

        def seed(*outputs):  # the loss on the batch's outputs -> d loss / d outputs
            columns = [_as_list(o, len(rows)) for o in outputs]
            found["loss"], seeds, found["extra"] = self._loss(columns, targets)
            found["columns"] = columns
            if np is not None:
                seeds = [np.array(s, dtype=float) for s in seeds]
            return seeds[0] if self.single else tuple(seeds)

        if np is not None:
            run = self.program.function(grad=True, wrt="params", seed=True, reduce=True,
                                        backend="numpy")
            columns = list(np.array(rows, dtype=float).T)
            _, param_grads = run(*columns, *([params] if params else []), seed)
            param_grads = [float(g) for g in param_grads]
        else:  # floats: the outputs of every example first (the loss needs them all), then grads
            forward = self.program.function()
            outs = [forward(*row, *([params] if params else [])) for row in rows]
            transposed = [outs] if self.single else [list(c) for c in zip(*outs)]
            seeds = seed(*transposed)
            seeds = [seeds] if self.single else list(seeds)
            run = self.program.function(grad=True, wrt="params", seed=True)
            param_grads = [0.0] * len(params)
            for i, row in enumerate(rows):
                s = seeds[0][i] if self.single else tuple(column[i] for column in seeds)
                _, g = run(*row, *([params] if params else []), s)
                param_grads = [a + b for a, b in zip(param_grads, g)]
        grads = [0.0] * len(self.parameters)
        for slot, g in zip(self._slots, param_grads):
            grads[slot] += g
        for slot, g in found["extra"]:  # a loss that reads parameters itself
            grads[slot] += g
        loss = found["loss"]
        if self.penalty is not None:
            run = self.penalty.function(grad=True, wrt="params")
            value, penalty_grads = run([_data(p) for p in self.penalty.params])
            loss = loss + value  # as fit: loss_fn(...) + l2_penalty(...)
            for slot, g in zip(self._penalty_slots, penalty_grads):
                grads[slot] += g
        columns = found["columns"]
        outputs = columns[0] if self.single else [list(r) for r in zip(*columns)]
        return loss, grads, outputs

    # -- the loss: compiled once a batch's targets come round again, else eager ------------------
    def _loss(self, columns: list[list[float]], targets: list):
        """(loss, d loss / d output k for each example, [(parameter slot, d loss / d it)]).

        The loss function is a black box from a batch of outputs and targets to a Value. Its
        graph depends on the targets (hinge branches on the label) but, if it never reads
        ``.data``, not on the outputs: then the graph for given targets is traced once and
        compiled (the examples put in a canonical order, so a shuffled batch is the same
        batch). That is done the second time the same targets come round, so data that never
        repeats (regression) costs nothing. Losses that read ``.data`` (the stable ``bce`` and
        ``cross_entropy``) or hold parameters run eagerly every time, exactly as in ``fit``.
        """
        n, width = len(targets), len(columns)
        if len(columns[0]) != n:
            raise ValueError(f"the batch has {len(columns[0])} rows but {n} targets")
        if self._loss_compilable:
            labels = [repr(t) for t in targets]
            order = sorted(range(n), key=labels.__getitem__)
            key = (width, tuple(labels[i] for i in order))
            program = self._loss_programs.get(key)
            if program is None and key in self._loss_seen and len(self._loss_programs) < 64:
                program = self._compile_loss(width, [targets[i] for i in order], columns, order)
                if program is not None:
                    self._loss_programs[key] = program
            if program is not None:
                value, d = program(*[columns[k][i] for i in order for k in range(width)])
                seeds = [[0.0] * n for _ in range(width)]
                for j, i in enumerate(order):
                    for k in range(width):
                        seeds[k][i] = d[j * width + k]
                return value, seeds, []
            if len(self._loss_seen) < 4096:
                self._loss_seen.add(key)
        leaves = [[Value(c[i]) for c in columns] for i in range(n)]
        loss = self.loss_fn([r[0] for r in leaves] if self.single else leaves, targets)
        if not isinstance(loss, Value):
            raise TypeError(f"the loss function returned {type(loss).__name__}, expected a Value")
        flat = [leaf for r in leaves for leaf in r]
        d = gradients(loss, flat + self.parameters)
        seeds = [[d[r[k]] for r in leaves] for k in range(width)]
        extra = [(slot, d[p]) for slot, p in enumerate(self.parameters) if d[p]]
        return loss.data, seeds, extra

    def _compile_loss(self, width: int, targets: list, columns, order):
        """The loss for these targets as a compiled float program, or None if it cannot be."""
        first = [columns[k][i] for i in order for k in range(width)]

        def loss(*outputs):
            rows = [list(outputs[j * width:(j + 1) * width]) for j in range(len(targets))]
            return self.loss_fn([r[0] for r in rows] if self.single else rows, targets)

        trace = _Trace(loss, first, [f"o{i}" for i in range(len(first))])
        if trace.reads or trace.params:
            self._loss_compilable = False  # it branches on values, or reads parameters: eager
            return None
        program = Program(trace.output, trace.inputs, [], name="loss", order=trace.order,
                          made=trace.made)
        return program.function(grad=True)

    def predict(self, X) -> list:
        """The model's output for each row of ``X`` (floats, or lists of floats), compiled."""
        rows = [[float(v) for v in row] for row in X]
        if not rows:
            return []
        if self.program is None:
            self._trace(rows)
        params = [_data(p) for p in self.program.params]
        extra = [params] if params else []
        np = self._numpy_for(len(rows))
        if np is not None:
            run = self.program.function(backend="numpy")
            outs = run(*np.array(rows, dtype=float).T, *extra)
            columns = [_as_list(o, len(rows)) for o in ([outs] if self.single else outs)]
        else:
            forward = self.program.function()
            outs = [forward(*row, *extra) for row in rows]
            columns = [outs] if self.single else [list(c) for c in zip(*outs)]
        return columns[0] if self.single else [list(r) for r in zip(*columns)]


def _unique(params: list[Value]) -> list[Value]:
    seen, unique = set(), []
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            unique.append(p)
    return unique


def _data(p: Value) -> float:
    return p.data


def _as_list(column, n: int) -> list[float]:
    """A program's output for n rows as a list of floats (a constant output is repeated)."""
    if isinstance(column, list):
        return column
    if getattr(column, "shape", ()) != ():
        return column.tolist()
    return [float(column)] * n


class CompiledSteps:
    """How ``fit(..., compile=True)`` runs a step and an evaluation: the methods of
    ``nn.train.EagerSteps``, with the forward and backward pass through the model run as one
    compiled program per batch. The batches, the loss, the L2 penalty, the optimizer's step and
    the history are ``fit``'s."""

    def __init__(self, model, loss_fn, l2, optimizer, correct) -> None:
        self.program = CompiledStep(model, loss_fn, l2)
        self.loss_fn, self.optimizer, self.correct = loss_fn, optimizer, correct

    def prepare(self, rows: list[list[Value]]) -> list[list[float]]:
        return [[c.data for c in row] for row in rows]

    def step(self, rows, targets) -> tuple[float, int]:
        value, grads, outputs = self.program(rows, targets)
        self.optimizer.zero_grad()
        for p, g in zip(self.program.parameters, grads):
            p.grad = g
        self.optimizer.step()
        right = 0 if self.correct is None else sum(map(self.correct, outputs, targets))
        return value, right

    def evaluate(self, rows, targets) -> tuple[float, float | None]:
        outputs = self.program.predict(rows)
        single = self.program.single
        predictions = [Value(o) if single else [Value(v) for v in o] for o in outputs]
        value = self.loss_fn(predictions, targets).data
        if self.correct is None:
            return value, None
        return value, sum(map(self.correct, outputs, targets)) / len(targets)


def compiled_fit(model: Module, X, y, **options) -> History:
    """``nn.fit(model, X, y, compile=True, **options)``: the same arguments, the same ``History``.

    >>> import nn
    >>> X, y = nn.datasets.make_moons(40, noise=0.1, seed=0)
    >>> model = nn.MLP(2, [8, 8, 1], seed=0)
    >>> history = compiled_fit(model, X, y, loss="hinge", optimizer=nn.SGD(model, lr=0.1),
    ...                        epochs=30)
    >>> history.epochs, history.loss[-1] < history.loss[0]
    (30, True)
    """
    from .train import fit
    return fit(model, X, y, compile=True, **options)
