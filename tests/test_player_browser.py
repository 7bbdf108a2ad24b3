"""The HTML player in a real headless browser (Debian's chromium, driven by Playwright).

Needs `apt-get install chromium` and `pip install playwright` (its own browser download is not
used: `playwright install` is never run). Screenshots go to a temporary folder, or to the folder
named by AUTOGRAD_MINI_SCREENSHOTS (the README's pictures: AUTOGRAD_MINI_SCREENSHOTS=docs/images).
"""
import os
import shutil
from pathlib import Path

import pytest
from conftest import build_seed_graph, thousand_frame_trace

from autograd_mini import Value, trace
from autograd_mini.trace import _send_runs

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install playwright)")

CHROMIUM = os.environ.get("AUTOGRAD_MINI_CHROMIUM") or shutil.which("chromium") or \
    "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1100, "height": 700}
PHONE = {"width": 390, "height": 844}
# the player's colours (its legend): receiving, sending, input
RECEIVING, SENDING, INPUT = "rgb(253, 186, 116)", "rgb(249, 168, 212)", "rgb(219, 234, 254)"

pytestmark = [pytest.mark.slow,  # a browser
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="Debian's chromium is not installed "
                                        "(apt-get install chromium)")]


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = os.environ.get("AUTOGRAD_MINI_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def recorded():
    with trace() as t:
        e = build_seed_graph()[-1]
    t.backward(e)
    return t


def network_trace():
    """A 2-4-3-1 network on one example: its build and backward (a neuron's sends grouped)."""
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 3, 1], seed=1)
    with trace() as t:
        out = model([0.5, -1.0])
    t.backward(out)
    return t


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, path, viewport):
    tab = browser.new_page(viewport=viewport)
    tab.set_default_timeout(10_000)
    tab.requests, tab.errors = [], []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda message: message.type == "error" and
           tab.errors.append(message.text))
    tab.goto(Path(path).as_uri())
    return tab


