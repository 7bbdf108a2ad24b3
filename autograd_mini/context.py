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
    """Send the engine's events to ``listener`` inside this block: ``listener(kind, *details)``.

    The kinds, with their details (a pass's events come in the order the pass does things):

    - ``create(node)``: an op or a leaf was made.
    - ``seed(root, seed)``: a reverse pass starts at ``root`` with d root/d root = ``seed``.
    - ``send(node, parent, local, incoming, amount, before, total)``: ``node`` sent
      ``amount = incoming x local`` along its edge to ``parent``, whose pile went from
      ``before`` to ``total``.
    - ``closure_send(node, child, incoming, amount, before, total)``: the same for a node made
      micrograd's way, whose ``_backward`` closure gives the amount but no edge derivative.
    - ``nothing_sent(node, parent, local, incoming)``: the edge carried nothing: ``local`` or
      ``incoming`` is an exact 0 (even against inf or nan), or ``parent`` is a constant
      (``local`` is None for a closure that sent 0).
    - ``final(node, value)``: the pass has reached ``node``: its derivative ``value`` is final.
      Reverse mode: every node of the walk, leaves and constants included, root first;
      forward mode: every node given a tangent.
    - ``tangent_seed(node, tangent)``, ``tangent(parent, node, local, incoming, amount,
      before, total)``, ``tangent_nothing_sent(parent, node, local, incoming)``: the same for
      forward mode, along the arrows.
    - ``read(node)``: a Value's number was read (while a compiler traces).

    >>> from autograd_mini import Value
    >>> heard = []
    >>> x = Value(2.0, label="x")
    >>> with listening(lambda kind, *details: heard.append(kind)):
    ...     (x * x).backward()
    >>> heard
    ['create', 'seed', 'final', 'send', 'send', 'final']
    """
    return _switch(listeners, listeners.get() + (listener,))


def emit(kind: str, *details) -> None:
    for listener in listeners.get():
        listener(kind, *details)
