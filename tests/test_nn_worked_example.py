"""The 2-2-2 sigmoid network of M. Mazur, "A Step by Step Backpropagation Example" (2015):
every printed number, to the printed digits.

The text shares one bias per layer (b1 for both hidden neurons, b2 for both outputs) and does
not update the biases; the network below does the same: each layer's neurons hold the same bias
Value, and the gradient step moves only the eight weights.
"""
import math

import pytest

import nn
from autograd_mini import Value, gradcheck

I1, I2 = 0.05, 0.10
TARGETS = [0.01, 0.99]


def printed(value: float, text: str) -> bool:
    """Does ``value`` print as ``text`` with as many decimals as the text shows?"""
    decimals = len(text.split(".")[1])
    return f"{value:.{decimals}f}" == text


def texts_network() -> nn.MLP:
    model = nn.MLP(2, [2, 2], activation="sigmoid", output_activation="sigmoid")
    model.load_state_dict({
        "layers.0.weight": [[0.15, 0.20], [0.25, 0.30]],  # w1 w2 / w3 w4
        "layers.0.bias": [0.35, 0.35],
        "layers.1.weight": [[0.40, 0.45], [0.50, 0.55]],  # w5 w6 / w7 w8
        "layers.1.bias": [0.60, 0.60],
    })
    for layer in model.layers:  # one bias Value per layer, as in the text
        for neuron in layer.neurons[1:]:
            neuron.b = layer.neurons[0].b
    return model


@pytest.fixture
def forward():
    model = texts_network()
    hidden_layer, output_layer = model.layers
    out_h = hidden_layer([I1, I2])
    out_o = output_layer(out_h)
    E_o = [nn.mse_loss([o], [t]) for o, t in zip(out_o, TARGETS)]
    E_total = nn.mse_loss([out_o], [TARGETS])
    return model, out_h, out_o, E_o, E_total


def test_the_bias_is_shared_per_layer_as_in_the_text():
    model = texts_network()
    hidden_layer, output_layer = model.layers
    assert hidden_layer.neurons[0].b is hidden_layer.neurons[1].b
    assert output_layer.neurons[0].b is output_layer.neurons[1].b
    assert len({id(p) for p in model.parameters()}) == 10  # 8 weights, 2 biases


def test_forward_pass_numbers(forward):
    _, out_h, out_o, E_o, E_total = forward
    net_h1 = out_h[0].parents[0]  # the sigmoid's input: w1*i1 + w2*i2 + b1
    net_o1 = out_o[0].parents[0]
    assert printed(net_h1.data, "0.3775")
    assert printed(out_h[0].data, "0.593269992")
    assert printed(out_h[1].data, "0.596884378")
    assert printed(net_o1.data, "1.105905967")
    assert printed(out_o[0].data, "0.75136507")
    assert printed(out_o[1].data, "0.772928465")
    assert printed(E_o[0].data, "0.274811083")
    assert printed(E_o[1].data, "0.023560026")
    assert printed(E_total.data, "0.298371109")
    assert E_total.data == pytest.approx(E_o[0].data + E_o[1].data, rel=1e-15)


def test_gradients_dE_dw5_and_dE_dw1(forward):
    model, _, _, _, E_total = forward
    E_total.backward()
    w1 = model.layers[0].neurons[0].w[0]
    w5 = model.layers[1].neurons[0].w[0]
    assert printed(w5.grad, "0.082167041")
    assert printed(w1.grad, "0.000438568")


def test_one_gradient_step_of_rate_one_half_updates_the_eight_weights(forward):
    model, _, _, _, E_total = forward
    biases_before = [b.data for b in model.biases()]
    optimizer = nn.SGD(model.weights(), lr=0.5)  # the text leaves the biases alone
    optimizer.zero_grad()
    E_total.backward()
    optimizer.step()
    w = [p.data for p in model.weights()]  # w1..w4, then w5..w8
    for value, text in zip(w, ["0.149780716", "0.19956143", "0.24975114", "0.29950229",
                               "0.35891648", "0.408666186", "0.511301270", "0.561370121"]):
        assert printed(value, text), (value, text)
    assert [b.data for b in model.biases()] == biases_before


def test_the_hand_derivation_of_the_text_gives_the_same_numbers():
    """The chain rule written out as the text does (delta_o = -(target - out) out (1 - out))."""
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2 = .15, .2, .25, .3, .4, .45, .5, .55, .35, .6
    h1, h2 = sig(w1 * I1 + w2 * I2 + b1), sig(w3 * I1 + w4 * I2 + b1)
    o1, o2 = sig(w5 * h1 + w6 * h2 + b2), sig(w7 * h1 + w8 * h2 + b2)
    d_o1 = -(TARGETS[0] - o1) * o1 * (1 - o1)
    d_o2 = -(TARGETS[1] - o2) * o2 * (1 - o2)
    d_h1 = (d_o1 * w5 + d_o2 * w7) * h1 * (1 - h1)
    model = texts_network()
    nn.mse_loss([model([I1, I2])], [TARGETS]).backward()
    assert model.layers[1].neurons[0].w[0].grad == pytest.approx(d_o1 * h1, rel=1e-12)
    assert model.layers[0].neurons[0].w[0].grad == pytest.approx(d_h1 * I1, rel=1e-12)
    # the shared bias collects the gradient of both neurons that use it
    assert model.layers[1].neurons[0].b.grad == pytest.approx(d_o1 + d_o2, rel=1e-12)


def test_the_whole_network_passes_gradcheck():
    def E(w1, w2, w3, w4, w5, w6, w7, w8, b1, b2):
        h = [(w1 * I1 + w2 * I2 + b1).sigmoid(), (w3 * I1 + w4 * I2 + b1).sigmoid()]
        o = [(w5 * h[0] + w6 * h[1] + b2).sigmoid(), (w7 * h[0] + w8 * h[1] + b2).sigmoid()]
        return nn.mse_loss([o], [TARGETS])
    assert gradcheck(E, [.15, .2, .25, .3, .4, .45, .5, .55, .35, .6])
    assert isinstance(E(*[Value(x) for x in range(10)]), Value)
