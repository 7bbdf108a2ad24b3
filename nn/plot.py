"""Pictures of training: the decision boundary with the data points, the loss/accuracy curves, a
training page to replay a run in the browser, and a live plot for notebooks.

The PNG figures need matplotlib (``pip install matplotlib``; from the project's folder,
``pip install -e ".[plot]"``), imported only when a figure is made. They are made without pyplot
(no window, no global state), so they work in scripts, tests and notebooks alike; pass ``path`` to
save a PNG (or any format matplotlib knows by the extension), written as every file of the
project is (``autograd_mini.files``). ``training_page`` needs no matplotlib, and the live plot
only for its shaded plane (NumPy, when installed, only speeds up the boundary's grid).
"""
from __future__ import annotations

import base64
import gzip
import html
import io
import json
import math
import os
import re
import sys
import time
from array import array
from typing import Sequence

# class colours (colour-blind safe: Okabe-Ito)
COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib (or, in the "
                          "autograd-mini folder, pip install -e \".[plot]\")") from None
    import numpy
    return Figure, numpy


def _save(figure, path, force: bool) -> None:
    """The figure in the format its suffix names (PNG by default), saved as every file of the
    project is (``autograd_mini.files.write_atomic``: never half written; a read-only file
    refused unless ``force``)."""
    if path is None:
        return
    from autograd_mini.files import check_writable, write_atomic
    path = os.fspath(path)
    check_writable(path, force=force)
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=120, format=suffix or "png")
    write_atomic(path, buffer.getvalue(), force=force)


def _classes(y) -> list:
    """Labels as 0, 1, ... (-1/+1 labels become 0/1); None for a target that is not a number."""
    labels = [float(t) for t in (y.tolist() if hasattr(y, "tolist") else y)]
    return [None if not math.isfinite(t) else 0 if t < 0 else int(round(t)) for t in labels]


def _light(color: str, amount: float = 0.72) -> tuple:
    """``color`` mixed with white."""
    from matplotlib.colors import to_rgb
    return tuple(c + (1 - c) * amount for c in to_rgb(color))


def _scores(model, points, numpy):
    """The model's outputs on an (n, 2) array: (n,) for one output, (n, k) for k outputs."""
    from .layers import ACTIVATIONS, MLP
    if isinstance(model, MLP):  # whole grid at once, in matrix form (W a + b per layer)
        a = points
        for layer in model.layers:
            W = numpy.array([[w.data for w in n.w] for n in layer.neurons])
            b = numpy.array([n.b.data for n in layer.neurons])
            with numpy.errstate(all="ignore"):  # an overflow to inf is a colour, not a warning
                a = ACTIVATIONS.on_arrays(layer.activation)(numpy, a @ W.T + b)
        return a[:, 0] if a.shape[1] == 1 else a
    return numpy.array([model.predict([float(p[0]), float(p[1])]) for p in points])


