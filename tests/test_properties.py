"""Property tests over random expression graphs built from EVERY op in the table (see
``recipes.py``): reverse mode against forward mode, finite differences and sympy.
"""
import math

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from recipes import OP_NAMES, recipes, replay

from autograd_mini import OPS, Op, Value, forward_derivative, grad, gradients, hessian, topological_order


def on_values(recipe, xs):
    leaves = [Value(x) for x in xs]
    return leaves, replay(recipe, leaves)


def smooth_here(out) -> bool:
    """No edge of the graph has an infinite or nan local derivative. Where one does (sqrt(x - x)
    at 0), the chain rule multiplies inf by 0: AD gives nan, as PyTorch does, though the
    function may be smooth; that is the chain rule's limit, not what these tests check."""
    return all(math.isfinite(d) for node in topological_order(out) for d in node.local_grads)


def stable_central_difference(recipe, xs, i, h=1e-6):
    """The central difference, or None near a kink or pole: there the one-sided differences
    disagree, or a coarser step gives another answer."""
    def at(shift):
        moved = list(xs)
        moved[i] += shift
        return on_values(recipe, moved)[1].data
    here = at(0.0)
    left, right = (here - at(-h)) / h, (at(h) - here) / h
    central = (left + right) / 2
    coarse = (at(100 * h) - at(-100 * h)) / (200 * h)
    if not all(math.isfinite(d) for d in (left, right, coarse)):
        return None
    if abs(left - right) > 1e-3 * (1 + abs(central)) or abs(coarse - central) > 1e-3 * (1 + abs(central)):
        return None
    return central


def symbolic(recipe, xs):
    symbols = sp.symbols(f"x0:{len(xs)}", real=True)
    return symbols, replay(recipe, symbols, lambda c: sp.Float(c, 30),
                           lambda op, args: op.sympy(sp, *args))


KINKS = (sp.Heaviside, sp.DiracDelta, sp.sign, sp.Abs, sp.Max, sp.Min)


def evaluate(expr, symbols, xs) -> float:
    """expr at the point, to 30 digits; the example is skipped where a kink sits exactly at the
    point (e.g. relu at 0: sympy's Heaviside(0) = 1/2, PyTorch's convention and ours is 0)."""
    point = {s: sp.Float(x, 30) for s, x in zip(symbols, xs)}
    for kink in expr.atoms(*KINKS):
        for arg in kink.args:
            assume(abs(sp.N(arg.subs(point), 30)) > 1e-12)
    value = sp.N(expr.subs(point), 30)
    assume(value.is_number and value.is_real and value.is_finite)
    return float(value)


settings.register_profile("graphs", deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.filter_too_much])
GRAPHS = settings(settings.get_profile("graphs"), max_examples=150)


@GRAPHS
@given(recipes())
def test_reverse_mode_equals_forward_mode(case):
    xs, recipe = case
    leaves, out = on_values(recipe, xs)
    assume(smooth_here(out))  # with an infinite edge, inf - inf may or may not be formed
    reverse = gradients(out, leaves)
    for leaf in leaves:
        forward = forward_derivative(out, leaf)
        assert forward == pytest.approx(reverse[leaf], rel=1e-9, abs=1e-12, nan_ok=True)


@pytest.mark.slow
@GRAPHS
@given(recipes())
def test_both_modes_match_central_finite_differences(case):
    xs, recipe = case
    leaves, out = on_values(recipe, xs)
    assume(smooth_here(out))
    out.backward()
    for i, leaf in enumerate(leaves):
        numeric = stable_central_difference(recipe, xs, i)
        assume(numeric is not None)
        assert leaf.grad == pytest.approx(numeric, rel=1e-4, abs=1e-5)
        assert forward_derivative(out, leaf) == pytest.approx(numeric, rel=1e-4, abs=1e-5)