@pytest.fixture(scope="module")
def page(recorded, browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("player") / "steps.html"
    recorded.to_html(path)
    tab = open_page(browser, path, DESKTOP)
    yield tab
    tab.close()


def state(page):
    return {"frame": int(page.get_attribute("#player", "data-frame")),
            "step": int(page.get_attribute("#player", "data-step")),
            "caption": page.text_content(".agm-caption"),
            "counter": page.text_content(".agm-counter"),
            "svg": page.inner_html(".agm-stage")}


def fill_of(page, name):
    """The computed fill of the node whose first text is ``name`` (or starts ``name =``)."""
    return page.evaluate("""name => {
        for (const g of document.querySelectorAll('.agm-stage g.node')) {
            const first = g.querySelector('text');
            if (first && (first.textContent === name || first.textContent.startsWith(name + ' =')))
                return getComputedStyle(g.querySelector('path, polygon, ellipse')).fill;
        }
        return null; }""", name)


def grad_row(page, name):
    return page.evaluate("""name => {
        for (const g of document.querySelectorAll('.agm-stage g.node')) {
            const texts = Array.from(g.querySelectorAll('text')).map(t => t.textContent);
            if (texts[0] === name || texts[0].startsWith(name + ' ='))
                return texts.find(t => t.startsWith('grad'));
        }
        return null; }""", name)


def view_box(page):
    return [float(x) for x in page.get_attribute(".agm-stage svg", "viewBox").split()]


def test_loads_offline_and_shows_the_first_step(page, recorded):
    first = state(page)
    assert first["frame"] == 0 and first["caption"] == "a = 2"
    assert first["counter"] == f"1 / {len(recorded.frames)}"  # the summary is the last step
    assert "<svg" in first["svg"]
    assert page.is_disabled(".agm-prev") and not page.is_disabled(".agm-next")
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert page.errors == []


def test_next_and_previous_change_frame_and_caption(page, recorded):
    page.keyboard.press("Home")
    before = state(page)
    page.click(".agm-next")
    after = state(page)
    assert after["frame"] == 1 and after["caption"] == recorded.frames[1].caption == "b = 1"
    assert after["counter"].startswith("2 / ") and after["svg"] != before["svg"]
    page.click(".agm-prev")
    assert state(page)["frame"] == 0


def test_the_story_colours_and_grads(page):
    """Inputs have their own colour; grads read "–" before backward; at "e sends 1 x 3 = 3 to d"
    e is sending, d receiving, and d's pile reads 3 (by hand)."""
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert state(page)["caption"] == "e = c * d = 6"
    assert fill_of(page, "a") == INPUT and fill_of(page, "b") == INPUT
    assert grad_row(page, "a") == "grad –" and grad_row(page, "e") == "grad –"
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert state(page)["caption"] == "e sends 1 x 3 = 3 to d"
    assert fill_of(page, "e") == SENDING and fill_of(page, "d") == RECEIVING
    assert grad_row(page, "d") == "grad 3" and grad_row(page, "c") == "grad 2"
    assert grad_row(page, "a") == "grad –"
    lit = page.eval_on_selector_all(".agm-stage g.edge.on", "edges => edges.length")
    assert lit == 1


def test_keyboard_arrows_home_end_and_the_summary(page, recorded):
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert state(page)["caption"] == "c = a + b = 3"
    page.keyboard.press("ArrowLeft")
    assert state(page)["frame"] == 1
    page.keyboard.press("End")
    assert state(page)["caption"] == "every input's derivative: de/da = 2, de/db = 5"
    assert page.is_visible(".agm-summary table")
    assert grad_row(page, "a") == "grad 2" and grad_row(page, "b") == "grad 5"
    page.keyboard.press("ArrowLeft")
    assert state(page)["caption"] == recorded.frames[-2].caption
    page.keyboard.press("Home")
    assert state(page)["frame"] == 0 and grad_row(page, "a") == "grad –"


def test_slider_and_step_list(page, recorded):
    page.fill(".agm-slider", "8")  # step 8 is frame 7
    assert state(page)["frame"] == 7
    assert state(page)["caption"] == recorded.frames[7].caption == "e sends 1 x 3 = 3 to d"
    page.click('.agm-steps li[data-frame="5"]')
    assert state(page)["caption"] == "start at e: de/de = 1"


def test_play_reaches_the_last_step_and_stops(page, recorded):
    last = len(recorded.frames) - 1  # the summary
    page.keyboard.press("Home")
    page.select_option(".agm-speed", "4")
    page.click(".agm-play")
    page.wait_for_function(
        f"document.getElementById('player').dataset.frame === '{last}' && !document.getElementById('player').hasAttribute('data-playing')",
        timeout=20_000)
    assert state(page)["caption"].startswith("every input's derivative")
    assert page.is_disabled(".agm-next") and "Play" in page.text_content(".agm-play")
    assert page.errors == []


def test_zoom_and_pan(page):
    page.click(".agm-fit")
    page.keyboard.press("Home")
    whole = view_box(page)
    page.click(".agm-zoomin")
    closer = view_box(page)
    assert closer[2] < whole[2] and closer[3] < whole[3]
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert view_box(page)[2] > closer[2]
    box = page.locator(".agm-stage").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)  # wheel up: zoom in at the pointer
    zoomed = view_box(page)
    assert zoomed[2] < whole[2]
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 40, steps=4)
    page.mouse.up()
    panned = view_box(page)
    assert panned[0] < zoomed[0] and panned[2] == pytest.approx(zoomed[2])
    page.click(".agm-fit")
    assert view_box(page) == pytest.approx(whole)


def test_desktop_screenshot(page, screenshots):
    page.keyboard.press("Home")
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    page.click(".agm-fit")
    page.screenshot(path=str(screenshots / "player-desktop.png"))


def test_phone_next_never_scrolls_and_keeps_the_active_node_in_view(browser, tmp_path,
                                                                      screenshots):
    t = network_trace()
    path = tmp_path / "network.html"
    t.to_html(path)
    tab = open_page(browser, path, PHONE)
    try:
        caption_box = tab.locator(".agm-captionbox").bounding_box()
        stage = tab.locator(".agm-stage").bounding_box()
        captions = [tab.text_content(".agm-caption")]
        for _ in range(10):
            tab.click(".agm-next")
            assert tab.evaluate("window.scrollY") == 0
            assert tab.evaluate("document.scrollingElement.scrollTop") == 0
            assert tab.locator(".agm-captionbox").bounding_box() == caption_box  # a fixed place
            captions.append(tab.text_content(".agm-caption"))
            frame = int(tab.get_attribute("#player", "data-frame"))
            for node in tab.evaluate(
                    f"JSON.parse(document.getElementById('player-data').textContent)"
                    f".frames[{frame}].f"):
                r = tab.locator(f".agm-stage [id=\"n{node}\"]").bounding_box()
                centre = (r["x"] + r["width"] / 2, r["y"] + r["height"] / 2)
                assert stage["x"] <= centre[0] <= stage["x"] + stage["width"]
                assert stage["y"] <= centre[1] <= stage["y"] + stage["height"]
                assert 0 <= centre[0] <= PHONE["width"] and 0 <= centre[1] <= PHONE["height"]
        assert len(set(captions)) == len(captions)  # each Next told a new step
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tab.keyboard.press("End")
        for _ in range(5):  # back into backward, where a neuron's sends are one step
            tab.keyboard.press("ArrowLeft")
        assert tab.evaluate("window.scrollY") == 0
        tab.screenshot(path=str(screenshots / "player-phone.png"))
        assert tab.errors == []
    finally:
        tab.close()