def decision_boundary(model, X, y, path=None, *, ax=None, title: str | None = None,
                      resolution: int = 200, threshold: float | None = None,
                      force: bool = False):
    """Colour the plane by the model's class, draw the boundary and the points ``(X, y)``.

    One output: class 1 where the output exceeds ``threshold`` (default: the output
    activation's value at 0, so 0 for a linear output and 1/2 after a sigmoid), shaded by how
    far it is from it. Several outputs: the class of the largest.
    Returns the matplotlib ``Figure``; saves it to ``path`` if given (a read-only file there
    only with ``force``).

    >>> import os, tempfile
    >>> from nn import MLP, datasets, plot
    >>> X, y = datasets.make_moons(30, seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "boundary.png")
    >>> figure = plot.decision_boundary(MLP(2, [8, 1], seed=0), X, y, path, resolution=40)
    >>> os.path.getsize(path) > 0
    True
    """
    Figure, numpy = _matplotlib()
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap
    points = numpy.asarray(X.tolist() if hasattr(X, "tolist") else X, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D inputs; X has shape {points.shape}")
    labels = _classes(y)
    if len(labels) != len(points):
        raise ValueError(f"X has {len(points)} rows but y has {len(labels)} labels")
    if ax is None:
        figure = Figure(figsize=(6, 5.4), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    pad = 0.25 * max(numpy.ptp(points[:, 0]), numpy.ptp(points[:, 1]), 1e-9)
    xs = numpy.linspace(points[:, 0].min() - pad, points[:, 0].max() + pad, resolution)
    ys = numpy.linspace(points[:, 1].min() - pad, points[:, 1].max() + pad, resolution)
    gx, gy = numpy.meshgrid(xs, ys)
    scores = _scores(model, numpy.column_stack([gx.ravel(), gy.ravel()]), numpy)
    if scores.ndim == 1:
        if threshold is None:
            threshold = _threshold(model)
        margin = (scores - threshold).reshape(gx.shape)
        spread = max(float(numpy.percentile(numpy.abs(margin), 95)), 1e-9)
        cmap = LinearSegmentedColormap.from_list(
            "classes", [_light(COLORS[0], 0.45), (1, 1, 1), _light(COLORS[1], 0.45)])
        ax.contourf(gx, gy, numpy.tanh(2 * margin / spread), levels=21, cmap=cmap,
                    vmin=-1, vmax=1)
        ax.contour(gx, gy, margin, levels=[0.0], colors="#333333", linewidths=1.6)
        n_classes = 2
    else:
        n_classes = scores.shape[1]
        predicted = scores.argmax(axis=1).reshape(gx.shape)
        cmap = ListedColormap([_light(COLORS[k % len(COLORS)]) for k in range(n_classes)])
        ax.pcolormesh(gx, gy, predicted, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5,
                      shading="auto")
        ax.contour(gx, gy, predicted, levels=numpy.arange(n_classes) + 0.5, colors="#333333",
                   linewidths=1.2)
    labels_array = numpy.array(labels)
    for k in range(max(n_classes, max((t for t in labels if t is not None), default=0) + 1)):
        mine = labels_array == k
        if mine.any():
            ax.scatter(points[mine, 0], points[mine, 1], s=28, color=COLORS[k % len(COLORS)],
                       edgecolors="white", linewidths=0.8, label=f"class {k}", zorder=3)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", framealpha=0.9, fontsize=9)
    if title:
        ax.set_title(title)
    _save(figure, path, force)
    return figure


def history(history, path=None, *, axes: Sequence | None = None, title: str | None = None,
            force: bool = False):
    """Loss and accuracy per epoch (validation dashed) from ``fit``'s ``History``.

    >>> from nn import History, plot
    >>> figure = plot.history(History(loss=[1.0, 0.5, 0.2], accuracy=[0.5, 0.8, 1.0]))
    >>> len(figure.axes)
    2
    """
    Figure, numpy = _matplotlib()
    has_accuracy = bool(history.accuracy or history.val_accuracy)
    if axes is None:
        figure = Figure(figsize=(6, 5.4 if has_accuracy else 3.2), layout="constrained")
        axes = figure.subplots(2 if has_accuracy else 1, 1, sharex=True, squeeze=False)[:, 0]
    else:
        figure = axes[0].figure
    epochs = numpy.arange(1, len(history.loss) + 1)
    loss_ax = axes[0]
    loss_ax.plot(epochs, history.loss, color=COLORS[0], lw=2, label="training")
    if history.val_loss:
        loss_ax.plot(epochs[:len(history.val_loss)], history.val_loss, color=COLORS[5], lw=2,
                     ls="--", label="validation")
    if len(history.loss) and min(history.loss) > 0 and max(history.loss) > 20 * min(history.loss):
        loss_ax.set_yscale("log")
    loss_ax.set_ylabel("loss")
    loss_ax.grid(alpha=0.3)
    if history.val_loss:
        loss_ax.legend(framealpha=0.9, fontsize=9)
    if title:
        loss_ax.set_title(title)
    if has_accuracy and len(axes) > 1:
        acc_ax = axes[1]
        if history.accuracy:
            acc_ax.plot(epochs[:len(history.accuracy)], [100 * a for a in history.accuracy],
                        color=COLORS[2], lw=2, label="training")
        if history.val_accuracy:
            acc_ax.plot(epochs[:len(history.val_accuracy)],
                        [100 * a for a in history.val_accuracy], color=COLORS[5], lw=2, ls="--",
                        label="validation")
        acc_ax.set_ylabel("accuracy (%)")
        acc_ax.set_ylim(min(45, *(100 * a for a in history.accuracy or [1])) - 2, 101.5)
        acc_ax.grid(alpha=0.3)
        if history.val_accuracy:
            acc_ax.legend(loc="lower right", framealpha=0.9, fontsize=9)
        acc_ax.set_xlabel("epoch")
    else:
        loss_ax.set_xlabel("epoch")
    _save(figure, path, force)
    return figure


def training_report(model, X, y, history_, path=None, *, title: str | None = None,
                    resolution: int = 200, force: bool = False):
    """One figure: the decision boundary (left), loss and accuracy curves (right). Saved to
    ``path`` if given (a read-only file there only with ``force``, as for every figure here)."""
    Figure, _ = _matplotlib()
    figure = Figure(figsize=(11, 5), layout="constrained")
    left, right = figure.subfigures(1, 2, width_ratios=[1.1, 1])
    decision_boundary(model, X, y, ax=left.add_subplot(), resolution=resolution,
                      title="decision boundary")
    has_accuracy = bool(history_.accuracy or history_.val_accuracy)
    axes = right.subplots(2 if has_accuracy else 1, 1, sharex=True, squeeze=False)[:, 0]
    history(history_, axes=axes, title="training")
    if title:
        figure.suptitle(title, fontsize=13)
    _save(figure, path, force)
    return figure


# -- the boundary's grid, without matplotlib ----------------------------------------------------

def _plane(points: list[list[float]], resolution: int) -> tuple[list[float], list[float]]:
    """The grid's x and y sample positions: the points' box, padded as ``decision_boundary``
    (points with a coordinate that is not finite are left out)."""
    points = [p for p in points if math.isfinite(p[0]) and math.isfinite(p[1])] or [[0.0, 0.0]]
    xs0, ys0 = [p[0] for p in points], [p[1] for p in points]
    pad = 0.25 * max(max(xs0) - min(xs0), max(ys0) - min(ys0), 1e-9)
    x0, x1, y0, y1 = min(xs0) - pad, max(xs0) + pad, min(ys0) - pad, max(ys0) + pad
    step_x, step_y = (x1 - x0) / (resolution - 1), (y1 - y0) / (resolution - 1)
    return ([x0 + i * step_x for i in range(resolution)],
            [y0 + j * step_y for j in range(resolution)])


def _grid_scores(model, xs: list[float], ys: list[float]) -> list:
    """The model's output at every grid point, row by row (y outer, x inner): a float per point
    for one output, a list for several. The whole grid at once with NumPy (``_scores``), else
    point by point with ``model.predict``."""
    try:
        import numpy
    except ImportError:
        return [model.predict([x, y]) for y in ys for x in xs]
    points = numpy.array([[x, y] for y in ys for x in xs])
    return _scores(model, points, numpy).tolist()


def _threshold(model) -> float:
    """Where one output divides the classes: its activation at 0, the pre-activation's sign
    change (0 for linear, tanh and ReLU outputs, 1/2 for a sigmoid's probability)."""
    from .layers import ACTIVATIONS
    last = getattr(model, "layers", [model])[-1]
    _, on_floats = ACTIVATIONS[getattr(last, "activation", "linear")]
    return 0.0 if on_floats is None else float(on_floats(0.0))


def _grid_bytes(scores: list, threshold: float) -> bytes:
    """One byte per grid point. One output: >= 128 is class 1, < 128 class 0, and the distance
    from 128 grows with the margin (tanh of it over its 95th percentile). Several: the class."""
    if scores and isinstance(scores[0], list):
        return bytes(max(range(len(s)), key=s.__getitem__) for s in scores)
    margins = [s - threshold for s in scores]
    ranked = sorted(abs(m) for m in margins if math.isfinite(m))
    spread = max(ranked[int(0.95 * (len(ranked) - 1))], 1e-9) if ranked else 1.0
    out = bytearray()
    for m in margins:
        if m != m:  # NaN (a diverged model): no class, drawn as the boundary's white
            out.append(127)
            continue
        v = math.floor(127 * math.tanh(2 * abs(m) / spread))
        out.append(128 + v if m > 0 else 127 - v)
    return bytes(out)


# -- the engine's numbers at a snapshot ---------------------------------------------------------

def _engine_pass(model, rows, targets, loss_fn, l2: float, correct):
    """One forward and backward pass of the training loss (all rows, plus the L2 penalty) on the
    engine, with the model's current parameters.

    Returns (loss, accuracy or None, the parameters' gradients, and for each row, for each
    neuron in order: its input sum node's value, its activation's value, and their gradients).
    """
    from autograd_mini.graph import collector_paused
    from .layers import _lifted
    from .losses import l2_penalty
    from .history import _outputs
    model.zero_grad()
    outputs, nodes = [], []
    with collector_paused():
        for row in rows:
            a = _lifted(list(row))  # the inputs as constants named x[0], x[1], ... (as model(x))
            mine = []
            for layer in model.layers:
                a = [neuron._forward(a) for neuron in layer.neurons]
                for neuron, act in zip(layer.neurons, a):
                    mine.append((act if neuron.activation == "linear" else act.parents[0], act))
            outputs.append(a[0] if len(a) == 1 else a)
            nodes.append(mine)
        loss = loss_fn(outputs, targets)
        if l2:
            loss = loss + l2_penalty(model, l2)
        loss.backward()
    accuracy = None
    if correct is not None:
        accuracy = sum(map(correct, map(_outputs, outputs), targets)) / len(targets)
    neurons = [[(net.data, act.data, net.grad, act.grad) for net, act in mine] for mine in nodes]
    return loss.data, accuracy, [p.grad for p in model.parameters()], neurons


def _check_page_inputs(model, X, y, history):
    from .layers import MLP
    from .history import History
    if not isinstance(model, MLP):
        raise TypeError(f"training_page draws an nn.MLP, got {type(model).__name__}")
    if not isinstance(history, History):
        raise TypeError(f"training_page needs the History fit returned, got "
                        f"{type(history).__name__}")
    if history.recording is None or not history.recording.epochs:
        raise ValueError("the history holds no snapshots of the parameters: train with "
                         "nn.fit(..., record=True)")
    if len(history.recording.names) != model.num_parameters():
        raise ValueError(f"the history's snapshots hold {len(history.recording.names)} "
                         f"parameters but the model has {model.num_parameters()}: is it the "
                         "model that was trained?")
    from .history import _input_width, _rows
    rows = [[c.data for c in row] for row in _rows(X, _input_width(model, X), "X")]
    targets = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(rows) != len(targets):
        raise ValueError(f"X has {len(rows)} rows but y has {len(targets)} targets")
    if not rows:
        raise ValueError("training_page needs at least one data point")
    return rows, targets


def _snapshot_indices(count: int, most: int) -> list[int]:
    """At most ``most`` indices of ``range(count)``, evenly spread, first and last included."""
    if count <= most:
        return list(range(count))
    return sorted({round(k * (count - 1) / (most - 1)) for k in range(most)})


# the most numbers a page holds (float32, before gzip): about 16 MB, a page of 6 to 10 MB
MAX_PAGE_FLOATS = 4_000_000


def _short(x: float) -> float | None:
    """6 significant digits; None (JSON's null) for inf and NaN, which JSON cannot hold."""
    return float(f"{x:.6g}") if math.isfinite(x) else None


def page_data(model, X, y, history, *, loss=None, l2: float | None = None,
              resolution: int = 48, max_snapshots: int = 101, title: str | None = None,
              class_names: Sequence[str] | None = None) -> dict:
    """Everything ``training_page`` puts in the page, as JSON-ready data (see there).

    ``blob`` is base64 of gzip of little-endian float32s, snapshot after snapshot (the
    parameters' values, their gradients, then for each point and neuron: w·x+b, the activation,
    and their gradients), then one byte per grid cell and snapshot (see ``_grid_bytes``).

    >>> import nn
    >>> X, y = nn.datasets.make_moons(10, seed=0)
    >>> model = nn.MLP(2, [3, 1], seed=0)
    >>> history = nn.fit(model, X, y, loss="hinge", epochs=4, record=2)
    >>> data = nn.plot.page_data(model, X, y, history, resolution=8)
    >>> data["epochs"], data["sizes"], data["grid"]["size"], data["floats"] == 2 * (2 * 13 + 10 * 4 * 4)
    ([0, 4], [2, 3, 1], 8, True)
    """
    from .losses import get_loss
    from .history import _correct_fn
    rows, targets = _check_page_inputs(model, X, y, history)
    recording = history.recording
    loss = loss if loss is not None else recording.loss
    if loss is None:
        raise ValueError("this history was trained with a loss function of your own: pass it "
                         "as training_page(..., loss=your_loss)")
    loss_fn = get_loss(loss)
    l2 = recording.l2 if l2 is None else float(l2)
    if not isinstance(resolution, int) or not 4 <= resolution <= 200:
        raise ValueError(f"resolution must be an integer from 4 to 200, got {resolution!r}")
    if not isinstance(max_snapshots, int) or max_snapshots < 2:
        raise ValueError(f"max_snapshots must be an integer >= 2, got {max_snapshots!r}")
    correct = _correct_fn(loss_fn, None)
    params = model.parameters()
    # fewer snapshots for many points or neurons, so that the page stays a few MB
    per_snapshot = 2 * len(params) + len(rows) * sum(model.nouts) * 4
    most = min(max_snapshots, max(2, MAX_PAGE_FLOATS // per_snapshot))
    chosen = _snapshot_indices(len(recording.epochs), most)
    two_d = model.nin == 2
    if two_d:
        xs, ys = _plane(rows, resolution)
        threshold = _threshold(model)
    floats, grid = array("f"), bytearray()
    snapshot_loss, snapshot_accuracy = [], []
    kept = [p.data for p in params]
    try:
        for k in chosen:
            for p, value in zip(params, recording.parameters[k]):
                p.data = value
            value, accuracy, grads, neurons = _engine_pass(model, rows, targets, loss_fn, l2,
                                                           correct)
            snapshot_loss.append(_short(value))
            snapshot_accuracy.append(accuracy)
            floats.extend(recording.parameters[k])
            floats.extend(grads)
            for mine in neurons:
                for numbers in mine:
                    floats.extend(numbers)
            if two_d:
                grid += _grid_bytes(_grid_scores(model, xs, ys), threshold)
    finally:
        for p, value in zip(params, kept):
            p.data = value
    if sys.byteorder == "big":
        floats.byteswap()  # the page reads little-endian float32
    blob = gzip.compress(floats.tobytes() + bytes(grid), compresslevel=6, mtime=0)
    layout, index = [], 0
    for layer in model.layers:
        mine = []
        for neuron in layer.neurons:
            mine.append({"w": list(range(index, index + neuron.nin)), "b": index + neuron.nin})
            index += neuron.nin + 1
        layout.append(mine)
    outputs = model.nouts[-1]
    labels = _classes(targets) if correct is not None else None
    classes = max(2, outputs) if labels is not None else None
    return {
        "title": title or f"Training {model!r}",
        "model": repr(model),
        "loss": loss if isinstance(loss, str) else getattr(loss, "__name__", "your loss"),
        "l2": l2,
        "sizes": [model.nin] + model.nouts,
        "activations": model.activations,
        "layout": layout,
        "names": recording.names,
        "inputs": [[_short(v) for v in row] for row in rows],
        "targets": [_short(float(t)) for t in targets],
        "labels": labels,
        "classes": classes,
        "class_names": _class_names(class_names, classes),
        "diverged": _what_diverged(rows, targets, history,
                                   [recording.epochs[k] for k in chosen], snapshot_loss),
        "epochs": [recording.epochs[k] for k in chosen],
        "epochs_trained": history.epochs,
        "history": {"loss": [_short(v) for v in history.loss],
                    "accuracy": [_short(v) for v in history.accuracy]},
        "snapshot": {"loss": snapshot_loss, "accuracy": snapshot_accuracy},
        "grid": None if not two_d else {
            "size": resolution, "x": [xs[0], xs[-1]], "y": [ys[0], ys[-1]],
            "kind": "margin" if outputs == 1 else "classes"},
        "floats": len(floats),
        "blob": base64.b64encode(blob).decode("ascii"),
    }


def _class_names(names, classes) -> list[str] | None:
    if names is None:
        return None if classes is None else [f"class {k}" for k in range(classes)]
    names = [str(name) for name in names]
    if classes is None or len(names) != classes:
        raise ValueError(f"class_names must name each of the {classes or 0} classes the page "
                         f"shows, got {len(names)} names")
    return names


def _what_diverged(rows, targets, history, epochs, snapshot_loss) -> list[str]:
    """Sentences saying which numbers are not finite (NaN or infinite): the page draws the rest."""
    said = []
    bad_rows = [i for i, row in enumerate(rows) if not all(map(math.isfinite, row))]
    if bad_rows:
        said.append(f"{_count_of(bad_rows, 'point')} {_listed(bad_rows)} of X not finite: "
                    "not drawn on the plane")
    bad_targets = [i for i, t in enumerate(targets) if not math.isfinite(float(t))]
    if bad_targets:
        said.append(f"the target of {_count_of(bad_targets, 'point')} "
                    f"{_listed(bad_targets, '')} {'are' if len(bad_targets) > 1 else 'is'} "
                    "not finite")
    epoch = next((e for e, v in enumerate(history.loss, 1) if not math.isfinite(v)), None)
    if epoch is not None:
        said.append(f"the training diverged: the loss is {history.loss[epoch - 1]} in epoch "
                    f"{epoch}")
    snapshot = next((e for e, v in zip(epochs, snapshot_loss) if v is None), None)
    if snapshot is not None:
        said.append(f"at the parameters of epoch {snapshot} on, the loss is not finite: the "
                    "plane is white where the model's output is not a number")
    return said


def _count_of(items: list, noun: str) -> str:
    return f"{noun}{'s' if len(items) > 1 else ''}"


def _listed(items: list, verb: str = "has a value", most: int = 8) -> str:
    """``3`` or ``3, 5 and 2 more``, then the verb in the right number."""
    shown = ", ".join(map(str, items[:most]))
    if len(items) > most:
        shown += f" and {len(items) - most} more"
    if verb and len(items) > 1:
        verb = verb.replace("has", "have", 1)
    return f"{shown} {verb}".rstrip()


def _template() -> str:
    from importlib.resources import files
    return files(__package__).joinpath("templates", "training_page.html").read_text("utf-8")


def training_page(model, X, y, history, path=None, *, loss=None, l2: float | None = None,
                  resolution: int = 48, max_snapshots: int = 101, title: str | None = None,
                  class_names: Sequence[str] | None = None, force: bool = False) -> str:
    """Write a training run as one self-contained HTML page (no network needed); return its HTML.

    ``history`` is what ``nn.fit(model, X, y, ..., record=True)`` returned, ``model`` the model
    it trained. The page has a slider over the recorded epochs (and a play button); for 2-D
    inputs the data and the decision boundary at that epoch; the loss and accuracy curves with
    the epoch marked; the parameters' values and gradients; and, for the data point you click,
    the network: every neuron's input sum w·x+b, its activation, and their gradients, with the
    edges coloured by weight. Every number is the engine's: for each snapshot, the parameters
    are set, and one forward and backward pass of the training loss (the mean over all points,
    plus the L2 penalty) runs on the engine; the gradients shown are of that loss. ``loss`` and
    ``l2`` default to the ones ``fit`` was given; ``max_snapshots`` (evenly spread, first and
    last kept) and ``resolution`` (the grid's side) bound the file's size, and so does
    ``MAX_PAGE_FLOATS`` (many points or neurons: fewer snapshots; the page says how many).
    micrograd's demo (2-16-16-1, 100 points, 100 epochs) gives 101 snapshots in 2.9 MB. The
    model's parameters are left as they were. ``class_names`` names the classes in the legend
    ("class 0", "class 1", ... by default). A run that diverged (a loss or parameter that is
    NaN or infinite) or data with such numbers still gives a page: it draws what is finite and
    says, at the top, what is not. A read-only file at ``path`` is refused unless ``force``.

    >>> import os, tempfile
    >>> import nn
    >>> X, y = nn.datasets.make_moons(20, seed=0)
    >>> model = nn.MLP(2, [4, 1], seed=0)
    >>> history = nn.fit(model, X, y, loss="hinge", epochs=5, record=True)
    >>> path = os.path.join(tempfile.mkdtemp(), "training.html")
    >>> page = nn.plot.training_page(model, X, y, history, path)
    >>> page.startswith("<!DOCTYPE html>"), "<script src" in page, os.path.getsize(path) > 10_000
    (True, False, True)
    """
    if path is not None:
        from autograd_mini.files import check_writable
        check_writable(path, force=force)  # before the work: a bad path fails at once
    data = page_data(model, X, y, history, loss=loss, l2=l2, resolution=resolution,
                     max_snapshots=max_snapshots, title=title, class_names=class_names)
    # JSON inside <script>: no "<", ">" or "&" left (each is a \\u escape, the same string to
    # JSON.parse), so no user text can end the script or open a comment in it
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    filled = {"__TITLE__": html.escape(data["title"]), "__DATA__": text}
    # one pass: a placeholder's name inside the user's text is never substituted
    page = re.sub("__TITLE__|__DATA__", lambda found: filled[found.group(0)], _template())
    if path is not None:
        from autograd_mini.files import write_atomic
        write_atomic(path, page, force=force)
    return page


# -- the live plot of fit(..., live=...) in a notebook ------------------------------------------

class LiveTraining:
    """What ``fit`` shows under a notebook cell while it trains: the loss curve and, for 2-D
    inputs, the decision boundary with the data, redrawn in place (one display, updated).

    ``display`` is ``IPython.display.display`` (or any function ``display(obj, display_id=True)``
    returning a handle with ``update(obj)``). Redraws come at most every ``every`` seconds, and
    once at the end.

    >>> import nn
    >>> shown = []
    >>> class Handle:
    ...     def update(self, obj): shown.append(obj)
    >>> def display(obj, display_id=None): shown.append(obj); return Handle()
    >>> X, y = nn.datasets.make_moons(20, seed=0)
    >>> history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=3, live=display)
    >>> "<svg" in shown[-1]._repr_html_(), "epoch 3" in shown[-1]._repr_html_()
    (True, True)
    """

    def __init__(self, model, rows, targets, display, *, every: float = 0.5,
                 resolution: int = 40) -> None:
        self.model, self.rows, self.targets = model, rows, targets
        self.every, self.last = every, -math.inf
        self.two_d = getattr(model, "nin", None) == 2 and hasattr(model, "predict")
        if self.two_d:
            self.xs, self.ys = _plane(rows, resolution)
        self.handle = display(self._render(None), display_id=True)

    def update(self, history, last: bool = False) -> None:
        now = time.perf_counter()
        if not last and now - self.last < self.every:
            return
        self.last = now
        self.handle.update(self._render(history))

    def _render(self, history) -> _Html:
        loss = history.loss if history is not None else []
        parts = [_loss_svg(loss)]
        if self.two_d:
            parts.append(self._boundary_svg())
        caption = "training…" if not loss else \
            f"epoch {len(loss)}: loss {loss[-1]:.4g}" + (
                f", accuracy {history.accuracy[-1]:.1%}" if history.accuracy else "")
        return _Html('<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">'
                     + "".join(parts) + f'</div><div style="font:13px sans-serif">{caption}</div>',
                     f"live training plot: {caption}")

    def _boundary_svg(self) -> str:
        """The plane coloured by the model's class (a small PNG the browser scales smoothly,
        when matplotlib is there to encode it), and the data points."""
        xs, ys, size = self.xs, self.ys, 240
        image = _plane_png(self.model, xs, ys)
        picture = "" if image is None else (
            f'<image width="{size}" height="{size}" preserveAspectRatio="none" '
            f'href="data:image/png;base64,{base64.b64encode(image).decode("ascii")}"/>')
        sx = lambda x: (x - xs[0]) / (xs[-1] - xs[0]) * size  # noqa: E731
        sy = lambda y: size - (y - ys[0]) / (ys[-1] - ys[0]) * size  # noqa: E731
        labels = _classes(self.targets) if all(
            isinstance(t, (int, float)) for t in self.targets) else [0] * len(self.rows)
        dots = "".join(f'<circle cx="{sx(r[0]):.1f}" cy="{sy(r[1]):.1f}" r="3" '
                       f'fill="{COLORS[c % len(COLORS)]}" stroke="white" stroke-width="0.8"/>'
                       for r, c in zip(self.rows, labels))
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
                f'viewBox="0 0 {size} {size}">{picture}{dots}</svg>')


def _plane_png(model, xs: list[float], ys: list[float]) -> bytes | None:
    """The plane coloured by the model's class, one pixel per grid point, as PNG bytes
    (matplotlib encodes them); None without matplotlib (the live plot then shows the points)."""
    try:
        from matplotlib.colors import to_rgb
        from matplotlib.image import imsave
        import numpy
    except ImportError:
        return None
    scores = _grid_scores(model, xs, ys)
    codes = numpy.frombuffer(_grid_bytes(scores, _threshold(model)), dtype=numpy.uint8)
    n = len(xs)
    codes = codes.reshape(n, n)[::-1]  # the image's first row is the top: the largest y
    if scores and isinstance(scores[0], list):
        palette = numpy.array([to_rgb(c) for c in COLORS])
        pixels = 1 - 0.4 * (1 - palette[codes % len(COLORS)])  # each class's colour, light
    else:
        side = numpy.where(codes[..., None] >= 128, to_rgb(COLORS[1]), to_rgb(COLORS[0]))
        white = 1 - 0.55 * numpy.abs(codes - 127.5)[..., None] / 127.5
        pixels = side + (1 - side) * white  # white at the boundary, the class's colour away
    buffer = io.BytesIO()
    imsave(buffer, pixels, format="png")
    return buffer.getvalue()


class _Html:
    """A picture for IPython's display: HTML, and a line of text where HTML is not shown."""

    def __init__(self, text: str, caption: str) -> None:
        self.text, self.caption = text, caption

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.caption


def _loss_svg(loss: list[float], width: int = 320, height: int = 240) -> str:
    """The loss per epoch as a line (log scale when it falls by more than 20 times)."""
    left, right, top, bottom = 44, 10, 18, 28
    frame = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
             f'<rect x="{left}" y="{top}" width="{width - left - right}" '
             f'height="{height - top - bottom}" fill="none" stroke="#bbb"/>'
             f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle">epoch</text>')
    finite = [v for v in loss if math.isfinite(v)]
    if not finite:
        return frame + "</svg>"
    log = min(finite) > 0 and max(finite) > 20 * min(finite)
    f = math.log10 if log else (lambda v: v)
    low, high = f(min(finite)), f(max(finite))
    high = high if high > low else low + 1
    n = max(len(loss) - 1, 1)
    sx = lambda e: left + e / n * (width - left - right)  # noqa: E731
    sy = lambda v: top + (high - f(v)) / (high - low) * (height - top - bottom)  # noqa: E731
    line = " ".join(f"{sx(e):.1f},{sy(v):.1f}" for e, v in enumerate(loss) if math.isfinite(v))
    return (frame + f'<polyline points="{line}" fill="none" stroke="#333" '
            f'stroke-width="2"/><text x="{left - 4}" y="{top + 10}" text-anchor="end">'
            f'{max(finite):.3g}</text><text x="{left - 4}" y="{height - bottom}" '
            f'text-anchor="end">{min(finite):.3g}</text><text x="{left + 4}" y="{top - 2}">'
            f'loss{" (log scale)" if log else ""}</text>'
            f'<text x="{width - right}" y="{height - 6}" text-anchor="end">{len(loss)}</text>'
            f'</svg>')
