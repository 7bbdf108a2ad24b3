"""Neurons, layers and multi-layer perceptrons made of ``Value``s, micrograd-compatible.

A neuron computes a = f(w . x + b). Its pre-activation net = w1*x1 + ... + wn*xn + b is ONE node
(the table's ``affine`` op) whose edges carry d net / d w_k = x_k, d net / d x_k = w_k and
d net / d b = 1, so a neuron costs 2 nodes whatever its size (micrograd's chain costs 2 nin + 1).
``fused=False`` draws the products one by one instead (nin products and one ``sum`` node), as in
micrograd's lecture.
"""
from __future__ import annotations

import math
import random
import sys
from collections.abc import MutableMapping
from numbers import Integral, Real
from typing import Callable, Sequence

from autograd_mini import OPS, Value
from autograd_mini.value import lift

from .module import Module

LEAKY_SLOPE = 0.01  # the slope "leaky_relu" gives the table's two-operand leaky_relu


class _Activations(MutableMapping):
    """Activation name -> (the op on Values, the same function on floats), read from the op
    table: every one-operand op of the table is an activation ("softplus", or one you add with
    ``defop``), "linear" is the identity (None, None), "leaky_relu" is the table's leaky_relu
    with slope ``LEAKY_SLOPE``. Iterating gives the usual ones; entries you set win."""

    USUAL = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")

    def __init__(self) -> None:
        self._set: dict = {}

    FIXED = {"leaky_relu": (LEAKY_SLOPE,)}  # constant operands that follow the input

    def _row(self, name) -> tuple:
        """(the table's op, its constant operands after the input) for a table activation."""
        op = OPS.get(name) if isinstance(name, str) else None
        fixed = self.FIXED.get(name, ())
        if op is None or op.arity != 1 + len(fixed):
            raise KeyError(name)
        return op, fixed

    def __getitem__(self, name):
        if name in self._set:
            return self._set[name]
        if name == "linear":
            return (None, None)
        op, fixed = self._row(name)
        if fixed:
            return (_Applied(op, fixed, False), _Applied(op, fixed, True))
        on_floats = op.value if _by_name(op.value) else _Applied(op, (), True)  # (a defop lambda)
        return (getattr(Value, op.methods[0]), on_floats)  # the method: the engine's fast path

    def __setitem__(self, name, functions) -> None:
        self._set[name] = functions

    def __delitem__(self, name) -> None:
        del self._set[name]

    def __iter__(self):
        return iter(dict.fromkeys([*self.USUAL, *self._set]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self.USUAL, *self._set]))

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def on_arrays(self, name: str) -> Callable:
        """The activation on a NumPy array, ``f(np, z)``, from its table row's array rule (the
        identity for "linear"; a function you set runs element by element)."""
        if name in self._set:
            on_floats = self._set[name][1] or (lambda x: x)
            return lambda np, z: np.vectorize(on_floats, otypes=[float])(z)
        if name == "linear":
            return lambda np, z: z
        op, fixed = self._row(name)
        return lambda np, z: op.numpy(np, z, *fixed)

    def names(self) -> list[str]:
        """Every name accepted: the usual ones and the table's one-operand ops."""
        return list(dict.fromkeys([*self, *(n for n, op in OPS.items() if op.arity == 1)]))


class _Applied:
    """``x -> op(x, *fixed)`` on Values, or the op's float rule on floats. Unlike a lambda it
    pickles (the op pickles by name), so a model can go to a spawned process."""

    __slots__ = ("op", "fixed", "on_floats")

    def __init__(self, op, fixed: tuple, on_floats: bool) -> None:
        self.op, self.fixed, self.on_floats = op, fixed, on_floats

    def __call__(self, x):
        return (self.op.value if self.on_floats else self.op)(x, *self.fixed)


def _by_name(function) -> bool:
    """Does pickle find this function under its module and name (not a lambda or a closure)?"""
    found = sys.modules.get(getattr(function, "__module__", None))
    for part in getattr(function, "__qualname__", "<lambda>").split("."):
        found = getattr(found, part, None)
    return found is function


ACTIVATIONS = _Activations()

# name -> function (rng, nin) -> one weight. Biases start at 0; the weights differ, as they
# must (all-equal weights would make every neuron of a layer learn the same thing).
INITS: dict[str, Callable] = {
    "uniform": lambda rng, nin: rng.uniform(-1.0, 1.0),           # micrograd's
    "normal": lambda rng, nin: rng.gauss(0.0, 0.01),              # UFLDL's Normal(0, eps^2)
    "he": lambda rng, nin: rng.gauss(0.0, math.sqrt(2.0 / nin)),  # keeps ReLU signals' scale
}


