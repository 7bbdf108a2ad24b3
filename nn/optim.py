"""Optimizers (``SGD``, ``Adam``) and learning-rate schedules.

An optimizer holds the parameters; ``zero_grad()`` clears their gradients, ``step()`` moves
each ``p.data`` against its ``p.grad``. The learning rate is a number or a schedule: any function
of the step number k = 0, 1, 2, ... (``linear_decay(1.0, 0.1, 100)`` is micrograd's
``1.0 - 0.9 * k / 100``).

Weight decay follows the UFLDL tutorial's cost: W := W - lr (dJ/dW + lambda W), biases
untouched. Given a model, the optimizer knows which parameters are biases; given a list of
Values, it decays every one of them.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Iterable

from autograd_mini import Value

from .module import Module


class Schedule:
    """A learning rate as a function of the step number (call it: ``schedule(k)``)."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError


class _Decay(Schedule):
    """A schedule from ``start`` to ``end`` over ``steps`` steps."""

    def __init__(self, start: float, end: float, steps: int) -> None:
        self.start, self.end = _positive(start, "start"), _non_negative(end, "end")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"{type(self).__name__} steps must be a positive integer, "
                             f"got {steps!r}")
        self.steps = steps


class linear_decay(_Decay):
    """From ``start`` at step 0 down to ``end`` at step ``steps`` (and ``end`` afterwards).

    >>> from nn import linear_decay
    >>> lr = linear_decay(1.0, 0.1, 100)
    >>> lr(0), lr(50), lr(100), lr(500)
    (1.0, 0.55, 0.1, 0.1)
    >>> all(lr(k) == 1.0 - 0.9 * k / 100 for k in range(100))   # micrograd's schedule, bit for bit
    True
    """

    def __call__(self, step: int) -> float:
        if step >= self.steps:
            return self.end
        # written as micrograd writes it, so the numbers agree to the last bit
        return self.start - (self.start - self.end) * step / self.steps

    def __repr__(self) -> str:
        return f"linear_decay({self.start!r}, {self.end!r}, {self.steps!r})"


class exponential_decay(Schedule):
    """``start * rate ** (step / every)``.

    >>> from nn import exponential_decay
    >>> exponential_decay(0.1, 0.5, every=10)(20)
    0.025
    """

    def __init__(self, start: float, rate: float, every: int = 1) -> None:
        self.start, self.rate = _positive(start, "start"), _positive(rate, "rate")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"exponential_decay every must be a positive integer, got {every!r}")
        self.every = every

    def __call__(self, step: int) -> float:
        return self.start * self.rate ** (step / self.every)

    def __repr__(self) -> str:
        return f"exponential_decay({self.start!r}, {self.rate!r}, every={self.every!r})"


class cosine_decay(_Decay):
    """From ``start`` to ``end`` along half a cosine over ``steps`` steps."""

    def __call__(self, step: int) -> float:
        t = min(step, self.steps) / self.steps
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * t))

    def __repr__(self) -> str:
        return f"cosine_decay({self.start!r}, {self.end!r}, {self.steps!r})"


def _positive(x, name: str) -> float:
    if not isinstance(x, Real) or isinstance(x, bool) or not 0 < x < math.inf:
        raise ValueError(f"{name} must be a positive number, got {x!r}")
    return float(x)


def _non_negative(x, name: str) -> float:
    if not isinstance(x, Real) or isinstance(x, bool) or not 0 <= x < math.inf:
        raise ValueError(f"{name} must be a number >= 0, got {x!r}")
    return float(x)