@pytest.mark.slow
@settings(GRAPHS, max_examples=150)
@given(recipes(max_steps=5))
def test_first_derivatives_match_sympy(case):
    xs, recipe = case
    leaves, out = on_values(recipe, xs)
    assume(all(OPS[name].sympy for name, _ in recipe) and smooth_here(out))
    symbols, expr = symbolic(recipe, xs)
    assert evaluate(expr, symbols, xs) == pytest.approx(out.data, rel=1e-12, abs=1e-12)
    out.backward()
    for symbol, leaf in zip(symbols, leaves):
        expected = evaluate(sp.diff(expr, symbol), symbols, xs)
        assert leaf.grad == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.slow
@settings(GRAPHS, max_examples=100)
@given(recipes(max_inputs=2, max_steps=4))
def test_second_derivatives_from_create_graph_match_sympy(case):
    xs, recipe = case
    assume(all(OPS[name].sympy for name, _ in recipe) and smooth_here(on_values(recipe, xs)[1]))
    symbols, expr = symbolic(recipe, xs)

    engine = hessian(lambda v: replay(recipe, v))(list(xs))
    for i, si in enumerate(symbols):
        for j, sj in enumerate(symbols):
            expected = evaluate(sp.diff(expr, si, sj), symbols, xs)
            assert engine[i][j] == pytest.approx(expected, rel=1e-7, abs=1e-7)


def stable_derivative(g, xs, j, h=1e-5):
    """d g / d x_j by central differences of ``g`` (a function of the point returning a list),
    or None near a kink: a coarser step must agree."""
    def at(shift):
        moved = list(xs)
        moved[j] += shift
        return g(moved)
    try:
        fine = [(u - d) / (2 * h) for u, d in zip(at(h), at(-h))]
        coarse = [(u - d) / (20 * h) for u, d in zip(at(10 * h), at(-10 * h))]
    except (OverflowError, ZeroDivisionError):
        return None
    if not all(math.isfinite(v) for v in fine + coarse):
        return None
    if any(abs(a - b) > 1e-3 * (1 + abs(a)) for a, b in zip(fine, coarse)):
        return None
    return fine


def check_second_derivatives(f, xs):
    """The engine's Hessian (create_graph through the table's derivative rules) against central
    differences of its own gradient: needs no sympy, so ops without a sympy form count too."""
    engine = hessian(f)(list(xs))
    gradient = grad(f)
    for j in range(len(xs)):
        column = stable_derivative(lambda point: list(gradient(point)), xs, j)
        assume(column is not None)
        for i in range(len(xs)):
            assert engine[i][j] == pytest.approx(column[i], rel=1e-4, abs=1e-5)


@pytest.mark.slow
@settings(GRAPHS, max_examples=100)
@given(recipes(max_inputs=2, max_steps=4))
def test_second_derivatives_match_finite_differences_of_grad(case):
    xs, recipe = case
    assume(smooth_here(on_values(recipe, xs)[1]))
    check_second_derivatives(lambda v: replay(recipe, v), xs)


# a user's op with no sympy form (an Op row not put in the table, so other tests never see it)
SOFTSIGN = Op("softsign", symbol="softsign", arity=1, value=lambda x: x / (1.0 + abs(x)),
              derivative=lambda out, x: (1.0 / ((1.0 + abs(x)) * (1.0 + abs(x))),),
              doc="x / (1 + |x|)")


@settings(max_examples=60, deadline=None)
@given(st.floats(-4.0, 4.0).filter(lambda x: abs(x) > 1e-3), st.floats(-2.0, 2.0))
def test_a_users_op_without_sympy_gets_its_second_derivatives_checked(x, y):
    assume(abs(x * y) > 0.05)  # |u| has a kink at 0, where differences straddle two sides
    check_second_derivatives(lambda v: SOFTSIGN(v[0] * v[1]) + v[0], [x, y])


any_float = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OP_NAMES), st.lists(any_float, min_size=1, max_size=3))
def test_every_op_returns_ieee_floats_and_never_raises(name, xs):
    op = OPS[name]
    xs = (xs * 3)[:op.arity] if op.arity else xs
    out = op.value(*xs)
    assert type(out) is float
    local = op.derivative(out, *xs)
    assert len(local) == len(xs) and all(type(d) is float for d in local)
    node = op(*[Value(x) for x in xs])
    node.backward()  # the float rules and the reverse pass never raise either
    node.backward(create_graph=True)  # nor the Value rules
