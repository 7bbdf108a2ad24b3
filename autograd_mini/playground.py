"""The Python side of the browser playground (``autograd-mini site``): the page's worker calls
``call(name, arguments_json)`` and gets JSON back; everything it shows is computed here, by the
engine and ``nn``, the same code the tests check.

- ``expression``: the CLI's expression syntax and values, drawn and recorded step by step;
- ``reset`` / ``train`` / ``state``: a network on one of ``nn.datasets``, trained a few epochs
  per call (the page drives the calls, so Pause works between any two);
- ``point``: one data point's forward and backward pass through the current network.

A bad request gives ``{"error": "one line"}`` and leaves the session as it was.

>>> import json
>>> json.loads(call("expression", '{"text": "c = a + b; e = c * b", "values": "a=2 b=1"}'))["output"]
'e = 3'
>>> json.loads(call("expression", '{"text": "__import__(\\'os\\')", "values": ""}'))["error"]
"column 1: unknown function '__import__'; the functions are abs, add, affine, ..."
"""
from __future__ import annotations

import json
import math
import re

__all__ = ["call", "options", "expression", "ledger", "Network", "DEFAULTS"]

GRID = 24          # the decision boundary and the neuron tiles: GRID x GRID points
SPAN = (-1.6, 1.6)  # both axes of the plane (the data sets are scaled into it)
DEFAULTS = {"dataset": "moons", "points": 100, "noise": 0.1, "hidden": [8, 8],
            "activation": "tanh", "loss": "hinge", "optimizer": "sgd", "lr": 0.1,
            "batch": 10, "l2": 0.0, "seed": 1}
OPTIMIZERS = ("sgd", "adam")
BINARY_LOSSES = ("hinge", "bce", "mse")  # one output: the class is its sign
MAX_LAYERS, MAX_WIDTH, MAX_POINTS = 4, 16, 400


class PlaygroundError(ValueError):
    """A request the page cannot honour; its text is shown as one line."""


def options() -> dict:
    """What the page's menus offer, read from the engine: data sets, activations (every
    one-operand row of the op table), losses and optimizers.

    >>> "tanh" in options()["activations"] and "moons" in options()["datasets"]
    True
    """
    from nn.datasets import DATASETS
    from nn.layers import ACTIVATIONS
    return {"datasets": list(DATASETS), "activations": ACTIVATIONS.names(),
            "losses": list(BINARY_LOSSES), "optimizers": list(OPTIMIZERS), "defaults": DEFAULTS}


def _values(text: str) -> dict[str, float]:
    from .cli import UsageError, parse_values
    try:
        return parse_values([item for item in re.split(r"[\s,;]+", text or "") if item])
    except UsageError as error:
        raise PlaygroundError(str(error)) from None


def expression(text: str, values: str = "", forward: str = "") -> dict:
    """The graph of ``text`` at ``values`` (``"a=2 b=1"``) recorded step by step for the
    player (building, reverse mode, and forward mode from the input ``forward`` when given),
    the value of the output and every derivative.

    >>> result = expression("(a+b)*(b+1)", "a=2 b=1", forward="a")
    >>> result["derivatives"], result["forward"]
    ([['a', '2'], ['b', '5']], 'dout/da = 2')
    >>> "digraph" in result["player"]["dot"], result["player"]["frames"][-1]["k"]
    (True, 'summary')
    """
    from .expr import parse
    from .trace import trace
    from .viz import number_formatter
    parsed = parse(text)
    given = _values(values)
    if forward and forward not in parsed.inputs:
        raise PlaygroundError(f"forward mode from {forward!r}: not an input (inputs: "
                              f"{', '.join(parsed.inputs) or 'none'})")
    with trace() as recording:
        built = parsed.evaluate(given)
    recording.backward(built.output)
    tangent = recording.forward(built.output, built.inputs[forward]) if forward else None
    write = number_formatter(".4g")
    name = built.output.label or "out"
    return {"inputs": list(parsed.inputs), "output": f"{name} = {write(built.output.data)}",
            "derivatives": [[key, write(node.grad)] for key, node in built.inputs.items()],
            "forward": f"d{name}/d{forward} = {write(tangent)}" if forward else None,
            "player": _player(recording, " ".join(text.split())), "ledger": ledger(recording)}


