"""The compiler (autograd_mini.compile) against the eager engine, its independent oracle.

The eager engine computes every node with the op table's float rules and sums gradients in its
own loop (graph.py); the compiled program is generated text run by Python. Random graphs over
EVERY op of the table (so an op added to the table is covered with no new test) must give the
same values and gradients, on floats and on NumPy batches. A few hand-derived numbers
(REFERENCE.md section 1) anchor the whole thing, and the limits (branches on values) must be
reported, not silently compiled.
"""
import math
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipes import OP_NAMES, recipes, replay

from autograd_mini import Value, compile, gradients, topological_order
from autograd_mini.compile import GraphChangedError, Program, TracingError
from autograd_mini.ops import Op, div, log

np = pytest.importorskip("numpy")

REL = 1e-12


def close(a, b) -> bool:
    """Equal to 1e-12 relative (both nan counts as equal: the same IEEE result)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=REL, abs_tol=1e-300)


# -- random graphs over every op ----------------------------------------------------------------

def eager(recipe, xs):
    leaves = [Value(x) for x in xs]
    out = replay(recipe, leaves)
    found = gradients(out, leaves)
    return out.data, [found[leaf] for leaf in leaves]


GRAPHS = settings(max_examples=120, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_every_op_of_the_table_is_drawn():
    assert set(OP_NAMES) >= {"add", "mul", "div", "pow", "tanh", "relu", "abs", "sum", "sigmoid"}


@GRAPHS
@given(recipes(max_steps=8, limit=1e6))
def test_compiled_values_and_gradients_equal_eager(case):
    xs, recipe = case
    f = compile(lambda *args: replay(recipe, args), check="never")
    value, grads = eager(recipe, xs)
    assert close(f(*xs), value)
    compiled_value, compiled_grads = f.value_and_grad(*xs)
    assert close(compiled_value, value)
    assert all(close(a, b) for a, b in zip(compiled_grads, grads))  # inf and nan included


@GRAPHS
@given(recipes(max_inputs=2, max_steps=6, wild=True))
def test_ieee_corners_equal_eager_too(case):
    """Zeros, infinities and nans: the engine lets an exact zero carry nothing; so does the
    program (its careful variant runs when a gradient comes out inf or nan)."""
    xs, recipe = case
    f = compile(lambda *args: replay(recipe, args), check="never")
    value, grads = eager(recipe, xs)
    compiled_value, compiled_grads = f.value_and_grad(*xs)
    assert close(compiled_value, value)
    assert all(close(a, b) for a, b in zip(compiled_grads, grads))
    batch_values, batch_grads = f.batch_value_and_grad([xs, xs])
    assert close(float(batch_values[1]), value)
    assert all(close(float(a), b) for a, b in zip(batch_grads[1], grads))


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
        assert close(float(values[i]), value) and close(float(batch_values[i]), value)
        assert all(close(float(a), b) for a, b in zip(batch_grads[i], grads))


def test_reference_graph_hand_derived():
    """REFERENCE.md section 1: e = (a + b)(b + 1) at a = 2, b = 1: e = 6, de/da = 2, de/db = 5."""
    e = compile(lambda a, b: (a + b) * (b + 1))
    assert e(2.0, 1.0) == 6.0
    assert e.value_and_grad(2.0, 1.0) == (6.0, (2.0, 5.0))
    assert e.batch([[2.0, 1.0], [1.0, 2.0]]).tolist() == [6.0, 9.0]   # (1 + 2)(2 + 1)
    assert e.batch_value_and_grad([[1.0, 2.0]])[1].tolist() == [[3.0, 6.0]]  # d/da = b+1, d/db = a+2b+1


def test_a_deep_chain_compiles_and_matches_eager():
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
    assert value == out.data and list(grads) == [leaf.grad for leaf in leaves]  # bit for bit


# -- ops the generator cannot write out: called by reference, and row by row in batches -------

def branchy_softplus(x):
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


SOFTPLUS = Op("softplus", "softplus", 1, branchy_softplus,
              lambda out, x: (1.0 / (1.0 + math.exp(-x)),), None, (), "log(1 + e^x)")
SQUARE = Op("square", "square", 1, lambda x: x * x, lambda out, x: (2.0 * x,), None, (), "x^2")
XLOGX = Op("xlogx", "xlogx", 1, lambda x: x * log(x), lambda out, x: (log(x) + 1.0,), None, (), "")
RATIO = Op("ratio", "ratio", 2, lambda a, b: div(a, b), lambda out, a, b: (div(1.0, b), -out / b),
           None, (), "")


def test_ops_outside_the_table_compile_with_no_extra_code():
    """An op row (value rule + derivative rule) is all the compiler needs, branchy or not."""
    def f(x, y):
        return SOFTPLUS(x) * SQUARE(y) + XLOGX(y) - RATIO(x, y)

    c = compile(f)
    rows = [[0.5, 2.0], [-1.5, 0.25], [3.0, 1.5]]
    for row in rows:
        leaves = [Value(v) for v in row]
        out = f(*leaves)
        out.backward()
        value, grads = c.value_and_grad(*row)
        assert value == out.data and list(grads) == [leaf.grad for leaf in leaves]
    values, grads = c.batch_value_and_grad(rows)
    for i, row in enumerate(rows):
        assert close(float(values[i]), c(*row))
        assert all(close(float(a), b) for a, b in zip(grads[i], c.value_and_grad(*row)[1]))
    text = c.source
    assert "softplus(x)" in text and "d_softplus(" in text  # branchy: called by reference
    assert "y * y" in text and "2.0 * y" in text               # arithmetic: written out
    assert "log(y)" in text and "div(1.0, y)" in text          # engine helpers: written out


# -- what it prints ---------------------------------------------------------------------------

def test_the_printed_program_is_the_straight_line_code():
    f = compile(lambda x, y: (x * y + y.tanh()) ** 2)
    f(1.0, 2.0)
    assert str(f) == f.source  # its exact text is the doctest of autograd_mini/compile.py
    lines = f.source.splitlines()
    assert lines[0] == "def f_value_and_grad(x, y):" and lines[-1] == "    return v4, (dx, dy)"
    assert "    dy += (1.0 - v2 * v2) * dv2" in lines  # tanh's rule, 1 - out * out, as text
    # the text is the program: run it on plain floats and get the engine's numbers
    import autograd_mini.floats as floats
    namespace = {"tanh": floats.tanh, "pow": floats.pow}
    exec(f.source, namespace)
    x, y = Value(0.3), Value(-1.2)
    out = (x * y + y.tanh()) ** 2
    out.backward()
    assert namespace["f_value_and_grad"](0.3, -1.2) == (out.data, (x.grad, y.grad))


def test_labels_name_the_variables_and_the_graph_keeps_the_program_names():
    def f(a, b):
        c = a + b
        c.label = "c"
        return c * b
    g = compile(f)
    g(2.0, 1.0)
    assert "c = a + b" in g.source and "v2 = c * b" in g.source
    assert g.graph.label == "v2" and g.graph.data == 3.0
    assert {n.label for n in topological_order(g.graph)} == {"a", "b", "c", "v2"}
    viz = pytest.importorskip("autograd_mini.viz")
    assert "c" in viz.to_dot(g.graph).source


def test_repr_and_asking_before_the_first_call():
    f = compile(lambda x: x * x)
    assert "not traced yet" in repr(f)
    with pytest.raises(RuntimeError, match="first call"):
        f.source
    f(3.0)
    assert repr(f) == "<compiled <lambda>: 1 input(s), 0 parameter(s), 1 op node(s)>"


# -- parameters: Values from outside are read afresh -----------------------------------------

def test_captured_values_are_read_at_every_call():
    w = Value(2.0, label="w")
    f = compile(lambda x: w * x + 3)
    assert f(2.0) == 7.0 and f.params == [w]
    w.data = 5.0
    assert f(2.0) == 13.0 and f.value_and_grad(2.0) == (13.0, (5.0,))
    assert f.batch([1.0, 2.0]).tolist() == [8.0, 13.0]


def test_program_with_several_outputs_and_a_seed_function():
    x, w = Value(1.0, label="x"), Value(3.0, label="w")
    outs = [w * x, (w * x).tanh()]
    program = Program(outs, [x], params=[w])
    run = program.function(grad=True, wrt="params", seed=True)
    seen = []

    def seed(a, b):          # d loss / d outputs for the loss a + 2 b
        seen.append((a, b))
        return 1.0, 2.0

    (a, b), (dw,) = run(0.5, [3.0], seed)
    assert (a, b) == seen[0] == (1.5, math.tanh(1.5))
    assert close(dw, 0.5 + 2.0 * (1 - math.tanh(1.5) ** 2) * 0.5)
    # summed over a batch: the weight's gradient is the sum of the rows' gradients
    batch = program.function(grad=True, wrt="params", seed=True, reduce=True, backend="numpy")
    xs = np.array([0.5, -1.0, 2.0])
    (a, b), (dw,) = batch(xs, [3.0], lambda a, b: (np.ones(3), 2.0 * np.ones(3)))
    expected = sum(run(float(v), [3.0], (1.0, 2.0))[1][0] for v in xs)
    assert close(float(dw), expected)


# -- branches on values: detected, not compiled silently -------------------------------------

def test_reading_data_while_tracing_is_an_error_naming_the_line():
    def f(x):
        if x.data > 0:
            return x * 2
        return x * 3
    with pytest.raises(TracingError, match=r"test_compile.py:\d+ in f: if x.data > 0"):
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


def test_reading_data_outside_fn_or_of_constants_is_fine():
    scale = Value(2.0)
    factor = scale.data * 3                  # read before tracing: a constant, and it stays one
    f = compile(lambda x: x * factor + Value(1.0).data)
    assert f(2.0) == 13.0


def test_not_strict_warns_and_a_changed_graph_is_an_error():
    def f(x):
        return x.relu() if x.data > 0 else -x
    g = compile(f, strict=False)
    with pytest.warns(RuntimeWarning, match="read .data"):
        assert g(2.0) == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert g(3.0) == 3.0                      # same branch: same graph
        with pytest.raises(GraphChangedError, match=r"node \d+ of the graph is a neg node here but was a relu node"):
            g(-1.0)


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


def test_an_exact_zero_carries_nothing_as_in_the_engine():
    """x ** relu(x) at x = -1: the edge into relu carries log(-1) = nan, but relu's own edge is an
    exact 0, so d/dx is 0 in the eager engine (README); the program agrees (careful rerun)."""
    def f(x):
        return x ** x.relu()
    x = Value(-1.0)
    out = f(x)
    out.backward()
    assert x.grad == 0.0
    c = compile(f)
    assert c.value_and_grad(-1.0) == (1.0, (0.0,))
    assert c.batch_value_and_grad([[-1.0], [2.0]])[1].tolist() == [[0.0], [c.value_and_grad(2.0)[1][0]]]
    assert "times(" not in c.source  # the program shown is the fast one


def test_kinks_are_ops_not_branches():
    f = compile(lambda x: x.relu() + abs(x))
    assert [f.value_and_grad(v) for v in (2.0, -2.0, 0.0)] == [(4.0, (2.0,)), (2.0, (-1.0,)), (0.0, (0.0,))]


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
