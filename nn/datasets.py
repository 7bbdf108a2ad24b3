"""Small 2-D data sets made in code (no scikit-learn), a real one (``digits``), and batching.

Each ``make_*`` returns ``(X, y)``: X a list of ``[x1, x2]`` points, y a list of integer class
labels 0, 1, ... . ``seed`` makes the same points on every run; with ``seed=None`` they come from
Python's global ``random``. ``make_moons`` and ``make_circles`` follow scikit-learn's recipes
(same shapes, same label order, shuffled, then Gaussian noise), drawn from Python's ``random``.

>>> from nn import datasets
>>> X, y = datasets.make_moons(100, noise=0.1, seed=0)
>>> len(X), len(X[0]), sorted(set(y))
(100, 2, [0, 1])
"""
from __future__ import annotations

import math
import random
from numbers import Integral, Real
from typing import Iterator

Dataset = tuple[list[list[float]], list[int]]


def _rng(seed):
    if seed is None:
        return random
    if not isinstance(seed, Integral) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return random.Random(int(seed))


def _check(n_samples, noise, least: int = 1) -> None:
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < least:
        raise ValueError(f"n_samples must be an integer >= {least}, got {n_samples!r}")
    if not isinstance(noise, Real) or isinstance(noise, bool) or not 0 <= noise < math.inf:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """NumPy's linspace: n evenly spaced numbers."""
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1 if endpoint else n)
    values = [start + i * step for i in range(n)]
    if endpoint:
        values[-1] = stop
    return values


def _finish(X: list, y: list, noise: float, shuffle: bool, rng) -> Dataset:
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X, y = [X[i] for i in order], [y[i] for i in order]
    if noise:
        X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return [[float(a), float(b)] for a, b in X], y


def make_moons(n_samples: int = 100, noise: float = 0.1, *, seed: int | None = None,
               shuffle: bool = True) -> Dataset:
    """Two interleaving half circles: class 0 the upper one, class 1 the lower one.

    >>> from nn.datasets import make_moons
    >>> X, y = make_moons(4, noise=0.0, shuffle=False)
    >>> [[round(a, 3), round(b, 3)] for a, b in X], y
    ([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [2.0, 0.5]], [0, 0, 1, 1])
    """
    _check(n_samples, noise)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)] if n_out else []
    inner = [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    return _finish(outer + inner, [0] * n_out + [1] * n_in, noise, shuffle, _rng(seed))


def make_circles(n_samples: int = 100, noise: float = 0.05, *, factor: float = 0.5,
                 seed: int | None = None, shuffle: bool = True) -> Dataset:
    """A circle of radius 1 (class 0) around a circle of radius ``factor`` (class 1).

    >>> import math
    >>> from nn.datasets import make_circles
    >>> X, y = make_circles(8, noise=0.0, seed=0)
    >>> sorted({round(math.hypot(a, b), 9) for a, b in X}), y.count(0), y.count(1)
    ([0.5, 1.0], 4, 4)
    """
    _check(n_samples, noise)
    if not isinstance(factor, Real) or not 0 < factor < 1:
        raise ValueError(f"factor must be a number between 0 and 1, got {factor!r}")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, 2 * math.pi, n_out, False)] \
        if n_out else []
    inner = [[factor * math.cos(t), factor * math.sin(t)]
             for t in _linspace(0.0, 2 * math.pi, n_in, False)]
    return _finish(outer + inner, [0] * n_out + [1] * n_in, noise, shuffle, _rng(seed))


def make_xor(n_samples: int = 100, noise: float = 0.0, *, seed: int | None = None) -> Dataset:
    """Points uniform in the square [-1, 1]^2; class 1 where the two coordinates differ in sign.

    >>> from nn.datasets import make_xor
    >>> X, y = make_xor(50, seed=0)
    >>> all(label == int((a > 0) != (b > 0)) for (a, b), label in zip(X, y))
    True
    """
    _check(n_samples, noise)
    rng = _rng(seed)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n_samples)]
    y = [int((a > 0) != (b > 0)) for a, b in X]
    return _finish(X, y, noise, False, rng)


def make_spirals(n_samples: int = 150, n_classes: int = 3, noise: float = 0.2, *,
                 seed: int | None = None, shuffle: bool = True) -> Dataset:
    """``n_classes`` spiral arms around the origin (CS231n's data set, arms evenly spaced).

    Arm j holds the points r (sin t, cos t) with r from 0 to 1 and t = 2 pi j / n_classes + 4 r,
    plus Gaussian noise of standard deviation ``noise`` on t (in radians).

    >>> from nn.datasets import make_spirals
    >>> X, y = make_spirals(300, n_classes=3, seed=0)
    >>> len(X), [y.count(c) for c in range(3)]
    (300, [100, 100, 100])
    """
    _check(n_samples, noise)
    if not isinstance(n_classes, Integral) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if n_samples < n_classes:
        raise ValueError(f"n_samples ({n_samples}) must be at least n_classes ({n_classes})")
    rng = _rng(seed)
    X, y = [], []
    for j in range(n_classes):
        count = n_samples // n_classes + (j < n_samples % n_classes)
        for r in _linspace(0.0, 1.0, count):
            t = 2 * math.pi * j / n_classes + 4.0 * r + (rng.gauss(0.0, noise) if noise else 0.0)
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(j)
    return _finish(X, y, 0.0, shuffle, rng)


def digits() -> Dataset:
    """scikit-learn's handwritten digits (Alpaydin and Kaynak, the UCI optical digits): 1,797
    images of 8 x 8 pixels, each row of X the 64 pixels left to right, top to bottom, as grey
    levels 0-16 divided by 16 (so in [0, 1]); y the digits 0-9. The images ship inside
    scikit-learn, which this needs: ``pip install 'autograd-mini[data]'``.

    >>> import pytest; _ = pytest.importorskip("sklearn")  # (skipped without scikit-learn)
    >>> from nn import datasets
    >>> X, y = datasets.digits()
    >>> len(X), len(X[0]), sorted(set(y)) == list(range(10)), max(map(max, X))
    (1797, 64, True, 1.0)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ModuleNotFoundError("nn.datasets.digits needs scikit-learn (the images ship inside "
                                  "it): pip install 'autograd-mini[data]' (or pip install "
                                  "scikit-learn)", name="sklearn") from None
    images = load_digits()
    return (images.data / 16.0).tolist(), images.target.tolist()


DATASETS = {"moons": make_moons, "circles": make_circles, "xor": make_xor, "spirals": make_spirals}


def load(name: str, **options) -> Dataset:
    """A data set by name: "moons", "circles", "xor" or "spirals"; options go to its ``make_*``."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name](**options)


def train_test_split(X: list, y: list, test_fraction: float = 0.25, *,
                     seed: int | None = None) -> tuple[list, list, list, list]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test``.

    >>> from nn.datasets import make_moons, train_test_split
    >>> X_train, X_test, y_train, y_test = train_test_split(*make_moons(100, seed=0), 0.2, seed=0)
    >>> len(X_train), len(X_test)
    (80, 20)
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not isinstance(test_fraction, Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    order = list(range(len(X)))
    _rng(seed).shuffle(order)
    n_test = max(1, round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


def batches(n: int, batch_size: int | None, rng=None) -> Iterator[list[int]]:
    """The indices 0..n-1 in batches of ``batch_size`` (None: one batch of all), shuffled by ``rng``.

    >>> from nn.datasets import batches
    >>> list(batches(5, 2))
    [[0, 1], [2, 3], [4]]
    """
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield order[start:start + size]
