"""The HTML player in a real headless browser (Debian's chromium, driven by Playwright).

Needs `apt-get install chromium` and `pip install playwright` (its own browser download is not
used: `playwright install` is never run).
"""
import os
import shutil

import pytest
from conftest import build_seed_graph

from autograd_mini import trace

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install playwright)")

CHROMIUM = os.environ.get("AUTOGRAD_MINI_CHROMIUM") or shutil.which("chromium") or \
    "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's chromium is not installed "
                                       "(apt-get install chromium)")


@pytest.fixture(scope="module")
def recorded():
    with trace() as t:
        e = build_seed_graph()[-1]
    t.backward(e)
    return t


@pytest.fixture(scope="module")
def page(recorded, tmp_path_factory):
    path = tmp_path_factory.mktemp("player") / "steps.html"
    recorded.to_html(path)
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user data dir
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1100, "height": 700})
        try:
            tab = context.new_page()
            tab.set_default_timeout(10_000)
            tab.requests, tab.errors = [], []
            tab.on("request", lambda request: tab.requests.append(request.url))
            tab.on("pageerror", lambda error: tab.errors.append(str(error)))
            tab.on("console", lambda message: message.type == "error" and
                   tab.errors.append(message.text))
            tab.goto(path.as_uri())
            yield tab
        finally:
            context.close()


def state(page):
    return {"frame": int(page.get_attribute("body", "data-frame")),
            "caption": page.text_content("#caption"),
            "counter": page.text_content("#counter"),
            "svg": page.inner_html("#stage")}


def test_loads_offline_and_shows_the_first_step(page, recorded):
    first = state(page)
    assert first["frame"] == 0 and first["caption"] == "a = 2"
    assert first["counter"] == f"1 / {len(recorded.frames)}"
    assert first["svg"].startswith("<svg")
    assert page.is_disabled("#prev") and not page.is_disabled("#next")
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert page.errors == []


def test_next_and_previous_change_frame_and_caption(page, recorded):
    page.keyboard.press("Home")
    before = state(page)
    page.click("#next")
    after = state(page)
    assert after["frame"] == 1 and after["caption"] == recorded.frames[1].caption == "b = 1"
    assert after["counter"].startswith("2 / ") and after["svg"] != before["svg"]
    page.click("#prev")
    assert state(page)["frame"] == 0


def test_keyboard_arrows_home_end(page, recorded):
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert state(page)["caption"] == "c = a + b = 3"
    page.keyboard.press("ArrowLeft")
    assert state(page)["frame"] == 1
    page.keyboard.press("End")
    assert state(page)["caption"] == recorded.frames[-1].caption
    page.keyboard.press("Home")
    assert state(page)["frame"] == 0


def test_slider_and_step_list(page, recorded):
    page.fill("#slider", "7")
    assert state(page)["frame"] == 7
    assert state(page)["caption"] == recorded.frames[7].caption == "e sends 1 x 3 = 3 to d"
    page.click('#steps li[data-index="5"]')
    assert state(page)["caption"] == "start at e: de/de = 1"


def test_play_reaches_the_last_frame_and_stops(page, recorded):
    last = len(recorded.frames) - 1
    page.keyboard.press("Home")
    page.select_option("#speed", "4")
    page.click("#play")
    page.wait_for_function(
        f"document.body.dataset.frame === '{last}' && !document.body.hasAttribute('data-playing')",
        timeout=20_000)
    final = state(page)
    assert final["caption"] == recorded.frames[-1].caption
    assert final["caption"].endswith("b now holds 2 + 3 = 5")
    assert page.is_disabled("#next") and "Play" in page.text_content("#play")
    assert page.errors == []
