"""Neurons and layers found in a recorded graph, for drawings and players that group them.

Nothing is stored on the nodes while a network runs (the engine's hot path stays as it is): the
groups are read off the graph afterwards, from its structure.

- A neuron's input sum is a node of the table's ``affine`` op (operands w1, x1, ..., wn, xn, b),
  or a ``sum`` whose terms are products w_k * x_k (plus a bias), as ``nn`` builds with
  ``fused=False``. Its activation is its single consumer when that is a one-input op (such as
  relu or tanh; an extra constant operand, like leaky_relu's slope, is allowed).
- Neurons reading the same inputs form a layer. Layers are ordered by depth and neurons by the
  order they were made (labels are not read: any naming scheme works). The same network run on
  several examples gives one layer per set of weights, with one *instance* per example.

>>> from autograd_mini import Value
>>> x = [Value(1.0, label="x1"), Value(-2.0, label="x2")]
>>> w = [[Value(0.5), Value(0.25)], [Value(-1.0), Value(1.0)]]
>>> hidden = [Value.affine(row, x, Value(0.0)).tanh() for row in w]
>>> out = Value.affine([Value(1.0), Value(-1.0)], hidden, Value(0.5))
>>> groups = find_groups(topological_order(out, forwards=True))
>>> [(layer.index, layer.size, layer.activation) for layer in groups.layers]
[(0, 2, 'tanh'), (1, 1, 'linear')]
>>> sorted(groups.names.values())
['a0[0]', 'a0[1]', 'z0[0]', 'z0[1]', 'z1[0]']
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .graph import topological_order
from .ops import OPS
from .value import Value

__all__ = ["find_groups", "Groups", "Layer", "Neuron", "topological_order"]


@dataclass(eq=False)
class Neuron:
    """One neuron (in one example): its input-sum node ``net``, its ``activation`` node (or None
    for a linear neuron), the ``products`` of an unfused sum, its ``weights`` and ``bias`` and the
    ``inputs`` it reads."""

    net: Value
    activation: Value | None
    products: list[Value]
    weights: list[Value]
    bias: Value | None
    inputs: tuple[Value, ...]
    layer: int = 0
    index: int = 0
    instance: int = 0
    source: str = "x"  # the name of what it reads: x, or a{l} for layer l's activations

    @property
    def output(self) -> Value:
        return self.activation or self.net

    @property
    def nodes(self) -> list[Value]:
        """The computed nodes of the neuron, in order (products, input sum, activation)."""
        return self.products + [self.net] + ([self.activation] if self.activation else [])

    @property
    def parameters(self) -> list[Value]:
        return self.weights + ([self.bias] if self.bias is not None else [])

    @property
    def weights_row(self) -> str | None:
        """The weights' labels as one row of a matrix, when they differ only in an index:
        ``w0[3,·]`` for w0[3,0], w0[3,1], ... (None otherwise, as for Mazur's w1, w2: names)."""
        labels = [w.label for w in self.weights]
        if len(labels) < 2 or len(set(labels)) < len(labels) or not all(labels):
            return None
        start = len(os.path.commonprefix(labels))
        end = len(os.path.commonprefix([label[::-1] for label in labels]))
        while start and labels[0][start - 1].isdigit():  # w1, w12: the whole number differs
            start -= 1
        middles = [label[start:len(label) - end] for label in labels]
        if not start or not end or not all(m.isdigit() for m in middles):
            return None
        return f"{labels[0][:start]}·{labels[0][len(labels[0]) - end:]}"

    def formula(self, source: str | None = None) -> str:
        """The input sum in vector notation: ``w0[3,·]·x + b0[3]`` (``w·x + b`` unnamed);
        ``source`` names the vector of inputs."""
        text = f"{self.weights_row or 'w'}·{source or self.source}"
        if self.bias is not None:
            text += f" + {self.bias.label or 'b'}"
        return text


@dataclass(eq=False)
class Layer:
    """Neurons reading the same inputs: ``neurons`` (every instance, in index order)."""

    index: int
    neurons: list[Neuron] = field(default_factory=list)
    instances: int = 1

    @property
    def size(self) -> int:
        """Neurons per example."""
        return len({neuron.index for neuron in self.neurons})

    @property
    def activation(self) -> str:
        """The activation's op name, ``"linear"`` without one, ``"mixed"`` if they differ."""
        names = {n.activation.op if n.activation is not None else "linear" for n in self.neurons}
        return names.pop() if len(names) == 1 else "mixed"

    @property
    def parameters(self) -> list[Value]:
        seen: dict[Value, None] = {}
        for neuron in self.neurons:
            for p in neuron.parameters:
                seen.setdefault(p, None)
        return list(seen)


@dataclass(eq=False)
class Groups:
    """What ``find_groups`` found: ``layers`` in order, ``neuron_of`` (a neuron's nodes and
    parameters -> the neuron), ``names`` for unlabelled nodes (z0[3] the input sum and a0[3] the
    activation of neuron 3 of layer 0, x[k] a network input) and the network ``inputs``."""

    layers: list[Layer]
    neuron_of: dict[Value, Neuron]
    names: dict[Value, str]
    inputs: list[Value]

    def __bool__(self) -> bool:
        return bool(self.layers)


def _children(nodes: list[Value]) -> dict[Value, list[Value]]:
    children: dict[Value, list[Value]] = {}
    for node in nodes:
        for parent in node.parents:
            children.setdefault(parent, []).append(node)
    return children


def _is_parameter(node: Value) -> bool:
    return node.is_leaf and not node.is_constant


def _as_neuron(node: Value, children, affine, total) -> Neuron | None:
    """``node`` as a neuron's input sum, or None."""
    rule = node._rule
    if rule is affine:
        parents = node.parents
        paired = len(parents) - len(parents) % 2
        weights = list(parents[0:paired:2])
        inputs = tuple(parents[1:paired:2])
        bias = parents[-1] if len(parents) % 2 else None
        products: list[Value] = []
    elif rule is total:
        weights, inputs, products, bias = [], [], [], None
        for term in node.parents:
            pair = term.parents
            if term.op == "*" and len(pair) == 2 and children.get(term) == [node]:
                w, x = pair if _is_parameter(pair[0]) or not _is_parameter(pair[1]) else pair[::-1]
                if not _is_parameter(w):
                    return None
                weights.append(w)
                inputs.append(x)
                products.append(term)
            elif bias is None and _is_parameter(term):
                bias = term
            else:
                return None
        inputs = tuple(inputs)
        if not weights:
            return None
    else:
        return None
    if not weights or not all(_is_parameter(w) for w in weights):
        return None
    activation = None
    consumers = children.get(node, [])
    if len(consumers) == 1:
        child = consumers[0]
        others = child.parents[1:]
        if child.parents and child.parents[0] is node and child._rule is not affine \
                and child._rule is not total and _written_as_a_function(child) \
                and all(p.is_constant for p in others):
            activation = child
    return Neuron(node, activation, products, weights, bias, inputs)


def _written_as_a_function(node: Value) -> bool:
    """The op table writes ``node``'s op as a function, ``relu(z)``, not as an operator such as
    ``z * w`` or a sum: what an activation looks like."""
    rule = node._rule
    return rule.written(["z"] * len(node.parents)).startswith(f"{rule.name}(")


def find_groups(nodes: list[Value]) -> Groups:
    """The neurons and layers among ``nodes`` (a graph's nodes, parents before children).

    See the module doc for what counts as a neuron and a layer.
    """
    affine, total = OPS.get("affine"), OPS.get("sum")
    children = _children(nodes)
    neurons = []
    for node in nodes:
        if node._rule is affine or node._rule is total:
            neuron = _as_neuron(node, children, affine, total)
            if neuron is not None:
                neurons.append(neuron)
    if not neurons:
        return Groups([], {}, {}, [])
    # One layer instance per set of inputs read: an example's pass through the layer.
    instances: dict[tuple, list[Neuron]] = {}
    for neuron in neurons:
        instances.setdefault(("inputs", neuron.inputs), []).append(neuron)
    # Depth: an instance reading another instance's outputs comes after it.
    produced_by: dict[Value, tuple] = {}
    for key, members in instances.items():
        for neuron in members:
            produced_by[neuron.output] = key
    depth: dict[tuple, int] = {}
    for key in instances:  # made in order, so a producer is always seen first
        depth[key] = 1 + max((depth.get(produced_by[x], 0) for x in key[1] if x in produced_by),
                             default=-1)
    # Instances sharing weights are the same layer (several examples through one network).
    layers_by_key: dict[frozenset, list[tuple]] = {}
    for key, members in instances.items():
        layer_key = frozenset(p for n in members for p in n.parameters)
        layers_by_key.setdefault(layer_key, []).append(key)
    ordered = sorted(layers_by_key.items(), key=lambda item: min(depth[k] for k in item[1]))
    layers, neuron_of, names = [], {}, {}
    layers_index = {}
    for index, (layer_key, keys) in enumerate(ordered):
        for key in keys:
            layers_index[key] = index
        layer = Layer(index, instances=len(keys))
        for instance, key in enumerate(keys):
            members = instances[key]
            for position, neuron in enumerate(members):
                neuron.layer, neuron.instance, neuron.index = index, instance, position
            layer.neurons.extend(sorted(members, key=lambda n: n.index))
        layer.neurons.sort(key=lambda n: (n.index, n.instance))
        layers.append(layer)
        for neuron in layer.neurons:
            suffix = f"#{neuron.instance + 1}" if neuron.instance else ""
            where = f"{index}[{neuron.index}]{suffix}"
            for node in neuron.nodes + neuron.parameters:
                neuron_of.setdefault(node, neuron)
            names[neuron.net] = f"z{where}"
            if neuron.activation is not None:
                names[neuron.activation] = f"a{where}"
            for k, product in enumerate(neuron.products):
                names[product] = f"z{index}[{neuron.index},{k}]{suffix}"
    for layer in layers:  # what each neuron reads: x (the network's inputs) or a{l} (a layer's)
        for neuron in layer.neurons:
            sources = {layers_index.get(produced_by.get(x)) for x in neuron.inputs}
            neuron.source = f"a{sources.pop()}" if len(sources) == 1 and None not in sources \
                else "x"
    inputs: list[Value] = []
    seen: set[Value] = set()
    for instance, key in enumerate(layers_by_key[ordered[0][0]]):
        for k, x in enumerate(key[1]):
            if x not in seen and x not in produced_by:
                seen.add(x)
                inputs.append(x)
                names[x] = f"x[{k}]" + (f"#{instance + 1}" if instance else "")
    names = {node: name for node, name in names.items() if not node.label}
    return Groups(layers, neuron_of, names, inputs)
