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
