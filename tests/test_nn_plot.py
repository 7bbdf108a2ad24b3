"""Plots: PNG files of decision boundaries and training curves, and a clear message without matplotlib."""
import sys

import pytest

import nn

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def test_binary_boundary_history_and_report(tmp_path):
    X, y = nn.datasets.make_moons(30, seed=0)
    model = nn.MLP(2, [8, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=3, validation_data=(X, y))
    nn.plot.decision_boundary(model, X, y, tmp_path / "b.png", resolution=30, title="moons")
    figure = nn.plot.history(history, tmp_path / "h.png")
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss", "accuracy (%)"]
    nn.plot.training_report(model, X, y, history, tmp_path / "r.png", resolution=30)
    for name in ("b.png", "h.png", "r.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_multiclass_and_other_modules(tmp_path):
    X, y = nn.datasets.make_spirals(30, n_classes=3, seed=0)
    nn.plot.decision_boundary(nn.MLP(2, [4, 3], seed=0), X, y, tmp_path / "m.png", resolution=20)
    # any module with predict(): drawn point by point; a sigmoid output is cut at 1/2
    neuron = nn.Neuron(2, activation="sigmoid", seed=0)
    nn.plot.decision_boundary(neuron, X, [label % 2 for label in y], tmp_path / "n.png",
                              resolution=10)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
    assert (tmp_path / "n.png").read_bytes()[:8] == PNG


def test_a_history_without_accuracy_has_one_panel():
    figure = nn.plot.history(nn.History(loss=[3.0, 2.0, 1.0]))
    assert len(figure.axes) == 1


def test_bad_input_and_missing_matplotlib(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="2-D inputs"):
        nn.plot.decision_boundary(nn.MLP(3, [1]), [[1.0, 2.0, 3.0]], [0])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.plot.history(nn.History(loss=[1.0]), tmp_path / "no" / "h.png")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    # the project is installed from its folder (it is not on PyPI): the message says what works
    with pytest.raises(ImportError, match=r"pip install matplotlib .*pip install -e \"\.\[plot\]\""):
        nn.plot.history(nn.History(loss=[1.0]))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "softplus",
                                        "linear", "abs"])
def test_the_plane_is_scored_by_each_activations_table_row_as_predict_scores_a_point(activation):
    """The boundary's grid is scored in matrix form with the op table's array rules; each
    point's score equals the engine's predict() on its own."""
    numpy = pytest.importorskip("numpy")
    from nn.plot import _scores
    X, _ = nn.datasets.make_moons(40, noise=0.1, seed=1)
    model = nn.MLP(2, [8, 8, 1], activation=activation, output_activation=activation, seed=3)
    scores = _scores(model, numpy.array(X, dtype=float), numpy)
    assert scores == pytest.approx([model.predict(list(p)) for p in X], rel=1e-12, abs=1e-12)


def test_figures_are_saved_as_every_file_of_the_project(tmp_path):
    """Through autograd_mini.files: a read-only file is refused, a link stays a link, and the
    format follows the suffix."""
    import os
    from matplotlib.image import imread
    history = nn.History(loss=[3.0, 2.0, 1.0])
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"the user's")
    os.chmod(kept, 0o444)
    with pytest.raises(PermissionError, match="read-only"):
        nn.plot.history(history, kept)
    assert kept.read_bytes() == b"the user's"
    (tmp_path / "real.png").write_bytes(b"")
    os.symlink("real.png", tmp_path / "link.png")
    nn.plot.history(history, tmp_path / "link.png")
    assert os.path.islink(tmp_path / "link.png")
    assert imread(tmp_path / "real.png").shape[:2] == (384, 720)  # 6 x 3.2 inches at 120 dpi
    nn.plot.history(history, tmp_path / "h.svg")
    assert (tmp_path / "h.svg").read_text().lstrip().startswith("<?xml")
    assert sorted(os.listdir(tmp_path)) == ["h.svg", "kept.png", "link.png", "real.png"]


@pytest.mark.parametrize("activation, expected", [("sigmoid", 0.5), ("tanh", 0.0),
                                                  ("linear", 0.0), ("relu", 0.0)])
def test_one_outputs_class_threshold_is_its_activation_at_zero(activation, expected):
    """Class 1 where the pre-activation is positive: a sigmoid's probability above 1/2."""
    from nn.plot import _threshold
    assert _threshold(nn.MLP(2, [3, 1], output_activation=activation, seed=0)) == expected


def test_the_live_plots_plane_shows_each_cells_class():
    """The live plot's picture (encoded by matplotlib): each pixel is on the side of the model's
    own prediction at that grid point (the oracle: predict, point by point)."""
    import base64
    import io
    import re
    from matplotlib.image import imread
    from nn.plot import COLORS, LiveTraining
    X, y = nn.datasets.make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    live = LiveTraining(model, [list(r) for r in X], list(y), lambda o, display_id: None,
                        resolution=12)
    svg = live._boundary_svg()
    data = re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1)
    pixels = imread(io.BytesIO(base64.b64decode(data)))[..., :3]
    assert pixels.shape == (12, 12, 3)
    blue, orange = (numpy_color(COLORS[0]), numpy_color(COLORS[1]))
    for j, y_ in enumerate(live.ys):
        for i, x_ in enumerate(live.xs):
            margin = model.predict([x_, y_])
            if abs(margin) < 1e-3:
                continue
            pixel = pixels[len(live.ys) - 1 - j, i]   # the image's top row is the largest y
            closer = orange if margin > 0 else blue
            other = blue if margin > 0 else orange
            assert distance(pixel, closer) < distance(pixel, other), (i, j, margin, pixel)


def numpy_color(hex_color):
    return [int(hex_color[k:k + 2], 16) / 255 for k in (1, 3, 5)]


def distance(a, b):
    """How far a light mix of b with white is from a, in the direction of b's hue."""
    import math
    tint = [1 - c for c in b]
    norm = math.sqrt(sum(t * t for t in tint))
    return -sum((1 - p) * t for p, t in zip(a, tint)) / norm


def test_force_writes_over_a_read_only_figure_and_page(tmp_path):
    import os
    X, y = nn.datasets.make_moons(12, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=2, record=True)
    for name, draw in [("report.png", nn.plot.training_report),
                       ("page.html", nn.plot.training_page)]:
        kept = tmp_path / name
        kept.write_bytes(b"the user's")
        os.chmod(kept, 0o444)
        with pytest.raises(PermissionError, match="read-only"):
            draw(model, X, y, history, kept)
        assert kept.read_bytes() == b"the user's"
        draw(model, X, y, history, kept, force=True)
        assert kept.read_bytes()[:8] in (b"\x89PNG\r\n\x1a\n", b"<!DOCTYP")
    nn.plot.history(history, tmp_path / "report.png", force=True)
    nn.plot.decision_boundary(model, X, y, tmp_path / "report.png", force=True)
