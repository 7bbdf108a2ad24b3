"""Defects a user hits in ordinary code, each pinned by an independent oracle."""
import multiprocessing
import pickle

import pytest

from nn import MLP, Neuron

from autograd_mini import Value


def _forward_by_hand(model, x):
    """The MLP's output computed from its parameters' numbers with plain floats (relu hidden
    layers, a linear last layer), not through the model's own call."""
    import math
    for k, layer in enumerate(model.layers):
        last = k == len(model.layers) - 1
        out = []
        for n in layer.neurons:
            z = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
            out.append(z if last else max(0.0, z) if n.activation == "relu" else math.tanh(z))
        x = out
    return x[0]


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu", "sigmoid"])
def test_a_model_pickles_and_computes_the_same(activation):
    # multiprocessing (spawn), joblib and caches pickle models; the activation used to be kept
    # as a function object made inside the op table, which pickle cannot name
    model = MLP(3, [4, 1], activation=activation, seed=1)
    copy = pickle.loads(pickle.dumps(model))
    x = [0.5, -1.0, 2.0]
    assert copy(x).data == model(x).data
    assert [p.data for p in copy.parameters()] == [p.data for p in model.parameters()]
    neuron = pickle.loads(pickle.dumps(Neuron(2, activation=activation, seed=2)))
    assert neuron.activation == activation


def test_a_pickled_model_matches_floats_by_hand():
    model = MLP(2, [3, 1], seed=4)
    copy = pickle.loads(pickle.dumps(model))
    x = [0.25, -0.75]
    assert copy(x).data == pytest.approx(_forward_by_hand(model, x), abs=1e-12)


def _score(model):
    return model([1.0, 2.0]).data


def test_a_model_goes_to_a_spawned_process():
    model = MLP(2, [2, 1], seed=3)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_score, (model,)) == pytest.approx(_forward_by_hand(model, [1.0, 2.0]))


def test_n_ary_ops_take_operands_one_by_one_as_the_builtin_max_does():
    x, y = Value(-2.0), Value(0.5)
    m = Value.max(x, 3.0, y)  # used to raise "tuple expected at most 1 argument, got 2"
    m.backward()
    assert m.data == 3.0 and x.grad == 0.0 and y.grad == 0.0
    s = Value.sum(x, y, 2)
    s.backward()
    assert s.data == -2.0 + 0.5 + 2 and x.grad == 1.0 and y.grad == 1.0
    assert Value.max([x, y]).data == 0.5  # one iterable, as before


def test_a_single_operand_to_an_n_ary_op_is_refused_with_how_to_call_it():
    x, y = Value(5.0), Value(1.0)
    with pytest.raises(TypeError, match=r"Value\.max\(\[x, y\]\) or Value\.max\(x, y\)"):
        x.max(y)  # a static function: x would be dropped, so this must not return y
    with pytest.raises(TypeError, match=r"Value\.sum\(\[x, y\]\)"):
        Value.sum(x)


@pytest.mark.parametrize("expression", ["-a*b", "-(a+b)", "-2*a"])
def test_an_expression_starting_with_minus_gets_told_to_go_after_dashes(capsys, expression):
    from autograd_mini import cli
    with pytest.raises(SystemExit) as done:
        cli.main(["graph", expression, "a=2", "b=3"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"unrecognized arguments: {expression}" in err[0]
    assert 'goes after --: autograd-mini graph -- "-a*b" a=1 b=2' in err[0]
    # and the advice works: -(a*b) at a=2, b=3 is -6, d/da = -b = -3
    assert cli.main(["graph", "--", "-a*b", "a=2", "b=3"]) == 0
    out = capsys.readouterr().out
    assert "= -6" in out and "dout/da = -3" in out


def test_other_unknown_options_get_no_expression_advice(capsys):
    from autograd_mini import cli
    with pytest.raises(SystemExit):
        cli.main(["train", "xor", "-x"])
    assert "goes after --" not in capsys.readouterr().err


@pytest.mark.parametrize("make", [lambda big: Value(2.0) * big, lambda big: big / Value(2.0),
                                  lambda big: Value(big), lambda big: Value(2.0) ** big])
@pytest.mark.parametrize("digits", [400, 5000])  # past 4300 digits an int cannot even be printed
def test_an_int_too_large_for_a_float_is_named_by_its_size(make, digits):
    big = 10 ** digits
    with pytest.raises(OverflowError) as raised:
        make(big)
    message = str(raised.value)
    assert f"an integer of about {digits + 1} digits is too large for a float" in message
    assert len(message) < 120


def test_a_grad_set_to_none_pytorch_style_gets_a_message_saying_what_to_do():
    from nn import MLP
    model = MLP(2, [3, 1], seed=0)
    for p in model.parameters():
        p.grad = None  # PyTorch's zero_grad(set_to_none=True) habit
    loss = model([1.0, -1.0]) ** 2
    with pytest.raises(TypeError, match=r"cannot add to the grad of .*: it is None, not a "
                                        r"number; reset gradients with p\.grad = 0\.0"):
        loss.backward()
    model.zero_grad()
    loss.backward()  # and with numbers it runs: d(y^2)/db of the last layer is 2y
    y = model([1.0, -1.0]).data  # the last layer is linear: d(y^2)/db = 2y
    assert model.layers[-1].neurons[0].b.grad == pytest.approx(2 * y)
