"""Shared by the tests: the graph e = (a + b) * (b + 1) of C. Olah, "Calculus on Computational
Graphs" (2015)."""
from autograd_mini import Value


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
