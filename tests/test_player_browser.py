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
COMPLETE, COMPLETE_INK = "rgb(187, 247, 208)", "rgb(21, 128, 61)"  # final: green, an input's ring

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
        numbers = head.locator(".n").text_content()  # "first–last", numbered as the steps
        assert tab.text_content(".agm-counter") == f"{numbers} / {len(t.frames)}"
        first, last = (int(x) for x in numbers.split("\u2013"))
        assert tab.get_attribute("#player", "data-step") == str(last)
        assert t.frames[first - 1].kind == "send" and t.frames[last - 1].kind == "send"
        assert "sends 1 x its edges' derivatives to its" in tab.text_content(".agm-caption")
        lit = tab.eval_on_selector_all(".agm-stage g.edge.on", "edges => edges.length")
        assert lit >= 3
        head.locator(".toggle").click()  # open: Next now walks the sends one by one
        assert members.first.is_visible()
        first = int(tab.get_attribute("#player", "data-frame"))
        tab.click(".agm-next")
        frame = int(tab.get_attribute("#player", "data-frame"))
        assert frame > first - 10 and tab.eval_on_selector_all(  # a send, or one of nothing
            ".agm-stage g.edge.on, .agm-stage g.edge.zero", "edges => edges.length") == 1
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


HOSTILE = ["</script><script>document.title='pwned'</script>", "<!--<script>", "__DATA__",
           "__SVG__", "__STEPS__", "\"quoted\" & 'single'"]


def test_hostile_labels_and_title_are_shown_as_written(browser, tmp_path):
    """Text a user wrote reaches the page as text: no placeholder, script or comment in it
    changes the page (each label is a caption, each title the heading)."""
    with trace() as t:
        nodes = [Value(float(k), label=text) for k, text in enumerate(HOSTILE)]
        total = nodes[0]
        for node in nodes[1:]:
            total = total + node
        total.label = "__TITLE__"
    t.backward(total)
    for title in HOSTILE:
        path = tmp_path / "hostile.html"
        t.to_html(path, title=title, backend="wasm")
        tab = open_page(browser, path, DESKTOP)
        try:
            assert tab.errors == []
            assert tab.text_content("#player h1") == title
            assert tab.title() == title
            for k, text in enumerate(HOSTILE):
                tab.click(f'.agm-steps li[data-frame="{k}"]')
                assert tab.text_content(".agm-caption") == f"{text} = {k}"
            assert tab.locator(".agm-steps li[data-frame]").count() == len(t.frames)
            tab.keyboard.press("End")
            assert tab.text_content(".agm-caption").startswith("every input's derivative")
            cells = tab.eval_on_selector_all(".agm-summary tr td:first-child",
                                             "cells => cells.map(c => c.textContent)")
            assert sorted(cells) == sorted(f"d__TITLE__/d{text}" for text in HOSTILE)
        finally:
            tab.close()


def focus_centre(tab):
    """The screen centre of the current step's nodes."""
    return tab.evaluate("""() => {
        const root = document.getElementById('player');
        const data = JSON.parse(document.getElementById('player-data').textContent);
        const ids = data.frames[+root.dataset.frame].f;
        let l = Infinity, t = Infinity, r = -Infinity, b = -Infinity;
        for (const i of ids) {
            const box = root.querySelector('[id="n' + i + '"]').getBoundingClientRect();
            l = Math.min(l, box.left); t = Math.min(t, box.top);
            r = Math.max(r, box.right); b = Math.max(b, box.bottom);
        }
        return [(l + r) / 2, (t + b) / 2]; }""")


