"""The graph e = (a + b) * (b + 1) of C. Olah, "Calculus on Computational Graphs" (2015):
every number."""
import pytest
from conftest import build_seed_graph

from autograd_mini import forward_derivative, gradients, topological_order


@pytest.fixture
def graph():
    return build_seed_graph()


def test_forward_values(graph):
    a, b, c, d, e = graph
    assert (c.data, d.data, e.data) == (3.0, 2.0, 6.0)


def test_each_edge_carries_the_local_derivative(graph):
    a, b, c, d, e = graph
    assert c.parents == (a, b) and c.local_grads == (1.0, 1.0)       # dc/da = dc/db = 1
    assert d.parents[0] is b and d.local_grads[0] == 1.0               # dd/db = 1
    assert d.parents[1].is_constant and d.parents[1].data == 1.0       # the 1 in b + 1
    assert e.parents == (c, d) and e.local_grads == (2.0, 3.0)         # de/dc = d = 2, de/dd = c = 3
    assert (c.op, d.op, e.op, a.op) == ("+", "+", "*", "")


def test_sum_over_paths_of_edge_products(graph):
    """de/db = 1*2 + 1*3: enumerate the paths by hand from the recorded edges."""
    a, b, c, d, e = graph

    def paths(node, target):
        if node is target:
            return [1.0]
        found = []
        for parent, local in zip(node.parents, node.local_grads):
            found += [local * rest for rest in paths(parent, target)]
        return found

    assert paths(e, a) == [2.0]
    assert sorted(paths(e, b)) == [2.0, 3.0]
    assert sum(paths(e, b)) == 5.0


def test_reverse_mode_fills_every_partial_in_one_pass(graph):
    a, b, c, d, e = graph
    e.backward()
    assert (e.grad, c.grad, d.grad, a.grad, b.grad) == (1.0, 2.0, 3.0, 2.0, 5.0)
    assert d.parents[1].grad == 0.0  # no gradient is owed to a constant


def test_forward_mode_one_pass_per_input(graph):
    a, b, c, d, e = graph
    assert forward_derivative(e, a) == 2.0
    assert forward_derivative(e, b) == 5.0
    assert forward_derivative(c, b) == 1.0 and forward_derivative(d, a) == 0.0


def test_functional_gradients_leave_grad_alone(graph):
    a, b, c, d, e = graph
    assert gradients(e, [a, b, c, d]) == {a: 2.0, b: 5.0, c: 2.0, d: 3.0}
    assert a.grad == 0.0 and b.grad == 0.0


def test_topological_order_puts_parents_first(graph):
    a, b, c, d, e = graph
    order = topological_order(e)
    assert order[-1] is e and len(order) == 6  # a, b, c, d, e and the constant 1
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[p] < position[node] for p in node.parents)
