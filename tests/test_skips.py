"""conftest.py skips a test for a Graphviz renderer that is not installed, and only for that: a
renderer that is installed but reported missing (a bug) fails the test."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # a pytest run of its own, twice

TEST = '''
from autograd_mini import render

def test_draws_with_dot(monkeypatch):
    if {broken}:
        monkeypatch.setattr(render, "_dot_program", lambda: None)  # dot there, but not found
    render.render("digraph {{ a -> b }}", "svg", backend="dot")
'''


def outcome(tmp_path, broken: bool, path: str) -> str:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_it.py").write_text(TEST.format(broken=broken))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", str(tmp_path)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PATH": path}, timeout=120)
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot installed")
def test_an_installed_renderer_reported_missing_fails(tmp_path):
    assert outcome(tmp_path, True, os.environ["PATH"]).startswith("1 failed")


def test_a_renderer_not_installed_is_skipped(tmp_path):
    assert outcome(tmp_path, False, str(tmp_path)).startswith("1 skipped")  # no dot