def test_phone_fits_a_small_graph_keeps_the_fit_and_zooms_about_the_step(recorded, browser,
                                                                          tmp_path):
    """e = (a+b)(b+1) fits a 390 x 844 phone whole: shown whole (⤢ on), and kept whole while
    stepping; + zooms about the step's nodes (they stay where they were) and lets the fit go."""
    path = tmp_path / "steps.html"
    recorded.to_html(path)
    tab = open_page(browser, path, PHONE)
    try:
        whole = view_box(tab)
        picture = tab.evaluate("""() => { const b = document.querySelector('.agm-stage svg')
            .getBBox(); return [b.x, b.y, b.width, b.height]; }""")
        assert whole[2] >= picture[2] and whole[3] >= picture[3]  # everything in the view
        assert tab.get_attribute("#player", "data-fitted") is not None
        stage = tab.locator(".agm-stage").bounding_box()
        for _ in range(len(recorded.frames) - 1):
            tab.click(".agm-next")
            assert view_box(tab) == whole  # the fit is kept
        nodes = tab.locator(".agm-stage g.node")
        assert nodes.count() == 6
        for i in range(nodes.count()):  # every node on screen, whole
            box = nodes.nth(i).bounding_box()
            assert stage["x"] <= box["x"] and box["x"] + box["width"] <= stage["x"] + stage["width"]
            assert stage["y"] <= box["y"] and box["y"] + box["height"] <= stage["y"] + stage["height"]
        tab.keyboard.press("Home")
        for _ in range(7):
            tab.keyboard.press("ArrowRight")  # e sends 1 x 3 = 3 to d
        tab.screenshot(path=str(tmp_path / "player-phone-small.png"))  # looked at, not shipped
        before = focus_centre(tab)
        tab.click(".agm-zoomin")
        after = focus_centre(tab)
        assert view_box(tab)[2] < whole[2]
        assert after == pytest.approx(before, abs=1.5)  # zoomed about the step
        assert tab.get_attribute("#player", "data-fitted") is None
        tab.click(".agm-next")  # no longer fitted: stepping keeps what the user chose
        assert view_box(tab)[2] < whole[2]
        tab.click(".agm-fit")
        assert view_box(tab) == whole and tab.get_attribute("#player", "data-fitted") == ""
        assert tab.errors == []
    finally:
        tab.close()


def test_the_legend_folds_on_a_phone_and_opens(recorded, browser, tmp_path):
    path = tmp_path / "steps.html"
    recorded.to_html(path)
    for viewport, folded in ((PHONE, True), (DESKTOP, False)):
        tab = open_page(browser, path, viewport)
        try:
            swatch = tab.locator(".agm-legend .agm-swatch.complete").first
            assert swatch.is_visible() != folded
            if folded:
                tab.click(".agm-legend summary")
                assert swatch.is_visible()
                assert tab.evaluate("window.scrollY") == 0
        finally:
            tab.close()


def test_the_summary_shows_every_node_final(recorded, page):
    """The last step: every op node green, every input ringed green (the legend's colours),
    whatever the step before it showed."""
    page.keyboard.press("End")
    colours = page.evaluate("""() => Array.from(document.querySelectorAll('.agm-stage g.node'))
        .map(g => [g.querySelector('text').textContent, g.classList.contains('k-input'),
                   getComputedStyle(g.querySelector('path, polygon, ellipse')).fill,
                   getComputedStyle(g.querySelector('path, polygon, ellipse')).stroke])""")
    shown = {name: (is_input, fill, stroke) for name, is_input, fill, stroke in colours}
    for name in ("c = a + b", "d = b + 1", "e = c * d"):
        assert shown[name][1] == COMPLETE, name
    for name in ("a", "b"):
        assert shown[name][1] == INPUT and shown[name][2] == COMPLETE_INK, name


def test_one_step_numbering_everywhere(recorded, page):
    """The counter, the list and the slider count the same steps as len(t.frames), the CLI's
    "N steps" and a frame's "step N" in Jupyter."""
    n = len(recorded.frames)
    assert n == 12  # 5 made, the start, 5 sends, the summary (by hand)
    page.keyboard.press("End")
    assert page.text_content(".agm-counter") == f"{n} / {n}"
    assert page.locator(".agm-steps li[data-frame] .n").last.text_content() == str(n)
    assert page.get_attribute(".agm-slider", "max") == str(n)
    page.fill(".agm-slider", "9")
    assert page.text_content(".agm-counter") == f"9 / {n}"
    assert page.text_content(".agm-steps li.current .n") == "9"
    assert page.text_content(".agm-caption") == recorded.frames[8].caption
    assert recorded.frames[8].number == 9 and repr(recorded.frames[8]).startswith("<step 9,")


