"""A real data set at PyTorch's speed? scikit-learn's handwritten digits, trained both ways in one
process, the contenders taken in turn.

    python bench/digits.py              # 5 rounds
    python bench/digits.py --rounds 1   # one round (a smoke test)

``nn.MLP(64, [32, 10])`` with relu, cross-entropy, Adam (lr 1e-2), batches of 64, 10 epochs on
1,437 images (360 held out): ``nn.fit(..., compile=True)``, timed from the lists of numbers to
the trained model (the model made, traced, compiled and trained), against the same network,
the same initial weights and the same batches in PyTorch float64 tensors (timed from the same
lists: tensors made, model, optimizer, training). One thread for each library. Then each
model's accuracy on the held-out images, and (timed apart) what fit does once before its first
step: trace and compile. Needs scikit-learn (``pip install
'autograd-mini[data]'``); PyTorch is optional.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # as bench/compiled.py: one core per library

import nn  # noqa: E402
from nn.compiled import CompiledStep  # noqa: E402

EPOCHS, BATCH, LR, SEED = 10, 64, 1e-2, 1


def data():
    X, y = nn.datasets.digits()
    return nn.datasets.train_test_split(X, y, 360 / len(X), seed=SEED)


def batches(n: int) -> list[list[int]]:
    """The batches of every epoch, as fit draws them (its shuffle, its seed)."""
    rng = random.Random(SEED)
    return [batch for _ in range(EPOCHS) for batch in nn.datasets.batches(n, BATCH, rng)]


def ours(X, y):
    """(seconds, the trained model): fit(compile=True), from the lists to the trained model."""
    start = time.perf_counter()
    model = nn.MLP(64, [32, 10], activation="relu", init="he", seed=SEED)
    nn.fit(model, X, y, loss="cross_entropy", optimizer=nn.Adam(model, lr=LR), epochs=EPOCHS,
           batch_size=BATCH, seed=SEED, compile=True, progress=False)
    return time.perf_counter() - start, model


def one_off(X, y) -> float:
    """Seconds of what fit(compile=True) does once, before its first step: one example's graph
    traced (twice, to check it does not branch), its gradient graph built by the engine, the
    plan made and written out as a NumPy program. In CPU seconds (all of it runs in this one
    thread), which other jobs on a busy machine do not inflate as they do the wall clock."""
    step = CompiledStep(nn.MLP(64, [32, 10], activation="relu", init="he", seed=SEED),
                        "cross_entropy")
    start = time.process_time()
    step._first_batch(X[:BATCH], y[:BATCH])
    step.program.function("numpy")
    return time.process_time() - start


def theirs(X, y, torch):
    """(seconds, the trained module): the same training in PyTorch float64 tensors."""
    start_weights = nn.MLP(64, [32, 10], activation="relu", init="he", seed=SEED).to_torch()
    order = batches(len(X))
    start = time.perf_counter()
    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 10)).double()
    net.load_state_dict(start_weights.state_dict())
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    for batch in order:
        index = torch.tensor(batch)
        loss = torch.nn.functional.cross_entropy(net(inputs[index]), targets[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, net


def accuracy_ours(model, X, y) -> float:
    outputs = CompiledStep(model, "cross_entropy").predict(X)
    return sum(max(range(10), key=o.__getitem__) == t for o, t in zip(outputs, y)) / len(y)


def accuracy_theirs(net, X, y, torch) -> float:
    with torch.no_grad():
        guesses = net(torch.tensor(X, dtype=torch.float64)).argmax(dim=1).tolist()
    return sum(g == t for g, t in zip(guesses, y)) / len(y)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (each runs both once)")
    args = parser.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    X_train, X_test, y_train, y_test = data()
    times = {"nn.fit(compile=True)": [], "PyTorch float64": [], "one-off": []}
    for k in range(args.rounds):  # in turn, the first one alternating
        runs = [("nn.fit(compile=True)", lambda: ours(X_train, y_train))]
        if torch is not None:
            runs.append(("PyTorch float64", lambda: theirs(X_train, y_train, torch)))
        for name, run in (runs if k % 2 == 0 else runs[::-1]):
            seconds, trained = run()
            times[name].append(seconds)
            if name.startswith("nn"):
                model = trained
            else:
                net = trained
        times["one-off"].append(one_off(X_train, y_train))  # after both: no warming for ours
    print(f"Digits: MLP 64-32-10 relu, cross-entropy, Adam lr {LR}, batches of {BATCH}, {EPOCHS} "
          f"epochs on {len(X_train)} images; median of {args.rounds} round(s), one process:\n")
    print("| | 10 epochs, setup included | per epoch | held-out accuracy |")
    print("| --- | --- | --- | --- |")
    ours_time = statistics.median(times["nn.fit(compile=True)"])
    print(f"| nn.fit(compile=True) | {ours_time * 1e3:,.0f} ms | {ours_time * 1e2:,.1f} ms | "
          f"{accuracy_ours(model, X_test, y_test):.3f} |")
    if torch is not None:
        theirs_time = statistics.median(times["PyTorch float64"])
        print(f"| PyTorch float64 | {theirs_time * 1e3:,.0f} ms | {theirs_time * 1e2:,.1f} ms | "
              f"{accuracy_theirs(net, X_test, y_test, torch):.3f} |")
    print(f"\nof nn's time, the one-off trace + compile (timed apart, CPU time): "
          f"{statistics.median(times['one-off']) * 1e3:.0f} ms")
    if torch is not None:
        print(f"ratio nn / PyTorch: {ours_time / theirs_time:.2f} "
              f"(target <= 1, held-out accuracy >= 0.95)")


if __name__ == "__main__":
    main()
