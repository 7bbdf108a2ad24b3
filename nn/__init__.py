"""nn: neurons, layers and multi-layer perceptrons made of autograd_mini ``Value``s, and their training.

>>> import nn
>>> X, y = nn.datasets.make_moons(40, noise=0.1, seed=1)
>>> model = nn.MLP(2, [16, 16, 1], seed=1)
>>> history = nn.fit(model, X, y, loss="hinge", l2=1e-4, epochs=30,
...                  optimizer=nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, 30)))
>>> history
History(30 epochs, loss 0.6454 -> 0.04858, accuracy 97.5%)

micrograd's code runs unchanged: ``from nn import MLP, Neuron, Layer``, ``MLP(2, [16, 16, 1])``,
``Neuron(nin, nonlin=False)``, ``model.parameters()``, ``model.zero_grad()``.
"""
from . import datasets
from .layers import ACTIVATIONS, INITS, MLP, Layer, Maxout, Neuron
from .losses import (bce_with_logits, cross_entropy, hinge_loss, l2_penalty, log_softmax,
                     mse_loss, softmax)
from .module import Module
from .optim import SGD, Adam, Optimizer, Schedule, cosine_decay, exponential_decay, linear_decay
from .serialize import ModelFileError, load, save
from .torch_bridge import TorchBridgeError, from_torch  # PyTorch loads on first use
from .history import History
from .train import evaluate, fit


def __getattr__(name: str):
    if name == "plot":  # matplotlib loads only when a plot is asked for
        import importlib
        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")


__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Maxout", "ACTIVATIONS", "INITS",
    "mse_loss", "hinge_loss", "bce_with_logits", "cross_entropy", "softmax", "log_softmax",
    "l2_penalty",
    "Optimizer", "SGD", "Adam", "Schedule", "linear_decay", "exponential_decay", "cosine_decay",
    "fit", "evaluate", "History", "datasets", "load", "save", "ModelFileError",
    "from_torch", "TorchBridgeError",
]
