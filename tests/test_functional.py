"""grad, value_and_grad, jvp, vjp, jacobian, hessian, gradcheck: hand-derived numbers."""
import math

import pytest

from autograd_mini import (Value, grad, gradcheck, hessian, jacobian, jvp, value_and_grad, vjp)


def f(x, y):
    return x * x * y + y.sin()


def test_grad_and_value_and_grad():
    x, y = 1.5, 0.5
    assert grad(f)(x, y) == pytest.approx(2 * x * y)
    assert grad(f, argnums=1)(x, y) == pytest.approx(x * x + math.cos(y))
    value, (dx, dy) = value_and_grad(f, argnums=(0, 1))(x, y)
    assert value == pytest.approx(x * x * y + math.sin(y))
    assert (dx, dy) == (pytest.approx(2 * x * y), pytest.approx(x * x + math.cos(y)))


def test_grad_composes_to_any_order():
    g = lambda x: x.sin() * x  # noqa: E731  derivatives by hand
    x = 0.8
    s, c = math.sin(x), math.cos(x)
    assert grad(g)(x) == pytest.approx(c * x + s)
    assert grad(grad(g))(x) == pytest.approx(-s * x + 2 * c)
    assert grad(grad(grad(g)))(x) == pytest.approx(-c * x - 3 * s)
    assert grad(grad(grad(grad(g))))(x) == pytest.approx(s * x - 4 * c)


def test_grad_of_a_function_that_ignores_its_input():
    assert grad(lambda x: 3.0)(1.0) == 0.0
    assert grad(grad(lambda x: x * 2))(1.0) == 0.0


def test_list_arguments_give_list_gradients():
    def norm2(v):
        return Value.sum([vi * vi for vi in v])
    assert grad(norm2)([1.0, 2.0, 3.0]) == [2.0, 4.0, 6.0]
    assert hessian(norm2)([1.0, 2.0]) == [[2.0, 0.0], [0.0, 2.0]]


def test_hessian_of_two_arguments():
    x, y = 1.5, 0.5
    h = hessian(f, argnums=(0, 1))(x, y)
    assert h[0][0] == pytest.approx(2 * y) and h[1][1] == pytest.approx(-math.sin(y))
    assert h[0][1] == pytest.approx(2 * x) and h[1][0] == pytest.approx(2 * x)


def test_jacobian_of_vector_output():
    j = jacobian(lambda x, y: [x * y, x.exp(), y], argnums=(0, 1))(2.0, 3.0)
    assert j == [(3.0, 2.0), (pytest.approx(math.exp(2.0)), 0.0), (0.0, 1.0)]


def test_jvp_is_a_directional_derivative():
    value, tangent = jvp(f, (1.5, 0.5), (1.0, 2.0))
    assert value == pytest.approx(1.5 * 1.5 * 0.5 + math.sin(0.5))
    assert tangent == pytest.approx(2 * 1.5 * 0.5 * 1.0 + (1.5 ** 2 + math.cos(0.5)) * 2.0)


def test_vjp_weights_the_output():
    value, back = vjp(f, 1.5, 0.5)
    assert back(2.0) == (pytest.approx(2 * 2 * 1.5 * 0.5), pytest.approx(2 * (1.5 ** 2 + math.cos(0.5))))


def test_functional_api_does_not_touch_user_grads():
    w = Value(2.0)
    w.grad = 7.0
    assert grad(lambda x: x * w)(3.0) == 2.0
    assert w.grad == 7.0


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="argument 0 must be a number"):
        grad(lambda x: x)("3")
    with pytest.raises(ValueError, match="argnums 2"):
        grad(f, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="must return a Value or a number, got str"):
        grad(lambda x: "x")(1.0)
    with pytest.raises(ValueError, match="2 primal"):
        jvp(f, (1.0, 2.0), (1.0,))


def test_gradcheck_passes_on_correct_rules():
    assert gradcheck(lambda a, b, c: (a * b).tanh() / (c.exp() + 1) + a ** b, [0.3, 1.2, -0.4])
    with pytest.raises(TypeError, match="input 1 must be a number"):
        gradcheck(lambda a, b: a * b, [1.0, "2"])


def test_jvp_of_several_outputs_gives_hessian_vector_products():
    x, y = 1.5, 0.5
    full = hessian(f, argnums=(0, 1))(x, y)
    grads, hvp = jvp(grad(f, argnums=(0, 1)), (x, y), (0.3, -2.0))
    assert grads == (pytest.approx(2 * x * y), pytest.approx(x * x + math.cos(y)))
    for i in range(2):
        assert hvp[i] == pytest.approx(full[i][0] * 0.3 + full[i][1] * -2.0)
