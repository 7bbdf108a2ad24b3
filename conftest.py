"""For every test and doctest: one that needs a Graphviz renderer this machine lacks is skipped,
saying which (e.g. the WebAssembly Graphviz, published for Python 3.11+, on Python 3.10)."""
import doctest

import pytest


def _missing_renderer(excinfo):
    from autograd_mini.render import RendererMissing
    error = excinfo.value
    if isinstance(error, doctest.UnexpectedException):  # a doctest that raised
        error = error.exc_info[1]
    return error if isinstance(error, RendererMissing) else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and call.excinfo is not None and report.failed:
        missing = _missing_renderer(call.excinfo)
        if missing is not None:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0,
                               f"Skipped: no Graphviz renderer here ("
                               f"{str(missing).split(' (')[0]})")
