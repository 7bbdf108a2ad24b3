"""``backward(create_graph=True)``: every gradient it leaves is a Value, so it can be
differentiated again, even where nothing arrived (a constant 0)."""
import pytest

from autograd_mini import Value, gradients


def test_a_leaf_reached_only_through_zero_edges_gets_a_value_zero():
    """y = c * log(x) at c = 0, x = 0: dy/dz = c = 0 reaches z = log(x), whose edge to x is
    1/x = inf; 0 x inf sends nothing (the exact-zero rule), so dy/dx = 0, by hand, and x is
    reached by no edge. Its gradient is still a Value, and differentiating it again gives 0."""
    x = Value(0.0, label="x"); c = Value(0.0, label="c")
    z = x.log()
    y = z * c
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 0.0
    assert isinstance(z.grad, Value) and z.grad.data == 0.0
    assert gradients(x.grad, [x, c]) == {x: 0.0, c: 0.0}
    x.grad.backward()  # a constant: nothing to do, and no error


def test_an_off_relu_gives_values_too():
    """y = relu(x * w) at x * w = -2: relu is off, dy/dx = dy/dw = 0 (by hand), as Values."""
    x = Value(2.0, label="x"); w = Value(-1.0, label="w")
    z = x * w
    z.relu().backward(create_graph=True)
    for node in (x, w, z):
        assert isinstance(node.grad, Value) and node.grad.data == 0.0, node
    assert gradients(x.grad, [x, w]) == {x: 0.0, w: 0.0}


def test_values_everywhere_when_some_edges_carry_something():
    """y = relu(x) + x * x at x = -3: dy/dx = 0 + 2x = -6, d2y/dx2 = 2 (by hand); u = relu(x)'s
    own gradient is 1 and v, a leaf used only by the off relu of another branch, gets 0."""
    x = Value(-3.0, label="x"); v = Value(-1.0, label="v")
    u = x.relu()
    y = u + x * x + v.relu()
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == -6.0
    assert isinstance(v.grad, Value) and v.grad.data == 0.0
    assert isinstance(u.grad, Value) and u.grad.data == 1.0
    assert gradients(x.grad, [x])[x] == 2.0


def test_a_float_grad_already_there_becomes_a_value():
    """A leaf's grad piles up across backward calls; under create_graph the pile is a Value."""
    x = Value(-1.0)
    x.relu().backward()          # 0.0 (a float)
    (x * 0.0).backward(create_graph=True)  # the constant 0 edge: nothing arrives
    assert isinstance(x.grad, Value) and x.grad.data == 0.0
    x.grad = 1.5
    x.relu().backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == pytest.approx(1.5)
