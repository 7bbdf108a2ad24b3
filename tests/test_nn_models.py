"""nn's models, losses and optimizers against hand-written formulas, and micrograd's contract."""
import gc
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_mini import Value, gradcheck

# -- micrograd's contract ----------------------------------------------------------------------


def test_micrograd_signatures_and_behaviour():
    model = nn.MLP(2, [16, 16, 1])
    out = model([1.0, -2.0])
    assert isinstance(out, Value)
    assert len(model.parameters()) == 337
    out.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())
    assert model.layers[-1].neurons[0].nonlin is False
    assert all(n.nonlin for layer in model.layers[:-1] for n in layer.neurons)
    assert nn.Neuron(3, nonlin=False).activation == "linear"
    assert nn.Neuron(3, False).activation == "linear"  # micrograd's positional flag
    assert nn.Layer(3, 2, nonlin=False).activation == "linear"
    # parameters in micrograd's order: each neuron's weights, then its bias
    neuron = model.layers[0].neurons[0]
    assert model.parameters()[:3] == neuron.w + [neuron.b]


def test_a_hidden_layer_of_one_neuron_works():
    """micrograd's MLP(2, [16, 1, 1]) crashes: its 1-neuron layer hands a Value to the next."""
    model = nn.MLP(2, [16, 1, 1], seed=0)
    assert isinstance(model([0.5, 0.5]), Value)
    assert isinstance(nn.Layer(3, 1)([1.0, 2.0, 3.0]), Value)
    assert isinstance(nn.Layer(1, 2)(Value(2.0)), list)  # one input may be given bare


def test_several_outputs_give_a_list():
    out = nn.MLP(3, [4, 3], seed=0)([1, 2, 3])
    assert isinstance(out, list) and len(out) == 3


def test_global_random_gives_micrograds_weights():
    """micrograd draws random.uniform(-1, 1) per weight, neuron by neuron; biases are 0."""
    random.seed(1337)
    expected = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    assert [p.data for p in model.parameters()] == expected


def test_a_seed_gives_the_same_weights_everywhere():
    rng = random.Random(7)
    expected = [rng.uniform(-1, 1) for _ in range(2 * 3)]
    model = nn.MLP(2, [3], seed=7)
    assert [w.data for w in model.weights()] == expected
    assert nn.MLP(2, [3], seed=7).state_dict() == model.state_dict()
    assert nn.MLP(2, [3], seed=8).state_dict() != model.state_dict()
    state = random.getstate()
    nn.MLP(2, [3], seed=7)
    assert random.getstate() == state  # a seeded model leaves the global generator alone


@pytest.mark.parametrize("init", ["uniform", "normal", "he"])
def test_no_init_makes_all_weights_equal(init):
    model = nn.MLP(4, [8, 8, 2], init=init, seed=0)
    weights = [w.data for w in model.weights()]
    assert len(set(weights)) == len(weights)
    assert all(b.data == 0.0 for b in model.biases())
    if init == "normal":  # UFLDL's Normal(0, eps^2), eps = 0.01
        assert max(map(abs, weights)) < 0.06


def test_forward_matches_a_plain_float_formula():
    acts = {"relu": lambda z: max(z, 0.0), "tanh": math.tanh,
            "sigmoid": lambda z: 1 / (1 + math.exp(-z)), "linear": lambda z: z}
    for hidden_act in ["relu", "tanh", "sigmoid"]:
        for out_act in acts:
            model = nn.MLP(3, [4, 2], hidden_act, out_act, seed=1)
            for b in model.biases():
                b.data = 0.1
            x = [0.3, -1.2, 2.0]
            a = x
            for layer, act in zip(model.layers, [hidden_act, out_act]):
                a = [acts[act](sum(w.data * ak for w, ak in zip(n.w, a)) + n.b.data)
                     for n in layer.neurons]
            got = [o.data for o in model(x)]
            assert got == pytest.approx(a, rel=1e-13)


