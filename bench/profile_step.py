"""Where autograd_mini's time goes in micrograd's demo step (run in this interpreter, no micrograd).

    python bench/profile_step.py [--steps 20] [--cprofile]

Prints the median time of each phase of a step (forward = building the loss graph, topological
order, the reverse accumulation loop, the SGD update), the time spent in Python's cyclic garbage
collector by generation, and optionally the top functions of cProfile.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import SIZES, init_weights, make_moons  # noqa: E402
from worker import AutogradMini, Demo, count_nodes  # noqa: E402


class GCByGeneration:
    def __init__(self) -> None:
        self.time = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase, info) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.time[info["generation"]] += time.perf_counter() - self._start
            self.count[info["generation"]] += 1


def phases(demo: Demo, steps: int, gc_on: bool) -> dict:
    from autograd_mini.graph import topological_order, backward
    timings = {"forward": [], "topological order": [], "backward (incl. its own topo sort)": [],
               "zero_grad + update": [], "total": []}
    clock = GCByGeneration()
    gc.callbacks.append(clock)
    if not gc_on:
        gc.disable()
    try:
        for k in range(steps):
            t0 = time.perf_counter()
            loss, _ = demo.loss()
            t1 = time.perf_counter()
            topological_order(loss)  # measured alone; backward() below sorts again
            t2 = time.perf_counter()
            for p in demo.params:
                p.grad = 0.0
            t3 = time.perf_counter()
            loss.backward()
            t4 = time.perf_counter()
            lr = 1.0 - 0.9 * k / 100
            for p in demo.params:
                p.data -= lr * p.grad
            t5 = time.perf_counter()
            timings["forward"].append(t1 - t0)
            timings["topological order"].append(t2 - t1)
            timings["backward (incl. its own topo sort)"].append(t4 - t3)
            timings["zero_grad + update"].append((t3 - t2) + (t5 - t4))
            timings["total"].append((t1 - t0) + (t5 - t2))
            del loss
    finally:
        gc.enable()
        gc.callbacks.remove(clock)
    result = {name: statistics.median(ts) for name, ts in timings.items()}
    result["gc"] = clock
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions")
    args = parser.parse_args()
    X, y = make_moons(100, 0.1, 1337)
    engine = AutogradMini()
    demo = Demo(engine, X, y, init_weights(SIZES[0], SIZES[1], 1337), SIZES[1])
    loss, _ = demo.loss()
    nodes = count_nodes(engine, loss)
    del loss
    print(f"our model: {engine.model_kind}; {nodes:,} nodes per step")
    for gc_on in (True, False):
        result = phases(demo, args.steps, gc_on)
        clock = result.pop("gc")
        total = result["total"]
        print(f"\nGC {'on (default)' if gc_on else 'off'}: median over {args.steps} steps")
        for name, t in result.items():
            print(f"  {name:40s} {t * 1e3:8.2f} ms  {100 * t / total:5.1f}%")
        if gc_on:
            spent = sum(clock.time) / args.steps
            print(f"  cyclic GC per step (all phases)          {spent * 1e3:8.2f} ms  {100 * spent / total:5.1f}%"
                  "  by generation 0/1/2: "
                  + ", ".join(f"{c / args.steps:.1f}× {t / args.steps * 1e3:.2f} ms"
                              for c, t in zip(clock.count, clock.time)))
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        for k in range(5):
            demo.step(k)
        profiler.disable()
        print("\ncProfile, 5 steps, GC on, by own time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
