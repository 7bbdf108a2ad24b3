"""Numerics and semantics at the edges: x ** 0, exact zeros under create_graph, anomaly checks,
repeated argnums, copying and pickling, and derivative rules that would cut the graph.

Oracles: hand-derived derivatives (PyTorch's and JAX's conventions where the limit is a choice),
central finite differences, and the same expression re-evaluated from scratch.
"""
from __future__ import annotations

import copy
import math
import pickle

import pytest

from autograd_mini import (Value, defop, detect_anomaly, forward_derivative, gradcheck, grad,
                           hessian, ops)
from autograd_mini.context import AnomalyError, GraphCutError

SUBNORMAL = 5e-324


@pytest.fixture(autouse=True)
def no_ops_left_behind():
    """Ops a test adds with defop are taken out of the table again (other tests read OPS)."""
    from autograd_mini import OPS
    before = set(OPS)
    yield
    for name in set(OPS) - before:
        for method in OPS.pop(name).methods:
            if method in vars(Value):
                delattr(Value, method)


def number(g) -> float:
    """A gradient as a float (a Value after create_graph, a float where nothing arrived)."""
    return g.data if isinstance(g, Value) else g


# -- d/dx x ** 0 = 0 everywhere, as PyTorch and JAX ----------------------------------------------

@pytest.mark.parametrize("x", [0.0, -0.0, SUBNORMAL, -SUBNORMAL, math.nan, math.inf, 2.0])
def test_the_derivative_of_x_to_the_zero_is_zero_in_every_mode(x):
    leaf = Value(x)
    y = leaf ** 0
    assert y.data == 1.0
    y.backward()
    assert leaf.grad == 0.0
    assert forward_derivative(leaf ** 0, leaf) == 0.0
    leaf = Value(x)
    (leaf ** 0).backward(create_graph=True)
    assert number(leaf.grad) == 0.0
    assert grad(grad(lambda v: v ** 0))(x) == 0.0


def test_gradcheck_passes_on_x_to_the_zero_at_zero():
    assert gradcheck(lambda x: x ** 0, [0.0])


def test_the_power_rule_is_unchanged_away_from_a_zero_exponent():
    for x, y in [(2.0, 3.0), (0.5, -1.5), (3.0, 0.5)]:
        assert grad(lambda a, b: a ** b, argnums=(0, 1))(x, y) == pytest.approx(
            (y * x ** (y - 1), x ** y * math.log(x)), rel=1e-12)
    assert grad(grad(lambda v: v ** 3))(2.0) == 12.0  # second derivative through the rule


# -- an exact zero on an edge carries nothing, in every mode --------------------------------------

def test_an_exact_zero_edge_carries_nothing_under_create_graph():
    def f(x):
        return (1 - x.tanh()).sqrt()  # tanh(20) == 1.0: sqrt' is inf, tanh' is exactly 0
    x = Value(20.0)
    f(x).backward()
    assert x.grad == 0.0
    x = Value(20.0)
    f(x).backward(create_graph=True)
    assert number(x.grad) == 0.0
    assert grad(f)(20.0) == 0.0 and grad(grad(f))(20.0) == 0.0
    x = Value(20.0)
    assert forward_derivative(f(x), x) == 0.0


def test_zeros_that_are_values_still_pass_their_own_derivative_on():
    # d/dx (x * x) at 0 is 0, but the second derivative is 2: a zero VALUE is not an exact zero
    assert grad(lambda x: x * x)(0.0) == 0.0
    assert grad(grad(lambda x: x * x))(0.0) == 2.0
    assert hessian(lambda x, y: x * x * y, argnums=(0, 1))(0.0, 3.0) == ((6.0, 0.0), (0.0, 0.0))


# -- detect_anomaly judges only the edges that are used --------------------------------------------

def test_detect_anomaly_has_no_false_alarm_for_a_constant_exponent_under_create_graph():
    with detect_anomaly():
        x = Value(-3.0)
        (x ** 2).backward(create_graph=True)  # log(-3) would be the unused exponent's edge
        assert x.grad.data == -6.0
        assert grad(grad(lambda v: v ** 2))(-3.0) == 2.0


def test_detect_anomaly_still_catches_a_used_edge_under_create_graph():
    with detect_anomaly():
        x = Value(0.0)
        with pytest.raises(AnomalyError, match="inf"):
            x.sqrt().backward(create_graph=True)  # d sqrt / dx at 0 is inf, and it is used


