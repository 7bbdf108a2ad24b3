"""Checking gradients against central finite differences, in float64."""
from __future__ import annotations

import math
from numbers import Real
from typing import Callable, Sequence

from .graph import gradients
from .value import Value


class GradcheckError(AssertionError):
    """A reverse-mode derivative differs from the finite-difference estimate."""


def gradcheck(f: Callable, inputs: Sequence[float], *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare reverse mode with central finite differences (PyTorch's default tolerances).

    ``f`` takes one Value per input and returns a Value. Each input ``x_i`` passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``, where
    ``numeric = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``. On a mismatch it raises
    ``GradcheckError`` naming the input and the two numbers (or returns False).

    >>> from autograd_mini import gradcheck
    >>> gradcheck(lambda x, y: (x * y).tanh(), [0.3, -0.7])
    True
    """
    point = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            x = x.data
        if not isinstance(x, Real) or isinstance(x, bool):
            raise TypeError(f"gradcheck: input {i} must be a number, got {type(x).__name__}")
        point.append(float(x))

    def evaluate(xs: list[float]) -> float:
        out = f(*[Value(x) for x in xs])
        return out.data if isinstance(out, Value) else float(out)

    leaves = [Value(x) for x in point]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    analytic = gradients(out, leaves)
    for i, leaf in enumerate(leaves):
        up, down = list(point), list(point)
        up[i] += eps
        down[i] -= eps
        numeric = (evaluate(up) - evaluate(down)) / (2 * eps)
        got = analytic[leaf]
        if not math.isclose(got, numeric, rel_tol=0.0, abs_tol=atol + rtol * abs(numeric)) \
                and not (math.isnan(got) and math.isnan(numeric)):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"gradcheck: d out / d input {i} (at {point[i]!r}) is {got!r} by reverse mode but "
                f"{numeric!r} by finite differences (difference {abs(got - numeric):.3g}, "
                f"allowed {atol + rtol * abs(numeric):.3g})")
    return True