def test_mount_destroy_and_mount_again(recorded, page):
    """A page of its own (the playground) mounts the player from the data, destroys it and
    mounts another: one player's keys, not two, and its show() goes to a step."""
    page.evaluate("""() => {
        const root = document.getElementById('player');
        const data = JSON.parse(document.getElementById('player-data').textContent);
        data.svg = root.querySelector('.agm-stage svg').outerHTML;
        window.first = AutogradMiniPlayer.mount(root, data);
        window.first.destroy();
        window.second = AutogradMiniPlayer.mount(root, data);
        window.second.show(0); }""")
    page.keyboard.press("ArrowRight")
    assert state(page)["frame"] == 1 and state(page)["caption"] == recorded.frames[1].caption
    assert page.locator(".agm-stage svg").count() == 1
    page.evaluate("window.second.show(7)")
    assert state(page)["caption"] == "e sends 1 x 3 = 3 to d"
    assert page.errors == []


def _mount_hidden(page, name):
    """A second player of the page's data in a hidden 900x600 element: window[name + 'Root'],
    window[name + 'Player']."""
    page.evaluate("""name => {
        const root = document.getElementById('player');
        const data = JSON.parse(document.getElementById('player-data').textContent);
        data.svg = root.querySelector('.agm-stage svg').outerHTML;
        const hidden = document.createElement('div');
        hidden.style.cssText = 'display: none; width: 900px; height: 600px';
        document.body.append(hidden);
        window[name + 'Player'] = AutogradMiniPlayer.mount(hidden, data);
        window[name + 'Root'] = hidden; }""", name)


def test_a_player_mounted_out_of_sight_frames_its_view_when_shown(recorded, page):
    """Mounted in a hidden element (no size yet), the player shows the whole graph once the
    element is shown, not a view computed from a zero-sized stage."""
    _mount_hidden(page, "hidden")
    box = page.evaluate("window.hiddenRoot.querySelector('.agm-stage svg').getAttribute('viewBox')")
    page.evaluate("() => { window.hiddenRoot.style.display = 'block'; }")
    page.wait_for_function("""() => window.hiddenRoot.hasAttribute('data-fitted')""")
    shown = page.evaluate("window.hiddenRoot.querySelector('.agm-stage svg').getAttribute('viewBox')")
    assert "NaN" not in box and "NaN" not in shown and "Infinity" not in shown
    page.evaluate("() => { window.hiddenPlayer.destroy(); window.hiddenRoot.remove(); }")
    assert page.errors == []


def test_a_hidden_player_takes_no_keys_and_the_one_last_used_does(recorded, page):
    """Two players on a page (the playground keeps one per view): keys go to the shown one
    last mounted or clicked, never to a hidden one."""
    _mount_hidden(page, "other")
    frame_of = "root => Number(root.getAttribute('data-frame'))"
    other = page.locator("body > div").last
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")                  # the hidden one, mounted last: not it
    assert state(page)["frame"] == 1 and other.evaluate(frame_of) == 0
    page.evaluate("() => { window.otherRoot.style.display = 'block'; }")
    page.keyboard.press("ArrowRight")                  # shown now, and the last mounted
    assert state(page)["frame"] == 1 and other.evaluate(frame_of) == 1
    page.locator("#player .agm-caption").click()       # used: the keys are its again
    page.keyboard.press("ArrowRight")
    assert state(page)["frame"] == 2 and other.evaluate(frame_of) == 1
    page.evaluate("() => { window.otherPlayer.destroy(); window.otherRoot.remove(); }")
    page.keyboard.press("ArrowLeft")
    assert state(page)["frame"] == 1 and page.errors == []