def test_predict_is_the_graphs_value_bit_for_bit():
    model = nn.MLP(3, [5, 5, 2], "tanh", "sigmoid", seed=2)
    x = [0.1, -0.7, 3.0]
    assert model.predict(x) == [o.data for o in model(x)]
    single = nn.MLP(2, [4, 1], seed=2)
    assert single.predict([0.2, 0.4]) == single([0.2, 0.4]).data


def test_a_neurons_pre_activation_is_one_node_with_the_texts_edge_derivatives():
    neuron = nn.Neuron(3, activation="tanh", seed=0)
    out = neuron([1.0, 2.0, 3.0])
    pre = out.parents[0]
    assert out.op == "tanh" and pre.op == "w·x+b"
    w, b = neuron.w, neuron.b
    # operands w1, x1, w2, x2, w3, x3, b; d net/d w_k = x_k, d net/d x_k = w_k, d net/d b = 1
    assert pre.parents[0::2][:3] == tuple(w) and pre.parents[-1] is b
    assert [x.data for x in pre.parents[1::2]] == [1.0, 2.0, 3.0]
    assert [x.label for x in pre.parents[1::2]] == ["x[0]", "x[1]", "x[2]"]
    assert pre.local_grads == (1.0, w[0].data, 2.0, w[1].data, 3.0, w[2].data, 1.0)
    # the value: b + w1*1 + w2*2 + w3*3, as micrograd's neuron sums it
    assert pre.data == ((b.data + w[0].data * 1.0) + w[1].data * 2.0) + w[2].data * 3.0


def test_fused_false_records_the_products_one_by_one():
    neuron = nn.Neuron(3, activation="tanh", seed=0, fused=False)
    out = neuron([1.0, 2.0, 3.0])
    pre = out.parents[0]
    assert pre.op == "sum" and len(pre.parents) == 4
    assert pre.parents[-1] is neuron.b
    assert [p.op for p in pre.parents[:3]] == ["*"] * 3


def test_labels_name_weights_like_the_texts():
    model = nn.MLP(2, [3, 1], seed=0)
    assert model.layers[0].neurons[2].w[1].label == "w0[2,1]"
    assert model.layers[1].neurons[0].b.label == "b1[0]"


def test_reprs():
    assert repr(nn.MLP(2, [16, 16, 1], seed=0)) == \
        "MLP(2 -> 16 relu -> 16 relu -> 1 linear; 337 parameters)"
    assert repr(nn.Layer(3, 2, activation="tanh")) == "Layer(3 -> 2, tanh)"
    assert repr(nn.Neuron(4, nonlin=False)) == "Neuron(4 inputs, linear)"


def test_per_layer_activations():
    model = nn.MLP(2, [3, 3, 1], ["tanh", "sigmoid"], "sigmoid", seed=0)
    assert model.activations == ["tanh", "sigmoid", "sigmoid"]


