"""Shared by the tests: the texts' graph (REFERENCE.md §1)."""
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
