"""Pictures of training: the decision boundary with the data points, and the loss/accuracy curves.

Needs matplotlib (``pip install "autograd-mini[plot]"``), imported only when a plot is made.
Figures are made without pyplot (no window, no global state), so they work in scripts, tests and
notebooks alike; pass ``path`` to save a PNG (or any format matplotlib knows by the extension).
"""
from __future__ import annotations

import os
from typing import Sequence

# class colours (colour-blind safe: Okabe-Ito)
COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install \"autograd-mini[plot]\" "
                          "(or pip install matplotlib)") from None
    import numpy
    return Figure, numpy


def _save(figure, path) -> None:
    if path is None:
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save the plot to {path}: the directory {directory} "
                                "does not exist")
    figure.savefig(path, dpi=120)


def _classes(y) -> list[int]:
    """Labels as 0, 1, ... (-1/+1 labels become 0/1)."""
    labels = [int(round(float(t))) for t in (y.tolist() if hasattr(y, "tolist") else y)]
    return [0 if t < 0 else t for t in labels]


def _light(color: str, amount: float = 0.72) -> tuple:
    """``color`` mixed with white."""
    from matplotlib.colors import to_rgb
    return tuple(c + (1 - c) * amount for c in to_rgb(color))


def _scores(model, points, numpy):
    """The model's outputs on an (n, 2) array: (n,) for one output, (n, k) for k outputs."""
    from .layers import MLP
    if isinstance(model, MLP):  # whole grid at once, in matrix form (W a + b per layer)
        a = points
        for layer in model.layers:
            W = numpy.array([[w.data for w in n.w] for n in layer.neurons])
            b = numpy.array([n.b.data for n in layer.neurons])
            z = a @ W.T + b
            a = {"relu": lambda: numpy.maximum(z, 0.0), "tanh": lambda: numpy.tanh(z),
                 "sigmoid": lambda: 0.5 * (1.0 + numpy.tanh(0.5 * z)),  # no overflow
                 "linear": lambda: z}[layer.activation]()
        return a[:, 0] if a.shape[1] == 1 else a
    return numpy.array([model.predict([float(p[0]), float(p[1])]) for p in points])


def decision_boundary(model, X, y, path=None, *, ax=None, title: str | None = None,
                      resolution: int = 200, threshold: float | None = None):
    """Colour the plane by the model's class, draw the boundary and the points ``(X, y)``.

    One output: class 1 where the output exceeds ``threshold`` (default 0, or 1/2 after a
    sigmoid), shaded by how far it is from it. Several outputs: the class of the largest.
    Returns the matplotlib ``Figure``; saves it to ``path`` if given.

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
            last = getattr(model, "layers", [model])[-1]
            threshold = 0.5 if getattr(last, "activation", None) == "sigmoid" else 0.0
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
    for k in range(max(n_classes, max(labels) + 1)):
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
    _save(figure, path)
    return figure


def history(history, path=None, *, axes: Sequence | None = None, title: str | None = None):
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
    _save(figure, path)
    return figure


def training_report(model, X, y, history_, path=None, *, title: str | None = None,
                    resolution: int = 200):
    """One figure: the decision boundary (left), loss and accuracy curves (right)."""
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
    _save(figure, path)
    return figure