@pytest.mark.parametrize("make, message", [
    (lambda: nn.MLP(2, [16, 0]), "positive integer"),
    (lambda: nn.MLP(2, []), "non-empty"),
    (lambda: nn.MLP(2, [3, 1], activation="swish"), "unknown activation 'swish'"),
    (lambda: nn.MLP(2, [3, 3, 1], activation=["relu"]), "one name per hidden layer"),
    (lambda: nn.MLP(2, [3], init="zeros"), "unknown init"),
    (lambda: nn.MLP(2, [3], seed=1.5), "seed must be an integer"),
    (lambda: nn.Neuron(0), "nin must be a positive integer"),
    (lambda: nn.MLP(2, [3, 1])([1.0, 2.0, 3.0]), "takes 2 input(s), got 3"),
    (lambda: nn.MLP(2, [3, 1])("ab"), "takes a list of 2 numbers"),
])
def test_bad_input_is_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_graphs_have_no_reference_cycles():
    model = nn.MLP(2, [8, 8, 3], seed=0)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collector finds, to look at it
    try:
        loss = nn.cross_entropy([model([0.1 * i, -0.2 * i]) for i in range(5)], [0, 1, 2, 0, 1])
        loss.backward()
        del loss
        gc.collect()
        # Only our nodes count: another thread (a progress bar's monitor, say) may make garbage.
        assert [o for o in gc.garbage if isinstance(o, Value)] == []  # all freed by refcounting
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_whole_mlp_passes_gradcheck():
    model = nn.MLP(2, [4, 3, 2], "tanh", "sigmoid", seed=3)
    slots = [(n, k) for layer in model.layers for n in layer.neurons for k in range(len(n.w) + 1)]
    X, Y = [[0.5, -1.0], [1.5, 0.3], [-0.4, 0.9]], [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]

    def loss(*params):
        for (neuron, k), p in zip(slots, params):  # put the checked Values into the model
            if k < len(neuron.w):
                neuron.w[k] = p
            else:
                neuron.b = p
        return nn.mse_loss([model(x) for x in X], Y) + nn.l2_penalty(model, 0.1)

    start = [p.data + 0.1 for p in model.parameters()]
    assert gradcheck(loss, start)


# -- state dicts -------------------------------------------------------------------------------

def test_state_dict_round_trip_and_shapes():
    model = nn.MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert [len(state["layers.0.weight"]), len(state["layers.0.weight"][0])] == [3, 2]
    other = nn.MLP(2, [3, 1], seed=1)
    other.load_state_dict(state)
    assert other.state_dict() == state
    assert nn.Neuron(2, seed=0).state_dict().keys() == {"weight", "bias"}


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("layers.1.bias"), "missing layers.1.bias"),
    (lambda s: s.update({"layers.2.weight": [[1.0]]}), "unexpected layers.2.weight"),
    (lambda s: s["layers.0.weight"].pop(), r"layers.0.weight should be a 3x2 matrix .*got 2 entries"),
    (lambda s: s["layers.0.weight"][1].append(0.5), r"layers.0.weight\[1\] should be a row of 2 numbers"),
    (lambda s: s["layers.0.bias"].__setitem__(2, "x"), r"layers.0.bias\[2\] should be a number, got str"),
    (lambda s: s["layers.0.weight"][0].__setitem__(0, True), r"layers.0.weight\[0\]\[0\] should be a number"),
])
def test_a_mismatched_state_dict_says_what_and_changes_nothing(edit, message):
    model = nn.MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    state = nn.MLP(2, [3, 1], seed=1).state_dict()
    edit(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_weights_and_biases_split_the_parameters():
    model = nn.MLP(3, [4, 2], seed=0)
    assert len(model.weights()) == 3 * 4 + 4 * 2 and len(model.biases()) == 6
    assert {id(p) for p in model.weights() + model.biases()} == {id(p) for p in model.parameters()}


# -- losses against formulas ---------------------------------------------------------------------

def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-30, 30), st.floats(0, 1)), min_size=1, max_size=5))
def test_bce_with_logits_value_and_gradient(pairs):
    zs = [Value(z) for z, _ in pairs]
    loss = nn.bce_with_logits(zs, [y for _, y in pairs])
    loss.backward()
    n = len(pairs)
    # -y log p - (1 - y) log(1 - p), with log p = -softplus(-z), log(1 - p) = -softplus(z)
    softplus = lambda z: max(z, 0) + math.log1p(math.exp(-abs(z)))  # noqa: E731
    want = sum(y * softplus(-z) + (1 - y) * softplus(z) for z, y in pairs) / n
    assert loss.data == pytest.approx(want, rel=1e-12, abs=1e-15)
    for v, (z, y) in zip(zs, pairs):
        assert v.grad == pytest.approx((sigmoid(z) - y) / n, rel=1e-9, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=2, max_size=5), st.data())
