"""``autograd-mini site DIR`` and the playground's Python side (no browser here; see
test_playground_browser.py for the page itself)."""
from __future__ import annotations

import json
import math
import os
import shutil
import zipfile
from pathlib import Path

import pytest

import autograd_mini
import nn
from autograd_mini import playground, site
from autograd_mini.cli import main
from autograd_mini.ops import OPS

WEB = site.web_directory()
HAVE_ASSETS = (WEB / "node_modules" / "pyodide").is_dir() or shutil.which("npm") is not None
needs_assets = pytest.mark.skipif(not HAVE_ASSETS, reason="Node.js/npm are not installed and "
                                  "web/node_modules is missing: the site cannot be built")


def package_sources() -> dict[str, bytes]:
    """The project's own .py files as they lie on disk, read independently of site.py."""
    files = {}
    for package in (autograd_mini, nn):
        top = Path(package.__file__).parent
        for path in top.rglob("*.py"):
            if "__pycache__" not in path.parts:
                files[f"{top.name}/{path.relative_to(top).as_posix()}"] = path.read_bytes()
    return files


@needs_assets
def test_site_carries_the_engines_own_source_and_the_runtime(tmp_path):
    assert main(["site", str(tmp_path / "out")]) == 0
    page = tmp_path / "out" / "playground"
    for name in ("index.html", "playground.js", "worker.js", "vendor/viz.js",
                 "vendor/pyodide/pyodide.mjs", "vendor/pyodide/pyodide.asm.wasm",
                 "vendor/pyodide/python_stdlib.zip"):
        assert (page / name).is_file(), name
    with zipfile.ZipFile(page / "engine.zip") as archive:
        packed = {name: archive.read(name) for name in archive.namelist()}
    sources = package_sources()
    assert len(sources) > 30
    for name, data in sources.items():
        assert packed.get(name) == data, f"{name} differs from the package's file"
    assert not any(name.startswith("numpy/") for name in packed)
    assert (page / "vendor" / "pyodide" / "pyodide.asm.wasm").read_bytes()[:4] == b"\0asm"
    # no address outside the site in the page files
    for name in ("index.html", "playground.js", "worker.js", "playground.css"):
        text = (page / name).read_text("utf-8")
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text and "cdn" not in text.lower()


