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
from numbers import Integral, Real
from typing import Callable

from autograd_mini import Value
from autograd_mini.graph import collector_paused

from .datasets import batches
from .history import History, _correct_fn, _input_width, _outputs, _recording, _rows
from .history import argmax_correct, binary_correct, binary_correct_probability  # noqa: F401 (still nn.train.*)
from .losses import get_loss, l2_penalty
from .module import Module
from .optim import SGD, Optimizer


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


def fit(model: Module, X, y, *,
        loss, l2: float = 0.0, accuracy: Callable | bool | None = None,
        optimizer: Optimizer | None = None, epochs: int = 100, batch_size: int | None = None,
        shuffle: bool = True, seed: int | None = 0, compile: bool = False,
        validation_data=None, progress: bool | None = None, callback: Callable | None = None,
        record: bool | int = False, live: bool | None | Callable = None) -> History:
    """Train ``model`` on inputs ``X`` and targets ``y``; return the ``History`` of the epochs.

    What is minimised and scored:

    - ``loss``: "mse", "hinge", "bce", "cross_entropy", or any function
      ``(predictions, targets) -> Value`` (see ``nn.losses``).
    - ``l2``: adds ``nn.l2_penalty(model, l2)``, (l2/2) * sum of squared weights, to each step's loss.
    - ``accuracy``: None picks one from the loss (sign for hinge and bce, argmax for
      cross_entropy, none for mse); False for none; or a function ``(output, target) -> bool``.

    How it trains:

    - ``optimizer``: e.g. ``nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, 100))``; default
      ``nn.SGD(model, lr=0.1)``. Its schedule advances once per step (per batch).
    - ``epochs``; ``batch_size``: None for the whole set per step, 1 for one example at a time,
      or a size.
    - ``shuffle``/``seed``: the order of the examples, shuffled each epoch by a private
      ``random.Random(seed)`` (``seed=None``: a fresh random order each run).
    - ``compile``: run each step as a compiled program over the whole batch
      (``nn.compiled.CompiledSteps``); everything else, and the ``History``, is the same.

    What it tells and keeps while it trains:

    - ``validation_data``: ``(X_val, y_val)``, evaluated after each epoch.
    - ``progress``: a tqdm bar with loss and accuracy; None shows it when stderr is a terminal.
    - ``callback(epoch, history)``: called after each epoch; returning True stops training.
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