def test_cross_entropy_value_and_gradient(logits, data):
    target = data.draw(st.integers(0, len(logits) - 1))
    zs = [Value(z) for z in logits]
    loss = nn.cross_entropy([zs], [target])
    loss.backward()
    top = max(logits)
    log_sum = top + math.log(math.fsum(math.exp(z - top) for z in logits))
    assert loss.data == pytest.approx(log_sum - logits[target], rel=1e-12, abs=1e-12)
    for i, v in enumerate(zs):
        p = math.exp(logits[i] - log_sum)
        assert v.grad == pytest.approx(p - (i == target), rel=1e-9, abs=1e-12)


def test_losses_stay_finite_for_huge_logits():
    assert nn.cross_entropy([[Value(1e6), Value(-1e6), Value(0.0)]], [1]).data == 2e6
    assert nn.bce_with_logits([Value(-800.0)], [1]).data == 800.0
    probabilities = nn.softmax([Value(800.0), Value(0.0)])
    assert [p.data for p in probabilities] == [1.0, 0.0]
    assert sum(p.data for p in nn.softmax([Value(1.0), Value(2.0), Value(3.0)])) == \
        pytest.approx(1.0, rel=1e-15)
    log_p = nn.log_softmax([Value(1000.0), Value(0.0)])
    assert [v.data for v in log_p] == [0.0, -1000.0]


def test_mse_and_hinge_against_their_formulas():
    a, b = Value(0.3), Value(-1.2)
    assert nn.mse_loss([a, b], [1.0, 0.0]).data == pytest.approx((0.7 ** 2 + 1.2 ** 2) / 4)
    assert nn.mse_loss([a, b], [1.0, 0.0], reduction="sum").data == \
        pytest.approx((0.7 ** 2 + 1.2 ** 2) / 2)
    hinge = nn.hinge_loss([a, b], [1, -1])
    hinge.backward()
    assert hinge.data == pytest.approx((0.7 + 0.0) / 2)
    assert (a.grad, b.grad) == (-0.5, 0.0)
    assert nn.hinge_loss([a, b], [1, 0]).data == hinge.data  # 0/1 labels read as -1/+1


@pytest.mark.parametrize("call, message", [
    (lambda: nn.mse_loss([Value(1.0)], [1.0, 2.0]), "1 predictions but 2 targets"),
    (lambda: nn.mse_loss([[Value(1.0), Value(2.0)]], [[1.0]]), "example 0 has 2 outputs"),
    (lambda: nn.hinge_loss([Value(1.0)], [2]), "labels must be -1 or \\+1"),
    (lambda: nn.bce_with_logits([Value(1.0)], [1.5]), "must lie in \\[0, 1\\]"),
    (lambda: nn.cross_entropy([[Value(1.0), Value(2.0)]], [2]), "class index 0..1"),
    (lambda: nn.cross_entropy([Value(1.0)], [0]), "at least 2 logits"),
    (lambda: nn.hinge_loss([[Value(1.0), Value(2.0)]], [1]), "one output per example"),
    (lambda: nn.mse_loss([], []), "empty"),
    (lambda: nn.mse_loss([Value(1.0)], [1.0], reduction="max"), "reduction"),
    (lambda: nn.fit(nn.MLP(2, [1]), [[1, 2]], [1], loss="l1"), "unknown loss 'l1'"),
])
def test_loss_errors_are_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_l2_penalty_leaves_biases_alone():
    model = nn.MLP(2, [3, 1], seed=0)
    for b in model.biases():
        b.data = 5.0
    penalty = nn.l2_penalty(model, 0.2)
    assert penalty.data == pytest.approx(0.1 * sum(w.data ** 2 for w in model.weights()))
    penalty.backward()
    assert all(b.grad == 0 for b in model.biases())
    assert all(w.grad == pytest.approx(0.2 * w.data) for w in model.weights())
    micrograd_style = 1e-4 * sum(p.data ** 2 for p in model.parameters())
    assert nn.l2_penalty(model.parameters(), 2e-4).data == pytest.approx(micrograd_style)