def _activation(activation, nonlin) -> str:
    if isinstance(activation, bool):  # micrograd's positional Neuron(nin, nonlin)
        activation, nonlin = "relu", activation
    if nonlin is not None:
        if not isinstance(nonlin, bool):
            raise TypeError(f"nonlin must be True or False, got {nonlin!r}")
        return "relu" if nonlin else "linear"
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of "
                         f"{', '.join(ACTIVATIONS.names())} (any one-operand op of the table)")
    return activation


def _count(n, what: str) -> int:
    if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return value


def _rng(seed, rng):
    """A private generator for ``seed``; Python's global ``random`` (as micrograd) when None."""
    if rng is not None:
        return rng
    if seed is None:
        return random
    if not isinstance(seed, Integral) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return random.Random(int(seed))


def _draw(init, rng, nin: int) -> float:
    if callable(init):
        return float(init(rng, nin))
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)} or pass a "
                         "function (rng, nin) -> float")
    return INITS[init](rng, nin)


def _inputs(x, nin: int, who) -> list:
    """x as a list of nin numbers or Values (a lone number or Value is fine when nin == 1)."""
    if x.__class__ is not list:
        if isinstance(x, (Value, Real)):
            x = [x]
        elif isinstance(x, tuple):
            x = list(x)
        elif hasattr(x, "tolist"):  # a NumPy row
            x = x.tolist()
            x = x if isinstance(x, list) else [x]
        else:
            raise TypeError(f"{who!r} takes a list of {nin} numbers or Values, "
                            f"got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{who!r} takes {nin} input(s), got {len(x)}")
    return x


def _lifted(x: list) -> list:
    """The network's inputs as nodes, made once for all the neurons that read them: numbers
    become constants named x[0], x[1], ... (the names drawings show)."""
    nodes = []
    for k, xk in enumerate(x):
        if not isinstance(xk, Value):
            xk = lift(xk)
            xk.label = f"x[{k}]"
        nodes.append(xk)
    return nodes


