"""The playground page in headless chromium, served from 127.0.0.1 with every other request
refused: the engine loads, expression mode draws and steps, bad input gets one line, the network
trains and pauses, a clicked point is stepped through, and a phone screen never scrolls sideways.

One site is built and one page loaded per module (loading Python in WebAssembly takes seconds).
"""
from __future__ import annotations

import importlib.util
import io
import math
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from autograd_mini import site

SHOTS = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", "")) if \
    os.environ.get("PLAYGROUND_SCREENSHOTS") else None

playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


def _bench():
    """bench/playground.py: serving the site and opening it offline (the benchmark does too)."""
    path = Path(__file__).resolve().parent.parent / "bench" / "playground.py"
    spec = importlib.util.spec_from_file_location("playground_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


offline = _bench()
if not os.path.exists(offline.CHROMIUM):
    pytest.skip(f"needs chromium at {offline.CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
if not (site.web_directory() / "node_modules" / "pyodide").is_dir() and not shutil.which("npm"):
    pytest.skip("needs Node.js and npm to build the site (apt-get install nodejs npm)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    site.build(root)
    server, base = offline.serve(root)
    yield root, base
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=offline.CHROMIUM, args=offline.ARGS)
        yield launched
        launched.close()


def _open(browser, served, width, height, fragment=""):
    context, page, _, refused, problems = offline.open_offline(browser, served[1], width, height,
                                                               fragment)
    return context, page, refused, problems


@pytest.fixture(scope="module")
def desktop(browser, served):
    context, page, refused, problems = _open(browser, served, 1280, 900)
    yield page
    assert refused == [], f"requests outside the site were attempted: {refused}"
    assert problems == [], f"errors in the page: {problems}"
    context.close()


def _shot(page, name):
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_page_runs_the_projects_own_source(desktop, served):
    root, base = served
    footer = desktop.inner_text("#version")
    assert footer.startswith("autograd_mini ") and "from /engine/autograd_mini" in footer
    assert "on Python 3.14" in footer
    archive = desktop.request.get(base + "/playground/engine.zip").body()
    import autograd_mini
    top = Path(autograd_mini.__file__).parent
    with zipfile.ZipFile(io.BytesIO(archive)) as packed:
        for path in top.glob("*.py"):
            assert packed.read(f"autograd_mini/{path.name}") == path.read_bytes(), path.name
    wasm = desktop.request.get(base + "/playground/vendor/pyodide/pyodide.asm.wasm")
    assert wasm.headers["content-type"] == "application/wasm"


def test_expression_mode_draws_steps_and_derivatives(desktop):
    desktop.click("[data-testid=mode-expression]")
    desktop.fill("[data-testid=expression]", "c = a + b; d = b + 1; e = c * d")
    desktop.fill("[data-testid=values]", "a=2 b=1")
    desktop.click("[data-testid=run]")
    desktop.wait_for_function("document.querySelector('#expression-result').textContent"
                              ".includes('∂/∂b = 5')")
    assert "e = 6" in desktop.inner_text("#expression-result")   # (2+1)(1+1); de/da = b+1 = 2
    assert "∂/∂a = 2" in desktop.inner_text("#expression-result")
    graph = desktop.locator("#expression [data-testid=graph] svg")
    assert graph.count() == 1
    caption = desktop.locator("#expression [data-testid=caption]")
    assert caption.inner_text() == "a = 2"           # step 1: the first node made
    desktop.click("#expression [data-testid=last]")
    assert "de/da = 2" in caption.inner_text() and "de/db = 5" in caption.inner_text()
    labels = graph.text_content()
    assert "c = a + b" in labels and "5" in labels
    ledger = desktop.locator("#expression-ledger tbody tr")
    assert ledger.count() == 5
    assert ledger.last.inner_text().split("\t")[-1] == "b.grad = 2 + 3 = 5"
    ledger.nth(1).click()                               # jumps the player to that step
    assert caption.inner_text() == "e sends 1 x 3 = 3 to d"
    desktop.select_option("#forward", "b")            # forward mode from b: de/db = 5 again
    desktop.wait_for_function("document.querySelector('#expression-result').textContent"
                              ".includes('forward mode: de/db = 5')")
    _shot(desktop, "expression")


@pytest.mark.parametrize("text, expected", [
    ("__import__('os')", "unknown function '__import__'"),
    ("a +", "syntax error"),
    ("zork(a)", "unknown function 'zork'"),
    ("a * q", "no value for q"),
])
def test_bad_expressions_get_one_line_and_the_page_keeps_working(desktop, text, expected):
    desktop.click("[data-testid=mode-expression]")
    desktop.fill("[data-testid=values]", "a=2 b=1")
    desktop.fill("[data-testid=expression]", text)
    desktop.click("[data-testid=run]")
    error = desktop.locator("[data-testid=error]")
    error.wait_for(state="visible")
    assert expected in error.inner_text() and "\n" not in error.inner_text().strip()
    desktop.fill("[data-testid=expression]", "x = a * a")
    desktop.click("[data-testid=run]")
    desktop.wait_for_function("document.querySelector('#expression-result').textContent"
                              ".includes('∂/∂a = 4')")
    assert error.is_hidden()


def test_network_trains_pauses_and_steps(desktop):
    desktop.click("[data-testid=mode-network]")
    desktop.click("#reset")
    desktop.wait_for_function("document.querySelector('[data-testid=epoch]').textContent === '0'")
    assert desktop.locator("[data-testid=plane] circle").count() == 100
    desktop.click("[data-testid=train]")
    desktop.wait_for_function("Number(document.querySelector('[data-testid=epoch]').textContent)"
                              " >= 10", timeout=60_000)
    desktop.click("[data-testid=train]")
    time.sleep(1.0)  # a request under way finishes; then nothing more
    paused_at = desktop.inner_text("[data-testid=epoch]")
    time.sleep(1.0)
    assert desktop.inner_text("[data-testid=epoch]") == paused_at
    accuracy = float(desktop.inner_text("[data-testid=accuracy]").rstrip("%"))
    assert 50.0 <= accuracy <= 100.0
    desktop.click("#step")
    desktop.wait_for_function(f"Number(document.querySelector('[data-testid=epoch]')"
                              f".textContent) === {int(paused_at) + 1}")
    desktop.locator("#epoch").click()                  # away from the fields: keys work
    desktop.keyboard.press("s")
    desktop.wait_for_function(f"Number(document.querySelector('[data-testid=epoch]')"
                              f".textContent) === {int(paused_at) + 2}")
    hidden = sum(int(w) for w in desktop.input_value("[name=hidden]").split(","))
    assert desktop.locator("#net image.tile").count() == 2 + hidden + 1
    assert "nn.MLP(2, [8, 8, 1], activation='tanh', seed=1)" in \
        desktop.locator("#code").text_content()
    desktop.click("#inspect summary")
    desktop.locator("#parameters tbody tr").first.wait_for()
    assert desktop.locator("#parameters tbody tr").count() == 3 * 8 + 9 * 8 + 9  # 2-8-8-1
    desktop.click("#gradcheck")
    desktop.locator("#gradcheck-result table").wait_for()
    assert "agrees with central differences" in desktop.inner_text("#gradcheck-result")
    _shot(desktop, "network")


def test_clicking_a_point_steps_through_its_passes(desktop):
    desktop.click("[data-testid=mode-network]")
    desktop.locator("[data-testid=plane] circle").nth(7).dispatch_event("click")
    steps = desktop.locator("[data-testid=point-steps]")
    steps.wait_for(state="visible")
    steps.locator("[data-testid=graph] svg").wait_for()
    assert "Point 7" in steps.inner_text()
    steps.locator("[data-testid=last]").click()
    assert "dloss/dw0" in steps.locator("[data-testid=caption]").inner_text()
    _shot(desktop, "point")
    # both players stay mounted; the keys go to the one in the view shown
    point_frame = steps.locator(".agm-player").get_attribute("data-frame")
    desktop.click("[data-testid=mode-expression]")
    expression = desktop.locator("#expression-player")
    expression.locator(".agm-caption").click()
    desktop.keyboard.press("Home")
    desktop.keyboard.press("ArrowRight")
    assert expression.get_attribute("data-frame") == "1"
    assert steps.locator(".agm-player").get_attribute("data-frame") == point_frame
    desktop.click("[data-testid=mode-network]")
    assert steps.is_visible()


def test_own_points_by_tapping_and_by_csv(desktop):
    desktop.click("[data-testid=mode-network]")
    desktop.click("#own summary")
    desktop.fill("#csv", "")
    desktop.click("#reset")
    desktop.wait_for_function("document.querySelectorAll('[data-testid=plane] circle')"
                              ".length === 100")
    desktop.check("input[name=tap][value='1']")
    box = desktop.locator("[data-testid=plane]").bounding_box()
    desktop.mouse.click(box["x"] + 0.9 * box["width"], box["y"] + 0.1 * box["height"])
    desktop.wait_for_function("document.querySelectorAll('[data-testid=plane] circle')"
                              ".length === 101")
    added = desktop.locator("[data-testid=plane] circle").last
    assert added.get_attribute("fill") == "#2563eb"    # class 1's colour, where it was tapped
    assert float(added.get_attribute("cx")) == pytest.approx(0.9 * 320, abs=3)
    assert float(added.get_attribute("cy")) == pytest.approx(0.1 * 320, abs=3)
    desktop.check("input[name=tap][value='']")
    desktop.fill("#csv", "0.5, 0.5, 1\n-0.5, -0.5, 0\n0.5, -0.5, 0\n-0.5, 0.5, 1")
    desktop.click("#reset")
    desktop.wait_for_function("document.querySelectorAll('[data-testid=plane] circle')"
                              ".length === 4")
    desktop.fill("#csv", "0.5, 0.5, 7")
    desktop.click("#reset")
    error = desktop.locator("[data-testid=error]")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("line 1: expected x, y, class")
    desktop.fill("#csv", "")
    desktop.click("#reset")
    error.wait_for(state="hidden")
    desktop.click("#own summary")


def _state(page):
    return page.evaluate("window.autogradMiniPlayground.ask('state')")


def test_divergence_pauses_says_where_and_rewinds_to_the_same_weights(desktop):
    import nn
    from autograd_mini.playground import Network
    desktop.click("[data-testid=mode-network]")
    for name, value in (("hidden", "8, 8"), ("batch", "10"), ("lr", "50"), ("seed", "1")):
        desktop.fill(f"[name={name}]", value)
    desktop.select_option("#activation", "tanh")
    desktop.select_option("#loss", "mse")  # each change resets; the last one settles the network
    desktop.wait_for_function("location.hash.includes('loss=mse') && location.hash.includes('lr=50')")
    initial = [p for layer in _state(desktop)["parameters"] for neuron in layer for p in neuron]
    desktop.click("[data-testid=train]")
    message = desktop.locator("[data-testid=diverged]")
    message.wait_for(state="visible", timeout=60_000)
    assert desktop.inner_text("[data-testid=train]") == "Play"   # paused by itself
    assert desktop.inner_text("#loss-value") == "diverged"
    where = _state(desktop)["diverged"]
    path = desktop.locator("[data-testid=divergence-path]")
    shown = [float(x) for x in path.locator("li").evaluate_all(
        "items => items.map(item => item.dataset.local)")]
    assert len(shown) == len(where["path"]) >= 3
    product = math.prod(shown)
    assert float(path.get_attribute("data-product")) == pytest.approx(product, rel=1e-9)
    assert where["parameter"] in message.inner_text()
    # ∂loss/∂p at the last finite weights, by central differences in this Python (not the
    # page's reverse mode): the gradient the path belongs to
    network = Network({"hidden": [8, 8], "lr": 50, "loss": "mse", "seed": 1})
    parameters = network.model.parameters()
    for p, data in zip(parameters, where["weights"]):
        p.data = data
    chosen = next(p for p in parameters if p.label == where["parameter"])
    kept, eps = chosen.data, 1e-6 * max(1.0, abs(chosen.data))
    chosen.data = kept + eps
    up = network._loss_value().data
    chosen.data = kept - eps
    down = network._loss_value().data
    chosen.data = kept
    numeric = (up - down) / (2 * eps)
    gradient = float(path.get_attribute("data-gradient"))
    assert gradient == pytest.approx(numeric, rel=1e-3)
    # the path is one of the paths whose products sum to that gradient: same sign, and its
    # share is what the page says it is
    assert product * gradient > 0 and abs(product) <= abs(gradient) * (1 + 1e-9)
    assert f"{100 * product / gradient:.3g}%" in message.inner_text()
    _shot(desktop, "diverged")
    desktop.click("[data-testid=rewind]")
    message.wait_for(state="hidden")
    assert desktop.inner_text("[data-testid=epoch]") == "0"
    rewound = [p for layer in _state(desktop)["parameters"] for neuron in layer for p in neuron]
    assert rewound == initial                                      # bit for bit
    expected = nn.MLP(2, [8, 8, 1], activation="tanh", seed=1).parameters()
    assert [p.data for p in expected] == rewound                   # the weights seed 1 draws
    desktop.fill("[name=lr]", "0.1")
    desktop.select_option("#loss", "hinge")
    desktop.wait_for_function("location.hash.includes('loss=hinge')")


def test_phone_has_no_sideways_scroll_and_a_link_sets_the_page(browser, served):
    link = "#dataset=xor&hidden=4,4&activation=relu&seed=7&lr=0.05"
    context, page, refused, problems = _open(browser, served, 390, 844, link)
    try:
        assert page.input_value("#dataset") == "xor" and page.input_value("[name=hidden]") == "4, 4"
        assert page.locator("#net image.tile").count() == 2 + 4 + 4 + 1
        assert "make_xor(n_samples=100, noise=0.1, seed=7)" in page.locator("#code").text_content()
        assert "lr=0.05" in page.locator("#code").text_content()
        page.select_option("#activation", "sigmoid")
        page.wait_for_function("location.hash.includes('activation=sigmoid')")
        assert "seed=7" in page.evaluate("location.hash")
        for mode in ("network", "expression"):
            page.click(f"[data-testid=mode-{mode}]")
            if mode == "expression":
                page.locator("#expression [data-testid=graph] svg").wait_for()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{mode} mode is {width} px wide on a 390 px screen"
            _shot(page, f"phone-{mode}")
        page.click("[data-testid=mode-network]")
        page.click("[data-testid=train]")
        page.wait_for_function("Number(document.querySelector('[data-testid=epoch]')"
                               ".textContent) >= 2", timeout=60_000)
        page.click("[data-testid=train]")
        assert refused == [] and problems == []
    finally:
        context.close()
