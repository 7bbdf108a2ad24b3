"""How fast is the playground (the engine in a browser tab, Pyodide) on this machine?

    python bench/playground.py            # about a minute; needs Node/npm and /usr/bin/chromium

Builds the site (``autograd-mini site``) into a temporary directory, serves it from 127.0.0.1
(every other request refused) and drives headless chromium:

1. time to ready: from opening the page to ``<body data-ready="true">`` (Python in WebAssembly
   started, the engine unpacked and imported, first network drawn), a fresh browser each round;
2. one epoch of 100-point moons on MLP 2-16-16-1 (hinge, SGD, full batch): the ``seconds`` the
   page's own ``train`` request reports (``nn.fit``'s epochs only, not the drawing), against the
   same request in CPython in this process (``autograd_mini.playground``, the same code), taken
   in turn, medians; target: the page at most 3x CPython;
3. time to 95% accuracy on the default data: press Play on a fresh page and wait for the
   accuracy to read 95% (everything the learner sees, drawing included); target: under a minute.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from autograd_mini import playground, site  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]
EPOCH_SETTINGS = {"dataset": "moons", "points": 100, "hidden": [16, 16], "activation": "relu",
                  "loss": "hinge", "optimizer": "sgd", "lr": 0.05, "batch": 0, "seed": 1}


class Files(http.server.SimpleHTTPRequestHandler):
    """A quiet static file server that sends .wasm as application/wasm."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


def serve(root: str):
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; (server, base URL)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Files, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def open_offline(browser, base: str, width: int = 1280, height: int = 900, fragment: str = ""):
    """Open the playground with every request outside ``base`` refused, and wait until it is
    ready; (context, page, seconds to ready, refused URLs, errors in the page and answers of
    400 and up)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    refused, problems = [], []

    def only_local(route):
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and
            problems.append(f"{response.status}: {response.url}"))
    started = time.perf_counter()
    page.goto(base + "/playground/" + fragment)
    page.wait_for_selector("body[data-ready=true]", timeout=180_000)
    return context, page, time.perf_counter() - started, refused, problems


def _page_epochs(page, epochs: int) -> float:
    page.evaluate("s => window.autogradMiniPlayground.ask('reset', {settings: s})",
                  EPOCH_SETTINGS)
    result = page.evaluate("n => window.autogradMiniPlayground.ask('train', {epochs: n})", epochs)
    return result["seconds"] / epochs


def _cpython_epochs(epochs: int) -> float:
    playground.call("reset", json.dumps({"settings": EPOCH_SETTINGS}))
    return json.loads(playground.call("train", json.dumps({"epochs": epochs})))["seconds"] / epochs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timing")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    root = tempfile.mkdtemp(prefix="playground-bench-")
    site.build(root)
    server, base = serve(root)
    ready, page_epoch, cpython_epoch, to_95 = [], [], [], []
    outside = []
    with sync_playwright() as p:
        for _ in range(args.rounds):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context, page, seconds, refused, problems = open_offline(browser, base)
            ready.append(seconds)
            outside += refused + problems
            for _ in range(2):  # in turn: the page, then CPython
                page_epoch.append(_page_epochs(page, args.epochs))
                cpython_epoch.append(_cpython_epochs(args.epochs))
            page.click("#reset")
            page.wait_for_function("document.querySelector('[data-testid=epoch]').textContent"
                                   " === '0'")
            started = time.perf_counter()
            page.click("[data-testid=train]")
            page.wait_for_function("parseFloat(document.querySelector('[data-testid=accuracy]')"
                                   ".textContent) >= 95", timeout=120_000, polling=50)
            to_95.append((time.perf_counter() - started,
                          int(page.inner_text("[data-testid=epoch]"))))
            context.close()
            browser.close()
    server.shutdown()
    median = statistics.median
    ratio = median(page_epoch) / median(cpython_epoch)
    print(f"playground benchmark ({args.rounds} rounds; {os.cpu_count()} cores)")
    print(f"time to ready:                      {median(ready):6.2f} s  (rounds: "
          f"{', '.join(f'{s:.2f}' for s in ready)})")
    print(f"one epoch, moons 2-16-16-1, page:   {1000 * median(page_epoch):6.1f} ms")
    print(f"one epoch, moons 2-16-16-1, CPython {sys.version.split()[0]}: "
          f"{1000 * median(cpython_epoch):6.1f} ms")
    print(f"page / CPython:                     {ratio:6.2f} x  (target <= 3)")
    print(f"to 95% accuracy, default settings:  {median(s for s, _ in to_95):6.2f} s  "
          f"(epochs: {', '.join(str(e) for _, e in to_95)}; target < 60 s)")
    print(f"requests outside the site attempted, errors in the page: {len(outside)}")
    return 0 if ratio <= 3 and median(s for s, _ in to_95) < 60 and not outside else 1


if __name__ == "__main__":
    sys.exit(main())
