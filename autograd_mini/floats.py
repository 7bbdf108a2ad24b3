"""IEEE-754 arithmetic on plain floats, as PyTorch gives it.

Python's ``math`` raises where IEEE-754 returns a special value (``math.exp(1000)`` raises
OverflowError, ``1 / 0.0`` raises ZeroDivisionError, ``math.log(0)`` a domain error, and
``(-8.0) ** 0.5`` quietly returns a complex number). The op table's value rules use these
functions instead, so an op never raises on a float and always returns a float.
"""
from __future__ import annotations

import math

inf = math.inf
nan = math.nan


def div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:  # b is +0.0 or -0.0: the sign of the zero counts
        if a != a or a == 0.0:
            return nan
        return math.copysign(inf, a) * math.copysign(1.0, b)


def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def log(x: float) -> float:
    if x > 0.0:
        return math.log(x)  # also log(inf) = inf
    if x == 0.0:
        return -inf
    return nan  # negative or nan


def sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else nan  # -0.0 >= 0.0, and sqrt(-0.0) = -0.0 as in IEEE


def sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else nan


def cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else nan


def tanh(x: float) -> float:
    return math.tanh(x)  # exact and finite for every finite input


def sigmoid(x: float) -> float:
    # Two branches so that exp never overflows: exp(-|x|) is in (0, 1].
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    if x != x:
        return nan
    z = exp(x)
    return z / (1.0 + z)


def relu(x: float) -> float:
    return x if x > 0.0 or x != x else 0.0  # nan stays nan, as in PyTorch


def leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 or x != x else slope * x


def log1p(x: float) -> float:
    if x > -1.0:
        return math.log1p(x)  # also log1p(inf) = inf
    return -inf if x == -1.0 else nan  # below -1, or nan


def softplus(x: float) -> float:
    """log(1 + e ** x), computed so that it never overflows: max(x, 0) + log1p(e ** -|x|)."""
    if x != x:
        return nan
    return max(x, 0.0) + math.log1p(exp(-abs(x)))


def maximum(*xs: float) -> float:
    """The largest operand; nan if any is nan (as PyTorch's max)."""
    best = xs[0]
    for x in xs:
        if x != x:
            return nan
        if x > best:
            best = x
    return best


def argmax(xs) -> int:
    """The first place of ``maximum(*xs)`` (the first nan, if any): where max's gradient goes."""
    best = 0
    for i, x in enumerate(xs):
        if x != x:
            return i
        if x > xs[best]:
            best = i
    return best


def logsumexp(*xs: float) -> float:
    """log(e ** x1 + e ** x2 + ...), shifted by the largest operand so that nothing overflows."""
    top = maximum(*xs)
    if top != top or top in (inf, -inf):
        return top
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


def step(x: float) -> float:
    """The derivative of relu: 1 where x > 0, else 0 (PyTorch's choice at 0)."""
    return 1.0 if x > 0.0 else 0.0


def sign(x: float) -> float:
    """The derivative of abs: -1, 0 or 1 (0 at 0, as in PyTorch); nan stays nan."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x if x != x else 0.0


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2.0) != 0.0


def pow(x: float, y: float) -> float:
    """x ** y with IEEE-754 results: never complex, never an exception."""
    try:
        return math.pow(x, y)
    except OverflowError:
        return -inf if x < 0.0 and _is_odd_integer(y) else inf
    except ValueError:
        if x == 0.0 and y < 0.0:  # pole: 0 ** -1 = inf, (-0.0) ** -1 = -inf
            return math.copysign(inf, x) if _is_odd_integer(y) else inf
        return nan  # negative base, non-integer exponent