def ledger(recording) -> list[dict]:
    """The last reverse pass as a ledger, one row per derivative sent along an edge, from the
    engine's events: ``b.grad += d.grad · ∂d/∂b = 3 · 1 = 3``, and a reused node's pile
    summed term by term (``b.grad = 2 + 3 = 5``). ``frame`` is the player's step of the row.

    >>> from autograd_mini.expr import parse
    >>> from autograd_mini.trace import trace
    >>> with trace() as t:
    ...     e = parse("c = a + b; d = b + 1; e = c * d").evaluate({"a": 2, "b": 1}).output
    >>> t.backward(e)
    >>> for row in ledger(t)[-2:]:
    ...     print(row["term"], "=", row["numbers"], "->", row["total"])
    b.grad += c.grad · ∂c/∂b = 2 · 1 = 2 -> b.grad = 2
    b.grad += d.grad · ∂d/∂b = 3 · 1 = 3 -> b.grad = 2 + 3 = 5
    """
    from .viz import number_formatter
    write = number_formatter(".4g")
    events = recording.events
    seeds = [i for i, event in enumerate(events) if event[0] == "seed"]
    frames, at, rows = recording.frames, 0, []
    for kind, *details in events[seeds[-1] + 1:] if seeds else ():
        if kind != "send":
            continue
        sender, receiver, local, incoming, amount, before, total = details
        while at < len(frames) and not (frames[at].kind == "send" and len(frames[at].nodes) > 1
                                        and frames[at].nodes[0] is sender
                                        and frames[at].nodes[1] is receiver):
            at += 1
        giver, taker = recording.name_of(sender), recording.name_of(receiver)
        pile = write(total) if before == 0 else f"{write(before)} + {write(amount)} = {write(total)}"
        rows.append({"frame": at, "term": f"{taker}.grad += {giver}.grad · ∂{giver}/∂{taker}",
                     "numbers": f"{write(incoming)} · {write(local)} = {write(amount)}",
                     "total": f"{taker}.grad = {pile}"})
    return rows


def _player(recording, title: str) -> dict:
    """The step-through player's data (DOT, no SVG: the page draws it with viz.js)."""
    return recording.player_data(render=False, title=title)


