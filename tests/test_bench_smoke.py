"""The benchmark (bench/run.py) runs on tiny sizes and writes well-formed tables. No timings are
checked: speed is measured by ``python bench/run.py``, never asserted in tests.

micrograd's side needs its virtual environment (bench/.venv-micrograd, created by a first
``python bench/run.py``); without it, that test is skipped (tests never use the network).
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import importlib.util

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")


def load(name: str, filename: str):
    """bench/ is scripts, not a package: load a file under a name that cannot clash."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_run = load("bench_run", "run.py")
bench_worker = load("bench_worker", "worker.py")

SECTIONS = ["## 1. micrograd's demo step", "## 2. micrograd's full demo (issue 4)",
            "## 3. A chain of N ops", "## 4. One node creation", "## 5. Compiled (issue 6)"]


def run_bench(tmp_path, *args: str) -> tuple[str, dict]:
    out, raw = tmp_path / "results.md", tmp_path / "results.json"
    done = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "--tiny", "--no-install",
                           "--out", str(out), "--json", str(raw), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert text in done.stdout  # printed and written alike
    return text, json.loads(raw.read_text())


def check_tables(text: str) -> int:
    """Every Markdown table has a separator row and the same number of cells in every row."""
    tables = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            tables += 1
            rows = []
            for row in lines[i:]:
                if not row.startswith("|"):
                    break
                rows.append(row)
            widths = {row.count("|") for row in rows}
            assert len(widths) == 1, f"ragged table:\n" + "\n".join(rows)
            assert re.fullmatch(r"\|( --- \|)+", rows[1]), rows[1]
            assert len(rows) >= 3, rows
    return tables


def test_shared_inputs_match_micrograds_demo():
    X, y = bench_run.make_moons(100, 0.1, seed=1337)
    assert len(X) == 100 and all(len(row) == 2 for row in X)
    assert sorted(set(y)) == [-1.0, 1.0] and y.count(1.0) == 50
    assert bench_run.make_moons(100, 0.1, seed=1337) == (X, y)  # seeded: the same every time
    # MLP(2, [16, 16, 1]): (2+1)*16 + (16+1)*16 + (16+1)*1 = 337 parameters, biases start at 0
    weights = bench_run.init_weights(2, [16, 16, 1], seed=1337)
    assert len(weights) == 337
    assert weights[2] == 0.0 and weights[-1] == 0.0
    assert all(-1.0 <= w <= 1.0 for w in weights)


def test_chain_gradients_against_a_hand_recurrence():
    # y <- y*W + B, n/2 times; by hand: dy/dy0 = W^k, dy/dw and dy/db by forward recurrences
    engine = bench_worker.AutogradMini()
    n = 200
    result = bench_worker.chain_time(engine, n)
    y, dy0, dw, db = 1.0, 1.0, 0.0, 0.0
    W, B = bench_worker.W, bench_worker.B
    for _ in range(n // 2):
        y, dy0, dw, db = y * W + B, dy0 * W, y + dw * W, db * W + 1.0
    for got, want in zip(result["check"], [y, dy0, dw, db]):
        assert math.isclose(got, want, rel_tol=1e-12), (result["check"], [y, dy0, dw, db])


def test_our_side_runs_and_writes_tables(tmp_path):
    text, raw = run_bench(tmp_path, "--engines", "autograd_mini")
    for section in SECTIONS:
        assert section in text
    assert "Command: `python bench/run.py --tiny" in text
    assert check_tables(text) >= 5
    assert "failed" not in text
    assert raw["engines"]["autograd_mini"]["python"] == sys.version.split()[0]


def test_choosing_benchmarks_and_bad_options(tmp_path):
    text, _ = run_bench(tmp_path, "--engines", "autograd_mini", "--only", "node")
    assert "## 4. One node creation" in text and "## 1." not in text
    done = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "--only", "speed"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "choose among step, demo, chain, node, compiled" in done.stderr


def test_both_engines_in_one_run(tmp_path):
    try:
        bench_run.ensure_micrograd(bench_run.DEFAULT_VENV, install=False)
    except bench_run.WorkerError as missing:
        pytest.skip(f"micrograd's environment is not set up: {missing}")
    text, raw = run_bench(tmp_path, "--only", "step,demo,chain")
    assert check_tables(text) >= 4
    assert "micrograd / ours" in text and "failed" not in text
    assert "## Summary" in text
    # the same data and weights give the same network: no "differ"/"disagree" note
    assert "differ (" not in text and "disagree" not in text
    engines = raw["engines"]
    assert engines["micrograd"]["version"] == "0.1.0"
    assert engines["micrograd"]["python"] == engines["autograd_mini"]["python"]


def test_scaling_runs_and_draws(tmp_path):
    """bench/scaling.py on tiny networks: its tables are well formed, one row per size, and the
    plot is written (no time is checked)."""
    pytest.importorskip("numpy")
    pytest.importorskip("matplotlib")
    png = tmp_path / "scaling.png"
    done = subprocess.run([sys.executable, os.path.join(BENCH, "scaling.py"), "--tiny", "--png", str(png)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert check_tables(done.stdout) == 2
    rows = [line for line in done.stdout.splitlines() if re.match(r"\| \d", line)]
    assert [row.split(" | ")[:2] for row in rows] == [["| 2", "1"], ["| 4", "1"], ["| 2", "1"]]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
