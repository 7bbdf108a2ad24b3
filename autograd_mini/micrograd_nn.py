"""``micrograd.nn`` as the aliases serve it: nn's ``Module``, and ``Neuron``, ``Layer`` and ``MLP``
that read their inputs as micrograd does.

micrograd's neuron computes ``sum(wi * xi for wi, xi in zip(self.w, x))``: given more inputs
than it was built for, it reads the first ones; given fewer, it leaves the other weights out.
Code written for micrograd relies on it, so these classes do the same, with a warning saying
so (a missing input counts as 0, which gives micrograd's value and gradients). Everything else
is nn's: the project's own ``nn.MLP`` stays strict and refuses a wrong length.

>>> import warnings
>>> from autograd_mini.micrograd_nn import MLP
>>> model = MLP(2, [3, 1])
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     out = model([1.0, 2.0, 99.0])
>>> out.data == model([1.0, 2.0]).data, str(caught[0].message)
(True, 'MLP(2 -> 3 relu -> 1 linear; 13 parameters) was built for 2 inputs and got 3: as micrograd does (zip), it reads the first 2')
"""
from __future__ import annotations

import random  # micrograd's nn.py imports it at its top: `from micrograd.nn import random` works
import warnings

import nn
from autograd_mini import Value

Module = nn.Module
__all__ = ["Module", "Neuron", "Layer", "MLP", "Value", "random"]


def _zipped(x, nin: int, who):
    """``x`` cut or padded to ``nin`` inputs, as micrograd's zip reads it (with a warning)."""
    if hasattr(x, "tolist"):  # a NumPy row
        x = x.tolist()
    if not isinstance(x, (list, tuple)) or len(x) == nin:
        return x
    note = f"reads the first {nin}" if len(x) > nin else \
        f"leaves out the weights of the {nin - len(x)} missing (as inputs of 0)"
    warnings.warn(f"{who!r} was built for {nin} inputs and got {len(x)}: as micrograd does "
                  f"(zip), it {note}", stacklevel=3)
    return list(x[:nin]) + [0.0] * (nin - len(x))


class Neuron(nn.Neuron):
    """nn's ``Neuron``, reading its inputs as micrograd's does (see the module)."""

    def __call__(self, x) -> Value:
        return super().__call__(_zipped(x, self.nin, self))


class Layer(nn.Layer):
    """nn's ``Layer``, reading its inputs as micrograd's does (see the module)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for neuron in self.neurons:
            neuron.__class__ = Neuron

    def __call__(self, x):
        return super().__call__(_zipped(x, self.nin, self))


class MLP(nn.MLP):
    """nn's ``MLP``, reading its inputs as micrograd's does (see the module)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for layer in self.layers:
            layer.__class__ = Layer
            for neuron in layer.neurons:
                neuron.__class__ = Neuron

    def __call__(self, x):
        return super().__call__(_zipped(x, self.nin, self))
