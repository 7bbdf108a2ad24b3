"""``fit``: the training loop (forward, loss, zero the gradients, backward, step), with batches, a
progress bar, a history, snapshots of the parameters for a training page, and a live plot in notebooks.

Each step: forward the batch through the model, compute the loss (plus the L2 penalty), zero the
gradients, ``backward()``, and let the optimizer move every ``p.data``. ``batch_size=None`` is
batch gradient descent (all examples per step), ``batch_size=1`` stochastic gradient descent,
anything between mini-batch gradient descent; the examples are shuffled each epoch with ``seed``.
"""
from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from typing import Callable

from autograd_mini import Value
from autograd_mini.graph import collector_paused
from autograd_mini.value import constant

from .datasets import batches
from .losses import bce_with_logits, cross_entropy, get_loss, hinge_loss, l2_penalty
from .module import Module
from .optim import SGD, Optimizer


@dataclass
class History:
    """What ``fit`` returns: one entry per epoch trained, in order (plain floats, JSON-ready).

    - ``loss[e]``: the mean training loss over epoch e's steps, each step's loss weighted by its
      batch size; it includes the L2 penalty (full batch: exactly the loss of the step).
    - ``accuracy[e]``: the fraction of training examples classified right in epoch e, read off
      the same forward passes (before each step's update, as micrograd's demo prints it); an
      empty list when the loss has no notion of accuracy (e.g. ``mse``).
    - ``val_loss[e]``, ``val_accuracy[e]``: the same on ``validation_data`` after epoch e
      (empty lists without it; ``val_loss`` without the penalty).
    - ``lr[e]``: the learning rate of epoch e's first step; ``seconds``: the wall time of ``fit``.
    - ``recording``: the snapshots of the parameters kept by ``fit(..., record=True)`` (a
      ``Recording``), None otherwise; ``nn.plot.training_page`` draws them.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    recording: Recording | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(0 epochs)"
        text = f"History({self.epochs} epochs, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}"
        if self.accuracy:
            text += f", accuracy {self.accuracy[-1]:.1%}"
        if self.val_accuracy:
            text += f", validation accuracy {self.val_accuracy[-1]:.1%}"
        return text + ")"


@dataclass
class Recording:
    """The parameters as training went, kept by ``fit(..., record=True)`` (plain floats, JSON-ready).

    - ``epochs[k]``: how many epochs had been trained when snapshot k was taken: 0 (the initial
      parameters), then every ``stride``-th epoch, and always the end of training.
    - ``parameters[k]``: every ``model.parameters()`` value at that moment, in that order. With a
      full batch, snapshot k (k < the number of epochs) is what ``History.loss[k]`` measured.
    - ``names``: the parameters' labels (``w0[3,1]``, ``b0[3]``, ...).
    - ``loss``: the loss's name ("hinge", ...) when it is one of ``nn.losses.LOSSES``, else None;
      ``l2``: the penalty's strength. Both let the page recompute the gradients at a snapshot.

    >>> from nn import MLP, fit, datasets
    >>> X, y = datasets.make_moons(10, seed=0)
    >>> recording = fit(MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=2, record=True).recording
    >>> recording.epochs, recording.names[:3], len(recording.parameters[0]), recording.loss
    ([0, 1, 2], ['w0[0,0]', 'w0[0,1]', 'b0[0]'], 13, 'hinge')
    """

    epochs: list[int] = field(default_factory=list)
    parameters: list[list[float]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    loss: str | None = None
    l2: float = 0.0

    def take(self, epoch: int, params) -> None:
        self.epochs.append(epoch)
        self.parameters.append([p.data for p in params])

    def __repr__(self) -> str:
        return (f"Recording({len(self.epochs)} snapshots of {len(self.names)} parameters, "
                f"epochs {self.epochs[0] if self.epochs else '-'}..."
                f"{self.epochs[-1] if self.epochs else '-'})")


# most snapshots ``record=True`` keeps: for a longer run, every ``stride``-th epoch
MAX_SNAPSHOTS = 201


def _recording(record, model, loss_fn, l2, epochs: int) -> tuple[Recording | None, int]:
    """(an empty Recording, the stride between snapshots), or (None, 0) when not recording."""
    if record is False or record is None:
        return None, 0
    if record is True:
        most = MAX_SNAPSHOTS
    elif isinstance(record, Integral) and not isinstance(record, bool) and record >= 2:
        most = int(record)
    else:
        raise ValueError(f"record must be True, False, or the most snapshots to keep (an integer "
                         f">= 2), got {record!r}")
    from .losses import LOSSES
    names = [name for name, fn in LOSSES.items() if fn is loss_fn]
    recording = Recording(names=[p.label or f"p{i}" for i, p in enumerate(model.parameters())],
                          loss=names[0] if names else None, l2=float(l2))
    # snapshots at 0, stride, 2 stride, ... (< epochs) and at the end: at most `most`
    stride = max(1, -(-epochs // (most - 1)))
    return recording, stride


# -- accuracy: is one example's output right? -------------------------------------------------

def binary_correct(output: float, target) -> bool:
    """One output, the class by its sign; targets -1/+1 or 0/1."""
    return (output > 0) == (target > 0)


def binary_correct_probability(output: float, target) -> bool:
    """One output (a logit), the class by its sign; targets 0/1 (or probabilities, cut at 1/2)."""
    return (output > 0) == (target > 0.5)


def argmax_correct(output: list[float], target) -> bool:
    """One output per class, the class with the largest."""
    return max(range(len(output)), key=output.__getitem__) == target


# the same tests on a batch at once (outputs: an array with a row per example), for nn.compiled
binary_correct.on_arrays = lambda np, outputs, targets: (outputs > 0) == (targets > 0)
binary_correct_probability.on_arrays = lambda np, outputs, targets: (outputs > 0) == (targets > 0.5)
argmax_correct.on_arrays = lambda np, outputs, targets: outputs.argmax(axis=1) == targets

_ACCURACY = {hinge_loss: binary_correct, bce_with_logits: binary_correct_probability,
             cross_entropy: argmax_correct}


def _outputs(out):
    return [o.data for o in out] if isinstance(out, list) else out.data


def _rows(X, nin: int, name: str) -> list[list[Value]]:
    """The inputs as constant nodes, made once: reused by every step, owed no gradient."""
    if hasattr(X, "tolist"):
        X = X.tolist()
    rows = []
    for i, row in enumerate(X):
        if isinstance(row, Real) and nin == 1:
            row = [row]
        if not isinstance(row, (list, tuple)) or len(row) != nin:
            got = f"{len(row)} numbers" if isinstance(row, (list, tuple)) else \
                f"{type(row).__name__} {row!r:.30}"
            raise ValueError(f"{name}[{i}] should be {nin} numbers (the model has {nin} "
                             f"inputs), got {got}")
        converted = []
        for v in row:
            if isinstance(v, Value):
                v = v.data
            if not isinstance(v, Real) or isinstance(v, bool):
                raise TypeError(f"{name}[{i}] holds {type(v).__name__} {v!r:.30}, expected numbers")
            converted.append(constant(float(v)))
        rows.append(converted)
    return rows


def _input_width(model, X) -> int:
    """The model's number of inputs (its ``nin``; for a model without one, the first row's)."""
    nin = getattr(model, "nin", None)
    if isinstance(nin, int):
        return nin
    first = X[0] if len(X) else []
    return 1 if isinstance(first, Real) else len(first)


def _positive_int(x, name: str, allow_none: bool = False) -> int | None:
    if x is None and allow_none:
        return None
    if not isinstance(x, Integral) or isinstance(x, bool) or x < 1:
        raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}, "
                         f"got {x!r}")
    return int(x)


def evaluate(model: Module, X, y, *, loss, accuracy: Callable | bool | None = None
             ) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) of ``model`` on ``(X, y)``, without training.

    >>> from nn import MLP, evaluate, datasets
    >>> X, y = datasets.make_moons(20, seed=0)
    >>> loss, acc = evaluate(MLP(2, [8, 1], seed=0), X, y, loss="hinge")
    >>> loss > 0, 0.0 <= acc <= 1.0
    (True, True)
    """
    loss_fn = get_loss(loss)
    inputs = _rows(X, _input_width(model, X), "X")
    targets = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(inputs) != len(targets):
        raise ValueError(f"X has {len(inputs)} rows but y has {len(targets)} targets")
    correct = _correct_fn(loss_fn, accuracy)
    return EagerSteps(model, loss_fn, 0.0, None, correct).evaluate(inputs, targets)


