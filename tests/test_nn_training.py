"""Training learns for real: micrograd's demo reproduced, spirals with cross-entropy, fit's contract."""
import base64
import importlib.util
import io
import json
import random

import pytest

import nn
from autograd_mini import Value

# micrograd 0.1.0's demo.ipynb: the printed total loss of step 0, and the same run of micrograd
# 0.1.0 (same data, same weights) at full precision for the later steps; the notebook prints
# 1.7236 (step 1), 0.1173 (22), 0.0602 (40, its first 100%) and 0.01098 at step 99, accuracy 100%.
MICROGRAD_LOSS = {0: 0.8958441028683222, 1: 1.7235905336972022, 22: 0.11733695088756488,
                  40: 0.06016009895234471}


def micrograd_demo_data():
    """The demo's data: sklearn.make_moons(100, noise=0.1) after np.random.seed(1337).

    scikit-learn builds the two half circles, shuffles them with the global NumPy generator, then
    adds its Gaussian noise; done here step by step (no scikit-learn needed).
    """
    np = pytest.importorskip("numpy")
    rs = np.random.RandomState(1337)
    X, y = nn.datasets.make_moons(100, noise=0.0, shuffle=False)
    order = np.arange(100)
    rs.shuffle(order)
    X = np.array(X)[order] + rs.normal(scale=0.1, size=(100, 2))
    return X.tolist(), [2 * int(label) - 1 for label in np.array(y)[order]]


@pytest.mark.slow
def test_micrograds_demo_reaches_100_percent_with_micrograds_numbers():
    X, y = micrograd_demo_data()
    random.seed(1337)  # the demo seeds Python's random, from which micrograd draws its weights
    model = nn.MLP(2, [16, 16, 1])
    # the demo's loss: hinge + 1e-4 * sum(p*p) over every parameter (biases included)
    demo_loss = lambda scores, ys: nn.hinge_loss(scores, ys) + nn.l2_penalty(  # noqa: E731
        model.parameters(), 2e-4)
    history = nn.fit(model, X, y, loss=demo_loss, accuracy=nn.train.binary_correct,
                     optimizer=nn.SGD(model.parameters(), lr=nn.linear_decay(1.0, 0.1, 100)),
                     epochs=100, shuffle=False)
    for step, loss in MICROGRAD_LOSS.items():
        assert history.loss[step] == pytest.approx(loss, rel=1e-9), step
    assert history.accuracy[0] == 0.5 and history.accuracy[1] == 0.81
    assert history.accuracy[40] == 1.0 and history.accuracy[-1] == 1.0
    assert f"{history.loss[99]:.5f}" == "0.01098"
    assert history.lr == [1.0 - 0.9 * k / 100 for k in range(100)]
    # and after the last step too
    assert nn.evaluate(model, X, y, loss="hinge")[1] == 1.0


def test_spirals_three_classes_cross_entropy():
    """120 points on 3 arms (noise 0.2): MLP(2, [12, 12, 3]), Adam, batches of 10, 20 epochs.

    Measured: 98.3% of the training points right; asserted: at least 95% (chance is 33%).
    """
    X, y = nn.datasets.make_spirals(120, n_classes=3, seed=0)
    model = nn.MLP(2, [12, 12, 3], seed=0)
    history = nn.fit(model, X, y, loss="cross_entropy", optimizer=nn.Adam(model, lr=0.03),
                     epochs=20, batch_size=10, seed=0)
    loss, accuracy = nn.evaluate(model, X, y, loss="cross_entropy")
    assert accuracy >= 0.95
    assert history.loss[-1] < 0.3 * history.loss[0]


def test_fit_with_bce_learns_xor():
    X, y = nn.datasets.make_xor(60, seed=0)
    model = nn.MLP(2, [8, 1], "tanh", seed=0)
    nn.fit(model, X, y, loss="bce", optimizer=nn.Adam(model, lr=0.05), epochs=60, batch_size=20)
    assert nn.evaluate(model, X, y, loss="bce")[1] >= 0.9


def test_full_batch_minibatch_and_single_example_step_counts():
    X, y = nn.datasets.make_moons(10, seed=0)
    for batch_size, steps_per_epoch in [(None, 1), (1, 10), (4, 3)]:
        model = nn.MLP(2, [4, 1], seed=0)
        optimizer = nn.SGD(model, lr=0.01)
        history = nn.fit(model, X, y, loss="hinge", optimizer=optimizer, epochs=3,
                         batch_size=batch_size)
        assert optimizer.steps == 3 * steps_per_epoch
        assert history.epochs == 3 and len(history.accuracy) == 3 and len(history.lr) == 3


def order_seen(seed, shuffle=True, epochs=2):
    seen = []

    def recording_loss(predictions, targets):
        seen.extend(targets)
        return nn.mse_loss(predictions, targets)

    X = [[float(i)] for i in range(6)]
    model = nn.MLP(1, [1], seed=0)
    nn.fit(model, X, list(range(6)), loss=recording_loss, optimizer=nn.SGD(model, lr=1e-6),
           epochs=epochs, batch_size=2, seed=seed, shuffle=shuffle)
    return seen


