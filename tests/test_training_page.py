"""The training page (nn.plot.training_page) in a real headless browser, and its numbers.

Every number the page shows must be the engine's for that point and epoch. The oracle here is
independent of the page's code: the model's parameters are set to the recorded ones, and the
network, the hinge loss and the L2 penalty are written out by hand with Values (products one by
one, not the affine op; no nn loss function), then ``backward()``.

Needs Debian's chromium and Playwright, as tests/test_player_browser.py. Screenshots go to a
temporary folder; with ``AUTOGRAD_MINI_SCREENSHOTS=docs/images`` they are written there
(docs/images/training-page.png and training-page-phone.png, used by the README).
"""
import base64
import gzip
import math
import os
import shutil
import struct

import pytest

import nn
from autograd_mini import Value

CHROMIUM = os.environ.get("AUTOGRAD_MINI_CHROMIUM") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
) or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
L2 = 1e-4
EPOCHS = 40
POSITIVE, NEGATIVE = "#762A83", "#1B7837"  # the page's colours for a sign (purple, green)


@pytest.fixture(scope="module")
def run():
    """micrograd's demo network (2-16-16-1, ReLU, hinge + L2, SGD with a falling rate) on 100
    moons, 40 epochs, full batch: what ``autograd-mini train moons --epochs 40 --page`` does."""
    X, y = nn.datasets.make_moons(100, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", l2=L2, epochs=EPOCHS, record=True,
                     optimizer=nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, EPOCHS)))
    return model, X, y, history


@pytest.fixture(scope="module")
def page_path(run, tmp_path_factory):
    model, X, y, history = run
    path = tmp_path_factory.mktemp("page") / "training.html"
    nn.plot.training_page(model, X, y, history, path, title="moons")
    return path


def by_hand(model, parameters, X, y, l2=L2):
    """The oracle: every neuron's (input sum, activation) nodes for every point, after one
    backward pass of mean hinge loss + (l2/2) * sum of squared weights, with ``parameters``."""
    for p, value in zip(model.parameters(), parameters):
        p.data = value
        p.grad = 0.0
    nodes, margins = [], []
    for row, target in zip(X, y):
        a = [Value(float(v)) for v in row]
        mine = []
        for layer in model.layers:
            out = []
            for neuron in layer.neurons:
                net = neuron.b
                for w, x in zip(neuron.w, a):
                    net = net + w * x
                act = net.relu() if layer.activation == "relu" else net
                mine.append((net, act))
                out.append(act)
            a = out
        nodes.append(mine)
        sign = 1.0 if target > 0 else -1.0  # labels 0/1 are the hinge's -1/+1
        margins.append((1 - sign * a[0]).relu())
    loss = sum(margins[1:], margins[0]) * (1.0 / len(margins))
    weights = [w for layer in model.layers for neuron in layer.neurons for w in neuron.w]
    squares = [w * w for w in weights]
    loss = loss + sum(squares[1:], squares[0]) * (0.5 * l2)
    loss.backward()
    return loss.data, nodes


def close(shown: str, value: float) -> bool:
    """The page shows 4 significant digits of a float32."""
    return float(shown) == pytest.approx(value, rel=1e-3, abs=1e-30)


# -- without a browser --------------------------------------------------------------------------

