"""A number operand is kept on its edge as a float (no constant node object), yet every view of
the graph sees the constant node it stands for, exactly as if it had been made as a node.

The oracle for "exactly as": the same expression written with explicit constant nodes
(``autograd_mini.value.constant``), which is how numbers were recorded before; and finite
differences for the gradients.
"""
import gc
import math
import pickle

import pytest

from autograd_mini import Value, gradients, tangents
from autograd_mini import context
from autograd_mini.value import constant
from autograd_mini.viz import to_dot

# (name, the expression on x with numbers, the same with explicit constant nodes)
CASES = [
    ("x * 2", lambda x, k: x * k(2.0)),
    ("2 * x", lambda x, k: k(2.0) * x),
    ("x + 1", lambda x, k: x + k(1.0)),
    ("1 + x", lambda x, k: k(1.0) + x),
    ("x - 3", lambda x, k: x - k(3.0)),
    ("3 - x", lambda x, k: k(3.0) - x),
    ("x / 4", lambda x, k: x / k(4.0)),
    ("4 / x", lambda x, k: k(4.0) / x),
    ("x ** 3", lambda x, k: x ** k(3.0)),
    ("2 ** x", lambda x, k: k(2.0) ** x),
    ("chain", lambda x, k: k(0.5) + k(1.5) * (x * k(2.0) - k(1.0)) ** k(2.0)),
]


def as_number(c):
    return c


def as_node(c):
    return constant(c)


@pytest.mark.parametrize("name, f", CASES, ids=[c[0] for c in CASES])
def test_a_number_operand_draws_as_the_constant_node_it_stands_for(name, f):
    x1 = Value(1.25, label="x")
    x2 = Value(1.25, label="x")
    with_numbers, with_nodes = f(x1, as_number), f(x2, as_node)
    with_numbers.backward()
    with_nodes.backward()
    assert to_dot(with_numbers).source == to_dot(with_nodes).source
    assert to_dot(with_numbers, hide_constants=True).source == \
        to_dot(with_nodes, hide_constants=True).source


@pytest.mark.parametrize("name, f", CASES, ids=[c[0] for c in CASES])
def test_gradients_through_number_edges_match_finite_differences(name, f):
    x0, h = 1.25, 1e-6
    x = Value(x0)
    y = f(x, as_number)
    y.backward()
    numeric = (f(Value(x0 + h), as_number).data - f(Value(x0 - h), as_number).data) / (2 * h)
    assert x.grad == pytest.approx(numeric, rel=1e-6)
    assert tangents(y, {x: 1.0})[y] == pytest.approx(numeric, rel=1e-6)  # forward mode


def test_the_constant_is_made_once_and_stays_the_same_node():
    x = Value(2.0)
    y = 3.0 * x
    first = y.parents[0]
    assert first.is_constant and first.data == 3.0 and first.grad == 0.0
    assert y.parents[0] is first and y._prev == {first, x}
    assert y.local_grads == (2.0, 3.0)  # d(3x)/d3 = x, d(3x)/dx = 3
    y.backward()
    assert first.grad == 0.0 and x.grad == 3.0  # no gradient is owed to a number


def test_ints_and_other_reals_become_the_same_float():
    np = pytest.importorskip("numpy")
    x = Value(2.0)
    for k in (3, 3.0, np.float64(3.0), np.int64(3), True + 2):
        y = x * k
        assert y.data == 6.0 and y.parents[1].data == 3.0 and y.parents[1].data.__class__ is float
    with pytest.raises(OverflowError, match="too large"):
        x * 10 ** 400
    with pytest.raises(TypeError, match="unsupported operand"):
        x * "3"


def test_a_number_operand_makes_no_node_object():
    """y = 0.001 + 1.0001 * y, 1000 times: 2000 op nodes and no constant nodes (by counting the
    Value objects the collector tracks)."""
    def values():
        return sum(1 for o in gc.get_objects() if o.__class__ is Value)
    gc.collect()
    before = values()
    x = Value(1.0)
    y = x
    for _ in range(1000):
        y = 0.001 + 1.0001 * y
    assert values() - before == 1 + 2000
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 1000, rel=1e-12)


def test_second_derivatives_through_number_edges():
    x = Value(1.5)
    y = 2.0 * x ** 3 - 1  # y'' = 12 x
    (dy,) = gradients(y, [x], create_graph=True).values()
    (d2y,) = gradients(dy, [x]).values()
    assert dy.data == pytest.approx(6 * 1.5 ** 2) and d2y == pytest.approx(12 * 1.5)


def test_pickling_keeps_the_constant():
    x = Value(2.0, label="x")
    y = (x + 1) * 3
    copy = pickle.loads(pickle.dumps(y))
    assert copy.data == 9.0
    inner, three = copy.parents
    assert three.is_constant and three.data == 3.0 and inner.parents[1].is_constant
    copy.backward()
    assert inner.parents[0].grad == 3.0


def test_while_listening_a_number_becomes_a_node_at_once():
    """While a listener is on (a trace), the number is a constant node from the start, as before:
    listeners hear only the op node made, and the node already holds its constant parent."""
    made = []

    def listen(kind, *details):
        if kind == "create":
            made.append(details[0])

    x = Value(2.0)
    with context.listening(listen):
        y = x * 5
    assert made == [y] and y._b.__class__ is Value and y._b.is_constant and y._db == 2.0


def test_a_graph_with_cycles_through_grads_is_still_collected():
    """create_graph makes x.grad a Value whose graph reaches x (a cycle): the collector, which
    still tracks every node, frees it once it is dropped."""
    def values():
        return sum(1 for o in gc.get_objects() if o.__class__ is Value)
    gc.collect()
    before = values()
    x = Value(0.5)
    y = (2.0 * x).tanh()
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert x.grad.data == pytest.approx(2 * (1 - math.tanh(1.0) ** 2))
    del x, y
    gc.collect()
    assert values() == before
