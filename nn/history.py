"""What training keeps: ``History`` (the loss and accuracy of each epoch) and ``Recording`` (the
parameters as training went), how an output is scored right or wrong, and the examples as the
engine reads them. ``nn.train`` (``fit``), ``nn.compiled`` and ``nn.plot`` share these.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from numbers import Integral, Real

from autograd_mini import Value
from autograd_mini.value import constant

from .losses import LOSSES, bce_with_logits, cross_entropy, hinge_loss


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


def _correct_fn(loss_fn, accuracy):
    if accuracy is False:
        return None
    if accuracy is None or accuracy is True:
        return _ACCURACY.get(loss_fn)
    if not callable(accuracy):
        raise TypeError("accuracy must be a function (output, target) -> bool, True, False or None")
    return accuracy