@pytest.mark.slow
def test_snapshot_losses_and_stored_numbers_are_the_engines(run):
    model, X, y, history = run
    data = nn.plot.page_data(model, X, y, history)
    assert data["epochs"] == list(range(EPOCHS + 1)) and data["epochs_trained"] == EPOCHS
    # full batch: the loss at snapshot k's parameters is the loss fit measured in epoch k
    for k in range(EPOCHS):
        assert data["snapshot"]["loss"][k] == pytest.approx(history.loss[k], rel=1e-5)
    raw = gzip.decompress(base64.b64decode(data["blob"]))
    floats = struct.unpack(f"<{data['floats']}f", raw[:4 * data["floats"]])
    n_params, n_neurons = model.num_parameters(), 33
    per_snapshot = 2 * n_params + len(X) * n_neurons * 4
    assert data["floats"] == len(data["epochs"]) * per_snapshot
    k, point = 17, 42
    start = k * per_snapshot
    kept = [p.data for p in model.parameters()]
    loss, nodes = by_hand(model, history.recording.parameters[k], X, y)
    grads = [p.grad for p in model.parameters()]
    for p, value in zip(model.parameters(), kept):
        p.data = value
    assert data["snapshot"]["loss"][k] == pytest.approx(loss, rel=1e-5)
    assert floats[start:start + n_params] == pytest.approx(history.recording.parameters[k],
                                                           rel=1e-6)
    assert floats[start + n_params:start + 2 * n_params] == pytest.approx(grads, rel=1e-5,
                                                                           abs=1e-30)
    at = start + 2 * n_params + point * n_neurons * 4
    expected = [x for net, act in nodes[point] for x in (net.data, act.data, net.grad, act.grad)]
    assert floats[at:at + n_neurons * 4] == pytest.approx(expected, rel=1e-5, abs=1e-30)
    # the grid: 48 x 48 bytes per snapshot after the floats
    assert len(raw) == 4 * data["floats"] + len(data["epochs"]) * 48 * 48


def test_snapshots_are_the_parameters_after_that_many_epochs(run):
    model, X, y, history = run
    again = nn.MLP(2, [16, 16, 1], seed=0)
    nn.fit(again, X, y, loss="hinge", l2=L2, epochs=7,
           optimizer=nn.SGD(again, lr=nn.linear_decay(1.0, 0.1, EPOCHS)))
    assert history.recording.parameters[7] == [p.data for p in again.parameters()]


@pytest.mark.slow
def test_page_is_self_contained_and_leaves_the_model_alone(run, page_path):
    model, X, y, history = run
    text = page_path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    body = text.split("<body", 1)[1]
    assert "http://" not in body.replace("http://www.w3.org/2000/svg", "") and "https://" not in body
    assert "<script src" not in text and "<link" not in text
    final = history.recording.parameters[-1]
    assert [p.data for p in model.parameters()] == final