def test_an_edge_that_carried_nothing_looks_unlike_a_send(browser, tmp_path):
    """relu off: d sends nothing to c. Its edge is drawn grey and dashed, a real send's red and
    solid, and the legend says which is which."""
    with trace() as t:
        a, b = Value(-2.0, label="a"), Value(3.0, label="b")
        c = a * b; c.label = "c"
        d = c.relu(); d.label = "d"
        e = d + b; e.label = "e"
    t.backward(e)
    zero = next(f for f in t.frames if f.kind == "send" and "d sends nothing to c" in f.caption)
    sent = next(f for f in t.frames if f.kind == "send" and f.caption.startswith("e sends"))
    path = tmp_path / "zero.html"
    t.to_html(path)
    tab = open_page(browser, path, DESKTOP)
    try:
        looks = {}
        for name, frame in (("zero", zero), ("sent", sent)):
            tab.locator(f"li[data-frame='{frame.index}']").dispatch_event("click")
            assert tab.text_content(".agm-caption") == frame.caption
            looks[name] = tab.evaluate("""() => {
                const lit = document.querySelectorAll('.agm-stage g.edge.on, .agm-stage g.edge.zero');
                return Array.from(lit, g => {
                    const style = getComputedStyle(g.querySelector('path'));
                    return [style.stroke, style.strokeDasharray]; }); }""")
        assert len(looks["zero"]) == 1 and len(looks["sent"]) == 1
        (zero_stroke, zero_dashes), (sent_stroke, sent_dashes) = looks["zero"][0], looks["sent"][0]
        assert zero_stroke != sent_stroke and sent_stroke == "rgb(220, 38, 38)"  # the red
        assert zero_dashes != "none" and sent_dashes == "none"
        assert "edge that carried nothing" in tab.text_content(".agm-legend")
        assert tab.errors == []
    finally:
        tab.close()


@pytest.mark.parametrize("late", [False, True], ids=["sized", "sized-after-load"])
def test_in_an_iframe_the_first_frame_is_fitted_and_centred(recorded, browser, tmp_path, late):
    """The notebook cell's player (InlinePlayer: the page in an iframe's srcdoc), in a 900x640
    iframe, or in one that gets its height only after loading (as a notebook output area may):
    no console error (no "NaN" viewBox), and the whole graph shown centred in the picture."""
    from autograd_mini.player import InlinePlayer
    cell = InlinePlayer(recorded.player_data(backend="wasm"))._repr_html_()
    if late:
        cell = cell.replace("height:640px", "height:0px")
    host = tmp_path / "cell.html"
    host.write_text(f'<!DOCTYPE html><meta charset="utf-8"><body style="width:900px">{cell}'
                    '</body>', "utf-8")
    tab = open_page(browser, host, DESKTOP)
    frame = tab.frame_locator("iframe")
    frame.locator(".agm-stage svg").wait_for(state="attached")
    if late:
        tab.wait_for_timeout(300)
        tab.evaluate("() => { document.querySelector('iframe').style.height = '640px'; }")
    frame.locator("#player[data-fitted]").wait_for()
    inner = tab.frames[1]
    assert tab.locator("iframe ~ div").count() == 0  # scripts run: the static stand-in is gone
    where = inner.evaluate("""() => {
        const stage = document.querySelector('.agm-stage svg').getBoundingClientRect();
        // Graphviz's background polygon: the graph's own box (hidden nodes take room too)
        const nodes = [document.querySelector('.agm-stage g.graph > polygon').getBoundingClientRect()];
        return {stage: [stage.left, stage.top, stage.right, stage.bottom],
                graph: [Math.min(...nodes.map(r => r.left)), Math.min(...nodes.map(r => r.top)),
                        Math.max(...nodes.map(r => r.right)), Math.max(...nodes.map(r => r.bottom))],
                viewBox: document.querySelector('.agm-stage svg').getAttribute('viewBox')};
    }""")
    tab.close()
    assert tab.errors == [] and "NaN" not in where["viewBox"]
    (sl, st, sr, sb), (gl, gt, gr, gb) = where["stage"], where["graph"]
    assert sl <= gl and gr <= sr and st <= gt and gb <= sb          # all of it inside the stage
    slack_x, slack_y = (sr - sl) - (gr - gl), (sb - st) - (gb - gt)
    # centred (Graphviz's box is not quite its viewBox: some 20 px of slack either way)
    assert abs((gl - sl) - slack_x / 2) <= max(40, 0.1 * slack_x)
    assert abs((gt - st) - slack_y / 2) <= max(40, 0.1 * slack_y)
    # fitted: one side (nearly) fills; at its natural size the graph would leave a third empty
    assert max((gr - gl) / (sr - sl), (gb - gt) / (sb - st)) >= 0.85