def test_shuffling_is_seeded_and_changes_every_epoch():
    first = order_seen(seed=3)
    assert first == order_seen(seed=3)
    assert first != order_seen(seed=4)
    assert sorted(first[:6]) == list(range(6)) and first[:6] != first[6:]
    assert order_seen(seed=3, shuffle=False) == list(range(6)) * 2


def test_history_loss_is_the_mean_over_the_epochs_steps():
    X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 2.0, 3.0]
    model = nn.MLP(1, [1], seed=0)
    losses = []

    def recording_mse(predictions, targets):
        loss = nn.mse_loss(predictions, targets)
        losses.append(loss.data * len(targets))
        return loss

    history = nn.fit(model, X, y, loss=recording_mse, optimizer=nn.SGD(model, lr=0.01),
                     epochs=1, batch_size=3, shuffle=False)
    assert history.loss == [pytest.approx(sum(losses) / 4)]
    assert history.accuracy == []  # mse: no accuracy


def test_validation_callback_and_json_history():
    X, y = nn.datasets.make_moons(30, seed=0)
    Xv, yv = nn.datasets.make_moons(20, seed=1)
    model = nn.MLP(2, [8, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model, lr=0.1), epochs=10,
                     validation_data=(Xv, yv), callback=lambda epoch, h: epoch == 4)
    assert history.epochs == 5  # the callback stopped it after the fifth epoch
    assert len(history.val_loss) == len(history.val_accuracy) == 5
    assert json.loads(json.dumps(history.as_dict()))["loss"] == history.loss
    assert "5 epochs" in repr(history)


def test_progress_bar_shows_loss_and_accuracy(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    X, y = nn.datasets.make_moons(10, seed=0)
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=3, progress=True)
    text = stream.getvalue()
    assert "3/3" in text and "loss" in text and "accuracy" in text
    stream.truncate(0)
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=3, progress=False)
    assert stream.getvalue() == ""


def test_fit_accepts_numpy_arrays():
    np = pytest.importorskip("numpy")
    X, y = nn.datasets.make_moons(10, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, np.array(X), np.array(y), loss="hinge", epochs=2)
    assert history.epochs == 2


def test_compile_true_delegates_or_says_it_is_missing():
    X, y = nn.datasets.make_moons(10, seed=0)
    if importlib.util.find_spec("nn.compiled") is None:
        with pytest.raises(NotImplementedError, match="nn/compiled.py"):
            nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=1, compile=True)
    else:
        history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=2, compile=True)
        assert isinstance(history, nn.History) and history.epochs == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"X": [[1.0, 2.0]] * 3, "y": [1, 0]}, "X has 3 rows but y has 2 targets"),
    ({"X": [[1.0, 2.0, 3.0]], "y": [1]}, r"X\[0\] should be 2 numbers"),
    ({"X": [[1.0, "a"]], "y": [1]}, r"X\[0\] holds str"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer or None"),
    ({"l2": -1.0}, "l2 must be a number >= 0"),
    ({"y": [3]}, "labels must be -1 or \\+1"),
    ({"validation_data": ([[1.0, 2.0]], [1, 0])}, "validation X has 1 rows"),
])
def test_fit_errors_are_named(kwargs, message):
    arguments = {"X": [[1.0, 2.0]], "y": [1], "loss": "hinge", **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        nn.fit(nn.MLP(2, [3, 1], seed=0), **arguments)


def test_fit_needs_a_model_its_optimizer_and_a_loss_that_gives_a_value():
    with pytest.raises(TypeError, match="nn.Module"):
        nn.fit(lambda x: Value(0.0), [[1.0]], [1.0], loss="mse")
    model = nn.MLP(1, [1], seed=0)
    with pytest.raises(ValueError, match="holds none of the model's parameters"):
        nn.fit(model, [[1.0]], [1.0], loss="mse", optimizer=nn.SGD(nn.MLP(1, [1]), lr=0.1))
    with pytest.raises(TypeError, match="the loss function returned float"):
        nn.fit(model, [[1.0]], [1.0], loss=lambda p, t: 0.5)


# -- fit(record=True): snapshots of the parameters -----------------------------------------------

def test_record_keeps_the_parameters_after_each_epoch():
    X, y = nn.datasets.make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    initial = [p.data for p in model.parameters()]
    history = nn.fit(model, X, y, loss="hinge", l2=1e-3, epochs=4, record=True,
                     optimizer=nn.SGD(model, lr=0.1))
    recording = history.recording
    assert recording.epochs == [0, 1, 2, 3, 4]
    assert recording.parameters[0] == initial
    assert recording.parameters[-1] == [p.data for p in model.parameters()]
    assert recording.names[:3] == ["w0[0,0]", "w0[0,1]", "b0[0]"]
    assert recording.loss == "hinge" and recording.l2 == 1e-3
    # the oracle for snapshot 2: the same training stopped after 2 epochs
    again = nn.MLP(2, [4, 1], seed=0)
    nn.fit(again, X, y, loss="hinge", l2=1e-3, epochs=2, optimizer=nn.SGD(again, lr=0.1))
    assert recording.parameters[2] == [p.data for p in again.parameters()]
    # still JSON-ready, and the old fields are unchanged
    saved = json.loads(json.dumps(history.as_dict()))
    assert saved["recording"]["parameters"] == recording.parameters
    assert saved["loss"] == history.loss


def test_record_is_off_by_default_and_bounded_when_asked():
    X, y = nn.datasets.make_moons(10, seed=0)
    plain = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=3)
    assert plain.recording is None and plain.as_dict()["recording"] is None
    # at most 4 snapshots of 10 epochs: every 4th epoch, and the end
    bounded = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=10, record=4)
    assert bounded.recording.epochs == [0, 4, 8, 10]
    # stopped early by the callback: the last snapshot is where training ended
    stopped = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=10, record=True,
                     callback=lambda epoch, h: epoch == 2)
    assert stopped.recording.epochs == [0, 1, 2, 3]
    # a loss of your own is recorded without a name (the page then asks for it)
    own = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, loss=lambda p, t: nn.hinge_loss(p, t),
                 epochs=1, record=True)
    assert own.recording.loss is None
    for bad in (1, 0, "yes", 2.5):
        with pytest.raises(ValueError, match="record must be True, False, or the most"):
            nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=1, record=bad)


