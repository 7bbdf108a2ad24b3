"""micrograd's way of making nodes, on our Value: ``Value(data, _children, _op, label)`` and a
``_backward`` closure assigned by the user (as micrograd's lecture teaches), and user attributes.

Oracles: hand-derived derivatives, central finite differences, and the same function built from
the op table (whose derivatives the property tests check against sympy).
"""
from __future__ import annotations

import copy
import math
import os
import pickle
import platform
import subprocess
import sys

import pytest

from autograd_mini import Value, forward_derivative, gradients, grad, topological_order
from autograd_mini.context import listening


# -- micrograd's ops written the lecture's way: data computed by hand, a closure for the gradient --

def m_add(a: Value, b: Value) -> Value:
    out = Value(a.data + b.data, (a, b), "+")

    def _backward():
        a.grad += out.grad
        b.grad += out.grad
    out._backward = _backward
    return out


def m_mul(a: Value, b: Value) -> Value:
    out = Value(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def m_tanh(x: Value) -> Value:
    t = math.tanh(x.data)
    out = Value(t, (x,), "tanh")

    def _backward():
        x.grad += (1 - t ** 2) * out.grad
    out._backward = _backward
    return out


def central(f, xs, i, h=1e-6):
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


def test_the_constructor_takes_children_op_and_label_as_micrograd_does():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = Value(a.data * b.data, (a, b), "*", "c")
    assert c.parents == (a, b) and c.op == "*" and c.label == "c"
    assert c._prev == {a, b} and c._op == "*"
    assert not c.is_leaf and c.has_closure and not a.has_closure
    c.backward()  # micrograd's default _backward does nothing: no gradient reaches a or b
    assert (a.grad, b.grad) == (0.0, 0.0)
    assert repr(c) == "Value(data=-6.0, grad=1.0, label='c', op='*')"


def test_a_closure_node_is_called_in_topological_order_and_matches_the_table():
    # the lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), closures against table ops
    values = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)
    m = {k: Value(v, label=k) for k, v in values.items()}
    o = m_tanh(m_add(m_add(m_mul(m["x1"], m["w1"]), m_mul(m["x2"], m["w2"])), m["b"]))
    o.backward()
    t = {k: Value(v, label=k) for k, v in values.items()}
    table = (t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"]).tanh()
    table.backward()
    assert o.data == table.data
    for k in values:
        assert m[k].grad == pytest.approx(t[k].grad, rel=1e-12, abs=1e-15)
    # the lecture's numbers, by hand: do/dx1 = (1 - o^2) w1 with o = 1/sqrt(2)
    assert m["x1"].grad == pytest.approx(-1.5, rel=1e-9)
    assert m["w1"].grad == pytest.approx(1.0, rel=1e-9)


def test_shared_nodes_and_diamonds_send_every_path():
    def closures(x, y):
        a, b = Value(x), Value(y)
        p = m_mul(a, b)            # used three times below: a diamond and a shared node
        q = m_tanh(p)
        out = m_add(m_mul(q, p), m_add(p, q))
        out.backward()
        return out.data, a.grad, b.grad

    def f(x, y):
        p = x * y
        q = math.tanh(p)
        return q * p + (p + q)

    for x, y in [(0.3, -1.2), (1.5, 0.25), (-0.7, -0.4)]:
        value, ga, gb = closures(x, y)
        assert value == pytest.approx(f(x, y), rel=1e-15)
        assert ga == pytest.approx(central(f, [x, y], 0), rel=1e-7)
        assert gb == pytest.approx(central(f, [x, y], 1), rel=1e-7)


def test_closure_and_table_nodes_mix_and_leaf_grads_accumulate():
    x = Value(0.5)
    y = m_tanh(x * 3.0) * x  # a closure node between two table nodes
    y.backward()
    first = x.grad
    expected = central(lambda v: math.tanh(3 * v) * v, [0.5], 0)
    assert first == pytest.approx(expected, rel=1e-7)
    y.backward()  # leaves accumulate; the closure node's own grad is recomputed, not piled
    assert x.grad == pytest.approx(2 * first, rel=1e-15)


def test_topological_order_and_drawings_see_a_closure_nodes_children():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = m_mul(a, b)
    d = m_add(c, a)
    assert topological_order(d, forwards=True)[-1] is d
    assert set(topological_order(d)) == {a, b, c, d}
    assert d.parents == (c, a) and d.op == "+" and c.local_grads == (None, None)


def test_gradients_and_grad_run_closures_and_a_trace_hears_each_send():
    events = []
    x = Value(0.8)
    y = m_tanh(x)
    with listening(lambda kind, *details: events.append((kind, details))):
        found = gradients(y, [x])
    assert found[x] == pytest.approx(1 - math.tanh(0.8) ** 2, rel=1e-15)
    sends = [details for kind, details in events if kind == "closure_send"]
    assert len(sends) == 1
    sender, receiver, incoming, amount, before, total = sends[0]
    assert (sender, receiver, incoming, before) == (y, x, 1.0, 0.0) and amount == total == found[x]
    assert (x.grad, y.grad) == (0.0, 0.0)  # gradients() leaves .grad alone
    assert grad(lambda v: m_tanh(v))(0.8) == pytest.approx(found[x], rel=1e-15)


def test_forward_mode_and_create_graph_refuse_a_closure_node_clearly():
    x = Value(0.8)
    y = m_tanh(x) * 2.0
    with pytest.raises(TypeError, match=r"'tanh' node .* _backward closure.*defop"):
        forward_derivative(y, x)
    with pytest.raises(TypeError, match=r"create_graph=True.*'tanh' node"):
        y.backward(create_graph=True)


def test_bad_children_ops_and_closures_are_refused_with_what_is_allowed():
    a = Value(1.0)
    with pytest.raises(TypeError, match="pass a label as label="):
        Value(1.0, "a")
    with pytest.raises(TypeError, match="must hold Values, got float"):
        Value(1.0, (a, 2.0), "+")
    with pytest.raises(TypeError, match="_op=.*must be a str"):
        Value(1.0, (a,), 5)
    with pytest.raises(TypeError, match="function of no arguments"):
        Value(1.0, (a,), "f")._backward = 3
    with pytest.raises(TypeError, match="constant"):
        (a * 2).parents[1]._backward = lambda: None


def test_table_nodes_keep_micrograds_backward_method():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    c.grad = 1.0
    c._backward()  # micrograd's one-node step, on a table node
    assert (a.grad, b.grad) == (-3.0, 2.0)


def test_a_closure_node_refuses_copy_and_pickle_clearly():
    y = m_tanh(Value(0.3))
    for attempt in (lambda: pickle.dumps(y), lambda: copy.deepcopy(y)):
        with pytest.raises(TypeError, match="closure"):
            attempt()


# -- attributes of the user's own --------------------------------------------------------------

def test_values_take_user_attributes_like_an_optimizers_moments():
    p = Value(0.5, label="w")
    p.m, p.v = 0.0, 0.0        # AdamW's moments kept on each parameter
    p.grad = 0.2
    p.m = 0.9 * p.m + 0.1 * p.grad
    p.v = 0.999 * p.v + 0.001 * p.grad ** 2
    assert (p.m, p.v) == pytest.approx((0.02, 4e-5))
    node = p * 2
    node._vis_color = "red"
    assert node._vis_color == "red" and node.label == "" and p.label == "w"
    with pytest.raises(AttributeError):
        Value(1.0).not_set
    with pytest.raises(AttributeError):
        node.op = "+"  # the recorded graph stays read-only


def test_attributes_survive_pickling_and_copying():
    p = Value(0.5, label="w")
    p.m = 0.25
    for clone in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
        assert (clone.data, clone.label, clone.m) == (0.5, "w", 0.25) and clone is not p


MEASURE = """
import sys, tracemalloc
sys.path.insert(0, {repo!r})
from autograd_mini import Value
{prelude}
w, b, y = Value(1.0 - 1e-7), Value(1e-7), Value(1.0)
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
for _ in range(5000):
    y = y * w
    y = y + b
print((tracemalloc.get_traced_memory()[0] - base) / 10_000)
"""


def bytes_per_binary_node(prelude: str = "") -> float:
    """The benchmark's chain (binary op nodes over shared leaves), after the forward pass, in a
    fresh interpreter (what else the process has done changes CPython's allocations)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", MEASURE.format(repo=repo, prelude=prelude)],
                          capture_output=True, text=True, check=True)
    return float(done.stdout)


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="CPython's sizes")
def test_a_node_without_attributes_costs_at_most_150_bytes():
    assert 100 <= bytes_per_binary_node() <= 150
    # labels and an optimizer's moments set on other nodes first change nothing
    assert bytes_per_binary_node("a = Value(1.0, label='a'); a.m = a.v = 0.0") <= 150


# -- assigning _op and _prev, as code written for micrograd does ---------------------------------

def test_a_node_wired_by_assigning_prev_op_and_backward():
    """Code in the wild makes a plain Value and then sets its children, op and closure."""
    x = Value(3.0)
    out = Value(x.data ** 2)
    out._prev = {x}
    out._op = "square"

    def _backward():
        x.grad += 2 * x.data * out.grad

    out._backward = _backward
    y = out * 2
    y.backward()
    assert x.grad == 12.0  # d(2 x^2)/dx = 4x at 3
    assert out._prev == {x} and out._op == "square" and out.op == "square"
    order = topological_order(y)
    assert order.index(x) < order.index(out) < order.index(y)
    other = Value(1.0)  # the same in the other order: op first, then children
    other._op = "exp"
    other._prev = {x}
    assert other.op == other._op == "exp" and other.parents == (x,)


def test_assigning_op_to_a_table_node_renames_it_for_micrograd_readers_only():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    c._op = "mul"
    assert (c._op, c.op) == ("mul", "*")  # the engine still knows the row it computes by
    c.backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)
    with pytest.raises(TypeError, match="_op must be a str"):
        c._op = 3


def test_assigning_prev_keeps_the_nodes_step_and_walks_the_new_children():
    """micrograd's backward visits _prev in topological order and calls each node's _backward,
    which still sends to the operands it was made from."""
    a, b = Value(2.0), Value(5.0)
    c = a * b                  # dc/da = b = 5, dc/db = a = 2
    c._prev = {a, b}           # the same children, as a set: nothing changes
    c.backward()
    assert (a.grad, b.grad) == (5.0, 2.0) and c.parents in ((a, b), (b, a))
    with pytest.raises(TypeError, match="must hold Values"):
        c._prev = {1.0}
