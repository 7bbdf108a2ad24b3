"""The compiler (autograd_mini.compiler) against the eager engine, its independent oracle.

The eager engine computes every node with the op table's float rules and sums gradients in its
own loop (graph.py); the compiled program is generated text run by Python, on floats or on NumPy
arrays with nodes grouped into array operations. Random graphs over EVERY op of the table (so
an op added to the table is covered with no new test) must give the same values and gradients:
on floats bit for bit where the engine's float path is the same arithmetic, and everywhere to
1e-12 relative to the size of the numbers involved (NumPy's exp/log/... and matrix products
round differently). Hand-derived numbers (e = (a+b)(b+1): e = 6, de/da = 2, de/db = 5) anchor
it, and the limits (branches on values) must be reported, not silently compiled.
"""
import gc
import linecache
import math
import random
import re
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipes import OP_NAMES, recipes, replay

from autograd_mini import OPS, Value, compile, defop, gradients, ops, topological_order
from autograd_mini.compiler import GraphChangedError, TracingError

np = pytest.importorskip("numpy")

REL = 1e-12


def close(a, b, scale=0.0) -> bool:
    """Equal to 1e-12 relative (of the larger of the two and ``scale``); two nans are equal."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= REL * max(abs(a), abs(b), scale) or abs(a - b) < 1e-300


def eager(recipe, xs):
    leaves = [Value(x) for x in xs]
    out = replay(recipe, leaves)
    found = gradients(out, leaves)
    return out.data, [found[leaf] for leaf in leaves]


def magnitude(recipe, xs) -> float:
    """The size of the numbers the graph adds up (for the tolerance of reordered sums)."""
    leaves = [Value(x) for x in xs]
    out = replay(recipe, leaves)
    sizes = [abs(n.data) for n in topological_order(out) if math.isfinite(n.data)]
    return max(sizes, default=0.0)


GRAPHS = settings(max_examples=120, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_every_op_of_the_table_is_drawn():
    """The random graphs draw every op the table had when the tests were collected."""
    assert {"affine", "max", "leaky_relu", "softplus", "log1p", "logsumexp", "relu", "pow"} \
        <= set(OP_NAMES) <= set(OPS)


@GRAPHS
@given(recipes(max_steps=8, limit=1e6))
def test_compiled_values_and_gradients_equal_eager(case):
    xs, recipe = case
    f = compile(lambda *args: replay(recipe, args), check="never")
    value, grads = eager(recipe, xs)
    scale = magnitude(recipe, xs)
    assert close(f(*xs), value)
    compiled_value, compiled_grads = f.value_and_grad(*xs)
    assert close(compiled_value, value)
    assert all(close(a, b, scale * 1e-6) for a, b in zip(compiled_grads, grads))
    batch_values, batch_grads = f.batch_value_and_grad([xs, xs])
    assert close(batch_values[1], value, scale)
    assert all(close(a, b, scale) for a, b in zip(batch_grads[1], grads))


@GRAPHS
@given(recipes(max_inputs=2, max_steps=6, wild=True))
def test_ieee_corners_equal_eager_too(case):
    """Zeros, infinities and nans: the engine lets an exact zero carry nothing; where a program's
    gradient comes out inf or nan, the row is recomputed by the eager engine."""
    xs, recipe = case
    f = compile(lambda *args: replay(recipe, args), check="never")
    value, grads = eager(recipe, xs)
    compiled_value, compiled_grads = f.value_and_grad(*xs)
    assert close(compiled_value, value)
    assert all(close(a, b) for a, b in zip(compiled_grads, grads))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning leaks out
        batch_values, batch_grads = f.batch_value_and_grad([xs, xs])
    assert all(close(a, b) for a, b in zip(batch_grads[1], grads))


@GRAPHS
@given(recipes(), st.lists(st.floats(0.5, 1.5), min_size=1, max_size=4))
def test_batches_equal_eager_row_by_row(case, scales):
    xs, recipe = case
    rows = [[x * s for x in xs] for s in scales]
    f = compile(lambda *args: replay(recipe, args), check="never")
    values = f.batch(rows)
    batch_values, batch_grads = f.batch_value_and_grad(np.array(rows))
    assert values.shape == (len(rows),) and batch_grads.shape == (len(rows), len(xs))
    for i, row in enumerate(rows):
        value, grads = eager(recipe, row)
        scale = magnitude(recipe, row)
        assert close(values[i], value, scale) and close(batch_values[i], value, scale)
        assert all(close(a, b, scale) for a, b in zip(batch_grads[i], grads))


# -- vectorised: layers found in a scalar graph built by hand -----------------------------------

def layered(ops_used, sizes, seed, mixed=False):
    """A network written with Values by hand (no nn): weighted sums (one affine node, or products
    and a sum), then an op of the table per layer (a two-operand op gets 0.7 as its second).
    ``mixed``: some weights are plain numbers and some layers use affine. Returns (f, weights)."""
    rng = random.Random(seed)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        W = [[Value(rng.uniform(-1, 1), label=f"W[{j},{k}]") if not mixed or rng.random() < 0.9
              else 0.5 for k in range(nin)] for j in range(nout)]
        b = [Value(rng.uniform(-0.5, 0.5)) for _ in range(nout)]
        layers.append((W, b, rng.choice(ops_used), mixed and rng.random() < 0.5))

    def f(*xs):
        h = list(xs)
        for W, b, act, fused in layers:
            sums = [Value.affine(row, h, bias) if fused else
                    Value.sum([w * x for w, x in zip(row, h)] + [bias]) for row, bias in zip(W, b)]
            op = OPS[act]
            h = [op(s) if op.arity == 1 else op(s, 0.7) for s in sums]
        return Value.sum(h)
    return f, [p for W, b, _, _ in layers for row in W for p in row + b if isinstance(p, Value)]


UNARY = sorted(name for name, op in OPS.items() if op.arity == 1)
ONE_OR_TWO = sorted(name for name, op in OPS.items() if op.arity in (1, 2))


def assert_batch_equals_eager(f, c, rows):
    values, grads = c.batch_value_and_grad(rows)
    for i, row in enumerate(rows):
        leaves = [Value(v) for v in row]
        out = f(*leaves)
        found = gradients(out, leaves)
        scale = max([abs(n.data) for n in topological_order(out) if math.isfinite(n.data)] + [1.0])
        assert close(values[i], out.data, scale)
        assert all(close(a, found[leaf], scale) for a, leaf in zip(grads[i], leaves))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(UNARY), st.integers(0, 10 ** 6))
def test_a_network_of_values_is_vectorised_and_equals_eager(act, seed):
    f, params = layered([act], [3, 5, 4, 1], seed)
    c = compile(f)
    rng = random.Random(seed)
    assert_batch_equals_eager(f, c, [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(7)])
    assert "@" in c.source  # the layers' weighted sums became matrix products


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.integers(0, 10 ** 6))
def test_random_layered_graphs_of_every_op_equal_eager(sizes, seed):
    """Layers of any width (1 included), ops of one or two operands, numbers among the weights,
    affine nodes or products and sums: grouped or not, the batch program is the engine's."""
    f, _ = layered(ONE_OR_TWO, sizes, seed, mixed=True)
    c = compile(f, check="never")
    rng = random.Random(seed)
    assert_batch_equals_eager(f, c, [[rng.uniform(-2, 2) for _ in range(sizes[0])] for _ in range(5)])