def test_record_with_compiled_steps_and_minibatches():
    pytest.importorskip("numpy")
    X, y = nn.datasets.make_moons(16, seed=0)
    histories = []
    for compile in (False, True):
        model = nn.MLP(2, [4, 1], seed=0)
        histories.append(nn.fit(model, X, y, loss="hinge", epochs=3, batch_size=5, record=True,
                                compile=compile, optimizer=nn.SGD(model, lr=0.1)))
    eager, compiled = (h.recording for h in histories)
    assert eager.epochs == compiled.epochs == [0, 1, 2, 3]
    for a, b in zip(eager.parameters, compiled.parameters):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)


# -- fit(live=...): the live plot in a notebook, with a fake display ----------------------------

class FakeDisplay:
    """IPython's display(obj, display_id=True) -> handle, handle.update(obj), recorded."""

    def __init__(self):
        self.calls = []

    def __call__(self, obj, display_id=None):
        self.calls.append(("display", obj._repr_html_(), display_id))
        return self

    def update(self, obj):
        self.calls.append(("update", obj._repr_html_(), None))


def test_live_display_is_one_display_updated_in_place():
    X, y = nn.datasets.make_moons(20, seed=0)
    display = FakeDisplay()
    history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=4, live=display)
    kinds = [kind for kind, _, _ in display.calls]
    assert kinds[0] == "display" and display.calls[0][2] is True
    assert kinds.count("display") == 1 and kinds.count("update") >= 2  # the first epoch, the end
    last = display.calls[-1][1]
    assert f"epoch 4: loss {history.loss[-1]:.4g}" in last
    assert f"accuracy {history.accuracy[-1]:.1%}" in last
    assert last.count("<svg") == 2 and "<polyline" in last  # the loss curve and the boundary
    png = base64.b64decode(last.split("data:image/png;base64,")[1].split('"')[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == bytes([0, 0, 0, 40, 0, 0, 0, 40])
    assert last.count("<circle") == 20  # the data points on the boundary


def test_live_display_without_a_plane_and_when_it_is_off(monkeypatch):
    display = FakeDisplay()
    X = [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]]
    nn.fit(nn.MLP(3, [2, 1], seed=0), X, [0.0, 1.0], loss="mse", epochs=2, live=display)
    assert display.calls[-1][1].count("<svg") == 1  # three inputs: the loss curve only
    # off: by default outside a notebook (and in tests), and with live=False
    monkeypatch.setattr(nn.plot, "LiveTraining", None)  # would fail if it were used
    nn.fit(nn.MLP(3, [2, 1], seed=0), X, [0.0, 1.0], loss="mse", epochs=2)
    nn.fit(nn.MLP(3, [2, 1], seed=0), X, [0.0, 1.0], loss="mse", epochs=2, live=False)
    with pytest.raises(TypeError, match="live must be True, False, None or a display function"):
        nn.fit(nn.MLP(3, [2, 1], seed=0), X, [0.0, 1.0], loss="mse", epochs=1, live="yes")


def test_in_notebook_means_a_kernel_outside_pytest(monkeypatch):
    import sys
    import types
    shell = types.SimpleNamespace(kernel=object())
    fake = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert nn.train.in_notebook() is False  # under pytest
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert nn.train.in_notebook() is True
    shell.kernel = None  # a terminal IPython has no kernel
    assert nn.train.in_notebook() is False
    monkeypatch.setitem(sys.modules, "IPython", None)
    assert nn.train.in_notebook() is False
