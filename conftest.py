"""For every test and doctest: one that needs a Graphviz renderer this machine has not installed is
skipped, saying which (e.g. the WebAssembly Graphviz, published for Python 3.11+, on Python 3.10).
A renderer that IS installed but reported missing is a failure like any other."""
import doctest

import pytest

from autograd_mini.render import RendererMissing, available_backends

INSTALLED = set(available_backends())  # looked up once, before any test changes PATH


def _renderer_of(error: RendererMissing) -> str:
    """Which renderer the error is about: "dot" (the system program) or "wasm" (the embedded one,
    also what "auto" falls back to without dot)."""
    text = str(error)
    return "dot" if text.startswith("the Graphviz program `dot`") else "wasm"


def _not_installed(excinfo):
    """The RendererMissing a test raised, if the renderer it names is not installed here."""
    error = excinfo.value
    if isinstance(error, doctest.UnexpectedException):  # a doctest that raised
        error = error.exc_info[1]
    if isinstance(error, RendererMissing) and _renderer_of(error) not in INSTALLED:
        return error
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and call.excinfo is not None and report.failed:
        missing = _not_installed(call.excinfo)
        if missing is not None:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0,
                               f"Skipped: no Graphviz renderer here ("
                               f"{str(missing).split(' (')[0]})")
