"""Training on whole batches at once: ``fit(..., compile=True)`` runs each step as one program.

The graph of ONE example, the model's forward pass and the loss of that example (the targets
are inputs too, so one graph serves every example), is traced once; the engine gives its
gradient graph; the compiler (``autograd_mini.compiler``) writes both out and runs them on
NumPy arrays with a row per example. It finds the layers in the scalar graph by itself: a
layer's weighted sums become a matrix product, its activations one call, and the reverse pass
products of transposed matrices, summed over the batch's rows:

>>> import nn
>>> from nn.compiled import CompiledStep
>>> model = nn.MLP(2, [3, 1], seed=0)
>>> step = CompiledStep(model, "mse")
>>> loss, grads, outputs = step([[1.0, 2.0], [0.5, -1.0]], [0.3, -0.2])
>>> print(step.source)  # doctest: +NORMALIZE_WHITESPACE
def train_step(X, P):
    x0, x1, t = X.T
    p12 = P[12]
    seed = P[13]
    w0 = P[_i0]
    b0 = P[_i1]
    w1 = P[9:12]
    z1 = X[:, :2] @ w0.T + b0
    v2 = 0.5 * seed
    h3 = relu(z1)
    h4 = step(z1)
    v5 = h3 @ w1 + p12
    v6 = v5 - t
    v7 = v6 * v6
    v8 = v6 * v2
    v9 = v7 * 0.5
    dv6 = v8 + v8
    dh3 = w1 * dv6[..., None]
    dz1 = h4 * dh3
    totals = np.zeros(13)
    dw1 = dv6 @ h3
    totals[9:12] += dw1
    dw0 = dz1.T @ X[:, :2]
    totals[_i2] += dw0.ravel()
    totals[12] += dv6.sum()
    totals[_i1] += dz1.sum(axis=0)
    return (v9, v5), totals

``z1 = X[:, :2] @ w0.T + b0`` is the forward pass; ``dv6`` is the error of the output
(BP1), ``dz1 = step(z1) * (w1 dv6)`` sends it back through the layer (BP2), and the gradients of
the biases (BP3, ``dz1.sum(axis=0)``) and of the weights (BP4, ``dz1.T @ X``) are sums over the
rows. The loss over the batch is the mean (or sum) of the examples' losses, as the loss
function defines it (its ``reduction``; a function of your own is asked on made-up examples).
The L2 penalty joins each example's loss (the mean of loss + penalty is the mean loss +
penalty): its nodes do not depend on the row, so they run once per batch.

Training (``CompiledStep.train``, and ``fit(..., compile=True)``) keeps the parameters in one
array from step to step and lets the optimizer move them there; the Values are written back
after each step (``fit``: after each epoch, before anything of yours runs), so they hold the
current numbers whenever you look. The inputs stay numbers in an array.

Numbers: the eager engine's to rounding (NumPy's exp, log, tanh and the matrix products round
differently from the engine's floats: the tests hold outputs, losses and gradients to 1e-12
relative); a gradient that comes out inf or nan is recomputed by the eager engine. A model
whose graph depends on the example (a branch on a value) is refused with ``TracingError``;
train it with ``compile=False``. Batches of fewer than ``SMALL_BATCH`` rows run the same
program on floats, one example after another.
"""
from __future__ import annotations

import inspect
import math
import operator
import random
from numbers import Real

from autograd_mini import Value, gradients
from autograd_mini.compiler import (GraphChangedError, Plan, Program, Trace, TracingError,
                                    joint_plan, numpy_module, read_report)

from .losses import REDUCTIONS, get_loss, l2_penalty
from .module import Module
from .optim import Optimizer

__all__ = ["CompiledStep", "CompiledSteps"]

_data = operator.attrgetter("data")

SMALL_BATCH = 16  # fewer rows than this run on floats, one example after another