class Optimizer:
    """The common part: the parameters, the learning rate (number or schedule), the step count."""

    def __init__(self, params: Module | Iterable[Value], lr, weight_decay: float) -> None:
        if isinstance(params, Module):
            self.params = params.parameters()
            weights = {id(w) for w in params.weights()}
            decayed = [id(p) in weights for p in self.params]
        else:
            if isinstance(params, Value):
                params = [params]
            try:
                self.params = list(params)
            except TypeError:
                raise TypeError(f"{type(self).__name__} needs a model or a list of Values, got "
                                f"{type(params).__name__}") from None
            decayed = [True] * len(self.params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: parameter {i} is {type(p).__name__}, "
                                "expected a Value")
        # a parameter listed twice (a tied weight) is updated once
        seen, unique = set(), []
        for p, decay in zip(self.params, decayed):
            if id(p) not in seen:
                seen.add(id(p))
                unique.append((p, decay))
        self.params = [p for p, _ in unique]
        self._decayed = [decay for _, decay in unique]
        if not self.params:
            raise ValueError(f"{type(self).__name__} got no parameters to optimize")
        if not callable(lr):
            lr = _positive(lr, "lr")
        self.schedule = lr
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self.steps = 0  # how many times step() has run; the schedule reads it

    @property
    def lr(self) -> float:
        """The learning rate the next ``step()`` will use."""
        if not callable(self.schedule):
            return self.schedule
        lr = self.schedule(self.steps)
        if not isinstance(lr, Real) or isinstance(lr, bool) or not lr >= 0:
            raise ValueError(f"the learning-rate schedule gave {lr!r} at step {self.steps}; "
                             "expected a number >= 0")
        return float(lr)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.params:
            p.grad = 0.0

    def _grads(self) -> list[float]:
        grads = []
        for p in self.params:
            g = p.grad
            grads.append(g if g.__class__ is float else float(g.data if isinstance(g, Value) else g))
        if self.weight_decay:
            wd = self.weight_decay
            grads = [g + wd * p.data if decay else g
                     for g, p, decay in zip(grads, self.params, self._decayed)]
        return grads

    def step(self) -> None:
        """Move every parameter once: the optimizer's rule (``_moved``), parameter by parameter."""
        lr, t = self.lr, self.steps + 1
        state = [s.tolist() if hasattr(s, "tolist") else s for s in self._state()]
        moved = [self._moved(lr, t, math.sqrt, p.data, g, *kept)
                 for p, g, *kept in zip(self.params, self._grads(), *state)]
        for p, (value, *_) in zip(self.params, moved):
            p.data = value
        self._keep([list(column) for column in zip(*moved)][1:])
        self.steps += 1

    def step_arrays(self, values, grads, np):
        """The same step on NumPy arrays (``nn.compiled`` keeps the parameters in arrays while it
        trains): ``values`` and ``grads`` follow ``self.params``; returns the new values (the
        same rule, so the same floats as ``step``). The Values are not touched."""
        lr = self.lr
        if self.weight_decay:
            grads = np.where(self._decayed, grads + self.weight_decay * values, grads)
        state = [np.asarray(s, dtype=float) for s in self._state()]
        new, *state = self._moved(lr, self.steps + 1, np.sqrt, values, grads, *state)
        self._keep(state)
        self.steps += 1
        return new

    def _moved(self, lr, t, sqrt, p, g, *state) -> tuple:
        """(the new value, the new state) of a parameter p (a float, or an array of them) with
        gradient g, at step t (1, 2, ...); ``sqrt``: math's or NumPy's."""
        raise NotImplementedError

    def _state(self) -> list:
        return []

    def _keep(self, state) -> None:
        pass


class SGD(Optimizer):
    """Gradient descent: p := p - lr * (grad + weight_decay * p), with optional momentum.

    With momentum m, a velocity v := m v + grad is kept per parameter and p := p - lr v.

    >>> from nn import SGD
    >>> from autograd_mini import Value
    >>> w = Value(3.0)
    >>> opt = SGD([w], lr=0.1)
    >>> for _ in range(100):
    ...     opt.zero_grad(); loss = (w - 1) ** 2; loss.backward(); opt.step()
    >>> round(w.data, 6)
    1.0
    """

    def __init__(self, params: Module | Iterable[Value], lr=0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not isinstance(momentum, Real) or isinstance(momentum, bool) or not 0 <= momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity = [0.0] * len(self.params)

    def _moved(self, lr, t, sqrt, p, g, velocity) -> tuple:
        if self.momentum:
            velocity = g = self.momentum * velocity + g
        return p - lr * g, velocity

    def _state(self) -> list:
        return [self.velocity]

    def _keep(self, state) -> None:
        self.velocity, = state

    def __repr__(self) -> str:
        extras = "".join(f", {name}={value!r}" for name, value in
                         (("momentum", self.momentum), ("weight_decay", self.weight_decay)) if value)
        return f"SGD(lr={self.schedule!r}{extras})"


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps scaled per parameter by running moments of the gradient.

    >>> from nn import Adam
    >>> from autograd_mini import Value
    >>> w = Value(3.0)
    >>> opt = Adam([w], lr=0.1)
    >>> for _ in range(300):
    ...     opt.zero_grad(); loss = (w - 1) ** 2; loss.backward(); opt.step()
    >>> abs(w.data - 1.0) < 1e-3
    True
    """

    def __init__(self, params: Module | Iterable[Value], lr=0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2
                and all(isinstance(b, Real) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _positive(eps, "eps")
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _moved(self, lr, t, sqrt, p, g, m, v) -> tuple:
        b1, b2 = self.betas
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        correct1, correct2 = 1 - b1 ** t, 1 - b2 ** t  # the moments start at 0: unbias them
        return p - lr * (m / correct1) / (sqrt(v / correct2) + self.eps), m, v

    def _state(self) -> list:
        return [self.m, self.v]

    def _keep(self, state) -> None:
        self.m, self.v = state

    def __repr__(self) -> str:
        extra = f", weight_decay={self.weight_decay!r}" if self.weight_decay else ""
        return f"Adam(lr={self.schedule!r}, betas={self.betas!r}{extra})"