def _number(settings: dict, key: str, low: float, high: float) -> float:
    value = settings.get(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or not low <= value <= high:
        raise PlaygroundError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _choice(settings: dict, key: str, allowed) -> str:
    value = settings.get(key, DEFAULTS[key])
    if value not in allowed:
        raise PlaygroundError(f"unknown {key} {value!r}; choose one of {', '.join(allowed)}")
    return value


class Network:
    """A model, its data and its optimizer, trained on request; ``state()`` is what the page
    draws.

    >>> network = Network({"dataset": "xor", "hidden": [4], "seed": 0})
    >>> network.train(2)["epoch"]
    2
    """

    def __init__(self, settings: dict | None = None) -> None:
        import nn
        from nn.datasets import DATASETS
        from nn.layers import ACTIVATIONS
        settings = {**DEFAULTS, **(settings or {})}
        self.dataset = _choice(settings, "dataset", list(DATASETS))
        self.activation = _choice(settings, "activation", ACTIVATIONS.names())
        self.loss = _choice(settings, "loss", BINARY_LOSSES)
        self.optimizer_name = _choice(settings, "optimizer", OPTIMIZERS)
        hidden = settings.get("hidden", DEFAULTS["hidden"])
        if not isinstance(hidden, list) or len(hidden) > MAX_LAYERS or any(
                isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_WIDTH
                for w in hidden):
            raise PlaygroundError(f"hidden layers: at most {MAX_LAYERS} widths from 1 to "
                                  f"{MAX_WIDTH}, got {hidden!r}")
        self.hidden = list(hidden)
        self.lr = _number(settings, "lr", 1e-5, 100.0)
        self.l2 = _number(settings, "l2", 0.0, 1.0)
        self.seed = int(_number(settings, "seed", 0, 2**31))
        self.points = points = int(_number(settings, "points", 4, MAX_POINTS))
        self.noise = noise = _number(settings, "noise", 0.0, 1.0)
        batch = int(_number(settings, "batch", 0, MAX_POINTS))
        self.batch_size = batch or None  # 0: the whole set each step
        self.own = bool(str(settings.get("csv") or "").strip())
        if self.own:  # the learner's own points
            self.X, self.y = _points_from_csv(str(settings["csv"]))
        else:
            options = {"n_samples": points, "noise": noise, "seed": self.seed}
            if self.dataset == "spirals":
                options["n_classes"] = 2
            X, self.y = DATASETS[self.dataset](**options)
            self.X = _scaled(X)
        self.model = nn.MLP(2, self.hidden + [1], activation=self.activation, seed=self.seed)
        self.optimizer = (nn.Adam(self.model, lr=self.lr) if self.optimizer_name == "adam"
                          else nn.SGD(self.model, lr=self.lr))
        self.epoch = 0
        self.history: list[tuple[float, float]] = []
        self.diverged: dict | None = None  # once the loss is inf or NaN: where (_divergence)
        self._starts: list[list[float]] = []  # the weights at the start of each epoch
        self._initial = [p.data for p in self.model.parameters()]  # for rewind()

    def code(self) -> str:
        """Python that trains the same network in a notebook (the page also centres and scales
        the points to fit its plane, and shuffles each epoch with seed + epoch).

        >>> print(Network({"dataset": "xor", "hidden": [4], "seed": 0}).code())  # doctest: +ELLIPSIS
        import nn
        <BLANKLINE>
        X, y = nn.datasets.make_xor(n_samples=100, noise=0.1, seed=0)
        model = nn.MLP(2, [4, 1], activation='tanh', seed=0)
        ...
        """
        options = {"n_samples": self.points, "noise": self.noise, "seed": self.seed}
        if self.dataset == "spirals":
            options["n_classes"] = 2
        arguments = ", ".join(f"{key}={value!r}" for key, value in options.items())
        optimizer = "nn.Adam" if self.optimizer_name == "adam" else "nn.SGD"
        lines = ["import nn", "", f"X, y = nn.datasets.make_{self.dataset}({arguments})"
                 if not self.own else f"X, y = {self.X!r}, {self.y!r}"]
        if self.loss == "mse":
            lines.append("y = [2 * label - 1 for label in y]  # classes -1 and +1: the sign")
        lines += [f"model = nn.MLP(2, {self.hidden + [1]}, activation={self.activation!r}, "
                  f"seed={self.seed})",
                  f"history = nn.fit(model, X, y, loss={self.loss!r}, "
                  f"optimizer={optimizer}(model, lr={self.lr!r}),",
                  f"                 epochs={max(self.epoch, 100)}, batch_size={self.batch_size!r}, "
                  f"l2={self.l2!r}, accuracy=nn.train.binary_correct)",
                  "print(history)"]
        return "\n".join(lines)

    def _targets(self) -> list[float]:
        if self.loss == "bce":
            return [float(label) for label in self.y]
        return [1.0 if label else -1.0 for label in self.y]

    def train(self, epochs: int = 1) -> dict:
        """``epochs`` more epochs of ``nn.fit`` (each shuffled with its own seed); the state,
        and the ``seconds`` the epochs took (the drawing's numbers not included)."""
        import time

        import nn
        from nn.train import binary_correct
        started = time.perf_counter()
        for _ in range(int(epochs)):
            if self.diverged:
                break  # stay there until reset
            self._starts.append([p.data for p in self.model.parameters()])
            history = nn.fit(self.model, self.X, self._targets(), loss=self.loss,
                             optimizer=self.optimizer, epochs=1, batch_size=self.batch_size,
                             seed=self.seed + self.epoch, l2=self.l2, progress=False,
                             live=False, accuracy=binary_correct)
            self.epoch += 1
            self.history.append((history.loss[-1], history.accuracy[-1]))
            if not math.isfinite(history.loss[-1]):
                self.diverged = self._divergence()
        return {**self.state(), "seconds": time.perf_counter() - started}

    def rewind(self) -> dict:
        """Back to the weights this run started from, restored exactly (not drawn again from
        the seed), with a fresh optimizer and no epochs.

        >>> network = Network({"hidden": [2], "seed": 0, "points": 20})
        >>> first = [p.data for p in network.model.parameters()]
        >>> _ = network.train(2)
        >>> _ = network.rewind()
        >>> [p.data for p in network.model.parameters()] == first, network.epoch
        (True, 0)
        """
        import nn
        for p, data in zip(self.model.parameters(), self._initial):
            p.data, p.grad = data, 0.0
        self.optimizer = (nn.Adam(self.model, lr=self.lr) if self.optimizer_name == "adam"
                          else nn.SGD(self.model, lr=self.lr))
        self.epoch, self.history, self.diverged, self._starts = 0, [], None, []
        return self.state()

    def _divergence(self) -> dict:
        """Where the loss blew up, from the engine's graph of the loss at the last finite
        weights (the start of the latest epoch whose loss there is finite): the parameter with
        the largest derivative, and the path from the loss to it whose local derivatives
        multiply up to the most. ∂loss/∂p is the sum of such products over every path."""
        from .graph import topological_order
        from .viz import number_formatter
        write = number_formatter(".3g")
        parameters = self.model.parameters()
        for start in reversed(range(len(self._starts))):
            for p, data in zip(parameters, self._starts[start]):
                p.data = data
            self.model.zero_grad()
            loss = self._loss_value()
            if math.isfinite(loss.data):
                break
        loss.backward()
        worst = max(parameters, key=lambda p: abs(p.grad) if math.isfinite(p.grad) else 0.0)
        # the largest |product of local derivatives| from each node down to ``worst``
        best: dict = {}
        for node in topological_order(loss):  # parents first
            if node is worst:
                best[node] = (1.0, None)
                continue
            options = [(abs(local) * best[parent][0], parent, local)
                       for parent, local in zip(node.parents, node.local_grads)
                       if parent in best and local is not None]
            if options:
                size, parent, local = max(options, key=lambda option: option[0])
                best[node] = (size, (parent, local))
        path, node, product = [], loss, 1.0
        while best.get(node, (0.0, None))[1] is not None:
            parent, local = best[node][1]
            path.append({"from": "loss" if node is loss else _called(node),
                         "to": _called(parent), "local": _finite(local)})
            product *= local
            node = parent
        weights = [p.data for p in parameters]
        gradient = worst.grad
        self.model.zero_grad()
        chain = " × ".join(write(edge["local"]) for edge in path)
        text = (f"epoch {self.epoch}: the loss became inf or NaN, so training paused. At the "
                f"last finite weights (the ones epoch {start + 1} started from, loss "
                f"{write(loss.data)}) the largest derivative is ∂loss/∂{worst.label} = "
                f"{write(gradient)}, and a step moves {worst.label} by lr × that = "
                f"{write(self.lr * gradient)}. The path from the loss to it whose local "
                f"derivatives multiply up the most ({len(path)} edges): {chain} = "
                f"{write(product)}, {write(100 * product / gradient)}% of ∂loss/∂{worst.label} (the sum "
                f"over every path from the loss to {worst.label}). Lower "
                f"the learning rate, or rewind to the weights this run started from.")
        return {"text": text, "epoch": start + 1, "loss": loss.data, "parameter": worst.label,
                "gradient": _finite(gradient), "path": path, "product": _finite(product),
                "weights": weights}

    def _layers_over(self, point: list[float]) -> list[list[float]]:
        """Every layer's outputs at ``point``, by the model's own float path."""
        outputs, x = [], point
        for layer in self.model.layers:
            x = layer.predict(x)
            x = x if isinstance(x, list) else [x]
            outputs.append(x)
        return outputs

    def state(self) -> dict:
        """Epoch, loss, accuracy, the plane (output and every hidden neuron over a grid), the
        points and every parameter (by layer: weights then bias of each neuron)."""
        low, high = SPAN
        step = (high - low) / (GRID - 1)
        neurons = sum(self.hidden) + 1
        planes: list[list[float]] = [[] for _ in range(neurons)]
        for row in range(GRID):
            for column in range(GRID):
                point = [low + column * step, high - row * step]
                flat = [v for layer in self._layers_over(point) for v in layer]
                for k, v in enumerate(flat):
                    planes[k].append(v if math.isfinite(v) else 0.0)
        if not self.history:
            loss, accuracy = nn_evaluate(self)
        else:
            loss, accuracy = self.history[-1]
        layers = [[[_finite(p.data) for p in neuron.parameters()] for neuron in layer.neurons]
                  for layer in self.model.layers]
        return {"epoch": self.epoch, "loss": _finite(loss), "accuracy": accuracy,
                "diverged": self.diverged, "grid": GRID, "span": list(SPAN),
                "output": planes[-1], "tiles": planes[:-1], "sizes": [2] + self.hidden + [1],
                "parameters": layers, "points": self.X, "labels": list(self.y),
                "curve": [_finite(h[0]) for h in self.history[-200:]], "code": self.code()}

    def parameters(self) -> dict:
        """Every parameter with its value and the gradient of the last step; the loss and the
        update written out with the current numbers.

        >>> network = Network({"hidden": [2], "seed": 0, "batch": 0})
        >>> table = network.train(1) and network.parameters()
        >>> [row[0] for row in table["rows"]]
        ['w0[0,0]', 'w0[0,1]', 'b0[0]', 'w0[1,0]', 'w0[1,1]', 'b0[1]', 'w1[0,0]', 'w1[0,1]', 'b1[0]']
        """
        from .viz import number_formatter
        write = number_formatter(".4g")
        rows = [[p.label, _finite(p.data), _finite(p.grad)] for p in self.model.parameters()]
        terms = {"hinge": "relu(1 − y·out)", "bce": "softplus(out) − y·out",
                 "mse": "(out − y)²"}[self.loss]
        batch = "the batch" if self.batch_size else "all the points"
        loss = self.history[-1][0] if self.history else nn_evaluate(self)[0]
        penalty = f" + ({write(self.l2)}/2)·Σ w²" if self.l2 else ""
        lines = [f"loss = mean over {batch} of {terms}{penalty} = {write(loss)} (epoch "
                 f"{self.epoch}'s mean)"]
        bias = self.model.parameters()[-1]
        if self.optimizer_name == "sgd" and self.history:
            lines.append(f"each step: p ← p − lr · ∂loss/∂p; the last one for {bias.label}: "
                         f"{write(bias.data + self.lr * bias.grad)} − {write(self.lr)} × "
                         f"{write(bias.grad)} = {write(bias.data)}")
        elif self.history:
            lines.append(f"each step: Adam moves p by −lr · m̂/(√v̂ + ε) (lr = {write(self.lr)}); "
                         f"{bias.label} = {write(bias.data)}, its last gradient {write(bias.grad)}")
        return {"rows": rows, "lines": lines}

    def _loss_value(self):
        """The loss over every point (plus the L2 penalty) as a graph, for the checks."""
        import nn
        outputs = [self.model(x) for x in self.X]
        loss = nn.losses.get_loss(self.loss)(outputs, self._targets())
        return loss + nn.l2_penalty(self.model, self.l2) if self.l2 else loss

    def gradcheck(self, eps: float = 1e-6) -> dict:
        """Reverse mode against central differences, (L(p + eps) − L(p − eps)) / 2 eps, for the
        first weight and the bias of every layer, on the loss over every point.

        >>> rows = Network({"hidden": [3], "seed": 2, "points": 20}).gradcheck()["rows"]
        >>> [row[0] for row in rows], all(row[4] for row in rows)
        (['w0[0,0]', 'b0[0]', 'w1[0,0]', 'b1[0]'], True)
        """
        chosen = [p for layer in self.model.layers
                  for p in (layer.neurons[0].w[0], layer.neurons[0].b)]
        everything = self.model.parameters()
        last_step = [p.grad for p in everything]  # shown by parameters(): put back afterwards
        self.model.zero_grad()
        self._loss_value().backward()
        analytic = [p.grad for p in chosen]
        for p, grad in zip(everything, last_step):
            p.grad = grad
        rows = []
        for p, reverse in zip(chosen, analytic):
            kept = p.data
            p.data = kept + eps
            up = self._loss_value().data
            p.data = kept - eps
            down = self._loss_value().data
            p.data = kept
            numeric = (up - down) / (2 * eps)
            agree = math.isclose(reverse, numeric, rel_tol=1e-4, abs_tol=1e-6)
            rows.append([p.label, _finite(reverse), _finite(numeric),
                         _finite(abs(reverse - numeric)), agree])
        return {"rows": rows, "eps": eps}

    def point(self, index: int) -> dict:
        """Point ``index``'s forward pass, loss and backward pass, recorded step by step."""
        from . import Value
        from .trace import trace
        if isinstance(index, bool) or not isinstance(index, int) or \
                not 0 <= index < len(self.X):
            raise PlaygroundError(f"no data point {index!r}: there are {len(self.X)}")
        import nn
        x, target = self.X[index], self._targets()[index]
        with trace() as recording:
            inputs = [Value(x[0], label="x1"), Value(x[1], label="x2")]
            output = self.model(inputs)
            output.label = "out"
            loss = nn.losses.get_loss(self.loss)([output], [target])
            loss.label = "loss"
        self.model.zero_grad()
        recording.backward(loss)
        try:
            player = _player(recording, f"point {index}: its forward and backward pass")
        except ValueError as error:  # more nodes than a player lays out
            raise PlaygroundError(f"this network is too big to step through ({error}); use "
                                  f"fewer or narrower hidden layers") from None
        return {"x": x, "label": self.y[index], "loss": loss.data, "output": output.data,
                "player": player, "ledger": ledger(recording)}


def _called(node) -> str:
    """A node of the loss's graph by its label, else its op (``tanh``, ``*``)."""
    return node.label or node.op or "?"


def nn_evaluate(network: Network) -> tuple[float, float]:
    import nn
    from nn.train import binary_correct
    loss, accuracy = nn.evaluate(network.model, network.X, network._targets(),
                                 loss=network.loss, accuracy=binary_correct)
    return loss, accuracy


def _scaled(X: list) -> list[list[float]]:
    """The points centred and scaled to fit the plane, so every data set fills the same view."""
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    centre = [(min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2]
    half = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 or 1.0
    scale = 0.85 * SPAN[1] / half
    return [[round((a - centre[0]) * scale, 6), round((b - centre[1]) * scale, 6)] for a, b in X]


def _points_from_csv(text: str) -> tuple[list, list]:
    """Lines ``x, y, class`` (class 0 or 1; commas, semicolons or spaces between) -> X, y;
    scaled into the plane only when some point lies outside it.

    >>> _points_from_csv("0.5, 1, 1\\n-1 0 0")
    ([[0.5, 1.0], [-1.0, 0.0]], [1, 0])
    >>> _points_from_csv("0.5, 1, 2")
    Traceback (most recent call last):
    ...
    autograd_mini.playground.PlaygroundError: line 1: expected x, y, class (class 0 or 1), got '0.5, 1, 2'
    """
    X, y = [], []
    for number, line in enumerate(text.splitlines(), 1):
        fields = [f for f in re.split(r"[\s,;]+", line.strip()) if f]
        if not fields or fields[0].startswith("#"):
            continue
        try:
            x1, x2, label = (float(f) for f in fields) if len(fields) == 3 else (None, None, None)
        except ValueError:
            x1 = None
        if x1 is None or label not in (0.0, 1.0) or not math.isfinite(x1 + x2):
            raise PlaygroundError(f"line {number}: expected x, y, class (class 0 or 1), got "
                                  f"{line.strip()[:40]!r}")
        X.append([x1, x2])
        y.append(int(label))
    if len(set(y)) < 2:
        raise PlaygroundError("your points need at least one point of each class (0 and 1)")
    if len(X) > MAX_POINTS:
        raise PlaygroundError(f"at most {MAX_POINTS} points, got {len(X)}")
    low, high = SPAN
    if any(not low <= v <= high for point in X for v in point):
        X = _scaled(X)
    return X, y


_session: dict = {}


def call(name: str, arguments: str = "{}") -> str:
    """Run one request from the page; JSON in, JSON out (errors as ``{"error": line}``)."""
    from .expr import ExpressionError
    try:
        given = json.loads(arguments or "{}")
        if name == "options":
            result = options()
        elif name == "expression":
            result = expression(str(given.get("text", "")), str(given.get("values", "")),
                                str(given.get("forward", "") or ""))
        elif name == "reset":
            _session["network"] = Network(given.get("settings") or {})
            result = _session["network"].state()
        elif name in ("train", "state", "point", "parameters", "gradcheck", "rewind"):
            network = _session.get("network")
            if network is None:
                raise PlaygroundError("no network yet: reset first")
            result = (network.train(int(given.get("epochs", 1))) if name == "train" else
                      network.point(given.get("index")) if name == "point" else
                      getattr(network, name)())
        else:
            raise PlaygroundError(f"unknown request {name!r}")
    except (PlaygroundError, ExpressionError, ValueError, TypeError, OverflowError,
            RecursionError) as error:
        text = str(error).strip().splitlines()
        return json.dumps({"error": text[0] if text else type(error).__name__})
    return json.dumps(result, default=_plain)


def _plain(value):
    return float(value)


def _finite(number: float) -> float | None:
    """JSON has no inf or NaN: None stands for them (the page writes "diverged")."""
    return number if math.isfinite(number) else None
