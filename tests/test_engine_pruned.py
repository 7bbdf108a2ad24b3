"""``gradients(root, wrt)`` walks only the nodes on a path down to a node of ``wrt``: its results
are bit for bit those of the full pass (``wrt=None``), with ``create_graph`` too, and it visits
fewer nodes (counted by the engine's "final" events)."""
import math
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recipes import replay, recipes

from autograd_mini import Value, gradients, topological_order
from autograd_mini.context import listening

SETTINGS = settings(deadline=None, max_examples=150,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def bits(x) -> bytes:
    return struct.pack("<d", x.data if isinstance(x, Value) else x)


def walked(out, wrt=None, **options):
    """(the gradients, the nodes the pass reached: one "final" event each)."""
    reached = []

    def note(kind, *details):
        if kind == "final":
            reached.append(details[0])

    with listening(note):
        found = gradients(out, wrt, **options)
    return found, reached


@st.composite
def graphs_and_wanted(draw, max_inputs=3, max_steps=6):
    """A random graph of table ops and a random choice of its nodes (leaves or not)."""
    xs, recipe = draw(recipes(max_inputs=max_inputs, max_steps=max_steps))
    leaves = [Value(x) for x in xs]
    out = replay(recipe, leaves)
    nodes = list(dict.fromkeys(leaves + topological_order(out)))
    wanted = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=len(nodes)))
    return leaves, out, wanted


@SETTINGS
@given(graphs_and_wanted())
def test_pruned_gradients_are_the_full_pass_bit_for_bit(case):
    leaves, out, wanted = case
    full, all_reached = walked(out)
    pruned, reached = walked(out, wanted)
    for node in wanted:
        assert bits(pruned[node]) == bits(full.get(node, 0.0))
    assert set(reached) <= set(all_reached)
    # every node the full pass reached and that lies on no path to a wanted one is skipped
    order = topological_order(out)
    if any(leaf in order and leaf not in wanted for leaf in leaves):
        assert len(reached) < len(all_reached)
    assert all(node in reached for node in wanted if node in order)


@SETTINGS
@given(graphs_and_wanted(max_inputs=2, max_steps=4))
def test_pruned_gradient_graphs_have_the_full_ones_values_and_second_derivatives(case):
    leaves, out, wanted = case
    full = gradients(out, create_graph=True)
    pruned = gradients(out, wanted, create_graph=True)
    for node in wanted:
        first, reference = pruned[node], full.get(node, 0.0)
        assert bits(first) == bits(reference)
        if isinstance(reference, Value):
            again, expected = gradients(first, leaves), gradients(reference, leaves)
            for leaf in leaves:
                a, b = again[leaf], expected[leaf]
                assert a == b or (math.isnan(a) and math.isnan(b))


def test_a_layers_weight_gradients_skip_the_inputs_gradient_graph():
    """One neuron on 64 inputs, asked for its weights: the inputs' gradients are not built."""
    xs = [Value(0.01 * i) for i in range(64)]
    ws = [Value(0.5 - 0.01 * i) for i in range(64)]
    out = sum((w * x for w, x in zip(ws, xs)), Value(0.1)).relu() ** 2
    made = []
    with listening(lambda kind, *details: made.append(kind)):
        pruned = gradients(out, ws, create_graph=True)
    made_pruned = made.count("create")
    made.clear()
    with listening(lambda kind, *details: made.append(kind)):
        full = gradients(out, create_graph=True)
    assert made_pruned < made.count("create")
    # d out / d w_i = 2 (w.x + 0.1) x_i, by hand
    total = sum(w.data * x.data for w, x in zip(ws, xs)) + 0.1
    for w, x in zip(ws, xs):
        assert math.isclose(pruned[w].data, 2 * total * x.data, rel_tol=1e-12, abs_tol=1e-15)
        assert bits(pruned[w]) == bits(full[w])
    _, reached = walked(out, ws)
    _, all_reached = walked(out)
    assert not set(xs) & set(reached) and set(xs) <= set(all_reached)


def test_a_micrograd_closure_node_sends_only_to_wanted_children():
    a, b = Value(2.0), Value(3.0)
    c = Value(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * c.grad
        b.grad += a.data * c.grad
    c._backward = _backward
    out = c * 2.0
    found, reached = walked(out, [a])
    assert found[a] == 6.0 and b not in reached


def test_nothing_leads_to_the_wanted_node():
    a, b = Value(2.0), Value(5.0)
    out = a * 3.0
    found, reached = walked(out, [b])
    assert found == {b: 0.0} and reached == []
