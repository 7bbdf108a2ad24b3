"""Shared by the tests: the graph e = (a + b) * (b + 1) of C. Olah, "Calculus on Computational
Graphs" (2015)."""
import pytest

from autograd_mini import OPS, Value, trace


@pytest.fixture
def fresh_ops():
    """Ops a test adds with defop leave the table (and Value) when it ends."""
    before, attributes = dict(OPS), set(vars(Value))
    yield
    for name in set(OPS) - set(before):
        del OPS[name]
    for attribute in set(vars(Value)) - attributes:
        delattr(Value, attribute)


def build_seed_graph():
    """e = (a + b) * (b + 1) at a = 2, b = 1, every node labelled; no backward yet.

    A function, not only a fixture, so that tests can build it inside a ``trace()`` block.
    """
    a = Value(2.0, label="a")
    b = Value(1.0, label="b")
    c = a + b
    c.label = "c"
    d = b + 1
    d.label = "d"
    e = c * d
    e.label = "e"
    return a, b, c, d, e


def lecture_neuron():
    """The neuron of micrograd's lecture, written as the lecture writes it (labels included):
    n = x1*w1 + x2*w2 + b, before its activation."""
    x1 = Value(2.0, label='x1'); x2 = Value(0.0, label='x2')
    w1 = Value(-3.0, label='w1'); w2 = Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    x1w1 = x1*w1; x1w1.label = 'x1*w1'
    x2w2 = x2*w2; x2w2.label = 'x2*w2'
    x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = 'x1*w1 + x2*w2'
    n = x1w1x2w2 + b; n.label = 'n'
    return x1, x2, w1, w2, b, n


def thousand_frame_trace():
    """Construction and backward of a 3-8-8-1 MLP's squared error on six points, traced: more
    than 1,000 frames (a player's size test)."""
    import nn
    model = nn.MLP(3, [8, 8, 1], seed=0)
    with trace() as t:
        loss = sum((model([0.1 * i, -0.2, 0.3 * i]) - 1.0) ** 2 for i in range(6))
    t.backward(loss)
    assert len(t.frames) >= 1000
    return t