def test_a_constant_parent_reaches_the_rule_as_a_number():
    seen = []

    def rule(out, x, c):
        seen.append((type(x).__name__, type(c).__name__))
        return (c, x)
    defop("scale_numerics", lambda x, c: x * c, rule)
    x = Value(3.0)
    x.scale_numerics(2.0).backward(create_graph=True)
    assert x.grad.data == 2.0
    assert seen[-1] == ("Value", "float")  # the constant 2.0 was never made a graph again


# -- repeated argnums: JAX's answer -------------------------------------------------------------

def test_grad_with_a_repeated_argnum_gives_jaxs_answer():
    f = lambda x, y: x * x * y  # noqa: E731
    assert grad(f, argnums=(0, 0))(2.0, 3.0) == (12.0, 12.0)
    assert grad(f, argnums=(1, 0, -2))(2.0, 3.0) == (4.0, 12.0, 12.0)
    assert hessian(f, argnums=(0, 0))(2.0, 3.0) == ((6.0, 6.0), (6.0, 6.0))


# -- copying and pickling ----------------------------------------------------------------------

def build():
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    c = a * b + 3.0
    return a, b, (c.tanh() * c + a ** 2).sigmoid()


def test_deepcopy_keeps_constants_constant_and_the_graph_shared():
    a, b, out = build()
    clone = copy.deepcopy(out)
    leaves = {n.label: n for n in _walk(clone) if not n.parents}
    constants = [n for n in _walk(clone) if n.is_constant]
    assert len(constants) == 2 and all(not n.parents for n in constants)  # 3.0 and 2
    clone.backward()
    out.backward()
    assert leaves["a"].grad == a.grad and leaves["b"].grad == b.grad
    assert all(n.grad == 0.0 for n in constants)  # constants owe no gradient
    assert leaves["a"] is not a


def test_a_non_leaf_value_pickles_with_its_ops_by_name():
    a, b, out = build()
    out.backward()
    loaded = pickle.loads(pickle.dumps(out))
    assert loaded.data == out.data and loaded.op == out.op
    found = {n.label: n for n in _walk(loaded) if n.label}
    assert (found["a"].grad, found["b"].grad) == (a.grad, b.grad)  # grads travel too
    for n in _walk(loaded):
        n.grad = 0.0
    loaded.backward()
    assert (found["a"].grad, found["b"].grad) == (a.grad, b.grad)


def test_a_user_ops_node_pickles_by_name_and_an_unknown_op_is_named():
    square = defop("square_numerics", lambda x: x * x, lambda out, x: 2.0 * x)
    y = square(Value(3.0))
    assert pickle.loads(pickle.dumps(y)).parents[0].data == 3.0
    data = pickle.dumps(y)
    from autograd_mini import OPS
    del OPS["square_numerics"]
    try:
        with pytest.raises(ValueError, match="no op named 'square_numerics'.*defop"):
            pickle.loads(data)
    finally:
        OPS["square_numerics"] = square


def _walk(root):
    seen, stack = {root}, [root]
    while stack:
        for p in stack.pop().parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


# -- what derivative rules may call, and a rule that cuts the graph ----------------------------------

@pytest.mark.parametrize("name", [n for n in ops.RULE_FUNCTIONS if n in ops.OPS])  # the rows
def test_rule_functions_take_floats_or_values(name):
    function = getattr(ops, name)
    args = {"div": (3.0, 4.0), "pow": (1.5, 2.5), "logsumexp": (0.5, -1.0)}.get(name, (0.7,))
    on_floats = function(*args)
    on_values = function(*[Value(a) for a in args])
    assert type(on_floats) is float and isinstance(on_values, Value)
    assert on_values.data == on_floats


def test_a_rule_that_takes_a_float_out_of_a_value_is_named_under_create_graph():
    softplus_cut = defop("softplus_cut", lambda x: math.log1p(math.exp(x)),
                         lambda out, x: 1.0 / (1.0 + math.exp(-x)))
    x = Value(0.5)
    softplus_cut(x).backward()  # first derivatives are right: the rule runs on floats
    assert x.grad == pytest.approx(1 / (1 + math.exp(-0.5)), rel=1e-15)
    with pytest.raises(GraphCutError, match="op 'softplus_cut'.*autograd_mini.ops"):
        hessian(lambda v: softplus_cut(v))(0.5)
    softplus_ok = defop("softplus_ok", lambda x: math.log1p(math.exp(x)),
                        lambda out, x: ops.sigmoid(x))
    s = 1 / (1 + math.exp(-0.5))
    assert hessian(lambda v: softplus_ok(v))(0.5) == pytest.approx(s * (1 - s), rel=1e-12)