def test_a_hand_written_network_prints_as_matrix_products():
    f, params = layered(["tanh"], [2, 4, 4, 1], seed=1)
    c = compile(f)
    c.batch([[0.1, 0.2]])
    lines = c.source.splitlines()
    assert sum(" @ " in line for line in lines) >= 4   # forward and reverse passes
    assert any(line.strip().startswith("h") and "tanh(" in line for line in lines)


# -- your own op: one defop line, then it compiles and vectorises --------------------------------

def test_a_user_op_compiles_and_vectorises_with_no_other_change(fresh_ops):
    name = f"cube_{random.randrange(10 ** 9)}"
    cube = defop(name, lambda x: x * x * x, lambda out, x: 3.0 * x * x)
    f, params = layered([name], [2, 3, 1], seed=4)
    c = compile(f)
    rows = [[0.3, -0.7], [1.1, 0.4], [-0.2, 0.9]]
    values, grads = c.batch_value_and_grad(rows)
    for i, row in enumerate(rows):
        leaves = [Value(v) for v in row]
        out = f(*leaves)
        found = gradients(out, leaves)
        assert close(values[i], out.data) and all(close(a, found[x]) for a, x in zip(grads[i], leaves))
    calls = [line for line in c.source.splitlines() if f"= {name}(" in line]
    assert calls and all(re.fullmatch(rf"\s+h\d+ = {name}\(h\d+\)", line) for line in calls[:1])
    assert c.value_and_grad(*rows[0])[0] == f(*[Value(v) for v in rows[0]]).data
    assert cube.numpy is not None