def _correct_fn(loss_fn, accuracy):
    if accuracy is False:
        return None
    if accuracy is None or accuracy is True:
        return _ACCURACY.get(loss_fn)
    if not callable(accuracy):
        raise TypeError("accuracy must be a function (output, target) -> bool, True, False or None")
    return accuracy


def fit(model: Module, X, y, *, loss, optimizer: Optimizer | None = None, epochs: int = 100,
        batch_size: int | None = None, shuffle: bool = True, seed: int | None = 0,
        l2: float = 0.0, accuracy: Callable | bool | None = None, validation_data=None,
        progress: bool | None = None, callback: Callable | None = None,
        compile: bool = False, record: bool | int = False, live: bool | None | Callable = None
        ) -> History:
    """Train ``model`` on inputs ``X`` and targets ``y``; return the ``History`` of the epochs.

    - ``loss``: "mse", "hinge", "bce", "cross_entropy", or any function
      ``(predictions, targets) -> Value`` (see ``nn.losses``).
    - ``optimizer``: e.g. ``nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, 100))``; default
      ``nn.SGD(model, lr=0.1)``. Its schedule advances once per step (per batch).
    - ``batch_size``: None for the whole set per step, 1 for one example at a time, or a size.
    - ``shuffle``/``seed``: the order of the examples, shuffled each epoch by a private
      ``random.Random(seed)`` (``seed=None``: a fresh random order each run).
    - ``l2``: adds ``nn.l2_penalty(model, l2)``, (l2/2) * sum of squared weights, to each step's loss.
    - ``accuracy``: None picks one from the loss (sign for hinge and bce, argmax for
      cross_entropy, none for mse); False for none; or a function ``(output, target) -> bool``.
    - ``validation_data``: ``(X_val, y_val)``, evaluated after each epoch.
    - ``progress``: a tqdm bar with loss and accuracy; None shows it when stderr is a terminal.
    - ``callback(epoch, history)``: called after each epoch; returning True stops training.
    - ``compile``: run each step as a compiled program over the whole batch
      (``nn.compiled.CompiledSteps``); everything else, and the ``History``, is the same.
    - ``record``: True keeps snapshots of the parameters in ``history.recording`` (at most
      ``MAX_SNAPSHOTS``, evenly spaced; an integer sets that bound) for
      ``nn.plot.training_page``.
    - ``live``: in a notebook, a loss curve (and the decision boundary for 2-D inputs) drawn
      under the cell and updated in place as training goes. None (the default) shows it in a
      Jupyter kernel only (not under pytest), False never; a function ``display(obj,
      display_id=True) -> handle`` with ``handle.update(obj)`` (IPython's) shows it there.

    >>> from nn import MLP, SGD, fit, datasets
    >>> X, y = datasets.make_moons(40, noise=0.1, seed=0)
    >>> model = MLP(2, [8, 8, 1], seed=0)
    >>> history = fit(model, X, y, loss="hinge", optimizer=SGD(model, lr=0.1), epochs=30)
    >>> history.epochs, history.loss[-1] < history.loss[0]
    (30, True)
    >>> fit(model, X, y, loss="hinge", epochs=5, record=True).recording
    Recording(6 snapshots of 105 parameters, epochs 0...5)
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit needs a model (an nn.Module), got {type(model).__name__}")
    loss_fn = get_loss(loss)
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size", allow_none=True)
    if not isinstance(l2, Real) or isinstance(l2, bool) or not 0 <= l2 < math.inf:
        raise ValueError(f"l2 must be a number >= 0, got {l2!r}")
    if compile:  # (its rows are numbers in arrays: never a Value per number)
        from .compiled import CompiledSteps as Steps
    else:
        Steps = EagerSteps
    inputs = Steps.rows(X, _input_width(model, X), "X")
    targets = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(inputs) != len(targets):
        raise ValueError(f"X has {len(inputs)} rows but y has {len(targets)} targets")
    if not len(inputs):
        raise ValueError("fit needs at least one example")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        val_inputs = Steps.rows(validation_data[0], len(inputs[0]), "validation X")
        val_targets = list(validation_data[1])
        if len(val_inputs) != len(val_targets):
            raise ValueError(f"validation X has {len(val_inputs)} rows but validation y has "
                             f"{len(val_targets)} targets")
    if optimizer is None:
        optimizer = SGD(model, lr=0.1)
    elif not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an nn optimizer (nn.SGD, nn.Adam), got "
                        f"{type(optimizer).__name__}")
    held = {id(p) for p in optimizer.params}
    if not any(id(p) in held for p in model.parameters()):
        raise ValueError("the optimizer holds none of the model's parameters (was it made for "
                         "another model?)")
    correct = _correct_fn(loss_fn, accuracy)
    rng = random.Random(seed) if shuffle else None
    steps = Steps(model, loss_fn, l2, optimizer, correct)
    history = History()
    history.recording, stride = _recording(record, model, loss_fn, l2, epochs)
    params = model.parameters()
    show = _live_display(live, model, inputs, targets)
    inputs = steps.prepare(inputs)
    if validation_data is not None:
        val_inputs = steps.prepare(val_inputs)
    started = time.perf_counter()
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in range(epochs):
            if stride and epoch % stride == 0:
                history.recording.take(epoch, params)
            history.lr.append(optimizer.lr)
            total_loss, right = 0.0, 0
            for batch in batches(len(inputs), batch_size, rng):
                with collector_paused():
                    step_loss, step_right = steps.step([inputs[i] for i in batch],
                                                       [targets[i] for i in batch])
                total_loss += step_loss * len(batch)
                right += step_right
            steps.sync()  # (compiled steps keep the parameters in arrays within an epoch)
            history.loss.append(total_loss / len(inputs))
            if correct is not None:
                history.accuracy.append(right / len(inputs))
            if validation_data is not None:
                val_loss, val_accuracy = steps.evaluate(val_inputs, val_targets)
                history.val_loss.append(val_loss)
                if val_accuracy is not None:
                    history.val_accuracy.append(val_accuracy)
            if bar is not None:
                bar.set_postfix_str(_summary(history), refresh=False)
                bar.update(1)
            if show is not None:
                show.update(history)
            if callback is not None and callback(epoch, history):
                break
    finally:
        steps.sync()
        if bar is not None:
            bar.close()
        history.seconds = time.perf_counter() - started
        if stride and history.recording.epochs[-1:] != [history.epochs]:
            history.recording.take(history.epochs, params)  # the parameters training ended with
        if show is not None:
            show.update(history, last=True)
    return history


class EagerSteps:
    """How ``fit`` runs a step and an evaluation on the graph engine (``nn.compiled.CompiledSteps``
    is the other way: the same methods, run as compiled programs)."""

    def __init__(self, model, loss_fn, l2, optimizer, correct) -> None:
        self.model, self.loss_fn, self.l2 = model, loss_fn, l2
        self.optimizer, self.correct = optimizer, correct

    rows = staticmethod(_rows)

    def prepare(self, rows: list[list[Value]]) -> list:
        return rows

    def sync(self) -> None:
        """Nothing to do: the eager engine moves the Values themselves."""

    def step(self, rows, targets) -> tuple[float, int]:
        """One step of gradient descent on a batch: (its loss, how many it got right)."""
        outs = [self.model(x) for x in rows]
        loss = self.loss_fn(outs, targets)
        if not isinstance(loss, Value):
            raise TypeError(f"the loss function returned {type(loss).__name__}, expected a Value")
        if self.l2:
            loss = loss + l2_penalty(self.model, self.l2)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        right = 0 if self.correct is None else \
            sum(map(self.correct, map(_outputs, outs), targets))
        return loss.data, right

    def evaluate(self, rows, targets) -> tuple[float, float | None]:
        outs = [self.model(x) for x in rows]
        value = self.loss_fn(outs, targets).data
        if self.correct is None:
            return value, None
        return value, sum(map(self.correct, map(_outputs, outs), targets)) / len(targets)


def _summary(history: History) -> str:
    text = f"loss {history.loss[-1]:.4f}"
    if history.accuracy:
        text += f", accuracy {history.accuracy[-1]:.1%}"
    if history.val_accuracy:
        text += f", validation {history.val_accuracy[-1]:.1%}"
    return text


def in_notebook() -> bool:
    """Is this running in a Jupyter kernel (and not under pytest)? IPython is not imported here:
    a kernel has loaded it already.

    >>> from nn.train import in_notebook
    >>> in_notebook()
    False
    """
    import os
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _live_display(live, model, rows, targets):
    """The live plot ``fit`` updates after each epoch, or None (see ``fit``'s ``live``)."""
    if live is None:
        live = in_notebook()
    if live is False:
        return None
    if live is True:
        from IPython.display import display
    elif callable(live):
        display = live
    else:
        raise TypeError(f"live must be True, False, None or a display function, got {live!r}")
    from .plot import LiveTraining
    rows = [[getattr(c, "data", c) for c in row] for row in rows]  # (Values or numbers)
    return LiveTraining(model, rows, targets, display)


def _progress_bar(epochs: int, progress: bool | None):
    if progress is None:
        progress = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=epochs, desc="training", unit="epoch", dynamic_ncols=True)