def test_a_neurons_sends_are_one_step_that_opens(browser, tmp_path, screenshots):
    t = network_trace()
    path = tmp_path / "network.html"
    t.to_html(path)
    tab = open_page(browser, path, DESKTOP)
    try:
        head = tab.locator(".agm-steps li[data-group]").first
        members = tab.locator(".agm-steps li.member")
        assert members.count() > 0 and not members.first.is_visible()  # closed
        head.click()  # showing the group: all its edges lit at once
        assert tab.text_content(".agm-kind") == "backward"
        assert "sends 1 x its edges' derivatives to its" in tab.text_content(".agm-caption")
        lit = tab.eval_on_selector_all(".agm-stage g.edge.on", "edges => edges.length")
        assert lit >= 3
        head.locator(".toggle").click()  # open: Next now walks the sends one by one
        assert members.first.is_visible()
        first = int(tab.get_attribute("#player", "data-frame"))
        tab.click(".agm-next")
        frame = int(tab.get_attribute("#player", "data-frame"))
        assert frame > first - 10 and tab.eval_on_selector_all(
            ".agm-stage g.edge.on", "edges => edges.length") == 1
        tab.keyboard.press("End")
        tab.screenshot(path=str(screenshots / "player-network.png"))
        assert tab.errors == []
    finally:
        tab.close()


def test_step_numbers_of_any_size_are_shown_whole(browser, tmp_path):
    """231 steps: "231." is written whole in the list (not cut to "31.")."""
    with trace() as t:
        x = Value(1.0, label="x")
        y = x
        for _ in range(115):
            y = y * 1.0
    t.backward(y)
    assert len(t.frames) > 230
    path = tmp_path / "long.html"
    t.to_html(path, max_nodes=1000)
    tab = open_page(browser, path, PHONE)
    try:
        tab.keyboard.press("End")
        item = tab.locator('.agm-steps li[data-frame="230"] .n')
        assert item.text_content() == "231"
        box, line = item.bounding_box(), tab.locator(".agm-steps").bounding_box()
        assert box["x"] >= line["x"] and box["width"] > 0
        assert tab.evaluate("""() => { const n = document.querySelector(
            '.agm-steps li[data-frame="230"] .n'); return n.scrollWidth <= n.clientWidth + 1; }""")
    finally:
        tab.close()


def test_a_thousand_frame_trace_plays(browser, tmp_path):
    t = thousand_frame_trace()
    path = tmp_path / "big.html"
    t.to_html(path)
    assert path.stat().st_size <= 2_000_000
    tab = open_page(browser, path, DESKTOP)
    try:
        tab.keyboard.press("End")
        assert tab.text_content(".agm-caption").startswith("every input's derivative")
        tab.keyboard.press("Home")
        assert int(tab.get_attribute("#player", "data-frame")) == 0
        grouped = {f for first, last, *_ in _send_runs(t.frames) for f in range(first, last + 1)}
        target = next(f for f in range(900, len(t.frames)) if f not in grouped)
        tab.click(f'.agm-steps li[data-frame="{target}"]')
        assert int(tab.get_attribute("#player", "data-frame")) == target
        assert tab.text_content(".agm-caption") == t.frames[target].caption
        assert tab.errors == []
    finally:
        tab.close()


def test_without_scripts_the_page_shows_the_last_step(recorded, browser, tmp_path):
    """Where scripts do not run, the picture (at the last step: every derivative) and the
    list of steps are still there."""
    path = tmp_path / "steps.html"
    recorded.to_html(path)
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        tab = context.new_page()
        tab.goto(path.as_uri())
        assert tab.locator(".agm-stage svg").is_visible()
        texts = tab.eval_on_selector_all(".agm-stage text", "ts => ts.map(t => t.textContent)")
        assert {"grad 2", "grad 5", "grad 3", "grad 1"} <= set(texts)  # the piles, by hand
        items = tab.locator(".agm-steps li[data-frame]")
        assert items.count() == len(recorded.frames)
        assert items.last.text_content().endswith("de/da = 2, de/db = 5")
    finally:
        context.close()