def test_a_user_op_with_its_own_array_rule(fresh_ops):
    name = f"twice_{random.randrange(10 ** 9)}"
    calls = []

    def on_arrays(np_, x):
        calls.append(1)
        return 2.0 * x
    defop(name, lambda x: 2.0 * x, lambda out, x: 2.0, numpy=on_arrays)
    c = compile(lambda x: getattr(x, name)() * x)
    assert c.batch([[1.0], [3.0]]).tolist() == [2.0, 18.0] and calls


def test_a_derivative_rule_that_cuts_the_graph_is_refused_naming_the_op(fresh_ops):
    name = f"soft_{random.randrange(10 ** 9)}"
    defop(name, lambda x: math.log1p(math.exp(x)), lambda out, x: 1 / (1 + math.exp(-x)))
    with pytest.raises((TracingError, TypeError), match=name):
        compile(lambda x: getattr(x, name)()).value_and_grad(0.5)


# -- what it prints ---------------------------------------------------------------------------

def test_reference_graph_hand_derived():
    """e = (a + b)(b + 1) at a = 2, b = 1: e = 6, de/da = b + 1 = 2, de/db = a + 2b + 1 = 5."""
    e = compile(lambda a, b: (a + b) * (b + 1))
    assert e(2.0, 1.0) == 6.0
    assert e.value_and_grad(2.0, 1.0) == (6.0, (2.0, 5.0))
    assert e.batch([[2.0, 1.0], [1.0, 2.0]]).tolist() == [6.0, 9.0]   # (1 + 2)(2 + 1)
    assert e.batch_value_and_grad([[1.0, 2.0]])[1].tolist() == [[3.0, 6.0]]
    assert "db = " in e.source   # the gradient of b, named after it


def test_the_float_program_is_the_engines_reverse_mode_bit_for_bit():
    def chain(x, w, b):
        y = x
        for _ in range(2000):
            y = (y * w + b).tanh()
        return y
    f = compile(chain)
    leaves = [Value(0.3), Value(0.9), Value(0.1)]
    out = chain(*leaves)
    out.backward()
    value, grads = f.value_and_grad(0.3, 0.9, 0.1)
    assert value == out.data and list(grads) == [leaf.grad for leaf in leaves]


def test_the_printed_program_runs_and_gives_the_engines_numbers():
    f = compile(lambda x, y: (x * y + y.tanh()) ** 2)
    f(1.0, 2.0)
    assert str(f) == f.source and f.source.startswith("def <lambda>") is False
    program = f._program(True)
    namespace = {"tanh": np.tanh, "pow": np.power, "np": np}
    exec(program.source("numpy"), namespace)
    run = next(v for k, v in namespace.items() if callable(v) and k == program.name)
    (value, dx, dy), _ = run(np.array([[0.3, -1.2]]), np.zeros(0))
    x, y = Value(0.3), Value(-1.2)
    out = (x * y + y.tanh()) ** 2
    out.backward()
    assert close(value[0], out.data) and close(dx[0], x.grad) and close(dy[0], y.grad)


def test_labels_name_the_variables_and_the_graph_keeps_the_program_names():
    def f(a, b):
        c = a + b
        c.label = "c"
        return c * b
    g = compile(f)
    g(2.0, 1.0)
    assert "c = a + b" in g.source
    assert g.graph.label and g.graph.data == 3.0
    assert {"a", "b", "c"} <= {n.label for n in topological_order(g.graph)}


def test_generated_names_never_collide_nor_are_keywords():
    """'fi' and 'ﬁ' normalise to one identifier; 'lambda' and 'X' are taken by Python or the
    program: each still gets a variable of its own."""
    fi, ligature = Value(2.0, label="fi"), Value(3.0, label="ﬁ")
    keyword, big_x = Value(5.0, label="lambda"), Value(7.0, label="X")
    f = compile(lambda x: fi * x + ligature * x * x + keyword + big_x)
    assert f(1.0) == 2.0 + 3.0 + 5.0 + 7.0 and f(2.0) == 4.0 + 12.0 + 12.0
    assert f.batch([[1.0], [2.0]]).tolist() == [17.0, 28.0]
    assert f.value_and_grad(2.0) == (28.0, (2.0 + 12.0,))


def test_repr_and_asking_before_the_first_call():
    f = compile(lambda x: x * x)
    assert "not traced yet" in repr(f)
    with pytest.raises(RuntimeError, match="first call"):
        f.source
    f(3.0)
    assert repr(f) == "<compiled <lambda>: 1 input(s), 0 parameter(s), 1 op node(s)>"


