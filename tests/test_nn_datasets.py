"""The data sets' geometry, labels and seeds, checked against their definitions."""
import math

import pytest

import nn
from nn import datasets


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = datasets.make_moons(101, noise=0.0, seed=0)
    assert len(X) == 101 and y.count(0) == 50 and y.count(1) == 51
    for (a, b), label in zip(X, y):
        if label == 0:  # upper half circle around (0, 0)
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:           # lower half circle around (1, 0.5)
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_circles_radii_and_factor():
    X, y = datasets.make_circles(40, noise=0.0, factor=0.3, seed=0)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3)


def test_xor_labels_follow_the_signs():
    X, y = datasets.make_xor(200, seed=1)
    assert all(label == ((a > 0) != (b > 0)) for (a, b), label in zip(X, y))
    assert all(-1 <= a <= 1 and -1 <= b <= 1 for a, b in X)
    assert 60 < sum(y) < 140


def test_spirals_arms_follow_their_formula():
    X, y = datasets.make_spirals(90, n_classes=3, noise=0.0, seed=0)
    assert [y.count(k) for k in range(3)] == [30, 30, 30]
    for (a, b), k in zip(X, y):
        r = math.hypot(a, b)
        if r > 1e-9:  # t = 2 pi k / 3 + 4 r, and the point is r (sin t, cos t)
            t = 2 * math.pi * k / 3 + 4 * r
            assert (a, b) == pytest.approx((r * math.sin(t), r * math.cos(t)), abs=1e-12)
    X4, y4 = datasets.make_spirals(10, n_classes=4, seed=0)
    assert sorted(set(y4)) == [0, 1, 2, 3] and len(X4) == 10


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
def test_seeds_repeat_and_differ(name):
    first = datasets.load(name, seed=5)
    assert datasets.load(name, seed=5) == first
    assert datasets.load(name, seed=6) != first
    X, y = first
    assert all(len(row) == 2 and all(isinstance(v, float) for v in row) for row in X)
    assert all(isinstance(label, int) for label in y)


def test_noise_spreads_the_points():
    clean, _ = datasets.make_moons(200, noise=0.0, shuffle=False)
    noisy, _ = datasets.make_moons(200, noise=0.1, shuffle=False, seed=0)
    shifts = [a - b for p, q in zip(noisy, clean) for a, b in zip(p, q)]
    spread = math.sqrt(sum(s * s for s in shifts) / len(shifts))
    assert 0.08 < spread < 0.12


def test_split_and_batches():
    X, y = datasets.make_moons(50, seed=0)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, 0.2, seed=0)
    assert (len(X_train), len(X_test)) == (40, 10)
    assert sorted(map(tuple, X_train + X_test)) == sorted(map(tuple, X))
    assert list(datasets.batches(5, None)) == [[0, 1, 2, 3, 4]]
    assert list(datasets.batches(5, 2)) == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("call, message", [
    (lambda: datasets.make_moons(0), "n_samples must be an integer >= 1"),
    (lambda: datasets.make_moons(10, noise=-1), "noise must be a number >= 0"),
    (lambda: datasets.make_circles(10, factor=1.5), "factor must be a number between 0 and 1"),
    (lambda: datasets.make_spirals(10, n_classes=1), "n_classes must be an integer >= 2"),
    (lambda: datasets.make_spirals(2, n_classes=3), "at least n_classes"),
    (lambda: datasets.load("iris"), "unknown data set 'iris'"),
    (lambda: datasets.make_xor(10, seed="a"), "seed must be an integer"),
])
def test_errors_are_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_reachable_as_nn_datasets():
    assert nn.datasets.make_moons is datasets.make_moons
