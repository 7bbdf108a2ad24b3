"""Switches that change how nodes are recorded: ``no_grad``, ``detect_anomaly`` and listeners.

The state lives in context variables (correct across threads and asyncio tasks). The engine's hot
path does not read them: it checks one process-wide counter, ``ACTIVE[0]``, which is non-zero
while any switch is on anywhere, and only then takes the slow path that reads the variables.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

ACTIVE = [0]  # number of switches currently entered, in any thread

grad_enabled: ContextVar[bool] = ContextVar("grad_enabled", default=True)
anomaly_enabled: ContextVar[bool] = ContextVar("anomaly_enabled", default=False)
listeners: ContextVar[tuple] = ContextVar("listeners", default=())
# the name of the op whose derivative rule is running on Values (create_graph), else None
rule_running: ContextVar[str | None] = ContextVar("rule_running", default=None)


class AnomalyError(FloatingPointError):
    """Raised inside ``detect_anomaly()`` at the first NaN or infinity an op produces."""


class GraphCutError(TypeError):
    """A derivative rule run on Values (``create_graph``) took a number out of one (math.exp(x),
    float(x)): the derivatives it builds would not reach the next order."""


@contextmanager
def _switch(var: ContextVar, value) -> Iterator[None]:
    token = var.set(value)
    ACTIVE[0] += 1
    try:
        yield
    finally:
        ACTIVE[0] -= 1
        var.reset(token)


def no_grad():
    """Inside this block, ops compute values but record no graph (results are constants).

    >>> from autograd_mini import Value, no_grad
    >>> w = Value(3.0)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.data, y.parents
    (6.0, ())
    """
    return _switch(grad_enabled, False)


def enable_grad():
    """Turn recording back on inside a ``no_grad()`` block."""
    return _switch(grad_enabled, True)


def detect_anomaly():
    """Inside this block, the first NaN or infinity produced raises ``AnomalyError``.

    Forward: an op whose result is not finite raises, naming the op and its operands.
    Backward: a gradient that is not finite raises, naming the edge it crossed.

    >>> from autograd_mini import Value, detect_anomaly
    >>> with detect_anomaly():
    ...     Value(0.0).log()
    Traceback (most recent call last):
    ...
    autograd_mini.context.AnomalyError: log(0.0) produced -inf
    """
    return _switch(anomaly_enabled, True)


def listening(listener):
    """Send engine events (node created, gradient sent, ...) to ``listener`` inside this block.

    ``listener(kind, *details)`` is called; see ``autograd_mini.trace`` for the kinds.
    """
    return _switch(listeners, listeners.get() + (listener,))


def emit(kind: str, *details) -> None:
    for listener in listeners.get():
        listener(kind, *details)
