"""autograd_mini against micrograd 0.1.0, both measured in one run, interleaved.

    python bench/run.py            # everything, about 6-7 minutes on 2 cores; writes bench/results.md
    python bench/run.py --quick    # smaller sizes, about a minute
    python bench/run.py --only step,node

micrograd is installed from PyPI into its own virtual environment (bench/.venv-micrograd, made
from this same Python) the first time. Each engine runs in its own worker subprocess
(bench/worker.py) with the same harness code; this script hands both the same data and initial
weights, asks them for measurements in turn (A, B, A, B, ...) and reports medians and ratios.
The garbage collector keeps Python's default settings unless a row says otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "worker.py")
DEFAULT_VENV = os.path.join(HERE, ".venv-micrograd")
MICROGRAD = "micrograd==0.1.0"
ENGINES = ("micrograd", "autograd_mini")
BENCHMARKS = ("step", "demo", "chain", "node", "compiled", "small", "jupyter")
SIZES = [2, [16, 16, 1]]
RUST_PEER = ("micrograd-rust 0.1.0 is not measured: PyPI has only its source distribution, whose build "
             "needs a Rust toolchain and crates.io (`pip download micrograd-rust==0.1.0` fails without them).")
MICROGRAD_TRACED_BACKWARD = 10**4  # largest chain whose micrograd backward runs under tracemalloc  # micrograd's demo model: MLP(2, [16, 16, 1])

# How much work each run size does. "tiny" is for tests/test_bench_smoke.py.
PLANS = {
    "full": dict(points=100, step_blocks=7, step_per_block=3, gc_off_blocks=3, compiled_runs=3,
                 demo_steps=100, demo_block=10,
                 chain=[10**3, 10**4, 10**5, 10**6], chain_reps={10**3: 15, 10**4: 9, 10**5: 5, 10**6: 3},
                 node_number=200_000, node_repeat=7, compiled_n=10**5, compiled_repeat=5,
                 tiny_n=10**5, tiny_reps=5, wide_n=10**5, wide_reps=5, number_chain_n=10**6, number_chain_reps=3, jupyter_blocks=6, jupyter_per_block=3),
    "quick": dict(points=100, step_blocks=4, step_per_block=2, gc_off_blocks=2, compiled_runs=2,
                  demo_steps=20, demo_block=5,
                  chain=[10**3, 10**4, 10**5], chain_reps={10**3: 5, 10**4: 3, 10**5: 2},
                  node_number=50_000, node_repeat=5, compiled_n=10**4, compiled_repeat=3,
                  tiny_n=2 * 10**4, tiny_reps=3, wide_n=2 * 10**4, wide_reps=3, number_chain_n=10**5, number_chain_reps=2, jupyter_blocks=3,
                  jupyter_per_block=1),
    "tiny": dict(points=16, step_blocks=2, step_per_block=1, gc_off_blocks=1, compiled_runs=1,
                 demo_steps=4, demo_block=2,
                 chain=[100, 1000], chain_reps={100: 2, 1000: 2},
                 node_number=2_000, node_repeat=3, compiled_n=1000, compiled_repeat=2,
                 tiny_n=200, tiny_reps=2, wide_n=1000, wide_reps=2, number_chain_n=1000, number_chain_reps=1, jupyter_blocks=2, jupyter_per_block=1),
}


# -- the shared inputs: generated once here, handed to both engines --------------------------------

def make_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]], list[float]]:
    """scikit-learn's make_moons (two interleaving half circles), labels -1.0 / +1.0 as in the demo."""
    rng = random.Random(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    points, labels = [], []
    for i in range(n_outer):
        t = math.pi * i / max(n_outer - 1, 1)
        points.append([math.cos(t), math.sin(t)])
        labels.append(-1.0)
    for i in range(n_inner):
        t = math.pi * i / max(n_inner - 1, 1)
        points.append([1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5])
        labels.append(1.0)
    order = list(range(n))
    rng.shuffle(order)
    X = [[points[i][0] + rng.gauss(0.0, noise), points[i][1] + rng.gauss(0.0, noise)] for i in order]
    return X, [labels[i] for i in order]


def init_weights(nin: int, nouts: list[int], seed: int) -> list[float]:
    """micrograd's initialisation (weights uniform in [-1, 1], biases 0) in parameters() order."""
    rng = random.Random(seed)
    sizes = [nin] + nouts
    flat = []
    for i in range(len(nouts)):
        for _ in range(sizes[i + 1]):
            flat.extend(rng.uniform(-1.0, 1.0) for _ in range(sizes[i]))
            flat.append(0.0)
    return flat


# -- workers ----------------------------------------------------------------------------------------

class WorkerError(RuntimeError):
    pass


class Worker:
    """One engine in its own process, answering JSON requests; restarted if it crashes."""

    def __init__(self, engine: str, python: str) -> None:
        self.engine, self.python = engine, python
        self.process = None
        self.crashes: list[str] = []

    def _start(self) -> None:
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen([self.python, WORKER, self.engine], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)

    def ask(self, command: str, **arguments) -> dict:
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            self.process.stdin.write(json.dumps({"command": command, **arguments}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:  # the process died (a crash, e.g. a C stack overflow)
            code = self.process.wait()
            self.process = None
            message = f"{self.engine} worker died during {command} {arguments} (exit code {code})"
            self.crashes.append(message)
            raise WorkerError(message)
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise WorkerError(f"{self.engine} {command}: {reply['error']}\n{reply['traceback']}")
        return reply

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.stdin.write('{"command": "quit"}\n')
                self.process.stdin.flush()
                self.process.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def venv_python(venv: str) -> str:
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")


def ensure_micrograd(venv: str, install: bool) -> str:
    """The python of a virtual environment holding micrograd 0.1.0, made from this interpreter."""
    python = venv_python(venv)
    check = [python, "-c", "import importlib.metadata as m, platform; "
             "print(m.version('micrograd'), platform.python_version())"]
    found = subprocess.run(check, capture_output=True, text=True) if os.path.exists(python) else None
    wanted = f"0.1.0 {platform.python_version()}"
    if found is not None and found.stdout.strip() == wanted:
        return python
    if not install:
        raise WorkerError(f"no micrograd 0.1.0 environment at {venv} (run python bench/run.py once "
                          f"without --no-install to create it)")
    print(f"setting up {venv} with {MICROGRAD} (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", MICROGRAD], check=True)
    found = subprocess.run(check, capture_output=True, text=True)
    if found.stdout.strip() != wanted:
        raise WorkerError(f"{venv}: expected micrograd and Python '{wanted}', got "
                          f"{found.stdout.strip()!r} {found.stderr.strip()}")
    return python


# -- statistics and formatting ----------------------------------------------------------------------

def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_time(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


def fmt_ratio(x: float) -> str:
    if x is None or math.isnan(x) or math.isinf(x):
        return "–"
    return f"{x:.0f}×" if x >= 99.5 else f"{x:.1f}×" if x >= 1.95 else f"{x:.2f}×"


def fmt_bytes(n: float) -> str:
    if n is None or math.isnan(n):
        return "–"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def fmt_n(n: int) -> str:
    exponent = round(math.log10(n)) if n > 0 else 0
    return f"10^{exponent}" if 10 ** exponent == n else f"{n:,}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def summarize(shared, what: str, micrograd: str, ours: str, ratio_text: str = "", target: str = "") -> None:
    """One row of the summary table at the top of the results (the README's table)."""
    shared.setdefault("summary", []).append([what, micrograd, ours, ratio_text, target])


def ratio(a, b):
    try:
        return a / b
    except (TypeError, ZeroDivisionError):
        return float("nan")


# -- the benchmarks --------------------------------------------------------------------------------
# Each returns Markdown text; `workers` maps engine name -> Worker (only the engines asked for).

def spread(ours: list, theirs: list) -> tuple[float, float]:
    """The least and greatest ratio of ours to theirs over blocks run back to back."""
    ratios = [a[0] / b[0] for a, b in zip(ours, theirs)]
    return min(ratios), max(ratios)


def in_turn(workers: dict, command: str, **arguments) -> dict:
    """Ask every engine once, in a fixed order (the caller loops: A, B, A, B, ...)."""
    answers = {}
    for name, worker in workers.items():
        try:
            answers[name] = worker.ask(command, **arguments)
        except WorkerError as error:
            answers[name] = {"error": str(error)}
    return answers


def header_cells(workers) -> list[str]:
    return [f"{name} {workers[name].version}" for name in workers]


def bench_demo_step(workers, plan, data, notes, shared) -> str:
    X, y, weights = data
    init = in_turn(workers, "demo_init", X=X, y=y, weights=weights, sizes=SIZES[1])
    names = list(workers)
    blocks = {name: [] for name in names}  # per block: (time per step, share in GC, collections)
    no_gc = {name: [] for name in names}
    k = 0
    # Training goes on from block to block as in the notebook (garbage piles up as it does there);
    # the first block is a warm-up: micrograd's step slows down over its first few steps.
    for _ in range(plan["step_blocks"]):
        for name, answer in in_turn(workers, "demo_steps", k0=k, count=plan["step_per_block"]).items():
            if "error" in answer:
                raise WorkerError(answer["error"])
            block = sum(answer["times"])
            blocks[name].append((block / len(answer["times"]), answer["gc_time"] / block,
                                 answer["gc_collections"] / len(answer["times"])))
        k += plan["step_per_block"]
    for _ in range(plan["gc_off_blocks"]):  # then with the collector off (collected after, untimed)
        for name, answer in in_turn(workers, "demo_steps", k0=k, count=plan["step_per_block"], gc=False).items():
            if "error" in answer:
                raise WorkerError(answer["error"])
            no_gc[name].append(sum(answer["times"]) / len(answer["times"]))
        k += plan["step_per_block"]
    kept = {name: blocks[name][1:] or blocks[name] for name in names}
    per_step = {name: median([b[0] for b in kept[name]]) for name in names}
    shared["demo_step"] = per_step
    shared.setdefault("raw", {})["demo_step"] = {"blocks": blocks, "gc_off": no_gc}
    rows = [
        ["time per step (GC on, default)"] + [f"**{fmt_time(per_step[n])}**" for n in names],
        ["share of that time in the cyclic GC"] + [
            f"{100 * median([b[1] for b in kept[n]]):.0f}% ({median([b[2] for b in kept[n]]):.0f} "
            "collections/step)" for n in names],
        ["time per step, GC off (extra)"] + [fmt_time(median(no_gc[n])) for n in names],
        ["graph nodes per step"] + [f"{init[n].get('nodes_per_step', 0):,}" for n in names],
        ["time per node (GC on)"] + [
            fmt_time(per_step[n] / init[n]["nodes_per_step"]) if "nodes_per_step" in init[n] else "–"
            for n in names],
        ["loss before the first step (same data, same weights)"] + [
            f"{init[n]['initial_loss']:.12g}" if "initial_loss" in init[n] else init[n]["error"] for n in names],
    ]
    header = ["demo step"] + header_cells(workers)
    if len(names) == 2:
        on = ratio(per_step["micrograd"], per_step["autograd_mini"])
        off = ratio(median(no_gc["micrograd"]), median(no_gc["autograd_mini"]))
        summarize(shared, f"micrograd's demo step: MLP(2, [16, 16, 1]), {len(X)} moons points, hinge + L2, SGD",
                  fmt_time(per_step["micrograd"]), fmt_time(per_step["autograd_mini"]),
                  f"**{fmt_ratio(on)}** faster", "≥ 12×")
        issue10(shared, "micrograd's demo step (MLP 2-16-16-1, 100 moons, hinge + L2, SGD), the user's own loop",
                fmt_time(per_step["micrograd"]), fmt_time(per_step["autograd_mini"]),
                ratio(per_step["autograd_mini"], per_step["micrograd"]), "≤ 0.018",
                f"GC {100 * median([b[1] for b in kept['autograd_mini']]):.0f}%; block by block "
                + "–".join(f"{r:.4f}" for r in spread(kept["autograd_mini"], kept["micrograd"])))
        header.append("micrograd / ours")
        for row, cell in zip(rows, [f"**{fmt_ratio(on)}** (target ≥ 12×)", "", fmt_ratio(off), "", "", ""]):
            row.append(cell)
        a, b = init["micrograd"].get("initial_loss"), init["autograd_mini"].get("initial_loss")
        if a is not None and b is not None and abs(a - b) > 1e-9 * max(1.0, abs(a)):
            notes.append(f"the two engines' initial demo losses differ ({a!r} vs {b!r}): "
                         "the models are not the same network")
    warm = " after a warm-up block" if plan["step_blocks"] > 1 else ""
    text = (f"MLP(2, [16, 16, 1]) on {len(X)} two-moons points, hinge loss + 1e-4 L2, forward + backward "
            f"+ SGD, as micrograd's demo.ipynb writes it (each engine's own MLP; the previous step's graph "
            f"stays alive until the next one is built, as in the notebook). Median time per step over "
            f"{plan['step_blocks'] - 1 if warm else 1} blocks of {plan['step_per_block']} steps{warm}, "
            f"training on from block to block, blocks interleaved between the engines. Then "
            f"{plan['gc_off_blocks']} blocks with the collector off, for information.")
    return text + "\n\n" + table(header, rows)


def bench_full_demo(workers, plan, data, notes, shared) -> str:
    X, y, weights = data
    in_turn(workers, "demo_init", X=X, y=y, weights=weights, sizes=SIZES[1])
    block_times = {name: [] for name in workers}
    losses = {name: [] for name in workers}
    accs = {name: [] for name in workers}
    for k0 in range(0, plan["demo_steps"], plan["demo_block"]):
        count = min(plan["demo_block"], plan["demo_steps"] - k0)
        for name, answer in in_turn(workers, "demo_steps", k0=k0, count=count).items():
            if "error" in answer:
                raise WorkerError(answer["error"])
            block_times[name].extend(answer["times"])
            losses[name].extend(answer["losses"])
            accs[name].extend(answer["accuracies"])
    final = in_turn(workers, "demo_accuracy")
    names = list(workers)
    shared["final_accuracy"] = {n: final[n]["accuracy"] for n in names}
    rows = [
        ["time per step (median of all steps)"] + [f"**{fmt_time(median(block_times[n]))}**" for n in names],
        [f"total for {plan['demo_steps']} steps"] + [fmt_time(sum(block_times[n])) for n in names],
        ["loss at step 0 → last step"] + [f"{losses[n][0]:.4f} → {losses[n][-1]:.4f}" for n in names],
        ["accuracy at the last step (as the demo prints it)"] + [f"{100 * accs[n][-1]:.0f}%" for n in names],
        ["accuracy of the trained model"] + [f"{100 * final[n]['accuracy']:.0f}%" for n in names],
    ]
    header = ["full demo"] + header_cells(workers)
    if len(names) == 2:
        r = ratio(median(block_times["micrograd"]), median(block_times["autograd_mini"]))
        header.append("micrograd / ours")
        summarize(shared, f"micrograd's full demo, {plan['demo_steps']} steps: time per step",
                  fmt_time(median(block_times["micrograd"])), fmt_time(median(block_times["autograd_mini"])),
                  f"**{fmt_ratio(r)}** faster", "≥ 12×")
        summarize(shared, "… accuracy of the trained model", f"{100 * final['micrograd']['accuracy']:.0f}%",
                  f"{100 * final['autograd_mini']['accuracy']:.0f}%", "", "the same")
        for row, cell in zip(rows, [f"**{fmt_ratio(r)}** (target ≥ 12×)",
                                    fmt_ratio(ratio(sum(block_times["micrograd"]), sum(block_times["autograd_mini"]))),
                                    "", "", ""]):
            row.append(cell)
        gap = max(abs(a - b) for a, b in zip(losses["micrograd"], losses["autograd_mini"]))
        notes.append(f"full demo: the largest difference between the two engines' losses over the "
                     f"{plan['demo_steps']} steps is {gap:.2g} (same data, weights and schedule; only the "
                     "order of floating-point sums differs)")
    text = (f"micrograd's demo.ipynb end to end: {plan['demo_steps']} steps with lr = 1.0 - 0.9·k/100, the "
            f"same {len(X)} moons points (seed 1337, noise 0.1) and initial weights for both engines. "
            f"Blocks of {plan['demo_block']} steps, interleaved between the engines; GC on (default).")
    return text + "\n\n" + table(header, rows)


def bench_chain(workers, plan, notes, shared) -> str:
    names = list(workers)
    times = {(name, n): [] for name in names for n in plan["chain"]}
    forward = {(name, n): [] for name in names for n in plan["chain"]}
    no_gc = {(name, n): [] for name in names for n in plan["chain"]}
    errors = {}
    checks = {}
    memory = {}
    for n in plan["chain"]:
        for _ in range(plan["chain_reps"][n]):
            for name, answer in in_turn(workers, "chain_time", n=n).items():
                if "error" in answer:
                    errors[(name, n)] = answer["error"].splitlines()[0]
                    continue
                times[(name, n)].append(answer["forward"] + answer["backward"])
                forward[(name, n)].append(answer["forward"])
                checks[(name, n)] = answer["check"]
            for name, answer in in_turn(workers, "chain_time", n=n, gc=False).items():
                if "error" not in answer:
                    no_gc[(name, n)].append(answer["forward"] + answer["backward"])
        for name, worker in workers.items():
            # tracemalloc makes micrograd's recursive backward quadratic: graph after forward only
            with_backward = name != "micrograd" or n <= MICROGRAD_TRACED_BACKWARD
            try:
                memory[(name, n)] = worker.ask("chain_memory", n=n, with_backward=with_backward)
            except WorkerError as error:
                memory[(name, n)] = {"error": str(error)}
        if len(names) == 2 and all((e, n) in checks for e in names):
            a, b = checks[("micrograd", n)], checks[("autograd_mini", n)]
            worst = max(abs(x - z) / max(abs(x), 1e-300) for x, z in zip(a, b))
            if worst > 1e-9:
                notes.append(f"chain N={n}: the engines disagree on value/gradients by {worst:.2g} (relative)")

    def time_cell(name, n):
        if (name, n) in errors and not times[(name, n)]:
            return "failed: " + errors[(name, n)]
        t = median(times[(name, n)])
        return f"{fmt_time(t)} ({fmt_time(t / n)}/node)"

    time_rows = []
    for n in plan["chain"]:
        row = [fmt_n(n)] + [time_cell(name, n) for name in names]
        row += [f"{100 * median(forward[(name, n)]) / median(times[(name, n)]):.0f}%" if times[(name, n)] else "–"
                for name in names]
        row += [f"{fmt_time(median(no_gc[(name, n)]) / n)}/node" if no_gc[(name, n)] else "–" for name in names]
        if len(names) == 2:
            row.append(fmt_ratio(ratio(median(times[("micrograd", n)]), median(times[("autograd_mini", n)]))))
        time_rows.append(row)
    time_header = (["N ops"] + [f"{name}: forward + backward" for name in names]
                   + [f"{name}: forward share" for name in names]
                   + [f"{name}: GC off (extra)" for name in names]
                   + (["micrograd / ours"] if len(names) == 2 else []))

    def memory_cells(name, n):
        m = memory.get((name, n), {})
        if "error" in m or not m:
            return ["failed: " + m.get("error", "?").splitlines()[0]] * 3
        backward = m["after_backward"]
        return [fmt_bytes(m["after_forward"] / n), fmt_bytes(backward / n) if backward is not None else "(not run)",
                f"{fmt_bytes(m['residue_dropped'])} / {fmt_bytes(m['residue_collected'])}"]

    memory_rows = []
    for n in plan["chain"]:
        cells = {name: memory_cells(name, n) for name in names}
        row = [fmt_n(n)]
        for name in names:
            row += cells[name][:2]
        if len(names) == 2:
            a = memory.get(("micrograd", n), {}).get("after_forward")
            b = memory.get(("autograd_mini", n), {}).get("after_forward")
            row.append(f"**{fmt_ratio(ratio(b, a))}**" if a and b else "–")
        row += [cells[name][2] for name in names]
        memory_rows.append(row)
    memory_header = (["N ops"] + [f"{name}: bytes/node {when}" for name in names
                                  for when in ("after forward", "after backward")]
                     + (["ours / micrograd, after forward (target ≤ 0.33×)"] if len(names) == 2 else [])
                     + [f"{name}: left after `del` / after gc.collect()" for name in names])

    linear = []
    for name in names:
        ns = [n for n in plan["chain"] if times[(name, n)] and no_gc[(name, n)]]
        if len(ns) >= 2:
            small, big = ns[1] if len(ns) > 2 else ns[0], ns[-1]
            growth = (median(times[(name, big)]) / big) / (median(times[(name, small)]) / small)
            growth_off = (median(no_gc[(name, big)]) / big) / (median(no_gc[(name, small)]) / small)
            linear.append(f"{name}: time per node at {fmt_n(big)} is {growth:.2f}× that at {fmt_n(small)} "
                          f"({growth_off:.2f}× with the GC off)")
    reps = ", ".join(str(plan["chain_reps"][n]) for n in plan["chain"])
    text = (f"`y = y * w; y = y + b` repeated N/2 times (N op nodes, shared leaves w, b; every gradient "
            f"non-zero), then `y.backward()`. Median of {reps} "
            "interleaved repetitions (GC on; garbage of the previous repetition collected untimed first; "
            "as many with the GC off, for information). "
            "micrograd's recursive topological sort runs with sys.setrecursionlimit(3,000,000).")
    memory_text = ("Memory with tracemalloc: bytes held per op node with the graph alive, after the forward "
                   "pass (values, parents, edge derivatives or closures) and after backward (plus gradients), "
                   "then what is left once the graph is dropped with `del` (reference counting only) and "
                   "after an explicit gc.collect(). micrograd's backward is not run under tracemalloc above "
                   f"{fmt_n(MICROGRAD_TRACED_BACKWARD)} nodes: tracemalloc walks the whole Python stack at each "
                   "allocation, which makes micrograd's recursive backward quadratic (over 2 minutes at 10^5). "
                   "A residue of about 115 kB after `del` is CPython's free list of 2-tuples (at most 2000 "
                   "kept for reuse), not a leak: gc.collect() empties it.")
    if len(names) == 2:
        big = plan["chain"][-1]
        a, b = times[("micrograd", big)], times[("autograd_mini", big)]
        if a and b:
            summarize(shared, f"chain of {fmt_n(big)} ops, forward + backward, per node",
                      fmt_time(median(a) / big), fmt_time(median(b) / big),
                      f"{fmt_ratio(median(a) / median(b))} faster", "linear in N")
        elif b:
            summarize(shared, f"chain of {fmt_n(big)} ops, forward + backward, per node",
                      "failed", fmt_time(median(b) / big), "", "linear in N")
        if linear:
            summarize(shared, f"… growth of that per-node time from "
                      f"{fmt_n(plan['chain'][1 if len(plan['chain']) > 2 else 0])} to {fmt_n(big)} nodes, "
                      "GC on; GC off (1× = linear)",
                      *[re.search(r"is (\S+) that.*\((\S+) with", line).expand(r"\1; \2") for line in linear],
                      "", "")
        if b:
            issue10(shared, f"chain of {fmt_n(big)} ops + backward",
                    fmt_time(median(a)) if a else "failed: " + errors.get(("micrograd", big), "?")[:60],
                    fmt_time(median(b)), ratio(median(b), median(a)) if a else "", "≤ 3 s",
                    f"{fmt_time(median(b))} {'≤' if median(b) <= 3.0 else '>'} 3 s")
        m, o = memory.get(("micrograd", big), {}), memory.get(("autograd_mini", big), {})
        if o.get("after_forward"):
            per_node = o["after_forward"] / big
            fresh = fresh_bytes_per_node(workers["autograd_mini"].python, min(big, 10**5))
            issue10(shared, "bytes per binary node (the chain's graph after forward, tracemalloc)",
                    fmt_bytes(m["after_forward"] / big) if m.get("after_forward") else "–",
                    fmt_bytes(per_node), ratio(o["after_forward"], m.get("after_forward", float("nan"))),
                    "≤ 150 B", f"{fmt_bytes(per_node)} in the worker after the demo (labels in use); "
                    f"{fmt_bytes(fresh)} in a fresh process")
        if m.get("after_forward") and o.get("after_forward"):
            summarize(shared, "bytes per node (graph after forward, tracemalloc)",
                      fmt_bytes(m["after_forward"] / big), fmt_bytes(o["after_forward"] / big),
                      f"**{fmt_ratio(o['after_forward'] / m['after_forward'])}**", "≤ 0.33×")
            summarize(shared, f"memory left after `del` of the {fmt_n(big)}-node graph",
                      f"{fmt_bytes(m['residue_dropped'])}; {fmt_bytes(m['residue_collected'])} after gc.collect()",
                      f"{fmt_bytes(o['residue_dropped'])} (a free list); {fmt_bytes(o['residue_collected'])} "
                      "after gc.collect()", "", "back to baseline")
    parts = [text, table(time_header, time_rows)]
    if linear:
        parts.append("Linearity: " + "; ".join(linear) + ".")
    parts += [memory_text, table(memory_header, memory_rows)]
    return "\n\n".join(parts)


def fresh_bytes_per_node(python: str, n: int) -> float:
    """Bytes per node of the chain measured in a new worker that has made nothing else (what a
    process did before could change CPython's per-instance allocations: autograd_mini/value.py)."""
    fresh = Worker("autograd_mini", python)
    try:
        return fresh.ask("chain_memory", n=n, with_backward=False)["after_forward"] / n
    except WorkerError:
        return float("nan")
    finally:
        fresh.close()


def bench_node(workers, plan, notes, shared) -> str:
    names = list(workers)
    results = {(name, gc_on): [] for name in names for gc_on in (True, False)}
    for _ in range(2):  # two interleaved rounds of (GC on, GC off), each `repeat` timeit runs
        for gc_on in (True, False):
            for name, answer in in_turn(workers, "node_creation", number=plan["node_number"],
                                        repeat=plan["node_repeat"], gc=gc_on).items():
                results[(name, gc_on)].append(answer)

    def stat(name, gc_on, key, which="median"):
        return median([r[key][which] for r in results[(name, gc_on)]])

    floats = median([stat(name, gc_on, "float", "best") for name in names for gc_on in (True, False)])
    rows = []
    for gc_on, label in ((True, "GC on (default)"), (False, "GC off")):
        row = [f"`a * b`, {label}"]
        row += [f"{stat(n, gc_on, 'node'):.0f} ns (best {stat(n, gc_on, 'node', 'best'):.0f})" for n in names]
        row += [f"{stat(n, gc_on, 'node') / floats:.0f}×" for n in names]
        if len(names) == 2:
            row.append(fmt_ratio(stat("micrograd", gc_on, "node") / stat("autograd_mini", gc_on, "node")))
        rows.append(row)
    rows.append(["`x * y` on two floats"] + [f"{stat(n, True, 'float'):.1f} ns (best {stat(n, True, 'float', 'best'):.1f})"
                                             for n in names] + ["1×"] * len(names) + ([""] if len(names) == 2 else []))
    if len(names) == 2:
        summarize(shared, "one node `a * b` (GC on), next to a float `x * y`",
                  f"{stat('micrograd', True, 'node'):.0f} ns", f"{stat('autograd_mini', True, 'node'):.0f} ns",
                  f"{fmt_ratio(stat('micrograd', True, 'node') / stat('autograd_mini', True, 'node'))} faster",
                  f"float: {floats:.0f} ns")
    header = (["one multiply"] + header_cells(workers) + [f"{n} / float" for n in names]
              + (["micrograd / ours"] if len(names) == 2 else []))
    text = (f"timeit of `a * b` on two Values (the result is dropped at once), {plan['node_number']:,} per run, "
            f"median of 2 × {plan['node_repeat']} runs per engine, interleaved; a plain float multiply for scale "
            "(timeit switches the GC off by itself: the GC-on row switches it back on in the setup).")
    return text + "\n\n" + table(header, rows)


def bench_compiled(workers, plan, data, notes, shared) -> str:
    ours = workers.get("autograd_mini")
    if ours is None:
        return "skipped: autograd_mini is not among the engines of this run."
    why_not = ours.info.get("compiled", "")
    if why_not:
        return f"skipped: `autograd_mini.compile` is not available yet ({why_not})."
    parts = []
    X, y, weights = data
    # (a) the demo step, compiled two ways, against micrograd's eager step
    micro_step = shared.get("demo_step", {}).get("micrograd")
    source = "section 1"
    micro = workers.get("micrograd")
    if micro_step is None and micro is not None:  # section 1 not run: measure a few steps here
        source = "measured here"
        micro.ask("demo_init", X=X, y=y, weights=weights, sizes=SIZES[1])
        times = []
        for block in range(2):
            times += micro.ask("demo_steps", k0=2 * block, count=2)["times"]
        micro_steps = times[1:]
        micro_step = median(micro_steps)
    eager_step = shared.get("demo_step", {}).get("autograd_mini")
    accuracy = shared.get("final_accuracy", {})
    variants = (("compiled_demo", "`compile(loss)`, floats"), ("compiled_step_demo", "nn `CompiledStep`, whole batch"))
    runs = {command: [] for command, _ in variants}
    errors = {}
    for _ in range(plan["compiled_runs"]):
        for command, _ in variants:
            if command in errors:
                continue
            try:
                runs[command].append(ours.ask(command, X=X, y=y, weights=weights, sizes=SIZES[1],
                                              steps=plan["demo_steps"]))
            except WorkerError as error:
                errors[command] = str(error).splitlines()[0]
    shared.setdefault("raw", {})["compiled_demo"] = runs
    header = ["demo step", "micrograd (eager)", "autograd_mini eager"] + [label for _, label in variants]
    step_cells, mean_cells, ratio_cells, acc_cells, loss_cells = [], [], [], [], []
    for command, _ in variants:
        if command in errors or not runs[command]:
            failed = f"failed: {errors.get(command, '?')}"
            step_cells.append(failed)
            mean_cells.append(ratio_cells.append("") or acc_cells.append("") or loss_cells.append("") or "")
            continue
        steady = [t for run in runs[command] for t in run["times"][2:] or run["times"]]
        every = [t for run in runs[command] for t in run["times"]]
        step_cells.append(f"**{fmt_time(median(steady))}**")
        mean_cells.append(fmt_time(sum(every) / len(every)))
        ratio_cells.append(f"**{fmt_ratio(ratio(micro_step, median(steady)))}** (target ≥ 100×)"
                           if micro_step else "–")
        last = runs[command][-1]
        acc_cells.append(f"{100 * last['accuracy']:.0f}%")
        loss_cells.append(f"{last['losses'][-1]:.4f}")
    eager_acc = [f"{100 * accuracy[n]:.0f}%" if n in accuracy else "–" for n in ("micrograd", "autograd_mini")]
    for (command, label), cell, ratio_cell, acc_cell in zip(variants, step_cells, ratio_cells, acc_cells):
        if micro_step and not cell.startswith("failed"):
            summarize(shared, f"compiled demo step: {label} (accuracy {acc_cell})", fmt_time(micro_step),
                      cell.strip("*"), ratio_cell.split(" (")[0] + " faster", "≥ 100×")
    rows = [
        ["time per step (median)", fmt_time(micro_step) if micro_step else "–",
         fmt_time(eager_step) if eager_step else "–", *step_cells],
        ["mean, with tracing and re-tracing checks", "", "", *mean_cells],
        ["micrograd / this", "1×" if micro_step else "–",
         fmt_ratio(ratio(micro_step, eager_step)) if micro_step and eager_step else "–", *ratio_cells],
        [f"accuracy after {plan['demo_steps']} steps", *eager_acc, *acc_cells],
        ["loss at the last step", "", "", *loss_cells],
    ]
    parts.append(
        f"(a) micrograd's demo, {plan['demo_steps']} steps, compiled two ways: `autograd_mini.compile` of the "
        "whole loss as a function of the 337 parameters, `f.value_and_grad(*params)` on plain floats (the "
        "same loss as micrograd's); and nn's compiled step `nn.compiled.CompiledStep(model, \"hinge\", "
        "l2=2e-4)`, which runs the model's traced graph once over the whole batch with NumPy (nn's L2 "
        "leaves the 49 biases alone). SGD on floats with the demo's schedule. Median over "
        f"{plan['compiled_runs']} runs, leaving out each run's first two steps (tracing); the mean counts "
        "everything, including `compile`'s re-tracing at the 1st, 2nd, 4th, 8th... call that checks the "
        f"graph did not change. micrograd's and our eager step: {source} of this run; the accuracies: "
        "section 2 for the eager engines, the eager engine on the compiled runs' trained weights.\n\n"
        + table(header, rows))
    # (b) one compiled call of an n-node graph, per node
    n = plan["compiled_n"]
    try:
        answer = ours.ask("compiled_chain", n=n, repeat=plan["compiled_repeat"])
        eager = [ours.ask("chain_time", n=n) for _ in range(plan["compiled_repeat"])]
        floats = ours.ask("float_chain", n=n, repeat=plan["compiled_repeat"])["times"]
        call, vg = median(answer["call"]), median(answer["value_and_grad"])
        eager_fw = median([e["forward"] for e in eager])
        eager_all = median([e["forward"] + e["backward"] for e in eager])
        plain = median(floats)
        eager_check = eager[0]["check"]  # [y, dy/dy0, dy/dw, dy/db]
        worst = max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(answer["check"], eager_check))
        if worst > 1e-12:
            notes.append(f"compiled chain: value/gradients differ from the eager engine's by {worst:.2g} (relative)")
        summarize(shared, f"one compiled call, {fmt_n(n)}-node chain, value and gradient, per node", "",
                  f"{fmt_time(vg / n)} (eager {fmt_time(eager_all / n)})",
                  f"{fmt_ratio(eager_all / vg)} faster than eager", f"plain float op: {fmt_time(plain / n)}")
        rows = [
            ["value only"] + [fmt_time(call / n), fmt_time(eager_fw / n), fmt_ratio(eager_fw / call),
                              f"{call / plain:.1f}×"],
            ["value and gradient"] + [fmt_time(vg / n), fmt_time(eager_all / n), fmt_ratio(eager_all / vg),
                                      f"{vg / plain:.1f}×"],
            ["plain Python floats, same loop"] + [fmt_time(plain / n), "", "", "1×"],
        ]
        header = [f"chain of {fmt_n(n)} ops, per node", "compiled call", "eager engine", "eager / compiled",
                  "compiled / plain floats"]
        parts.append(f"(b) One call of `autograd_mini.compile(chain)` on the chain of section 3 with "
                     f"N = {fmt_n(n)} (traced once: {fmt_time(answer['trace'])}; first gradient call, "
                     f"which writes the reverse program: {fmt_time(answer['first_grad'])}), median of "
                     f"{plan['compiled_repeat']} later calls at the same inputs; the "
                     "eager engine (forward; forward + backward) and the same loop on plain floats for "
                     "scale.\n\n" + table(header, rows))
    except WorkerError as error:
        parts.append(f"(b) compiled chain: failed: {str(error).splitlines()[0]}")
    return "\n\n".join(parts)


def issue10(shared, what: str, micrograd_cell: str, ours_cell: str, ratio_value, target: str,
            extra: str = "") -> None:
    """One row of the eager-engine table (issue 10): time / micrograd's time, lower is better."""
    cell = f"**{ratio_value:.3g}**" if isinstance(ratio_value, float) and not math.isnan(ratio_value) \
        else (ratio_value or "–")
    shared.setdefault("issue10", []).append([what, micrograd_cell, ours_cell, cell, target, extra])


def bench_small(workers, plan, notes, shared) -> str:
    names = list(workers)
    tiny = {name: [] for name in names}
    tiny_gc = {name: [] for name in names}
    wide = {name: [] for name in names}
    wide_gc = {name: [] for name in names}
    checks = {}
    n_tiny, n_wide = plan["tiny_n"], plan["wide_n"]
    for _ in range(plan["tiny_reps"]):
        for name, answer in in_turn(workers, "tiny_graphs", n=n_tiny).items():
            if "error" in answer:
                raise WorkerError(answer["error"])
            tiny[name].append(answer["time"] / n_tiny)
            tiny_gc[name].append(answer["gc_time"] / answer["time"])
            if answer["check"] != [6.0, 2.0, 5.0]:
                notes.append(f"{name}: e = (a+b)(b+1) gave {answer['check']}, expected [6.0, 2.0, 5.0]")
    for rep in range(plan["wide_reps"]):
        for name, answer in in_turn(workers, "wide_sum", n=n_wide, seed=rep).items():
            if "error" in answer:
                raise WorkerError(answer["error"])
            total = answer["forward"] + answer["backward"]
            wide[name].append(total)
            wide_gc[name].append(answer["gc_time"] / total)
            checks.setdefault(rep, {})[name] = answer["check"]
    wide_off = {name: [] for name in names}
    for rep in range(plan["wide_reps"] // 2 + 1):  # for information: inside collector_paused()
        for name, answer in in_turn(workers, "wide_sum", n=n_wide, seed=rep, gc=False).items():
            if "error" not in answer:
                wide_off[name].append(answer["forward"] + answer["backward"])
    for rep, found in checks.items():
        for name, check in found.items():
            if check[1] != 0.0 or check[2] != 0.0:
                notes.append(f"{name}: wide sum, d total / d a_i differs from b_i by {check[1:]}")
        if len(found) == 2:
            a, b = found["micrograd"][0], found["autograd_mini"][0]
            if abs(a - b) > 1e-12 * max(1.0, abs(a)):
                notes.append(f"wide sum: the engines' totals differ ({a!r} vs {b!r})")
    rows = [
        [f"e = (a+b)(b+1) built + backward, {fmt_n(n_tiny)} times in a loop: time per graph"]
        + [f"**{fmt_time(median(tiny[n]))}**" for n in names],
        ["… share of that time in the cyclic GC"] + [f"{100 * median(tiny_gc[n]):.0f}%" for n in names],
        [f"Σ aᵢbᵢ over {fmt_n(n_wide)} pairs, added as a balanced tree, + backward"]
        + [f"**{fmt_time(median(wide[n]))}**" for n in names],
        ["… share of that time in the cyclic GC"] + [f"{100 * median(wide_gc[n]):.0f}%" for n in names],
        ["… the same inside `collector_paused()` (extra)"] + [fmt_time(median(wide_off[n])) for n in names],
    ]
    header = ["workload"] + header_cells(workers)
    if len(names) == 2:
        header.append("ours / micrograd (time)")
        r_tiny = ratio(median(tiny["autograd_mini"]), median(tiny["micrograd"]))
        r_wide = ratio(median(wide["autograd_mini"]), median(wide["micrograd"]))
        r_off = ratio(median(wide_off["autograd_mini"]), median(wide["micrograd"]))
        for row, cell in zip(rows, [f"**{r_tiny:.2f}** (target ≤ 0.5)", "", f"**{r_wide:.3f}** (target ≤ 0.1)", "",
                                    f"{r_off:.3f} of micrograd's time with its collector on"]):
            row.append(cell)
        issue10(shared, f"e = (a+b)(b+1) built and backpropagated, {fmt_n(n_tiny)} times",
                f"{fmt_time(median(tiny['micrograd']))} per graph", fmt_time(median(tiny["autograd_mini"])),
                r_tiny, "≤ 0.5", f"GC {100 * median(tiny_gc['autograd_mini']):.0f}%")
        issue10(shared, f"Σ aᵢbᵢ over {fmt_n(n_wide)} pairs, balanced, + backward",
                fmt_time(median(wide["micrograd"])), fmt_time(median(wide["autograd_mini"])), r_wide, "≤ 0.1",
                f"GC {100 * median(wide_gc['autograd_mini']):.0f}%; inside `collector_paused()`: "
                f"{fmt_time(median(wide_off['autograd_mini']))} ({r_off:.3f})")
    text = number_chain_text(workers, plan, notes, shared) + "\n\n"
    text += (f"Fixed costs: a 3-op graph made and backpropagated {fmt_n(n_tiny)} times in a plain loop; a wide "
            f"sum: {fmt_n(n_wide)} products a_i * b_i (leaves made untimed) added pairwise as a balanced "
            f"tree, then backward. Median of {plan['tiny_reps']} and {plan['wide_reps']} interleaved "
            "repetitions, the collector at its default settings (its share measured with gc.callbacks).")
    return text + "\n\n" + table(header, rows)


def number_chain_text(workers, plan, notes, shared) -> str:
    """Issue 20's peer benchmark, ours alone (targets in seconds and megabytes, not a ratio:
    micrograd makes four nodes a step, gigabytes at 10^6)."""
    ours = workers.get("autograd_mini")
    if ours is None:
        return ""
    n = plan["number_chain_n"]
    totals, gc_shares = [], []
    for _ in range(plan["number_chain_reps"]):
        answer = ours.ask("number_chain", n=n)
        total = answer["forward"] + answer["backward"]
        totals.append(total)
        gc_shares.append(answer["gc_time"] / total)
        grad, expected = answer["check"]
        if abs(grad - expected) > 1e-9 * abs(expected):
            notes.append(f"number chain: d y / d x = {grad!r}, by hand 1.0001^n = {expected!r}")
    memory = ours.ask("number_chain_memory", n=n)
    mb = 1e6
    issue10(shared, f"y = 0.001 + 1.0001·y, {fmt_n(n)} times, + backward (issue 20's peer chain)",
            "", f"{fmt_time(median(totals))}; peak {memory['peak'] / mb:.0f} MB",
            "", "≤ 3 s; ≤ 300 MB",
            f"GC {100 * median(gc_shares):.0f}%; {memory['tracked_per_step']:.1f} tracked objects per "
            f"step; {memory['after_forward'] / mb:.0f} MB after forward")
    rows = [["time, forward + backward (median of "
             f"{plan['number_chain_reps']})", f"**{fmt_time(median(totals))}** (target ≤ 3 s)"],
            ["… share of that time in the cyclic GC", f"{100 * median(gc_shares):.0f}%"],
            ["memory held after forward (tracemalloc)", f"{memory['after_forward'] / mb:.0f} MB "
             f"({memory['after_forward'] / (2 * n):.0f} B per op node)"],
            ["peak memory through backward (tracemalloc)",
             f"**{memory['peak'] / mb:.0f} MB** (target ≤ 300 MB)"],
            ["objects the cyclic GC tracks, per step", f"{memory['tracked_per_step']:.2f}"]]
    return (f"Issue 20's peer chain: `y = 0.001 + 1.0001 * y`, {fmt_n(n)} times from a leaf x, then "
            "`y.backward()` (d y / d x checked against 1.0001^n); ours alone (micrograd makes four "
            "nodes a step: gigabytes at this size).\n\n"
            + table(["peer chain", f"autograd_mini {ours.version}"], rows))


# The demo step as a notebook user writes it, sent to a Jupyter kernel cell by cell.
KERNEL_SETUP = """\
import gc, json, sys, time
sys.path.insert(0, {path!r})
{imports}
X, y, weights = json.loads({data!r})
model = MLP(2, {sizes!r})
for p, w in zip(model.parameters(), weights):
    p.data = w
total = {total}

def demo_loss():
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = total(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * total(p * p for p in model.parameters())
    return data_loss + reg_loss
"""

KERNEL_STEPS = """\
_times, _in_gc, _start = [], [0.0], [0.0]
def _clock(phase, info):
    if phase == "start":
        _start[0] = time.process_time()
    else:
        _in_gc[0] += time.process_time() - _start[0]
gc.callbacks.append(_clock)
for k in range({k0}, {k0} + {count}):
    t0 = time.process_time()
    total_loss = demo_loss()
    for p in model.parameters():
        p.grad = 0.0
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    _times.append(time.process_time() - t0)
gc.callbacks.remove(_clock)
print(json.dumps({{"times": _times, "gc_time": _in_gc[0], "loss": total_loss.data}}))
"""


class Kernel:
    """A Jupyter kernel (ipykernel, this Python) running one engine's cells."""

    def __init__(self, manager_class) -> None:
        self.manager = manager_class(kernel_name="python3")
        self.manager.start_kernel()
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str) -> str:
        out, errors = [], []

        def hook(message):
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        self.client.execute_interactive(code, timeout=900, output_hook=hook)
        if errors:
            raise WorkerError("kernel: " + "; ".join(errors))
        return "".join(out)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def micrograd_site(python: str) -> str:
    found = subprocess.run([python, "-c", "import micrograd, os; "
                            "print(os.path.dirname(os.path.dirname(micrograd.__file__)))"],
                           capture_output=True, text=True, check=True)
    return found.stdout.strip()


def bench_jupyter(workers, plan, data, notes, shared, pythons) -> str:
    try:
        from jupyter_client.manager import KernelManager
        import ipykernel  # noqa: F401  (the kernel itself)
    except ImportError as missing:
        return f"skipped: {missing} (pip install -e '.[test]' installs jupyter_client and ipykernel)"
    X, y, weights = data
    payload = json.dumps([X, y, weights])
    setups = {
        "micrograd": KERNEL_SETUP.format(path=micrograd_site(pythons["micrograd"]) if "micrograd" in pythons else "",
                                         imports="from micrograd.engine import Value\nfrom micrograd.nn import MLP",
                                         data=payload, sizes=SIZES[1], total="sum"),
        "autograd_mini": KERNEL_SETUP.format(path=REPO, imports="from autograd_mini import Value\nfrom nn import MLP",
                                             data=payload, sizes=SIZES[1], total="Value.sum"),
    }
    names = list(workers)
    kernels = {}
    per_step = {name: [] for name in names}
    shares = {name: [] for name in names}
    losses = {name: None for name in names}
    try:
        for name in names:
            kernels[name] = Kernel(KernelManager)
            kernels[name].run(setups[name])
        k = 0
        for block in range(plan["jupyter_blocks"]):
            for name in names:
                reply = json.loads(kernels[name].run(KERNEL_STEPS.format(k0=k, count=plan["jupyter_per_block"])))
                if block > 0 or plan["jupyter_blocks"] == 1:  # the first block warms up
                    per_step[name].extend(reply["times"])
                    shares[name].append(reply["gc_time"] / sum(reply["times"]))
                losses[name] = reply["loss"]
            k += plan["jupyter_per_block"]
    finally:
        for kernel in kernels.values():
            kernel.close()
    rows = [["time per step (GC on, default)"] + [f"**{fmt_time(median(per_step[n]))}**" for n in names],
            ["share of that time in the cyclic GC"] + [f"{100 * median(shares[n]):.0f}%" for n in names],
            ["loss at the last step"] + [f"{losses[n]:.12g}" for n in names]]
    header = ["demo step in a Jupyter kernel"] + header_cells(workers)
    if len(names) == 2:
        r = ratio(median(per_step["autograd_mini"]), median(per_step["micrograd"]))
        header.append("ours / micrograd (time)")
        for row, cell in zip(rows, [f"**{r:.3f}** (target ≤ 0.018)", "", ""]):
            row.append(cell)
        issue10(shared, "micrograd's demo step in a Jupyter kernel (ipykernel), cells as a user writes them",
                fmt_time(median(per_step["micrograd"])), fmt_time(median(per_step["autograd_mini"])), r,
                "≤ 0.018", f"GC {100 * median(shares['autograd_mini']):.0f}%")
    text = (f"micrograd's demo step (section 1) typed into a Jupyter kernel: a setup cell, then cells of "
            f"{plan['jupyter_per_block']} steps each, the engines' kernels in turn; the first cell warms up. "
            "Each engine in its own kernel (ipykernel, this Python; micrograd imported from its environment), "
            "the collector at its default settings.")
    return text + "\n\n" + table(header, rows)


# -- main --------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def load_text(load) -> str:
    return "n/a" if load is None else f"{load[0]:.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the smoke test
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated benchmarks among {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated engines among micrograd, autograd_mini (default: both)")
    parser.add_argument("--out", default=os.path.join(HERE, "results.md"), help="Markdown file to write")
    parser.add_argument("--json", default=None, help="also write the raw settings and text as JSON")
    parser.add_argument("--venv", default=DEFAULT_VENV, help="micrograd's virtual environment")
    parser.add_argument("--no-install", action="store_true",
                        help="do not create micrograd's environment; fail if it is missing")
    args = parser.parse_args(argv)

    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for value, allowed, what in ((chosen, BENCHMARKS, "--only"), (engines, ENGINES, "--engines")):
        unknown = [v for v in value if v not in allowed]
        if unknown or not value:
            parser.error(f"{what}: unknown or empty {unknown}; choose among {', '.join(allowed)}")
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    plan = PLANS[size]
    command = "python bench/run.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()

    pythons = {"autograd_mini": sys.executable}
    if "micrograd" in engines:
        pythons["micrograd"] = ensure_micrograd(args.venv, install=not args.no_install)
    workers = {name: Worker(name, pythons[name]) for name in ENGINES if name in engines}
    started = time.perf_counter()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    notes: list[str] = []
    shared: dict = {}  # results one section hands to a later one
    sections = []
    try:
        for worker in workers.values():
            worker.info = worker.ask("info")
            worker.version = worker.info["version"]
        versions = {w.info["python"] for w in workers.values()}
        if len(versions) != 1:
            raise WorkerError(f"the engines run on different Pythons: {versions}")
        data = (*make_moons(plan["points"], 0.1, 1337), init_weights(SIZES[0], SIZES[1], 1337))
        runners = {
            "step": ("1. micrograd's demo step", lambda: bench_demo_step(workers, plan, data, notes, shared)),
            "demo": ("2. micrograd's full demo (issue 4)", lambda: bench_full_demo(workers, plan, data, notes, shared)),
            "chain": ("3. A chain of N ops", lambda: bench_chain(workers, plan, notes, shared)),
            "node": ("4. One node creation", lambda: bench_node(workers, plan, notes, shared)),
            "compiled": ("5. Compiled (issue 6)", lambda: bench_compiled(workers, plan, data, notes, shared)),
            "small": ("6. Fixed costs and a wide sum (issue 10)", lambda: bench_small(workers, plan, notes, shared)),
            "jupyter": ("7. The demo step in a Jupyter kernel (issue 10)",
                        lambda: bench_jupyter(workers, plan, data, notes, shared, pythons)),
        }
        for key in BENCHMARKS:
            if key in chosen:
                title, run = runners[key]
                print(f"running {title} ...", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                sections.append((title, run()))
                print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        for worker in workers.values():
            worker.close()
    for worker in workers.values():
        notes += [f"crash: {c}" for c in worker.crashes]
    info = next(iter(workers.values())).info
    ours = workers.get("autograd_mini")
    lines = [
        "# Benchmark: autograd_mini against micrograd 0.1.0",
        "",
        f"Command: `{command}` ({size} run, {time.perf_counter() - started:.0f} s, "
        f"{datetime.date.today().isoformat()})  ",
        f"Machine: {machine()}; load average {load_text(load_before)} at the start, "
        f"{load_text(os.getloadavg() if load_before else None)} at the end (every time is the worker "
        "process's CPU time, so other work on the machine counts for neither engine; the runs are "
        "interleaved)  ",
        f"Python: {info['implementation']} {info['python']} for both engines, each in its own process "
        f"(GC thresholds {tuple(info['gc_threshold'])}, the default)  ",
        "Engines: " + ", ".join(f"{name} {w.version}" for name, w in workers.items())
        + (f"; our model: {ours.info['model']}" if ours else ""),
    ]
    if shared.get("issue10"):
        lines += ["", "## The eager engine (issue 10)", "",
                  "Time of ours divided by micrograd's in the same run (lower is better), the collector at "
                  "its default settings in the user's own loop; GC = our share of time in the cyclic "
                  f"collector. {RUST_PEER}", "",
                  table(["workload", f"micrograd {workers['micrograd'].version}" if "micrograd" in workers
                         else "micrograd", "autograd_mini", "ours / micrograd", "target", "notes"],
                        shared["issue10"])]
    if shared.get("summary"):
        lines += ["", "## Summary", "", table(["", f"micrograd {workers['micrograd'].version}"
                                                if "micrograd" in workers else "micrograd",
                                                "autograd_mini", "micrograd / ours", "target"],
                                               shared["summary"])]
    for title, text in sections:
        lines += ["", f"## {title}", "", text]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    with open(args.out, "w") as f:
        f.write(markdown)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "size": size, "plan": {k: v for k, v in plan.items() if k != "chain_reps"},
                       "engines": {name: w.info for name, w in workers.items()},
                       "sections": dict(sections), "notes": notes, "raw": shared.get("raw", {})}, f)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