def test_compiled_sources_are_released_with_the_program():
    before = {k for k in linecache.cache if k.startswith("<compiled")}
    for _ in range(20):
        f = compile(lambda x: x.tanh() * x)
        f.value_and_grad(0.5)
        f.batch([[0.5]])
        del f
    gc.collect()
    assert {k for k in linecache.cache if k.startswith("<compiled")} <= before


# -- parameters: Values from outside are read afresh -----------------------------------------

def test_captured_values_are_read_at_every_call():
    w = Value(2.0, label="w")
    f = compile(lambda x: w * x + 3)
    assert f(2.0) == 7.0 and f.params == [w]
    w.data = 5.0
    assert f(2.0) == 13.0 and f.value_and_grad(2.0) == (13.0, (5.0,))
    assert f.batch([1.0, 2.0]).tolist() == [8.0, 13.0]


# -- branches on values: detected, not compiled silently -------------------------------------

def test_a_comparison_while_tracing_is_an_error_naming_the_line():
    def f(x):
        if x > 0:
            return x * 2
        return x * 3
    with pytest.raises(TracingError, match=r"test_compile.py:\d+ in f: if x > 0"):
        compile(f)(1.0)


@pytest.mark.parametrize("body", [
    lambda x: x * 2 if x > 0 else x * 3,        # a comparison of Values reads .data
    lambda x: x * float(x),                     # float() does too
    lambda x: max(x, x * x),                    # and max compares
    lambda x: x * Value(x),                     # a new leaf from a Value copies its number
])
def test_every_way_of_reading_a_value_is_caught(body):
    with pytest.raises(TracingError, match="read .data"):
        compile(body)(1.5)


def test_a_direct_data_branch_is_caught_when_the_graph_changes():
    def f(x):
        return x.relu() if x.data > 0 else -x
    g = compile(f)
    assert g(2.0) == 2.0 and g(3.0) == 3.0          # same branch: same graph
    with pytest.raises(GraphChangedError, match=r"node \d+ of the graph is a neg node here but was a relu node"):
        g(-1.0)


def test_reading_data_outside_fn_or_of_constants_is_fine():
    scale = Value(2.0)
    factor = scale.data * 3                  # read before tracing: a constant, and it stays one
    f = compile(lambda x: x * factor + Value(1.0).data)
    assert f(2.0) == 13.0


def test_not_strict_warns():
    g = compile(lambda x: x * 2 if x > 0 else x * 3, strict=False)
    with pytest.warns(RuntimeWarning, match="read .data"):
        assert g(2.0) == 4.0


def test_a_changed_graph_in_a_batch_is_an_error():
    state = {"calls": 0}

    def f(x):  # a graph that depends on something else than the inputs
        state["calls"] += 1
        return x * x if state["calls"] == 1 else x * x * x
    with pytest.raises(GraphChangedError):
        compile(f).batch([[1.0], [2.0], [3.0]])
    state["calls"] = 0
    assert compile(f, check="never").batch([[1.0], [2.0]]).tolist() == [1.0, 4.0]  # trusted


def test_sampled_checks_trace_again_at_new_inputs_only():
    calls = []

    def f(x):
        calls.append(1)
        return x * x
    g = compile(f)
    for _ in range(5):
        g(2.0)                       # the traced point: never traced again
    assert len(calls) == 1
    for v in range(1, 9):            # new points 1, 2, 4, 8 are checked
        g(float(v) + 10)
    assert len(calls) == 1 + 4
    always = compile(f, check="always")
    calls.clear()
    for v in range(4):
        always(float(v))
    assert len(calls) == 4


# -- IEEE: exact zeros, infinities -------------------------------------------------------------

def test_an_exact_zero_carries_nothing_as_in_the_engine():
    """x ** relu(x) at x = -1: the edge into relu carries log(-1) = nan, but relu's own edge is an
    exact 0, so d/dx is 0 in the eager engine; the program agrees (the row is recomputed)."""
    def f(x):
        return x ** x.relu()
    x = Value(-1.0)
    out = f(x)
    out.backward()
    assert x.grad == 0.0
    c = compile(f)
    assert c.value_and_grad(-1.0) == (1.0, (0.0,))
    assert c.batch_value_and_grad([[-1.0], [2.0]])[1].tolist() == [[0.0], [c.value_and_grad(2.0)[1][0]]]