class Neuron(Module):
    """One neuron: ``activation(w . x + b)``, weights drawn at random, bias 0.

    ``Neuron(nin, nonlin=False)`` (micrograd) is ``Neuron(nin, activation="linear")``. Its input
    sum is one ``affine`` node; ``fused=False`` records the products w_k * x_k one by one.

    >>> from nn import Neuron
    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> n
    Neuron(2 inputs, tanh)
    >>> y = n([1.0, -2.0]); y.backward()
    >>> [w.grad for w in n.w] == [(1 - y.data ** 2) * 1.0, (1 - y.data ** 2) * -2.0]  # (1 - y^2) x_k
    True
    """

    def __init__(self, nin: int, activation: str = "relu", *, nonlin: bool | None = None,
                 init="uniform", seed: int | None = None, rng=None, fused: bool = True,
                 _layer: str = "", _row: int | None = None) -> None:
        self.nin = _count(nin, "nin")
        self.fused = _flag(fused, "fused")
        self.activation = _activation(activation, nonlin)
        self._value_fn, self._float_fn = ACTIVATIONS[self.activation]
        rng = _rng(seed, rng)
        # labels read like Nielsen's w^l_jk and b^l_j: w0[3,1] is layer 0, neuron 3, input 1
        row = "" if _row is None else f"{_row},"
        self.w = [Value(_draw(init, rng, self.nin), label=f"w{_layer}[{row}{k}]")
                  for k in range(self.nin)]
        self.b = Value(0.0, label=f"b{_layer}" + ("" if _row is None else f"[{_row}]"))

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: is there an activation after the sum?"""
        return self.activation != "linear"

    def __call__(self, x) -> Value:
        return self._forward(_lifted(_inputs(x, self.nin, self)))

    def _forward(self, x: list) -> Value:
        if self.fused:
            act = Value.affine(self.w, x, self.b)  # one node for w . x + b
        else:
            terms = [w * xk for w, xk in zip(self.w, x)]
            terms.append(self.b)
            act = Value.sum(terms)
        return act if self._value_fn is None else self._value_fn(act)

    def _predict(self, x: list) -> float:
        # the same float operations, in the same order, as the graph (so the same result)
        if self.fused:
            act = self.b.data
            for w, xk in zip(self.w, x):
                act = act + w.data * (xk.data if isinstance(xk, Value) else xk)
        else:
            terms = [w.data * (xk.data if isinstance(xk, Value) else xk)
                     for w, xk in zip(self.w, x)]
            terms.append(self.b.data)
            act = sum(terms, 0.0)
        return act if self._float_fn is None else self._float_fn(act)

    def predict(self, x) -> float:
        return self._predict(_inputs(x, self.nin, self))

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def weights(self) -> list[Value]:
        return list(self.w)

    def biases(self) -> list[Value]:
        return [self.b]

    def _layout(self):
        return {"weight": ((self.nin,), self.w), "bias": ((), [self.b])}

    def config(self) -> dict:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({self.nin} inputs, {self.activation})"


class Layer(Module):
    """``nout`` neurons reading the same inputs. One neuron: the output is one Value (micrograd).

    >>> from nn import Layer
    >>> layer = Layer(3, 2, activation="sigmoid", seed=1)
    >>> layer, len(layer([1.0, 2.0, 3.0]))
    (Layer(3 -> 2, sigmoid), 2)
    """

    def __init__(self, nin: int, nout: int, activation: str = "relu", *,
                 nonlin: bool | None = None, init="uniform", seed: int | None = None,
                 rng=None, fused: bool = True, _layer: str = "") -> None:
        self.nin = _count(nin, "nin")
        self.nout = _count(nout, "nout")
        self.activation = _activation(activation, nonlin)
        rng = _rng(seed, rng)
        self.neurons = [Neuron(self.nin, self.activation, init=init, rng=rng, fused=fused,
                               _layer=_layer, _row=j) for j in range(self.nout)]

    def __call__(self, x) -> Value | list[Value]:
        out = self._forward(_lifted(_inputs(x, self.nin, self)))
        return out[0] if len(out) == 1 else out

    def _forward(self, x: list) -> list[Value]:
        return [n._forward(x) for n in self.neurons]

    def _predict(self, x: list) -> list[float]:
        return [n._predict(x) for n in self.neurons]

    def predict(self, x):
        out = self._predict(_inputs(x, self.nin, self))
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def weights(self) -> list[Value]:
        return [w for n in self.neurons for w in n.w]

    def biases(self) -> list[Value]:
        return [n.b for n in self.neurons]

    def _layout(self):
        return {"weight": ((self.nout, self.nin), self.weights()),
                "bias": ((self.nout,), self.biases())}

    def config(self) -> dict:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout,
                "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, {self.activation})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` is 2 inputs, two hidden layers, 1 output.

    Hidden layers use ``activation`` (one name, or one per hidden layer), the last layer
    ``output_activation``; the defaults (ReLU, then linear) are micrograd's. ``seed`` makes the
    weights the same on every machine; with ``seed=None`` they come from Python's global
    ``random``, in micrograd's order, so ``random.seed(1337)`` gives micrograd's very weights.
    ``init`` is "uniform" (U(-1, 1), micrograd's), "normal" (N(0, 0.01^2), the UFLDL tutorial's) or
    "he" (N(0, 2/nin)). A last layer of one neuron gives one Value, otherwise a list.

    >>> from nn import MLP
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2 -> 16 relu -> 16 relu -> 1 linear; 337 parameters)
    >>> model([0.5, -1.0])
    Value(data=..., grad=0.0, op='w·x+b')
    >>> len(model.parameters()), len(model.weights()), len(model.biases())
    (337, 304, 33)
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation="relu",
                 output_activation: str = "linear", *, init="uniform",
                 seed: int | None = None, fused: bool = True) -> None:
        self.nin = _count(nin, "nin")
        if isinstance(nouts, Integral) and not isinstance(nouts, bool):
            nouts = [nouts]
        if not isinstance(nouts, (list, tuple)) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        nouts = [_count(n, "each layer size in nouts") for n in nouts]
        hidden = len(nouts) - 1
        if isinstance(activation, str):
            activations = [activation] * hidden
        else:
            activations = list(activation)
            if len(activations) != hidden:
                raise ValueError(f"activation lists one name per hidden layer: {hidden} for "
                                 f"nouts={nouts}, got {len(activations)}")
        activations.append(output_activation)
        activations = [_activation(a, None) for a in activations]
        rng = _rng(seed, None)
        sizes = [self.nin] + nouts
        self.layers = [Layer(sizes[i], sizes[i + 1], activations[i], init=init, rng=rng,
                             fused=fused, _layer=str(i)) for i in range(len(nouts))]

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    def __call__(self, x) -> Value | list[Value]:
        x = _lifted(_inputs(x, self.nin, self))
        for layer in self.layers:  # lists all the way, so a hidden layer of one neuron works
            x = layer._forward(x)
        return x[0] if len(x) == 1 else x

    def predict(self, x):
        x = _inputs(x, self.nin, self)
        for layer in self.layers:
            x = layer._predict(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def weights(self) -> list[Value]:
        return [w for layer in self.layers for w in layer.weights()]

    def biases(self) -> list[Value]:
        return [b for layer in self.layers for b in layer.biases()]

    def _layout(self):
        return {f"layers.{i}.{name}": part for i, layer in enumerate(self.layers)
                for name, part in layer._layout().items()}

    def config(self) -> dict:
        return {"type": "MLP", "nin": self.nin, "nouts": self.nouts,
                "activations": self.activations}

    def __repr__(self) -> str:
        path = " -> ".join(f"{layer.nout} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> {path}; {self.num_parameters()} parameters)"


class Maxout(Module):
    """``nout`` maxout units: each is the largest of ``k`` affine pieces of the same inputs,
    ``max(w_1 . x + b_1, ..., w_k . x + b_k)`` (Goodfellow et al., "Maxout Networks", 2013).

    A unit is ``k`` ``w·x+b`` nodes and one ``max`` node (the op table's): on every input one
    piece wins and the gradient flows to it, whole, so a unit neither saturates nor dies the way
    a ReLU does (CS231n's notes). ReLU is the case ``k = 2`` with one piece fixed at 0. Weights are listed unit by unit, piece by piece: ``state_dict()["weight"]`` has
    ``nout * k`` rows of ``nin`` numbers. One unit gives one Value, as ``Layer`` does.

    >>> from nn import Maxout
    >>> layer = Maxout(2, 3, k=2, seed=0)
    >>> layer, layer.num_parameters()
    (Maxout(2 -> 3, k=2), 18)
    >>> out = layer([1.0, -2.0])
    >>> [o.op for o in out], out[0].data == max(p([1.0, -2.0]).data for p in layer.units[0])
    (['max', 'max', 'max'], True)
    """

    def __init__(self, nin: int, nout: int, k: int = 2, *, init="uniform",
                 seed: int | None = None, rng=None, _layer: str = "") -> None:
        self.nin = _count(nin, "nin")
        self.nout = _count(nout, "nout")
        self.k = _count(k, "k (the number of pieces per unit)")
        rng = _rng(seed, rng)
        # piece p of unit j is a linear neuron; its weights are labelled w[j,p,k]
        self.units = [[Neuron(self.nin, "linear", init=init, rng=rng, _layer=_layer,
                              _row=f"{j},{p}") for p in range(self.k)]
                      for j in range(self.nout)]

    def __call__(self, x) -> Value | list[Value]:
        out = self._forward(_lifted(_inputs(x, self.nin, self)))
        return out[0] if len(out) == 1 else out

    def _forward(self, x: list) -> list[Value]:
        return [OPS["max"](*[piece._forward(x) for piece in unit]) for unit in self.units]

    def _predict(self, x: list) -> list[float]:
        largest = OPS["max"].value  # the table's own rule, so predict() matches the graph
        return [largest(*[piece._predict(x) for piece in unit]) for unit in self.units]

    def predict(self, x):
        out = self._predict(_inputs(x, self.nin, self))
        return out[0] if len(out) == 1 else out

    def pieces(self) -> list[Neuron]:
        return [piece for unit in self.units for piece in unit]

    def parameters(self) -> list[Value]:
        return [p for piece in self.pieces() for p in piece.parameters()]

    def weights(self) -> list[Value]:
        return [w for piece in self.pieces() for w in piece.w]

    def biases(self) -> list[Value]:
        return [piece.b for piece in self.pieces()]

    def _layout(self):
        return {"weight": ((self.nout * self.k, self.nin), self.weights()),
                "bias": ((self.nout * self.k,), self.biases())}

    def config(self) -> dict:
        return {"type": "Maxout", "nin": self.nin, "nout": self.nout, "k": self.k}

    def __repr__(self) -> str:
        return f"Maxout({self.nin} -> {self.nout}, k={self.k})"


def from_config(config: dict) -> Module:
    """Rebuild a model (weights at 0, to be loaded) from ``Module.config()``, checking each field."""
    if not isinstance(config, dict):
        raise ValueError(f"architecture should be an object, got {type(config).__name__}")
    kind = config.get("type")
    fields = {"Neuron": {"type", "nin", "activation"},
              "Layer": {"type", "nin", "nout", "activation"},
              "MLP": {"type", "nin", "nouts", "activations"},
              "Maxout": {"type", "nin", "nout", "k"}}
    if kind not in fields:
        raise ValueError(f"architecture type {kind!r} is not one of {', '.join(fields)}")
    if set(config) != fields[kind]:
        raise ValueError(f"a {kind} architecture has the fields {sorted(fields[kind])}, "
                         f"got {sorted(config)}")
    zero = lambda rng, nin: 0.0  # noqa: E731 (the loaded numbers replace these)
    if kind == "Neuron":
        return Neuron(config["nin"], config["activation"], init=zero)
    if kind == "Layer":
        return Layer(config["nin"], config["nout"], config["activation"], init=zero)
    if kind == "Maxout":
        return Maxout(config["nin"], config["nout"], config["k"], init=zero)
    activations = config["activations"]
    if not isinstance(activations, list) or not isinstance(config["nouts"], list) \
            or len(activations) != len(config["nouts"]):
        raise ValueError(f"an MLP architecture needs one activation per layer: nouts "
                         f"{config['nouts']!r}, activations {activations!r}")
    return MLP(config["nin"], config["nouts"], activations[:-1], activations[-1], init=zero)
