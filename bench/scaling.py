"""How the cost of a training step grows with the network: eager, compiled and PyTorch.

    python bench/scaling.py            # about 3-4 minutes on 2 cores; a table and docs/images/scaling.png
    python bench/scaling.py --quick    # smaller sizes, about 30 seconds (a smoke test)

A square MLP ``nn.MLP(width, [width] * depth + [1], init="he")`` (relu, mse loss, SGD) trains on a batch of
BATCH random rows; each contender runs the same step (forward, backward, SGD update) on the same
weights and rows, in turn, in this one process, one thread each:

- eager: the engine as a user writes the loop (one graph per example, ``loss.backward()``);
- compiled: ``nn.compiled.CompiledStep`` (what ``nn.fit(..., compile=True)`` runs), whole batch
  as NumPy arrays; its first call traces and compiles (timed apart: "compile time");
- PyTorch: ``model.to_torch()`` (float64 tensors, ``torch.set_num_threads(1)``), skipped with a
  note when torch is not installed.

Time per example is the least CPU time (``time.process_time``: other work on the machine does
not count) of REPEATS steps, divided by BATCH. Memory per node: tracemalloc, the bytes an example's graph holds after the
forward pass, over its node and edge counts.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import platform
import random
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)  # measure the working tree

import nn  # noqa: E402
from autograd_mini.graph import topological_order  # noqa: E402
from nn.compiled import CompiledStep  # noqa: E402

BATCH = 32
LR = 1e-3  # small enough that no contender's weights run off to inf during the timed steps
PLANS = {
    "full": dict(widths=[8, 16, 32, 64, 128, 256], depths=[1, 2, 4, 8], width_depth=2,
                 depth_width=32, repeats=5, eager_repeats={128: 3, 256: 2}),
    "quick": dict(widths=[8, 16, 32], depths=[1, 2], width_depth=2, depth_width=16, repeats=2,
                  eager_repeats={}),
    "tiny": dict(widths=[2, 4], depths=[1], width_depth=1, depth_width=2, repeats=1,
                 eager_repeats={}),  # for tests/test_bench_smoke.py
}


def torch_module():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def batch(width: int, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    rng = random.Random(seed)
    X = [[rng.uniform(-1.0, 1.0) for _ in range(width)] for _ in range(BATCH)]
    return X, [rng.uniform(-1.0, 1.0) for _ in range(BATCH)]


def timed(step) -> float:
    t0 = time.process_time()
    loss = step()
    elapsed = time.process_time() - t0
    if not math.isfinite(loss):  # (inf and nan take slow paths: the times would mean nothing)
        raise ArithmeticError(f"the training step's loss is {loss!r}: lower LR")
    return elapsed


def eager_step(model, params, X, y):
    def step():
        loss = nn.mse_loss([model(x) for x in X], y)
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.data
    return step


def compiled_step(model, params, X, y):
    compiled = CompiledStep(model, "mse")
    t0 = time.process_time()
    compiled(X, y)  # traces the model and writes the program
    compile_time = time.process_time() - t0

    def step():
        loss, grads, _ = compiled(X, y)
        for p, g in zip(compiled.parameters, grads):
            p.data -= LR * g
        return loss
    return step, compile_time


def torch_step(torch, model, X, y):
    net = model.to_torch()
    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64).reshape(-1, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)

    def step():
        optimizer.zero_grad()
        loss = 0.5 * ((net(inputs) - targets) ** 2).mean()  # nn.mse_loss: UFLDL's 1/2
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def graph_size(model, x) -> tuple[int, int, float]:
    """Op nodes and edges of one example's graph (the parameters, made beforehand, are not
    counted), and the bytes it holds (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = model(x)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    made = [node for node in topological_order(out) if not node.is_leaf]
    return len(made), sum(len(node.parents) for node in made), held


def measure(width: int, depth: int, repeats: int, torch) -> dict:
    model = nn.MLP(width, [width] * depth + [1], init="he", seed=0)
    params = model.parameters()
    X, y = batch(width)
    nodes, edges, held = graph_size(model, X[0])
    row = {"width": width, "depth": depth, "parameters": len(params), "nodes": nodes,
           "edges": edges, "bytes": held}
    eager = eager_step(model, params, X, y)
    compiled, row["compile"] = compiled_step(model, params, X, y)
    contenders = [("eager", eager), ("compiled", compiled)]
    if torch is not None:
        contenders.append(("torch", torch_step(torch, model, X, y)))
    for name, step in contenders:  # a warm-up step each, then the timed ones in turn
        step()
    times = {name: [] for name, _ in contenders}
    for _ in range(repeats):
        for name, step in contenders:
            times[name].append(timed(step))
    for name, found in times.items():
        row[name] = min(found) / BATCH
    return row


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def table(rows: list[dict], torch) -> str:
    header = ["width", "depth", "parameters", "op nodes per example", "edges per example",
              "eager", "compiled", "PyTorch" if torch else "PyTorch (not installed)",
              "eager / PyTorch", "compiled / PyTorch", "compile time", "bytes per node (per edge)"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in rows:
        t = r.get("torch")
        cells = [r["width"], r["depth"], f"{r['parameters']:,}", f"{r['nodes']:,}",
                 f"{r['edges']:,}", fmt_time(r["eager"]), fmt_time(r["compiled"]),
                 fmt_time(t) if t else "", f"{r['eager'] / t:.3g}×" if t else "",
                 f"{r['compiled'] / t:.3g}×" if t else "", fmt_time(r["compile"]),
                 f"{r['bytes'] / r['nodes']:,.0f} B ({r['bytes'] / r['edges']:.0f} B)"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def plot(by_width: list[dict], by_depth: list[dict], path: str, torch) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    styles = [("eager", "eager engine", "o-"), ("compiled", "compiled (CompiledStep)", "s-"),
              ("torch", "PyTorch float64", "^-")]
    for ax, rows, key, title in ((axes[0], by_width, "width", f"depth {by_width[0]['depth']}"),
                                 (axes[1], by_depth, "depth", f"width {by_depth[0]['width']}")):
        xs = [r[key] for r in rows]
        for name, label, style in styles:
            if name == "torch" and torch is None:
                continue
            ax.plot(xs, [r[name] * 1e6 for r in rows], style, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel(f"{key} ({title})")
        ax.set_ylabel(f"time per example (µs), batch of {BATCH}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    rows = {(r["width"], r["depth"]): r for r in by_width + by_depth}.values()
    # against edges, not nodes: an affine node of n inputs is one node with 2n + 1 edges, and
    # the compiler's work grows with the edges (nodes alone would put width 32 depth 8 and
    # width 128 depth 2, 513 nodes each, 4x apart)
    rows = sorted(rows, key=lambda r: r["edges"])
    axes[2].plot([r["edges"] for r in rows], [r["compile"] for r in rows], "s-", color="C1")
    for r in rows:
        axes[2].annotate(f"{r['nodes']:,} nodes", (r["edges"], r["compile"]), fontsize=7,
                         textcoords="offset points", xytext=(4, -9))
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("edges in one example's graph")
    axes[2].set_ylabel("compile time (s): trace + program")
    axes[2].grid(True, which="both", alpha=0.3)
    fig.suptitle("Cost of a training step of MLP(width, [width] × depth + [1]) as it grows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the smoke test
    parser.add_argument("--png", default=os.path.join(REPO, "docs", "images", "scaling.png"),
                        help="where to write the plot ('' for none)")
    args = parser.parse_args(argv)
    plan = PLANS["tiny" if args.tiny else "quick" if args.quick else "full"]
    torch = torch_module()
    started = time.perf_counter()

    def run(width, depth):
        repeats = plan["eager_repeats"].get(width, plan["repeats"])
        row = measure(width, depth, repeats, torch)
        print(f"  width {width:4d} depth {depth}: eager {fmt_time(row['eager'])}, compiled "
              f"{fmt_time(row['compiled'])}, torch {fmt_time(row['torch']) if torch else '-'}, "
              f"compile {fmt_time(row['compile'])}", file=sys.stderr)
        return row

    by_width = [run(w, plan["width_depth"]) for w in plan["widths"]]
    by_depth = [run(plan["depth_width"], d) for d in plan["depths"]]
    elapsed = time.perf_counter() - started
    versions = f"Python {platform.python_version()}"
    if torch is not None:
        versions += f", torch {torch.__version__}"
    else:
        versions += "; PyTorch not installed (pip install torch): its columns are empty"
    print(f"Command: `python bench/scaling.py` ({elapsed:.0f} s, {datetime.date.today()}); "
          f"{platform.machine()}, {os.cpu_count()} cores, {versions}; batch of {BATCH}, "
          f"time per example = least CPU time of a step / {BATCH}\n")
    print(f"By width (depth {plan['width_depth']}):\n\n{table(by_width, torch)}\n")
    print(f"By depth (width {plan['depth_width']}):\n\n{table(by_depth, torch)}")
    if args.png:
        plot(by_width, by_depth, args.png, torch)
        print(f"\nwrote {os.path.relpath(args.png, REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