def test_the_inf_and_nan_fallback_of_a_batch_does_not_crash_nor_warn():
    f = compile(lambda x: x / 0.0 + x * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, grads = f.batch_value_and_grad([[1.0], [0.0], [-2.0]])
    for i, v in enumerate([1.0, 0.0, -2.0]):
        x = Value(v)
        out = x / 0.0 + x * x
        found = gradients(out, [x])
        assert close(values[i], out.data) and close(grads[i][0], found[x])


def test_kinks_are_ops_not_branches():
    f = compile(lambda x: x.relu() + abs(x))
    assert [f.value_and_grad(v) for v in (2.0, -2.0, 0.0)] == [(4.0, (2.0,)), (2.0, (-1.0,)), (0.0, (0.0,))]
    assert f.batch_value_and_grad([[2.0], [-2.0], [0.0]])[1].tolist() == [[2.0], [-1.0], [0.0]]


def test_the_kink_helpers_are_nodes_so_other_inputs_get_their_own_derivatives():
    """relu's derivative is a node of the gradient graph (ops.step), not the traced number."""
    f = compile(lambda x, y: (x * y).relu() + (x - y).leaky_relu(0.1) + Value.max([x, y, 1.0]))
    f.value_and_grad(1.0, 2.0)                                  # traced where x * y > 0, x < y
    for row in ([-1.0, 2.0], [3.0, -0.5], [2.0, 1.5], [0.5, 0.25]):
        leaves = [Value(v) for v in row]
        out = (leaves[0] * leaves[1]).relu() + (leaves[0] - leaves[1]).leaky_relu(0.1) \
            + Value.max([leaves[0], leaves[1], 1.0])
        found = gradients(out, leaves)
        assert f.value_and_grad(*row) == (out.data, tuple(found[x] for x in leaves))
    assert ops.step(2.0) == 1.0 and ops.step(Value(2.0)).op == "step"


# -- without NumPy ----------------------------------------------------------------------------

def test_without_numpy_everything_runs_on_floats(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)   # `import numpy` now raises ImportError
    f = compile(lambda x, y: (x * y).sin() + y)
    assert f.batch([[1.0, 2.0], [0.5, 0.5]]) == [f(1.0, 2.0), f(0.5, 0.5)]
    values, grads = f.batch_value_and_grad([[1.0, 2.0]])
    assert values == [f(1.0, 2.0)] and grads == [f.value_and_grad(1.0, 2.0)[1]]
    with pytest.raises(ImportError, match="needs NumPy"):
        f.program.function(backend="numpy")


# -- bad input --------------------------------------------------------------------------------

def test_bad_input_gets_clear_errors():
    with pytest.raises(TypeError, match="needs a function"):
        compile(3)
    with pytest.raises(ValueError, match="check must be one of"):
        compile(lambda x: x, check="sometimes")
    f = compile(lambda x, y: x * y)
    with pytest.raises(TypeError, match="takes 2 argument"):
        f(1.0)
    f(1.0, 2.0)
    with pytest.raises(TypeError, match="argument 0 is a Value"):
        f(Value(1.0), 2.0)
    with pytest.raises(TypeError, match="argument 1 is str"):
        f(1.0, "2")
    with pytest.raises(TypeError, match="takes 2 number"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match=r"2 column\(s\); got an array of shape \(2, 3\)"):
        f.batch([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(TypeError, match="rows of numbers"):
        f.batch([[1, "a"]])
    with pytest.raises(TypeError, match="must return one Value"):
        compile(lambda x: [x, x])(1.0)


def test_functions_that_ignore_their_inputs():
    f = compile(lambda x, y: 4.0)
    assert f(1.0, 2.0) == 4.0 and f.value_and_grad(1.0, 2.0) == (4.0, (0.0, 0.0))
    assert f.batch([[1, 2], [3, 4]]).tolist() == [4.0, 4.0]
    g = compile(lambda x, y: x)
    assert g.batch_value_and_grad([[1, 2], [3, 4]])[1].tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_decorator_forms():
    @compile
    def f(x):
        return x * 3

    @compile(check="never")
    def g(x):
        return x * 4
    assert (f(1.0), g(1.0)) == (3.0, 4.0)


def test_a_gradient_graph_traced_where_a_number_is_infinite_is_not_reused_elsewhere():
    """sqrt(relu(x)) traced at x = -1: there relu's edge (an exact 0) meets an infinite
    gradient (d sqrt / du = 1/(2*0)), so the engine drops it; at x = 4 the program must not."""
    def f(x):
        return x.relu().sqrt() * 3.0
    c = compile(f)
    assert c.value_and_grad(-1.0) == (0.0, (0.0,))
    value, (dx,) = c.value_and_grad(4.0)
    assert value == 6.0 and close(dx, 0.75)           # 3 / (2 sqrt(4))
    values, grads = c.batch_value_and_grad([[4.0], [9.0], [-1.0]])
    assert [close(g, e) for g, e in zip(grads[:, 0], [0.75, 0.5, 0.0])] == [True] * 3
