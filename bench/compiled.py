"""How fast is a compiled training step? One process, the contenders taken in turn (round-robin).

    python bench/compiled.py            # about a minute
    python bench/compiled.py --quick    # a few seconds (fewer repeats, a 10^4-node chain)

micrograd's demo step: MLP 2-16-16-1 on 100 points of two moons, hinge loss + L2 on the weights
(1e-4), one SGD update, the whole batch at once:

- hand-written NumPy: the forward pass and BP1-BP4 written out with matrices (the floor);
- PyTorch float64 tensors with autograd (if torch is installed);
- ``nn.compiled.CompiledStep.train``: the step the compiler writes from the scalar graph, the
  SGD update on the parameters' array, and the Values written back (and, for scale, the same
  without writing them back: what that costs);
- the same network written by a user with Values by hand (no nn), ``compile``d, and its
  ``batch_value_and_grad`` (the compiler finds its layers too); the eager engine for scale.

Then a chain of 10^5 nodes ``y = tanh(y * w)``: tracing and writing the program, and one call of
the compiled ``value_and_grad`` on floats, per node, next to the eager engine.

Medians of the rounds, one thread per library; timings are this machine's (compare ratios).
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# One thread for every library's small matrix products (NumPy's BLAS, PyTorch's OpenMP): idle
# worker threads spinning after a PyTorch call would otherwise slow whichever contender runs next.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

import nn  # noqa: E402
from autograd_mini import Value, compile, gradients  # noqa: E402
from nn.compiled import CompiledStep  # noqa: E402

SIZES = [2, 16, 16, 1]
L2, LR = 1e-4, 0.01


def data():
    X, y = nn.datasets.make_moons(100, noise=0.1, seed=1337)
    return np.array(X, dtype=float), np.array(y, dtype=float)


def weights(seed=1):
    model = nn.MLP(2, SIZES[1:], seed=seed)
    matrices = []
    for layer in model.layers:
        W = np.array([[w.data for w in n.w] for n in layer.neurons])
        b = np.array([n.b.data for n in layer.neurons])
        matrices.append((W, b))
    return model, matrices


def numpy_step(matrices, X, y):
    """The step by hand: forward, hinge + L2, BP1-BP4, SGD."""
    (W1, b1), (W2, b2), (W3, b3) = matrices
    sign = np.where(y > 0, 1.0, -1.0)
    z1 = X @ W1.T + b1
    a1 = np.maximum(z1, 0.0)
    z2 = a1 @ W2.T + b2
    a2 = np.maximum(z2, 0.0)
    score = (a2 @ W3.T + b3)[:, 0]
    margin = 1.0 - sign * score
    n = len(y)
    loss = np.maximum(margin, 0.0).sum() / n + 0.5 * L2 * sum((W * W).sum() for W in (W1, W2, W3))
    d3 = ((margin > 0) * (-sign / n))[:, None]          # BP1
    d2 = (d3 @ W3) * (z2 > 0)                           # BP2
    d1 = (d2 @ W2) * (z1 > 0)
    grads = [(d1.T @ X + L2 * W1, d1.sum(0)), (d2.T @ a1 + L2 * W2, d2.sum(0)),   # BP3, BP4
             (d3.T @ a2 + L2 * W3, d3.sum(0))]
    for (W, b), (dW, db) in zip(matrices, grads):
        W -= LR * dW
        b -= LR * db
    return loss


def torch_contender(matrices, X, y):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # as NumPy's small products here: one core each (2 cores shared)
    params = [torch.tensor(m, dtype=torch.float64, requires_grad=True)
              for pair in matrices for m in pair]
    Xt, sign = torch.tensor(X), torch.tensor(np.where(y > 0, 1.0, -1.0))

    def step():
        W1, b1, W2, b2, W3, b3 = params
        h = torch.relu(Xt @ W1.T + b1)
        h = torch.relu(h @ W2.T + b2)
        score = (h @ W3.T + b3)[:, 0]
        loss = torch.relu(1 - sign * score).mean() + 0.5 * L2 * sum((W * W).sum() for W in (W1, W2, W3))
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss.item()
    return step


def compiled_contender(model, X, y, sync=True):
    """The step the compiler writes, the parameters kept in an array between steps (the
    Values written after each step, so that they are right whenever one looks; ``sync=False``:
    only when asked, the cost of the step alone)."""
    step = CompiledStep(model, "hinge", L2, backend="numpy")
    sgd = nn.SGD(model, lr=LR)

    def run():
        loss, _ = step.train(X, y, sgd, sync=sync)
        return loss
    return run


def hand_network(seed=1):
    """The same network written by a user with Values, no nn: (loss of one example, weights)."""
    rng = random.Random(seed)
    layers = []
    for nin, nout in zip(SIZES, SIZES[1:]):
        layers.append(([[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)],
                       [Value(0.0) for _ in range(nout)]))

    def example_loss(x0, x1, sign):
        h = [x0, x1]
        for i, (W, b) in enumerate(layers):
            h = [Value.sum([w * v for w, v in zip(row, h)] + [bias]) for row, bias in zip(W, b)]
            if i < len(layers) - 1:
                h = [v.relu() for v in h]
        return (1.0 - sign * h[0]).relu()
    return example_loss


def rounds(contenders: dict, repeats: int) -> dict:
    """Each round runs every contender once, in a rotated order (none always follows another)."""
    times = {name: [] for name in contenders}
    names = list(contenders)
    for k in range(repeats):
        for name in names[k % len(names):] + names[:k % len(names)]:
            run = contenders[name]
            t = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def chain_bench(n_nodes: int) -> dict:
    steps = n_nodes // 2

    def chain(x, w):
        y = x
        for _ in range(steps):
            y = (y * w).tanh()
        return y
    gc.collect()
    t = time.perf_counter()
    f = compile(chain)
    f.value_and_grad(0.3, 0.9)
    first = time.perf_counter() - t
    calls = []
    for _ in range(5):
        t = time.perf_counter()
        f.value_and_grad(0.3, 0.9)
        calls.append(time.perf_counter() - t)
    eager = []
    for _ in range(3):
        t = time.perf_counter()
        x, w = Value(0.3), Value(0.9)
        out = chain(x, w)
        gradients(out, [x, w])
        eager.append(time.perf_counter() - t)
    return {"nodes": n_nodes, "first call (trace, write, run)": first / n_nodes,
            "compiled value_and_grad": statistics.median(calls) / n_nodes,
            "eager forward + backward": statistics.median(eager) / n_nodes}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a 10^4-node chain")
    args = parser.parse_args(argv)
    repeats = 50 if args.quick else 400
    X, y = data()
    model, matrices = weights()
    contenders = {"hand-written NumPy": lambda: numpy_step(matrices, X, y)}
    torch_step = torch_contender(weights()[1], X, y)
    if torch_step is not None:
        contenders["PyTorch float64 tensors"] = torch_step
    contenders["nn.compiled.CompiledStep.train"] = compiled_contender(model, X, y)
    contenders["(the same, Values written only when asked: sync=False)"] = \
        compiled_contender(weights()[0], X, y, sync=False)
    example_loss = hand_network()
    user = compile(example_loss)
    rows = np.column_stack([X, np.where(y > 0, 1.0, -1.0)])
    contenders["compile(your own Value MLP).batch_value_and_grad"] = \
        lambda: user.batch_value_and_grad(rows)
    for run in contenders.values():  # trace and warm up
        for _ in range(3):
            run()
    medians = rounds(contenders, repeats)
    eager = rounds({"eager": lambda: [gradients(example_loss(Value(a), Value(b), s), [])
                                      for (a, b), s in zip(X.tolist(), rows[:, 2].tolist())]},
                   3 if args.quick else 10)["eager"]
    floor = medians["hand-written NumPy"]
    print(f"micrograd's demo step (MLP 2-16-16-1, 100 points, hinge + L2, SGD), median of "
          f"{repeats} rounds, round-robin in one process:\n")
    print("| contender | time per step | vs hand-written NumPy |")
    print("| --- | --- | --- |")
    for name, t in medians.items():
        print(f"| {name} | {t * 1e6:,.0f} µs | {t / floor:.2f}× |")
    print(f"| (the user's Value MLP, eager engine, 100 examples) | {eager * 1e6:,.0f} µs | "
          f"{eager / floor:.1f}× |")
    chain = chain_bench(10 ** 4 if args.quick else 10 ** 5)
    print(f"\nA chain y = tanh(y * w) of {chain['nodes']:,} nodes, time per node:\n")
    print("| | per node |")
    print("| --- | --- |")
    for key, value in chain.items():
        if key != "nodes":
            print(f"| {key} | {value * 1e9:,.0f} ns |")
    ok = medians["nn.compiled.CompiledStep.train"] <= 1.5 * floor
    print(f"\ntarget (compiled step <= 1.5x hand-written NumPy): {'met' if ok else 'NOT met'}")
    assert all(math.isfinite(t) for t in medians.values())


if __name__ == "__main__":
    main()