# -- optimizers against their update rules --------------------------------------------------------

def quadratic_step(optimizer, params, targets):
    optimizer.zero_grad()
    loss = Value.sum([(p - t) * (p - t) for p, t in zip(params, targets)])
    loss.backward()
    optimizer.step()


def test_sgd_with_momentum_follows_its_rule():
    w = Value(2.0)
    opt = nn.SGD([w], lr=0.1, momentum=0.9)
    x, v = 2.0, 0.0
    for _ in range(5):
        quadratic_step(opt, [w], [1.0])
        v = 0.9 * v + 2 * (x - 1.0)
        x = x - 0.1 * v
        assert w.data == pytest.approx(x, rel=1e-14)


def test_adam_follows_the_published_algorithm():
    w = Value(0.5)
    opt = nn.Adam([w], lr=0.01, betas=(0.8, 0.9), eps=1e-8)
    x, m, v = 0.5, 0.0, 0.0
    for t in range(1, 8):
        quadratic_step(opt, [w], [-1.0])
        g = 2 * (x + 1.0)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        x -= 0.01 * (m / (1 - 0.8 ** t)) / (math.sqrt(v / (1 - 0.9 ** t)) + 1e-8)
        assert w.data == pytest.approx(x, rel=1e-13)


def test_weight_decay_of_a_model_skips_its_biases():
    model = nn.MLP(1, [1], seed=0)
    w, b = model.weights()[0], model.biases()[0]
    w.data, b.data = 2.0, 3.0
    opt = nn.SGD(model, lr=0.5, weight_decay=0.1)
    opt.zero_grad()
    opt.step()  # zero gradients: only the decay moves anything
    assert (w.data, b.data) == (2.0 - 0.5 * 0.1 * 2.0, 3.0)
    decay_all = nn.SGD([w, b], lr=0.5, weight_decay=0.1)
    decay_all.step()
    assert b.data == 3.0 - 0.5 * 0.1 * 3.0


def test_a_tied_parameter_is_updated_once():
    shared = Value(1.0)
    shared.grad = 1.0
    nn.SGD([shared, shared], lr=0.5).step()
    assert shared.data == 0.5


def test_schedules():
    lr = nn.linear_decay(1.0, 0.1, 100)
    assert [lr(k) for k in range(100)] == [1.0 - 0.9 * k / 100 for k in range(100)]
    assert lr(100) == lr(1000) == 0.1
    assert nn.cosine_decay(1.0, 0.0, 10)(5) == pytest.approx(0.5)
    opt = nn.SGD([Value(0.0)], lr=lambda k: 1.0 / (k + 1))
    seen = []
    for _ in range(3):
        seen.append(opt.lr)
        opt.step()
    assert seen == [1.0, 0.5, 1 / 3]


@pytest.mark.parametrize("make, message", [
    (lambda: nn.SGD([], lr=0.1), "no parameters"),
    (lambda: nn.SGD([1.0], lr=0.1), "parameter 0 is float"),
    (lambda: nn.SGD([Value(1.0)], lr=-1), "lr must be a positive number"),
    (lambda: nn.SGD([Value(1.0)], lr=0.1, momentum=1.0), "momentum"),
    (lambda: nn.Adam([Value(1.0)], betas=(0.9,)), "betas"),
    (lambda: nn.linear_decay(1.0, 0.1, 0), "steps must be a positive integer"),
])
def test_optimizer_errors_are_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_the_micrograd_lecture_training_loop_runs_unchanged():
    """The lecture's loop, word for word; its MLP has tanh neurons throughout."""
    from nn import MLP
    n = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    losses = []
    for k in range(20):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.05 < losses[0]
