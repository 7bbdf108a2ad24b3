"""The line budget CI checks (.ci/line_budget): it counts what `wc -l` counts, and fails over."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def budget(*args):
    return subprocess.run([sys.executable, str(ROOT / ".ci" / "line_budget"), *args],
                          capture_output=True, text=True, timeout=60)


def test_the_count_is_every_line_of_every_python_file_and_over_budget_fails():
    lines = sum(len(path.read_text(encoding="utf-8").split("\n")) - 1
                for package in ("autograd_mini", "nn") for path in (ROOT / package).rglob("*.py"))
    within = budget("--budget", str(lines))
    assert within.returncode == 0 and f"line budget: {lines:,} lines of Python" in within.stdout
    over = budget("--budget", str(lines - 1))
    assert over.returncode == 1 and "over the budget of" in over.stdout and "by 1:" in over.stdout