class CompiledStep:
    """The gradient of ``loss(model(X), y) [+ l2 penalty]`` on a batch, by one compiled program.

    ``loss``: a name ("mse", "hinge", "bce", "cross_entropy") or a function
    ``(predictions, targets) -> Value`` that works when the targets are Values (arithmetic on
    them, no ``if`` on them). The model is traced on its first batch. ``backend``: "numpy"
    (whole batch at once), "float" (one example after another), or None (the default):
    NumPy for batches of ``SMALL_BATCH`` rows or more, if it is installed.

    >>> import nn
    >>> from nn.compiled import CompiledStep
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> step = CompiledStep(model, "mse")
    >>> loss, grads, outputs = step([[1.0, 2.0], [0.5, -1.0]], [0.3, -0.2])
    >>> outs = [model([1.0, 2.0]), model([0.5, -1.0])]           # the eager engine, for comparison
    >>> eager = nn.mse_loss(outs, [0.3, -0.2]); eager.backward()
    >>> abs(loss - eager.data) <= 1e-12 * eager.data
    True
    >>> all(abs(g - p.grad) <= 1e-12 for g, p in zip(grads, model.parameters()))
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
        self.np = numpy_module() if backend != "float" else None
        self.backend = backend
        if backend == "numpy" and self.np is None:
            raise ImportError("CompiledStep(backend='numpy') needs NumPy (pip install numpy)")
        self.parameters = list({id(p): p for p in model.parameters()}.values())
        self.program: Program | None = None
        self.penalty: Program | None = None
        self._predict: Program | None = None
        self.reduction: str | None = None
        # while training on arrays: the parameters' numbers, those last written to the Values,
        # and the last gradients when the array is ahead of the Values (train(sync=False))
        self._values, self._written, self._ahead = None, None, None
        self._index_for = (None, 0, None)  # (optimizer, its size, where its parameters are)

    # -- tracing ---------------------------------------------------------------------------------
    def _trace(self, rows: list[list[float]], targets: list, fold: bool = False) -> None:
        """Trace one example's graph. ``fold``: add the L2 penalty to each example's loss (the
        mean over the rows of loss + penalty is the mean loss + penalty), so one program does it
        all; the penalty's nodes do not depend on the row, so they run once per batch."""
        width = len(rows[0])
        first = targets[0]
        self.target_width = len(first) if isinstance(first, (list, tuple)) else None
        names = [f"x{i}" for i in range(width)] + (
            ["t"] if self.target_width is None else [f"t{k}" for k in range(self.target_width)])

        shapes = []

        def example(*leaves):
            out = self.model(list(leaves[:width]))
            shapes.append(isinstance(out, list))
            t = leaves[width] if self.target_width is None else list(leaves[width:])
            term = self.loss_fn([out], [t])
            if fold and isinstance(term, Value):
                term = term + l2_penalty(self.model, self.l2)
            if not isinstance(term, Value):
                raise TypeError(f"the loss function returned {type(term).__name__}, expected a "
                                "Value")
            return [term] + (list(out) if isinstance(out, list) else [out])

        traces = [Trace(example, rows[i] + self._flat(targets[i]), names, several=True)
                  for i in sorted({0, len(rows) - 1})]
        trace = traces[0]
        if trace.reads:
            raise TracingError(
                f"compile=True: the model or the loss branches on a value:\n{read_report(trace.reads)}"
                "\nA compiled step replays one recorded graph for every example (the targets "
                "are Values while tracing); train with compile=False.")
        if traces[-1].signature() != trace.signature():
            raise GraphChangedError("compile=True: the model builds a different graph for "
                                    "different examples (it branches on a value); train with "
                                    "compile=False.")
        slot = {id(p): i for i, p in enumerate(self.parameters)}
        unknown = [p for p in trace.params if id(p) not in slot]
        if unknown:
            raise TracingError(f"compile=True: the model's output depends on {len(unknown)} "
                               "Value(s) that are not among model.parameters() (they would be "
                               f"frozen): {unknown[0]!r}")
        self.single = not shapes[0]
        self.seed = Value(1.0, label="seed")  # d loss / d (an example's loss): 1/n or 1
        plan = joint_plan(trace, trace.params, seed=self.seed, outputs=trace.outputs,
                          totals=True)
        self.program = Program(plan, "train_step")
        if not fold:  # the values alone (loss terms and outputs), for evaluate
            self._evaluation = (trace, [slot[id(p)] for p in trace.params], None)
        self._slots = [slot[id(p)] for p in trace.params]
        self._trace_outputs = trace
        self.penalty = None
        if self.l2 and not fold:
            penalty = Trace(lambda: l2_penalty(self.model, self.l2), (), ())
            self.penalty = Program(joint_plan(penalty, penalty.params, totals=True), "penalty")
            self._penalty_slots = [slot[id(p)] for p in penalty.params]
        if self.np is not None:  # index arrays made once (a list would be converted each step)
            self._no_rows = self.np.zeros((1, 0))
            self._slot_index = _index(self.np, self._slots, len(self.parameters))
            self._in_order = self._slots == list(range(len(self.parameters)))
            self._penalty_index = _index(self.np, getattr(self, "_penalty_slots", []),
                                         len(self.parameters))

    @staticmethod
    def _flat(target) -> list[float]:
        return [float(t) for t in target] if isinstance(target, (list, tuple)) else [float(target)]

    def _numpy_for(self, rows: int):
        """NumPy for a batch this big, or None: below about 16 rows a NumPy call costs more than
        the rows it serves, and the float program, example after example, is faster."""
        if self.backend == "numpy" or (self.backend is None and rows >= SMALL_BATCH):
            return self.np
        return None

    @property
    def source(self) -> str:
        """The program of one step (the vectorised one when NumPy is installed)."""
        if self.program is None:
            raise RuntimeError("the step is traced on its first batch: call it once first")
        return self.program.source("numpy" if self.np is not None else "float")

    # -- one batch ------------------------------------------------------------------------------
    def __call__(self, X, y) -> tuple[float, list[float], list]:
        """``(loss, gradients, outputs)`` on the batch: ``X`` rows of inputs, ``y`` targets.

        The gradients follow ``model.parameters()`` (each listed once); ``outputs`` has one
        entry per example (a float, or a list of floats for a model with several outputs).
        Nothing is changed in the model.
        """
        self.sync()
        np = self._numpy_for(len(X))
        if self.program is None or np is None:
            first = self._first_batch(X, y)
            if first is not None:
                return first
        if np is None:
            return self._float_step(X, y)
        values = np.fromiter(map(_data, self.parameters), float, len(self.parameters))
        loss, grads, columns = self._array_step(np, X, y, values)
        if not bool(np.isfinite(grads).all()):
            return self._eager(*_lists(X, y))
        return loss, grads.tolist(), self._listed(columns)

    def train(self, X, y, optimizer: Optimizer, *, sync: bool = True) -> tuple[float, object]:
        """One step of training on the batch: the step's loss and outputs (an array with a row
        per example, or lists without NumPy), and ``optimizer`` moves the parameters; each
        parameter's ``grad`` is this step's gradient.

        On NumPy the parameters stay in an array from one step to the next, and the optimizer
        moves them there (its ``step_arrays``). The Values are written after every step, so
        ``model.parameters()``, a saved file, an eager forward pass or a drawing always see the
        current numbers; a number you assign to a parameter between steps is read back.
        ``sync=False`` (``fit``, within an epoch) leaves the Values behind until ``sync()``:
        until then nothing may read or change them.

        >>> import nn
        >>> from nn.compiled import CompiledStep
        >>> model = nn.MLP(2, [4, 1], seed=0)
        >>> step, sgd = CompiledStep(model, "mse"), nn.SGD(model, lr=0.1)
        >>> loss, outputs = step.train([[1.0, 2.0], [0.5, -1.0]], [0.3, -0.2], sgd)
        >>> after = nn.mse_loss([model([1.0, 2.0]), model([0.5, -1.0])], [0.3, -0.2]).data
        >>> after < loss
        True
        """
        np = self._numpy_for(len(X))
        if np is not None and self.program is None:
            self._first_batch(X, y)  # (traced, the step goes on on arrays)
        index = self._optimizer_index(optimizer) if np is not None else None
        if index is None or self.program is None:
            return self._train_on_values(X, y, optimizer)
        # The array is ahead of the Values (sync=False), or they were given its numbers last
        # time (checked as they are written, below): else read the Values first.
        pulled = self._ahead is None and not (sync and self._written is not None)
        values = self._pull(np) if pulled else self._values
        loss, grads, columns = self._array_step(np, X, y, values)
        if not bool(np.isfinite(grads).all()):
            self.sync()
            return self._train_on_values(X, y, optimizer)
        before = optimizer.steps, optimizer._state()
        if index is _ALL:
            new = optimizer.step_arrays(values, grads, np)
        else:
            new = values.copy()
            new[index] = optimizer.step_arrays(values[index], grads[index], np)
        self._values, self._ahead = new, grads
        if sync and not self._write_back(check=not pulled):
            # A Value was given a number since the last step (this step used the old one):
            # the step again, from the Values.
            optimizer.steps, state = before
            optimizer._keep(state)
            self._values = self._written = self._ahead = None
            return self.train(X, y, optimizer)
        return loss, columns[0] if self.single else np.stack(columns, axis=1)

    def sync(self) -> None:
        """Write the numbers training reached into the Values (and the last step's gradients
        into their ``grad``), after steps taken with ``train(..., sync=False)``."""
        if self._ahead is not None:
            self._write_back(check=False)

    def _write_back(self, check: bool) -> bool:
        """The array into the Values, each touched once. ``check``: first make sure each still
        holds the number written last time; if one does not (you assigned it), give back those
        already written and return False."""
        written, grads = self._values.tolist(), self._ahead.tolist()
        if check:
            for p, last, value, g in zip(self.parameters, self._written, written, grads):
                if p.data is not last:
                    break
                p.data = value
                p.grad = g
            else:
                self._written, self._ahead = written, None
                return True
            for p, last, value in zip(self.parameters, self._written, written):
                if p.data is not value:
                    break  # (the one you changed)
                p.data = last
            return False
        for p, value, g in zip(self.parameters, written, grads):
            p.data = value
            p.grad = g
        self._written, self._ahead = written, None
        return True

    def _train_on_values(self, X, y, optimizer) -> tuple[float, list]:
        """The step with the optimizer's own ``step()`` on the Values (floats, or a fallback)."""
        loss, grads, outputs = self(X, y)
        optimizer.zero_grad()
        for p, g in zip(self.parameters, grads):
            p.grad = g
        optimizer.step()
        self._written = None  # the Values moved: read them again at the next array step
        return loss, outputs if self.np is None else self.np.asarray(outputs, dtype=float)

    def _optimizer_index(self, optimizer):
        """Where the optimizer's parameters sit among ours (``_ALL``: the same list), or None
        when it cannot step on arrays (its own ``step``, or parameters the model lacks)."""
        key = (optimizer, len(optimizer.params))
        if self._index_for[0] is not optimizer or self._index_for[1] != key[1]:
            slot = {id(p): i for i, p in enumerate(self.parameters)}
            if type(optimizer).step is not Optimizer.step \
                    or not all(id(p) in slot for p in optimizer.params):
                index = None
            elif [id(p) for p in optimizer.params] == list(slot):
                index = _ALL
            else:
                index = self.np.array([slot[id(p)] for p in optimizer.params], dtype=self.np.intp)
            self._index_for = (*key, index)
        return self._index_for[2]

    def _pull(self, np):
        """The parameters' numbers as an array: the one the last step left, unless a Value was
        given another number since (then the Values are read)."""
        current = list(map(_data, self.parameters))
        if current != self._written:  # (the same float objects: compared by identity, fast)
            self._values = np.array(current, dtype=float)
            self._written = current
        return self._values

    def _array_step(self, np, X, y, values):
        """(loss, gradients as an array, output columns) of the batch by the NumPy program."""
        n = len(X)
        seed = 1.0 / n if self.reduction == "mean" else 1.0
        data = np.concatenate([np.asarray(X, dtype=float).reshape(n, -1),
                               np.asarray(y, dtype=float).reshape(n, -1)], axis=1)
        size = len(self.parameters)
        if self._in_order:  # the program reads the parameters in the model's order
            params = np.append(values, seed)
        else:
            params = np.append(values[self._slot_index], seed)
        outs, totals = self.program.function("numpy")(data, params)
        columns = [o if getattr(o, "shape", None) == (n,) else
                   np.broadcast_to(np.asarray(o, dtype=float), (n,)) for o in outs]
        loss = float(np.sum(columns[0]))
        if self._in_order:
            grads = totals if size else np.zeros(0)  # (no parameters: no totals)
        else:
            grads = np.zeros(size)
            grads[self._slot_index] = totals  # each parameter once in a program
        loss = loss * seed if self.reduction == "mean" else loss
        if self.penalty is not None:
            (value,), more = self.penalty.function("numpy")(self._no_rows,
                                                            values[self._penalty_index])
            grads[self._penalty_index] += more
            loss = loss + float(value)  # as fit: loss_fn(...) + l2_penalty(...)
        return loss, grads, columns[1:]

    def _listed(self, columns) -> list:
        """Output columns (arrays) as fit and __call__ give them: a float or a list per example."""
        if self.single:
            return columns[0].tolist()
        return self.np.stack(columns, axis=1).tolist()

    def _first_batch(self, X, y):
        """Trace on the first batch (and check it); the eager step's result if the graph holds
        at this batch only (traced where a number was inf or nan), else None."""
        rows, targets = _lists(X, y)
        self._check(rows, targets)
        if self.program is not None:
            return None
        self._trace(rows, targets)
        self.reduction = self._reduction(targets)
        if self.l2 and self.reduction == "mean":
            self._trace(rows, targets, fold=True)
        if not self.program.plan.generic:  # traced where a number was inf or nan:
            self.program = None            # this step eagerly, trace again next time
            return self._eager(rows, targets)
        return None

    def _float_step(self, X, y):
        """The step on floats, example after example (small batches, or no NumPy)."""
        rows, targets = _lists(X, y)
        values = [p.data for p in self.parameters]
        seed = 1.0 / len(rows) if self.reduction == "mean" else 1.0
        data = [r + self._flat(t) for r, t in zip(rows, targets)]
        run = self.program.function("float")
        params = [values[s] for s in self._slots] + [seed]
        per_row = [run(*row, params) for row in data]
        columns = [list(c) for c in zip(*[o for o, _ in per_row])]
        loss = sum(columns.pop(0), 0.0)
        grads = [0.0] * len(self.parameters)
        for slot, g in zip(self._slots, map(math.fsum, zip(*[t for _, t in per_row]))):
            grads[slot] += g
        loss = loss * seed if self.reduction == "mean" else loss
        if self.penalty is not None:
            (value,), more = self.penalty.function("float")(
                [values[s] for s in self._penalty_slots])
            for slot, g in zip(self._penalty_slots, more):
                grads[slot] += g
            loss = loss + float(value)
        if not all(map(math.isfinite, grads)):
            return self._eager(rows, targets)
        outputs = columns[0] if self.single else [list(r) for r in zip(*columns)]
        return loss, grads, outputs

    @staticmethod
    def _check(rows, targets) -> None:
        if not rows:
            raise ValueError("CompiledStep: the batch is empty")
        if len(targets) != len(rows):
            raise ValueError(f"the batch has {len(rows)} rows but {len(targets)} targets")

    def _reduction(self, targets) -> str:
        """Is the loss the mean or the sum of the examples' losses? Read off the loss's
        definition: its ``reduction`` argument (the named losses), else the loss asked on probe
        batches made for the question (two examples at made-up predictions against each one
        alone), never the numbers of a training batch (one row, or losses of 0, cannot tell)."""
        declared = _declared_reduction(self.loss_fn)
        if declared is not None:
            return declared
        width = len(self._trace_outputs.outputs) - 1
        pair = [targets[0], targets[-1]]
        rng = random.Random(0)
        for _ in range(8):
            made_up = [[Value(rng.uniform(-3.0, 3.0)) for _ in range(width)] for _ in pair]
            predictions = [p[0] if self.single else p for p in made_up]
            terms = [self.loss_fn([p], [t]).data for p, t in zip(predictions, pair)]
            whole = self.loss_fn(predictions, pair).data
            total = terms[0] + terms[1]
            if total == 0.0 or not math.isfinite(total):
                continue  # no answer from losses of 0: other predictions
            for reduction, value in (("mean", total / 2), ("sum", total)):
                if math.isclose(whole, value, rel_tol=1e-9):
                    return reduction
            raise TracingError("compile=True: the loss of a batch is neither the mean nor the sum "
                               f"of the examples' losses ({whole!r} for two examples whose losses "
                               f"are {terms[0]!r} and {terms[1]!r}); train with compile=False.")
        return "mean"  # a loss of 0 wherever asked: both give the same step

    def _eager(self, rows, targets):
        """The step by the eager engine (its exact zeros), when a gradient came out inf or nan."""
        outs = [self.model(r) for r in rows]
        loss = self.loss_fn(outs, targets)
        if self.l2:
            loss = loss + l2_penalty(self.model, self.l2)
        found = gradients(loss, self.parameters)
        outputs = [[o.data for o in out] if isinstance(out, list) else out.data for out in outs]
        return loss.data, [found[p] if not isinstance(found[p], Value) else found[p].data
                           for p in self.parameters], outputs

    def evaluate(self, X, y) -> tuple[float, object]:
        """``(loss, outputs)`` on a batch, without the L2 penalty and without gradients (the
        program of the traced example's values alone); outputs as ``train`` gives them."""
        self.sync()
        if self.program is None:
            self._first_batch(X, y)
        if self.program is None:
            rows, targets = _lists(X, y)  # (no program that holds everywhere yet: eagerly)
            outs = [self.model(r) for r in rows]
            outputs = [[o.data for o in out] if isinstance(out, list) else out.data for out in outs]
            return self.loss_fn(outs, targets).data, outputs
        trace, slots, program = self._evaluation
        if program is None:
            program = Program(Plan(trace.outputs, trace.inputs, trace.params), "evaluate")
            self._evaluation = (trace, slots, program)
        n = len(X)
        values = [self.parameters[s].data for s in slots]
        np = self._numpy_for(n)
        if np is not None:
            data = np.concatenate([np.asarray(X, dtype=float).reshape(n, -1),
                                   np.asarray(y, dtype=float).reshape(n, -1)], axis=1)
            outs, _ = program.function("numpy")(data, np.array(values))
            columns = [np.broadcast_to(np.asarray(o, dtype=float), (n,)) for o in outs]
            total = float(np.sum(columns[0]))
            outputs = columns[1] if self.single else np.stack(columns[1:], axis=1)
        else:
            rows, targets = _lists(X, y)
            run = program.function("float")
            per_row = [run(*(r + self._flat(t)), values)[0] for r, t in zip(rows, targets)]
            total = sum((o[0] for o in per_row), 0.0)
            outputs = [o[1] if self.single else list(o[1:]) for o in per_row]
        return (total / n if self.reduction == "mean" else total), outputs

    def predict(self, X) -> list:
        """The model's output for each row of ``X`` (floats, or lists of floats), compiled."""
        self.sync()
        rows = [[float(v) for v in row] for row in X]
        if not rows:
            return []
        if self._predict is None:
            trace = Trace(lambda *xs: self.model(list(xs)), rows[0],
                          [f"x{i}" for i in range(len(rows[0]))], several=True)
            self._predict_params = trace.params
            self._predict = Program(Plan(trace.outputs, trace.inputs, trace.params), "predict")
            self._predict_single = trace.single
        params = [p.data for p in self._predict_params]
        np = self._numpy_for(len(rows))
        if np is not None:
            outs, _ = self._predict.function("numpy")(np.array(rows), np.array(params))
            columns = [np.broadcast_to(np.asarray(o, float), (len(rows),)).tolist() for o in outs]
        else:
            run = self._predict.function("float")
            columns = [list(c) for c in zip(*[run(*row, params)[0] for row in rows])]
        return columns[0] if self._predict_single else [list(r) for r in zip(*columns)]