@needs_assets
def test_site_writes_only_into_a_new_empty_or_earlier_site_directory(tmp_path, capsys):
    kept = tmp_path / "notes"
    kept.mkdir()
    (kept / "mine.txt").write_text("keep me")
    assert main(["site", str(kept)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "not empty" in error
    assert os.listdir(kept) == ["mine.txt"] and (kept / "mine.txt").read_text() == "keep me"
    target = tmp_path / "site"
    assert main(["site", str(target)]) == 0
    assert main(["site", str(target)]) == 0  # updating a site written before is fine
    plain = tmp_path / "a-file"
    plain.write_text("x")
    assert main(["site", str(plain)]) == 2 and plain.read_text() == "x"


def test_site_without_node_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    web = tmp_path / "web"
    web.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(WEB / name, web / name)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["site", str(tmp_path / "out"), "--web", str(web)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "Node.js and npm" in error and "apt-get install nodejs npm" in error
    assert not (tmp_path / "out").exists()


def test_assets_not_at_the_pinned_versions_are_installed_again(tmp_path, monkeypatch, capsys):
    web = tmp_path / "web"
    (web / "node_modules" / "pyodide").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(WEB / name, web / name)
    for name in site.RUNTIME:  # every file there, but the package says another version
        (web / "node_modules" / "pyodide" / name).write_text("old")
    (web / "node_modules" / "pyodide" / "package.json").write_text('{"version": "0.26.0"}')
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # so npm ci is wanted and missing
    assert main(["site", str(tmp_path / "out"), "--web", str(web)]) == 2
    assert "needs Node.js and npm" in capsys.readouterr().err


def test_web_packages_are_pinned_exactly():
    declared = json.loads((WEB / "package.json").read_text())["dependencies"]
    locked = json.loads((WEB / "package-lock.json").read_text())["packages"]
    assert set(declared) == {"pyodide", "@viz-js/viz"}
    for name, version in declared.items():
        assert version[0].isdigit(), f"{name} is not pinned: {version}"
        assert locked[f"node_modules/{name}"]["version"] == version
    assert declared["pyodide"].startswith("314.")


# -- the Python side of the page ----------------------------------------------------------------

def finite_difference(text: str, values: dict, name: str, h: float = 1e-6) -> float:
    """d output / d name by central differences, from the expression's values alone."""
    def at(shift):
        moved = dict(values, **{name: values[name] + shift})
        return autograd_mini.expr.evaluate(text, moved).data
    return (at(h) - at(-h)) / (2 * h)


@pytest.mark.parametrize("text, values", [
    ("c = a + b; d = b + 1; e = c * d", {"a": 2.0, "b": 1.0}),
    ("tanh(w * x + b) ** 2", {"w": 0.5, "x": -1.5, "b": 0.25}),
])
def test_expression_derivatives_match_central_differences(text, values):
    given = " ".join(f"{k}={v}" for k, v in values.items())
    result = json.loads(playground.call("expression", json.dumps({"text": text, "values": given})))
    assert "error" not in result
    for name, shown in result["derivatives"]:
        assert float(shown) == pytest.approx(finite_difference(text, values, name), rel=1e-3)
    captions = [frame["c"] for frame in result["player"]["frames"]]
    assert "digraph" in result["player"]["dot"]
    assert captions[0].startswith(list(values)[0]) and "sends" in " ".join(captions)


@pytest.mark.parametrize("text, values, expected", [
    ("__import__('os')", "", "unknown function '__import__'"),
    ("a.__class__", "a=1", "attribute access"),
    ("a +", "a=1", "syntax error"),
    ("foo(a)", "a=1", "unknown function 'foo'"),
    ("a * b", "a=1", "no value for b"),
    ("a * 2", "a=x", "the value of a must be a number"),
    ("a * b", "a=1", "no value for b"),
])
def test_bad_expressions_give_one_line(text, values, expected):
    answer = json.loads(playground.call("expression", json.dumps({"text": text, "values": values})))
    assert set(answer) == {"error"}
    assert expected in answer["error"] and "\n" not in answer["error"]


def test_menus_list_every_one_operand_op_of_the_table():
    activations = playground.options()["activations"]
    for name, op in OPS.items():
        if op.arity == 1:
            assert name in activations
    assert set(playground.options()["datasets"]) == {"moons", "circles", "spirals", "xor"}


def test_network_state_is_the_models_forward_pass_by_hand():
    network = playground.Network({"dataset": "xor", "hidden": [3], "activation": "tanh",
                                  "seed": 3, "points": 20})
    state = network.state()
    (hidden, output) = state["parameters"]
    low, high = state["span"]
    grid = state["grid"]
    step = (high - low) / (grid - 1)
    for row, column in [(0, 0), (5, 17), (grid - 1, grid - 1)]:
        x1, x2 = low + column * step, high - row * step
        h = [math.tanh(w1 * x1 + w2 * x2 + b) for w1, w2, b in hidden]
        out = sum(w * v for w, v in zip(output[0][:-1], h)) + output[0][-1]
        at = row * grid + column
        assert state["output"][at] == pytest.approx(out, rel=1e-9, abs=1e-12)
        for k in range(3):
            assert state["tiles"][k][at] == pytest.approx(h[k], rel=1e-9, abs=1e-12)


def test_training_learns_moons_and_point_pass_gives_the_hinge_loss():
    state = json.loads(playground.call("reset", json.dumps({"settings": {"seed": 1}})))
    assert state["epoch"] == 0
    for _ in range(40):
        state = json.loads(playground.call("train", json.dumps({"epochs": 5})))
        if state["accuracy"] >= 0.95:
            break
    assert state["accuracy"] >= 0.95
    # accuracy by hand from the drawn parameters' model
    network = playground._session["network"]
    right = sum((network.model.predict(x) > 0) == (label == 1)
                for x, label in zip(network.X, network.y))
    assert right / len(network.X) >= 0.9
    point = json.loads(playground.call("point", json.dumps({"index": 4})))
    out = network.model.predict(network.X[4])
    target = 1.0 if network.y[4] else -1.0
    assert point["output"] == pytest.approx(out)
    assert point["loss"] == pytest.approx(max(0.0, 1.0 - target * out))
    assert any("sends" in frame["c"] for frame in point["player"]["frames"])


def test_bad_network_settings_leave_the_session_as_it_was():
    json.loads(playground.call("reset", json.dumps({"settings": {"hidden": [4]}})))
    before = playground._session["network"]
    for settings, expected in [({"hidden": [99]}, "hidden layers"), ({"lr": -1}, "lr must be"),
                               ({"activation": "exec"}, "unknown activation"),
                               ({"dataset": "iris"}, "unknown dataset")]:
        answer = json.loads(playground.call("reset", json.dumps({"settings": settings})))
        assert expected in answer["error"]
    assert playground._session["network"] is before
    assert "no data point" in json.loads(playground.call("point", '{"index": 10000}'))["error"]


def test_divergence_is_reported_and_training_stops():
    json.loads(playground.call("reset", json.dumps({"settings": {
        "loss": "mse", "lr": 10.0, "hidden": [16, 16], "activation": "relu", "batch": 0}})))
    for _ in range(20):
        state = json.loads(playground.call("train", '{"epochs": 5}'))
        if state["diverged"]:
            break
    where = state["diverged"]
    assert where["text"].startswith(f"epoch {state['epoch']}: the loss became inf or NaN")
    assert state["loss"] is None
    stopped = json.loads(playground.call("train", '{"epochs": 5}'))["epoch"]
    assert stopped == state["epoch"]
    # the weights drawn are the last finite ones, and the parameter named has the largest
    # gradient there, the one shown
    network = playground._session["network"]
    assert [p.data for p in network.model.parameters()] == where["weights"]
    assert all(math.isfinite(p.data) for p in network.model.parameters())
    network._loss_value().backward()
    largest = max(network.model.parameters(), key=lambda p: abs(p.grad))
    assert largest.label == where["parameter"] and largest.grad == where["gradient"]
    # the path ends at it, each edge an edge of the graph, its product the one shown
    assert where["path"][0]["from"] == "loss" and where["path"][-1]["to"] == largest.label
    assert math.prod(edge["local"] for edge in where["path"]) == \
        pytest.approx(where["product"], rel=1e-12)
    # rewind: the weights the run started from, exactly (seed 1 of nn.MLP draws them)
    rewound = json.loads(playground.call("rewind"))
    assert rewound["epoch"] == 0 and rewound["diverged"] is None
    fresh = nn.MLP(2, [16, 16, 1], activation="relu", seed=1).parameters()
    assert [p.data for p in network.model.parameters()] == [p.data for p in fresh]


def test_the_code_shown_trains_the_same_model_in_cpython():
    network = playground.Network({"dataset": "circles", "hidden": [5], "activation": "relu",
                                  "loss": "mse", "seed": 4, "points": 40})
    namespace = {}
    exec(network.code().replace("epochs=100", "epochs=2"), namespace)
    model = namespace["model"]
    assert [p.data for p in nn.MLP(2, [5, 1], activation="relu", seed=4).parameters()] != \
        [p.data for p in model.parameters()]  # it trained
    assert namespace["history"].epochs == 2 and len(namespace["y"]) == 40
    assert set(namespace["y"]) == {-1, 1}


def test_gradcheck_rows_agree_with_differences_of_the_models_float_path():
    network = playground.Network({"dataset": "moons", "hidden": [3], "seed": 5, "points": 16,
                                  "loss": "bce", "l2": 0.01})
    network.train(2)
    before = [p.grad for p in network.model.parameters()]
    rows = network.gradcheck()["rows"]
    assert [p.grad for p in network.model.parameters()] == before  # the last step's, kept
    targets = [float(label) for label in network.y]

    def loss_by_hand() -> float:  # bce with logits + (l2/2) sum of squared weights, floats only
        total = 0.0
        for x, t in zip(network.X, targets):
            z = network.model.predict(x)
            total += math.log1p(math.exp(-abs(z))) + max(z, 0.0) - t * z
        weights = sum(w.data ** 2 for w in network.model.weights())
        return total / len(targets) + 0.5 * 0.01 * weights

    by_name = {p.label: p for p in network.model.parameters()}
    for name, reverse, numeric, difference, agree in rows:
        p, kept, h = by_name[name], by_name[name].data, 1e-5
        p.data = kept + h
        up = loss_by_hand()
        p.data = kept - h
        down = loss_by_hand()
        p.data = kept
        assert reverse == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-7)
        assert agree and difference < 1e-6


def test_parameters_list_every_one_and_write_the_update():
    network = playground.Network({"hidden": [2], "seed": 0, "batch": 0, "lr": 0.5})
    network.train(1)
    table = network.parameters()
    assert len(table["rows"]) == 2 * 3 + 3
    name, value, grad = table["rows"][-1]
    assert name == "b1[0]"
    assert f"= {value:.4g}" in table["lines"][1] and f"× {grad:.4g}" in table["lines"][1]
    assert "relu(1 − y·out)" in table["lines"][0]


def test_a_network_too_big_to_step_through_says_so_in_one_line():
    playground.call("reset", json.dumps({"settings": {"hidden": [16, 16, 16]}}))
    answer = json.loads(playground.call("point", '{"index": 0}'))
    assert answer["error"].startswith("this network is too big to step through")
    assert "fewer or narrower hidden layers" in answer["error"]


def test_the_ledger_sums_a_reused_nodes_terms_and_points_at_the_players_steps():
    result = playground.expression("c = a + b; d = b + 1; e = c * d", "a=2 b=1")
    rows = [(row["term"], row["numbers"], row["total"]) for row in result["ledger"]]
    assert rows == [  # by hand: de/dc = d = 2, de/dd = c = 3, de/db = 2 + 3
        ("c.grad += e.grad · ∂e/∂c", "1 · 2 = 2", "c.grad = 2"),
        ("d.grad += e.grad · ∂e/∂d", "1 · 3 = 3", "d.grad = 3"),
        ("a.grad += c.grad · ∂c/∂a", "2 · 1 = 2", "a.grad = 2"),
        ("b.grad += c.grad · ∂c/∂b", "2 · 1 = 2", "b.grad = 2"),
        ("b.grad += d.grad · ∂d/∂b", "3 · 1 = 3", "b.grad = 2 + 3 = 5"),
    ]
    frames = result["player"]["frames"]
    for row in result["ledger"]:
        giver = row["term"].split(" += ")[1].split(".")[0]
        taker = row["term"].split(".")[0]
        assert frames[row["frame"]]["c"].startswith(f"{giver} sends ")
        assert f" to {taker}" in frames[row["frame"]]["c"]


def fake_web(tmp_path: Path) -> Path:
    """A ``web/`` whose node_modules hold placeholder assets at the pinned versions: the site
    builds from it without npm (only what is written where is checked, not the assets)."""
    web = tmp_path / "web"
    modules = web / "node_modules"
    for name in ("package.json", "package-lock.json"):
        (web / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(WEB / name, web / name)
    for name, version in json.loads((WEB / "package.json").read_text())["dependencies"].items():
        (modules / name).mkdir(parents=True, exist_ok=True)
        (modules / name / "package.json").write_text(json.dumps({"version": version}))
    for name in site.RUNTIME:
        (modules / "pyodide" / name).write_text("placeholder")
    modules.joinpath(*site.VIZ).parent.mkdir(parents=True, exist_ok=True)
    modules.joinpath(*site.VIZ).write_text("placeholder")
    return web


@pytest.mark.parametrize("make, what", [
    (lambda path, victim: path.symlink_to(victim), "a symbolic link"),
    (lambda path, victim: os.mkfifo(path), "a FIFO"),
    (lambda path, victim: path.mkdir(), "a directory"),
])
def test_a_rebuild_never_writes_through_or_replaces_what_is_not_a_regular_file(
        tmp_path, capsys, make, what):
    web, out, victim = fake_web(tmp_path), tmp_path / "s1", tmp_path / "victim"
    victim.write_text("the user's file")
    assert main(["site", str(out), "--web", str(web)]) == 0
    (out / "index.html").unlink()
    make(out / "index.html", victim)
    kind = os.lstat(out / "index.html").st_mode
    capsys.readouterr()
    assert main(["site", str(out), "--web", str(web)]) == 2  # a FIFO must not hang it
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"{out / 'index.html'} is {what}" in error
    assert victim.read_text() == "the user's file"
    assert os.lstat(out / "index.html").st_mode == kind  # left as it was, not replaced


def test_a_rebuild_refuses_a_linked_folder_inside_and_writes_nothing_through_it(
        tmp_path, capsys):
    web, out, elsewhere = fake_web(tmp_path), tmp_path / "s1", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert main(["site", str(out), "--web", str(web)]) == 0
    shutil.rmtree(out / "playground")
    (out / "playground").symlink_to(elsewhere)
    assert main(["site", str(out), "--web", str(web)]) == 2
    assert f"{out / 'playground'} is a symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_a_rebuild_replaces_each_file_by_a_new_regular_file(tmp_path):
    web, out = fake_web(tmp_path), tmp_path / "s1"
    assert main(["site", str(out), "--web", str(web)]) == 0
    (out / "index.html").write_text("edited")
    os.link(out / "index.html", tmp_path / "second-name")  # the old file under another name
    assert main(["site", str(out), "--web", str(web)]) == 0
    assert (tmp_path / "second-name").read_text() == "edited"  # replaced, not written into
    template = Path(site.__file__).parent / "templates" / "playground" / "site-index.html"
    assert (out / "index.html").read_bytes() == template.read_bytes()