@pytest.mark.slow
def test_page_errors_are_named(run, tmp_path):
    model, X, y, history = run
    plain = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=2)
    with pytest.raises(ValueError, match=r"record=True"):
        nn.plot.training_page(model, X, y, plain)
    with pytest.raises(ValueError, match="is it the model that was trained"):
        nn.plot.training_page(nn.MLP(2, [3, 1], seed=0), X, y, history)
    with pytest.raises(TypeError, match="nn.MLP"):
        nn.plot.training_page(nn.Neuron(2), X, y, history)
    with pytest.raises(ValueError, match="X has 100 rows but y has 3"):
        nn.plot.training_page(model, X, y[:3], history)
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        nn.plot.training_page(model, X, y, history, tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.plot.training_page(model, X, y, history, tmp_path / "no" / "t.html")
    own = nn.MLP(2, [3, 1], seed=0)
    mine = nn.fit(own, X, y, loss=lambda p, t: nn.hinge_loss(p, t), epochs=2, record=True)
    with pytest.raises(ValueError, match="pass it as training_page"):
        nn.plot.training_page(own, X, y, mine)
    assert nn.plot.training_page(own, X, y, mine, loss="hinge", max_snapshots=2).count(
        "<!DOCTYPE html>") == 1


def test_many_points_keep_the_page_small(monkeypatch):
    X, y = nn.datasets.make_moons(40, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=30, record=True)
    per_snapshot = 2 * 17 + 40 * 5 * 4
    monkeypatch.setattr(nn.plot, "MAX_PAGE_FLOATS", 10 * per_snapshot)
    data = nn.plot.page_data(model, X, y, history, resolution=8)
    assert len(data["epochs"]) == 10 and data["floats"] == 10 * per_snapshot
    assert data["epochs"][0] == 0 and data["epochs"][-1] == 30


def test_regression_has_no_classes_and_no_accuracy():
    X = [[x / 10, (x % 3) / 3] for x in range(12)]
    y = [a - b for a, b in X]
    model = nn.MLP(2, [3, 1], seed=0)
    history = nn.fit(model, X, y, loss="mse", epochs=3, record=True)
    data = nn.plot.page_data(model, X, y, history, resolution=8)
    assert data["labels"] is None and data["snapshot"]["accuracy"] == [None] * 4
    assert data["history"]["accuracy"] == []


def test_other_shapes_of_data(tmp_path):
    # three classes: the grid holds the class of each cell; three inputs: no plane at all
    X, y = nn.datasets.make_spirals(30, n_classes=3, seed=0)
    model = nn.MLP(2, [4, 3], seed=0)
    history = nn.fit(model, X, y, loss="cross_entropy", epochs=3, record=True)
    data = nn.plot.page_data(model, X, y, history, resolution=10)
    assert data["grid"]["kind"] == "classes" and data["classes"] == 3
    raw = gzip.decompress(base64.b64decode(data["blob"]))
    assert set(raw[4 * data["floats"]:]) <= {0, 1, 2}
    X3 = [[a, b, a * b] for a, b in X]
    model3 = nn.MLP(3, [4, 1], seed=0)
    history3 = nn.fit(model3, X3, [label % 2 for label in y], loss="bce", epochs=3, record=True)
    assert nn.plot.page_data(model3, X3, [label % 2 for label in y], history3)["grid"] is None


def test_train_page_option_writes_the_page_and_checks_the_path_first(tmp_path, capsys):
    from nn.cli import main
    path = tmp_path / "training.html"
    assert main(["train", "moons", "--samples", "20", "--hidden", "4", "--epochs", "3",
                 "--page", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"page   {path}" in out and path.read_text().startswith("<!DOCTYPE html>")
    assert '"epochs":[0,1,2,3]' in path.read_text()
    # a path that cannot be written is refused before any training
    for bad, message in [(tmp_path / "no" / "t.html", "does not exist"),
                         (tmp_path, "it is a directory")]:
        assert main(["train", "moons", "--epochs", "3", "--page", str(bad)]) == 1
        captured = capsys.readouterr()
        assert message in captured.err and "epoch" not in captured.out


# -- in the browser -----------------------------------------------------------------------------

try:
    from playwright import sync_api
except ImportError:
    sync_api = None
browser_test = pytest.mark.skipif(
    sync_api is None or not os.path.exists(CHROMIUM),
    reason="needs Playwright (pip install playwright) and Debian's chromium (apt-get install "
           "chromium)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def open_page(browser, path, width, height):
    tab = browser.new_page()
    tab.set_viewport_size({"width": width, "height": height})
    tab.set_default_timeout(20_000)
    tab.requests, tab.errors = [], []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
    tab.goto(path.as_uri())
    tab.wait_for_selector("body[data-ready=true]")
    return tab


def shoot(tab, tmp_path, name, full_page=False):
    """A screenshot, to AUTOGRAD_MINI_SCREENSHOTS when set (else the test's temporary folder)."""
    folder = os.environ.get("AUTOGRAD_MINI_SCREENSHOTS") or str(tmp_path)
    tab.screenshot(path=os.path.join(folder, name), full_page=full_page)


def set_epoch(tab, snapshot):
    tab.eval_on_selector("#epoch", "(e, k) => { e.value = k; "
                         "e.dispatchEvent(new Event('input', {bubbles: true})); }", snapshot)


def boundary(tab):
    return {"contour": tab.get_attribute("#contour", "d"),
            "pixels": tab.eval_on_selector("#boundary", "c => c.toDataURL()")}


def clickable_points(tab):
    """The data points drawn on top (not hidden under another), as a user could click them."""
    return tab.evaluate("""() => [...document.querySelectorAll('circle.point')].filter(c => {
            const box = c.getBoundingClientRect();
            return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === c;
        }).map(c => +c.dataset.index)""")


def a_point_with_a_gradient(run, snapshot, candidates):
    """One of ``candidates`` inside the hinge's margin at that snapshot (its gradients are not 0)."""
    model, X, y, history = run
    kept = [p.data for p in model.parameters()]
    try:
        _, nodes = by_hand(model, history.recording.parameters[snapshot], X, y)
    finally:
        for p, value in zip(model.parameters(), kept):
            p.data = value
    return next(i for i in candidates if nodes[i][-1][1].grad != 0)


def shown_neurons(tab):
    return tab.eval_on_selector_all(
        "#neurons tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def check_numbers(tab, run, snapshot, point):
    """The neuron table and the parameter table against the oracle."""
    model, X, y, history = run
    kept = [p.data for p in model.parameters()]
    try:
        _, nodes = by_hand(model, history.recording.parameters[snapshot], X, y)
        grads = [p.grad for p in model.parameters()]
        values = [p.data for p in model.parameters()]
    finally:
        for p, value in zip(model.parameters(), kept):
            p.data = value
    rows = shown_neurons(tab)
    assert len(rows) == len(nodes[point]) == 33
    names = [f"{l}[{j}]" for l, layer in enumerate(model.layers) for j in range(layer.nout)]
    assert [row[0] for row in rows] == names
    nonzero = 0
    for row, (net, act) in zip(rows, nodes[point]):
        for shown, value in zip(row[1:], (net.data, act.data, net.grad, act.grad)):
            assert close(shown, value), (row, net, act)
        nonzero += act.grad != 0
    params = tab.eval_on_selector_all(
        "#parameters tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert [row[0] for row in params] == [p.label for p in model.parameters()]
    for row, value, grad in zip(params, values, grads):
        assert close(row[1], value) and close(row[2], grad), row
    return nonzero


@pytest.mark.slow
@browser_test
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_training_page_in_a_browser(browser, run, page_path, size, tmp_path):
    width, height = (1280, 900) if size == "desktop" else (390, 844)
    tab = open_page(browser, page_path, width, height)
    try:
        assert tab.errors == []
        assert all(url.startswith("file://") for url in tab.requests), tab.requests
        assert tab.get_attribute("body", "data-epoch") == "0"
        # nothing wider than the screen
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        # the slider moves the boundary, the marker and the label
        first = boundary(tab)
        set_epoch(tab, EPOCHS)
        last = boundary(tab)
        assert tab.get_attribute("body", "data-epoch") == str(EPOCHS)
        assert tab.text_content("#epoch-label") == f"epoch {EPOCHS} / {EPOCHS}"
        assert first["contour"] != last["contour"] and first["pixels"] != last["pixels"]
        assert first["contour"].count("M") > 5  # a boundary is drawn
        # clicking a point shows its network at that epoch, with the engine's numbers
        snapshot = 12
        set_epoch(tab, snapshot)
        point = a_point_with_a_gradient(run, snapshot, clickable_points(tab))
        tab.click(f"circle.point[data-index='{point}']")
        assert tab.get_attribute("body", "data-point") == str(point)
        assert tab.text_content("#point-info").startswith(f"point {point}:")
        assert "at epoch 12" in tab.text_content("#point-info")
        assert check_numbers(tab, run, snapshot, point) > 0  # some neurons' gradients are not 0
        # another epoch, same point: the numbers follow
        set_epoch(tab, 3)
        check_numbers(tab, run, 3, point)
        # edges coloured by weight: as many as weights, green for negative, purple positive
        edges = tab.eval_on_selector_all(
            "#network line", "ls => ls.map(l => [l.getAttribute('stroke'), +l.dataset.weight])")
        assert len(edges) == 2 * 16 + 16 * 16 + 16
        assert all(color == (POSITIVE if w >= 0 else NEGATIVE) for color, w in edges)
        assert tab.errors == []
        set_epoch(tab, 20)
        tab.click(f"circle.point[data-index='{point}']")
        shoot(tab, tmp_path, "training-page.png" if size == "desktop" else
              "training-page-phone.png", full_page=size == "phone")
    finally:
        tab.close()


@pytest.mark.slow
@browser_test
def test_play_button_runs_through_the_epochs(browser, page_path):
    tab = open_page(browser, page_path, 1280, 900)
    try:
        tab.click("#play")
        tab.wait_for_function(f"document.body.dataset.epoch === '{EPOCHS}'")
        assert "Play" in tab.text_content("#play")  # it stopped at the end
        tab.fill("#point-index", "7")
        tab.dispatch_event("#point-index", "change")
        assert tab.get_attribute("body", "data-point") == "7"
        assert tab.errors == []
    finally:
        tab.close()


# -- hostile text, diverged runs, the legend, gradients, taps ------------------------------------

HOSTILE = ["<!--<script>", "</script><script>window.hacked = 1</script>", "__DATA__ __TITLE__",
           "<img src=x onerror='window.hacked=2'>", "&amp; &lt;b&gt; ]]> \u2028 \u2029 ' \" `"]


@pytest.fixture(scope="module")
def small_run():
    X, y = nn.datasets.make_moons(30, noise=0.1, seed=1)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=6, record=True)
    return model, X, y, history


def test_hostile_text_stays_text_in_the_page_source(small_run, tmp_path):
    """No user text can end the data's script, open a comment in it, or fill a placeholder."""
    model, X, y, history = small_run
    title = " ".join(HOSTILE)
    page = nn.plot.training_page(model, X, y, history, title=title, class_names=HOSTILE[:2])
    script = page.split('<script type="application/json" id="data">', 1)[1].split("</script>")[0]
    assert "<" not in script and ">" not in script and "&" not in script
    import json
    assert json.loads(script)["title"] == title  # the same string, only escaped
    assert page.split("<title>", 1)[1].split("</title>")[0] == __import__("html").escape(title)


def test_a_diverged_run_gives_a_page_that_says_what_diverged(tmp_path):
    X, y = nn.datasets.make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=8, record=True,
                     optimizer=nn.SGD(model, lr=1e30))
    assert not all(map(__import__("math").isfinite, history.loss))  # it did diverge
    data = nn.plot.page_data(model, X, y, history, resolution=8)
    said = " ".join(data["diverged"])
    assert "the training diverged: the loss is" in said and "not finite" in said
    assert None in data["history"]["loss"] and None in data["snapshot"]["loss"]
    page = nn.plot.training_page(model, X, y, history, tmp_path / "diverged.html")
    assert "NaN" not in page.split('id="data">', 1)[1].split("</script>")[0]


def test_a_nan_input_and_target_are_named(tmp_path):
    X, y = nn.datasets.make_moons(20, seed=0)
    X = [list(row) for row in X]
    X[3][0] = float("nan")
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=3, record=True)
    data = nn.plot.page_data(model, X, y, history, resolution=8)
    assert "point 3 has a value of X not finite: not drawn on the plane" in data["diverged"]
    assert data["inputs"][3][0] is None
    assert data["grid"] is not None and all(map(math.isfinite, data["grid"]["x"] + data["grid"]["y"]))
    targets = [a + b for a, b in X]  # a regression whose target is NaN where X is
    regression = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(regression, X, targets, loss="mse", epochs=2, record=True)
    said = nn.plot.page_data(regression, X, targets, history, resolution=8)["diverged"]
    assert "the target of point 3 is not finite" in said
    assert any(s.startswith("the training diverged: the loss is nan in epoch 1") for s in said)


def test_class_names_must_name_each_class(small_run):
    model, X, y, history = small_run
    with pytest.raises(ValueError, match="class_names must name each of the 2 classes"):
        nn.plot.page_data(model, X, y, history, class_names=["only one"])
    data = nn.plot.page_data(model, X, y, history, resolution=8)
    assert data["class_names"] == ["class 0", "class 1"]


@browser_test
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_hostile_text_is_shown_as_written_in_a_browser(browser, small_run, tmp_path, size):
    model, X, y, history = small_run
    title = " ".join(HOSTILE)
    labels = [p.label for p in model.parameters()]
    try:
        for p, text in zip(model.parameters(), HOSTILE):
            p.label = text
        hostile = nn.fit(model, X, y, loss="hinge", epochs=2, record=True)
        path = tmp_path / "hostile.html"
        nn.plot.training_page(model, X, y, hostile, path, title=title, class_names=HOSTILE[1:3])
    finally:
        for p, label in zip(model.parameters(), labels):
            p.label = label
    width, height = (1280, 900) if size == "desktop" else (390, 844)
    tab = open_page(browser, path, width, height)
    try:
        assert tab.errors == []
        assert tab.evaluate("window.hacked") is None
        assert tab.text_content("#title") == title and tab.title() == title
        names = tab.eval_on_selector_all("#parameters tbody tr td:first-child",
                                         "cells => cells.map(c => c.textContent)")
        assert names[:len(HOSTILE)] == HOSTILE
        legend = tab.text_content("#classes")
        assert HOSTILE[1] in legend and HOSTILE[2] in legend
        assert tab.eval_on_selector_all("img", "images => images.length") == 0
    finally:
        tab.close()


@browser_test
def test_a_diverged_run_draws_and_says_what_diverged_in_a_browser(browser, tmp_path):
    X, y = nn.datasets.make_moons(20, seed=0)
    X = [list(row) for row in X]
    X[2][1] = float("inf")
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=8, record=True,
                     optimizer=nn.SGD(model, lr=1e30))
    path = tmp_path / "diverged.html"
    nn.plot.training_page(model, X, y, history, path, title="diverged")
    for width, height, name in ((1280, 900, "diverged.png"), (390, 844, "diverged-phone.png")):
        tab = open_page(browser, path, width, height)
        try:
            assert tab.errors == []
            assert tab.is_visible("#diverged")
            said = tab.text_content("#diverged")
            assert "point 2 has a value of X not finite" in said and "diverged" in said
            assert tab.eval_on_selector_all("circle.point", "c => c.length") == 19
            set_epoch(tab, 8)
            assert tab.errors == [] and "not finite" in tab.text_content("#stats")
            shoot(tab, tmp_path, name, full_page=True)
        finally:
            tab.close()


@browser_test
def test_the_legend_the_axis_labels_and_one_meaning_per_colour(browser, run, page_path):
    tab = open_page(browser, page_path, 1280, 900)
    try:
        assert tab.text_content("#classes").startswith("class 0class 1")
        # every axis label of the curves lies inside the drawing
        boxes = tab.eval_on_selector_all("#curves text", """ts => ts.map(t => {
            const b = t.getBBox(); return [b.x, b.x + b.width]; })""")
        width = float(tab.eval_on_selector("#curves", "s => s.viewBox.baseVal.width"))
        assert all(0 <= left and right <= width for left, right in boxes), boxes
        # classes, signs and sizes never share a colour
        classes = set(tab.eval_on_selector_all("circle.point", "cs => cs.map(c => c.getAttribute('fill'))"))
        signs = set(tab.eval_on_selector_all("#network line", "ls => ls.map(l => l.getAttribute('stroke'))"))
        nodes = set(tab.eval_on_selector_all("#network .node circle", "cs => cs.map(c => c.getAttribute('fill'))"))
        assert classes == {"#0072B2", "#E69F00"} and signs == {POSITIVE, NEGATIVE}
        assert all(re_grey(fill) for fill in nodes), nodes
    finally:
        tab.close()


def re_grey(fill):
    """A grey (r = g = b) fill, as the page writes it: rgb(r,g,b) or #rrggbb."""
    import re
    found = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", fill)
    if found:
        return len(set(found.groups())) == 1
    return fill.lower() in ("#fff", "#f4f4f4", "#ffffff")


@browser_test
def test_the_gradients_toggle_colours_edges_by_the_engines_gradients(browser, run, page_path,
                                                                  tmp_path):
    model, X, y, history = run
    tab = open_page(browser, page_path, 1280, 900)
    try:
        set_epoch(tab, 12)
        tab.click("#show-gradients")
        assert tab.get_attribute("body", "data-showing") == "gradients"
        kept = [p.data for p in model.parameters()]
        try:
            by_hand(model, history.recording.parameters[12], X, y)
            grads = {p.label: p.grad for p in model.parameters()}
        finally:
            for p, value in zip(model.parameters(), kept):
                p.data = value
        weights = [w for layer in model.layers for n in layer.neurons for w in n.w]
        edges = tab.eval_on_selector_all(
            "#network line", "ls => ls.map(l => [l.getAttribute('stroke'), +l.getAttribute('stroke-width')])")
        assert len(edges) == len(weights)
        for (color, _), w in zip(edges, weights):  # the page draws them in this order
            g = grads[w.label]
            assert color == (POSITIVE if g >= 0 else NEGATIVE), (w.label, g)
        biggest = max(range(len(weights)), key=lambda i: abs(grads[weights[i].label]))
        assert edges[biggest][1] == max(width for _, width in edges)
        assert "positive gradient" in tab.text_content("#point")
        shoot(tab, tmp_path, "training-page-gradients.png")
        tab.click("#show-weights")
        assert "positive weight" in tab.text_content("#point") and tab.errors == []
    finally:
        tab.close()


@browser_test
def test_a_tap_near_a_point_chooses_it_on_a_phone(browser, page_path):
    tab = open_page(browser, page_path, 390, 844)
    try:
        # the point farthest from the others: a tap 15 CSS px away from it (less than a
        # fingertip) must choose it
        centres = tab.eval_on_selector_all("circle.point", """cs => cs.map(c => {
            const b = c.getBoundingClientRect();
            return [+c.dataset.index, b.x + b.width / 2, b.y + b.height / 2, b.width / 2]; })""")
        def alone(item):
            return min(((item[1] - o[1]) ** 2 + (item[2] - o[2]) ** 2) ** 0.5
                       for o in centres if o[0] != item[0])
        index, x, y, radius = max(centres, key=alone)
        assert alone((index, x, y, radius)) > 15
        nearest = min((o for o in centres if o[0] != index),
                      key=lambda o: (o[1] - x) ** 2 + (o[2] - y) ** 2)
        away = ((x - nearest[1]), (y - nearest[2]))
        norm = (away[0] ** 2 + away[1] ** 2) ** 0.5
        tab.mouse.click(x + 15 * away[0] / norm, y + 15 * away[1] / norm)  # 15 px off, away
        assert tab.get_attribute("body", "data-point") == str(index)
        assert radius >= 3.5  # visible
    finally:
        tab.close()


@browser_test
@pytest.mark.parametrize("width", [1280, 390])
def test_no_two_texts_of_the_curves_overlap(browser, run, page_path, tmp_path, width):
    """The axis labels (the top one, e.g. "1.633"), the panels' captions ("loss (log scale)"),
    the epochs: no two of their boxes overlap, at desktop and phone width; and a caption sits
    clear of its panel's box, where the curve and the snapshot's dot are drawn."""
    tab = open_page(browser, page_path, width, 900)
    try:
        boxes = tab.eval_on_selector_all("#curves text", """ts => ts.map(t => {
            const b = t.getBoundingClientRect();
            return [t.textContent, b.left, b.top, b.right, b.bottom]; })""")
        panels = tab.eval_on_selector_all("#curves rect", """rs => rs.map(r => {
            const b = r.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })""")
        shoot(tab, tmp_path, f"training-curves-{width}.png")
    finally:
        tab.close()
    for i, (a, al, at, ar, ab) in enumerate(boxes):
        for b, bl, bt, br, bb in boxes[i + 1:]:
            assert ar <= bl or br <= al or ab <= bt or bb <= at, f"{a!r} overlaps {b!r}"
    captions = [box for box in boxes if box[0] in ("loss", "loss (log scale)", "accuracy")]
    assert len(captions) == len(panels) == 2
    for (name, _, _, _, bottom), (_, top, _, _) in zip(captions, panels):
        assert bottom <= top, f"the caption {name!r} runs into its panel"