_ALL = slice(None)  # the optimizer holds the model's parameters, in the same order


def _lists(X, y) -> tuple[list[list[float]], list]:
    """A batch as Python lists (the float program and the eager engine take them)."""
    rows = [[float(v) for v in row] for row in (X.tolist() if hasattr(X, "tolist") else X)]
    return rows, y.tolist() if hasattr(y, "tolist") else list(y)


def _declared_reduction(loss_fn) -> str | None:
    """The default of the loss function's ``reduction`` argument ("mean" or "sum"), if it has one."""
    try:
        parameter = inspect.signature(loss_fn).parameters.get("reduction")
    except (TypeError, ValueError):
        return None
    default = getattr(parameter, "default", None)
    return default if default in REDUCTIONS else None


def _index(np, slots: list[int], size: int):
    """``slots`` as an index: a slice when it is 0, 1, 2, ... (no copy), else an array."""
    if slots == list(range(len(slots))):
        return slice(0, len(slots))
    return np.array(slots, dtype=np.intp)


class CompiledSteps:
    """How ``fit(..., compile=True)`` runs a step and an evaluation: the methods of
    ``nn.train.EagerSteps``, with the forward and backward pass run as one compiled program per
    batch and the optimizer stepping on arrays (``CompiledStep.train``). The inputs stay numbers
    (one array: never a Value per number). The batches, the loss, the L2 penalty and the
    history are ``fit``'s."""

    def __init__(self, model, loss_fn, l2, optimizer, correct) -> None:
        self.program = CompiledStep(model, loss_fn, l2)
        self.optimizer, self.correct = optimizer, correct
        self.np = self.program.np
        self._table = None  # every row prepare was given, one array (or list) for all

    @staticmethod
    def rows(X, nin: int, name: str):
        """``X`` as rows of ``nin`` numbers: a float array (a list of lists without NumPy),
        checked as ``fit`` checks them (a clear error naming the row)."""
        np = numpy_module()
        if np is not None and isinstance(X, np.ndarray) and X.dtype.kind in "fiu":
            A = np.array(X, dtype=float)  # (a copy: X may change while training)
            if A.ndim == 1 and nin == 1:
                A = A.reshape(-1, 1)
            if A.ndim != 2 or A.shape[1] != nin:
                got = f"{A.shape[1]} numbers" if A.ndim == 2 else f"an array of shape {A.shape}"
                raise ValueError(f"{name}[0] should be {nin} numbers (the model has {nin} "
                                 f"inputs), got {got}")
            return A
        rows = X.tolist() if hasattr(X, "tolist") else list(X)
        kinds = set()
        for i, row in enumerate(rows):
            if isinstance(row, Real) and nin == 1:
                row = rows[i] = [row]
            if not isinstance(row, (list, tuple)) or len(row) != nin:
                got = f"{len(row)} numbers" if isinstance(row, (list, tuple)) else \
                    f"{type(row).__name__} {row!r:.30}"
                raise ValueError(f"{name}[{i}] should be {nin} numbers (the model has {nin} "
                                 f"inputs), got {got}")
            kinds.update(map(type, row))  # (at C speed: the types, not the numbers)
        if not kinds <= {float, int}:
            for i, row in enumerate(rows):
                for v in row:
                    if isinstance(v, Value):
                        v = v.data
                    if not isinstance(v, Real) or isinstance(v, bool):
                        raise TypeError(f"{name}[{i}] holds {type(v).__name__} {v!r:.30}, "
                                        "expected numbers")
            rows = [[v.data if isinstance(v, Value) else v for v in row] for row in rows]
        if np is not None:
            return np.array(rows, dtype=float).reshape(len(rows), nin)
        return [[float(v) for v in row] for row in rows]

    def prepare(self, rows) -> range:
        """Keep the rows; ``fit`` picks them by position (a range into the table)."""
        start = 0 if self._table is None else len(self._table)
        if self._table is None:
            self._table = rows
        elif self.np is not None:
            self._table = self.np.concatenate([self._table, rows])
        else:
            self._table = self._table + rows
        return range(start, start + len(rows))

    def _batch(self, positions):
        if self.np is not None:
            return self._table[positions]
        return [self._table[i] for i in positions]

    def step(self, positions, targets) -> tuple[float, int]:
        value, outputs = self.program.train(self._batch(positions), targets, self.optimizer,
                                            sync=False)
        return value, self._right(outputs, targets)

    def sync(self) -> None:
        """The Values catch up with the arrays (fit: at the end of each epoch, and of fit)."""
        self.program.sync()

    def evaluate(self, positions, targets) -> tuple[float, float | None]:
        value, outputs = self.program.evaluate(self._batch(positions), targets)
        if self.correct is None:
            return value, None
        return value, self._right(outputs, targets) / len(targets)

    def _right(self, outputs, targets) -> int:
        """How many outputs the accuracy function counts right (on arrays when it says how)."""
        if self.correct is None:
            return 0
        on_arrays = getattr(self.correct, "on_arrays", None)
        if on_arrays is not None and hasattr(outputs, "shape"):
            return int(on_arrays(self.np, outputs, self.np.asarray(targets, dtype=float)).sum())
        if hasattr(outputs, "tolist"):
            outputs = outputs.tolist()
        return sum(map(self.correct, outputs, targets))
