"""``Module``: the base of every model: its parameters, their gradients, and their numbers.

A module's numbers travel as a *state dict*: a plain dict from a name to a number, a list of
numbers or a list of rows (``"layers.0.weight"`` is the weight matrix of the first layer, row j
holding the weights into neuron j, as w^l_jk in Nielsen's notation). It is what ``save`` writes as JSON.
"""
from __future__ import annotations

from numbers import Real
from typing import Any

from autograd_mini import Value

Shape = tuple  # () for a number, (n,) for a list, (rows, columns) for a matrix


class Module:
    """Something with parameters: a neuron, a layer, a network, or your own model.

    micrograd's contract: ``parameters()`` lists the ``Value``s to train and ``zero_grad()``
    resets their gradients. Subclass it, define ``__call__`` and ``parameters()``, and
    ``state_dict``, ``load_state_dict`` and the optimizers work too.

    >>> from nn import Module
    >>> from autograd_mini import Value
    >>> class Line(Module):
    ...     def __init__(self):
    ...         self.a, self.b = Value(2.0), Value(1.0)
    ...     def __call__(self, x):
    ...         return self.a * x + self.b
    ...     def parameters(self):
    ...         return [self.a, self.b]
    >>> line = Line()
    >>> line(3.0).data, line.state_dict()
    (7.0, {'parameters': [2.0, 1.0]})
    """

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define __call__")

    def parameters(self) -> list[Value]:
        """Every trainable ``Value``, in a fixed order (micrograd's method)."""
        return []

    def weights(self) -> list[Value]:
        """The parameters that weight decay acts on: all but the biases (weight decay as in the UFLDL tutorial)."""
        return self.parameters()

    def biases(self) -> list[Value]:
        """The parameters that weight decay leaves alone."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (gradients pile up across ``backward`` calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def num_parameters(self) -> int:
        return len(self.parameters())

    def predict(self, x):
        """The output as plain floats (no graph is kept): a float, or a list for several outputs."""
        out = self(x)
        return [o.data for o in out] if isinstance(out, list) else out.data

    # -- the numbers, by name ------------------------------------------------------------------
    def _layout(self) -> dict[str, tuple[Shape, list[Value]]]:
        """name -> (shape, the parameters in row-major order). Subclasses name their parts."""
        params = self.parameters()
        return {"parameters": ((len(params),), params)}

    def state_dict(self) -> dict[str, Any]:
        """Every parameter's number, by name: JSON-ready nested lists of floats."""
        return {name: _nest([p.data for p in params], shape)
                for name, (shape, params) in self._layout().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set every parameter from ``state``; it must match this model exactly.

        Everything is checked before anything is set, so a mismatch leaves the model unchanged.
        The error lists what does not match: missing or unexpected names, wrong shapes, or
        entries that are not numbers.
        """
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict needs a dict, got {type(state).__name__}")
        layout = self._layout()
        missing = [name for name in layout if name not in state]
        unexpected = [name for name in state if name not in layout]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if unexpected:
                parts.append("unexpected " + ", ".join(map(str, unexpected)))
            raise ValueError(f"state dict does not match {self!r}: {'; '.join(parts)}")
        numbers = {name: _flatten(state[name], shape, name) for name, (shape, _) in layout.items()}
        for name, (_, params) in layout.items():
            for p, x in zip(params, numbers[name]):
                p.data = x

    def config(self) -> dict[str, Any]:
        """The architecture, as JSON-ready keyword arguments that rebuild the model (see ``nn.load``)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its architecture; "
                                  "save its state_dict() instead")

    # save(path) and load(path) come from nn/serialize.py, to_torch() from nn/torch_bridge.py:
    # they rebuild layers, which are built on this class, so they attach the methods themselves.


def _nest(flat: list[float], shape: Shape):
    if shape == ():
        return flat[0]
    if len(shape) == 1:
        return flat
    rows, columns = shape
    return [flat[r * columns:(r + 1) * columns] for r in range(rows)]


def _describe(shape: Shape) -> str:
    if shape == ():
        return "a number"
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers"
    return f"a {shape[0]}x{shape[1]} matrix ({shape[0]} rows of {shape[1]} numbers)"


def _number(x, where: str) -> float:
    if isinstance(x, Real) and not isinstance(x, bool):
        return float(x)
    raise ValueError(f"{where} should be a number, got {type(x).__name__} {x!r:.40}")


def _flatten(value, shape: Shape, name: str) -> list[float]:
    """The numbers of ``value`` in row-major order, if it has ``shape``; else a clear ValueError."""
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        value = value.tolist()
    if shape == ():
        return [_number(value, name)]
    if not isinstance(value, (list, tuple)) or len(value) != shape[0]:
        got = f"{len(value)} entries" if isinstance(value, (list, tuple)) else \
            f"{type(value).__name__} {value!r:.40}"
        raise ValueError(f"{name} should be {_describe(shape)}, got {got}")
    if len(shape) == 1:
        return [_number(x, f"{name}[{i}]") for i, x in enumerate(value)]
    flat = []
    for i, row in enumerate(value):
        if not isinstance(row, (list, tuple)) or len(row) != shape[1]:
            got = f"{len(row)} numbers" if isinstance(row, (list, tuple)) else repr(row)[:40]
            raise ValueError(f"{name}[{i}] should be a row of {shape[1]} numbers "
                             f"({name} is {_describe(shape)}), got {got}")
        flat.extend(_number(x, f"{name}[{i}][{j}]") for j, x in enumerate(row))
    return flat
