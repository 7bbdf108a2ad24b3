"""One engine's side of the benchmark, run as a subprocess by ``bench/run.py``.

``python bench/worker.py micrograd`` (inside micrograd's own virtual environment) or
``python bench/worker.py autograd_mini`` (with this repository importable). The worker reads one
JSON request per line on stdin and answers one JSON line on stdout; all timing happens in here,
so the pipe costs nothing that is measured. The same code drives both engines: only the
``Engine`` adapter differs. Standard library only (micrograd's environment has nothing else).
"""
from __future__ import annotations

import gc
import json
import math
import os
import platform
import random
import sys
import time
import timeit
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Every time below is this process's CPU time: the benchmark shares its cores with other work,
# whose turns on the CPU would otherwise count against whichever engine happened to be running.
# Both engines are single-threaded, so CPU time is the time a quiet machine would show.
cpu_time = time.process_time


# -- engines -----------------------------------------------------------------------------------

class Micrograd:
    """micrograd 0.1.0 as its demo notebook uses it."""

    name = "micrograd"

    def __init__(self) -> None:
        from importlib.metadata import version
        from micrograd.engine import Value
        from micrograd.nn import MLP
        self.Value, self._MLP = Value, MLP
        self.version = version("micrograd")
        self.model_kind = "micrograd.nn.MLP"
        # micrograd's backward is recursive (one Python frame per node of the longest path).
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 3_000_000))

    def mlp(self, nin, nouts):
        return self._MLP(nin, nouts)

    def total(self, terms):
        return sum(terms)  # what the demo does: a chain of + nodes

    def parents(self, node):
        return node._prev


class AutogradMini:
    """This repository's engine; ``nn.MLP`` if the nn package provides it, else a plain MLP."""

    name = "autograd_mini"

    def __init__(self) -> None:
        sys.path.insert(0, REPO)  # benchmark the working tree, not some installed copy
        import autograd_mini
        from autograd_mini import Value
        self.Value = Value
        self.version = f"{autograd_mini.__version__} (working tree)"
        try:
            import nn
            self._MLP = nn.MLP
            self.model_kind = "nn.MLP"
        except (ImportError, AttributeError):
            self._MLP = None
            self.model_kind = "plain MLP from Values in bench/worker.py (nn.MLP not available)"

    def mlp(self, nin, nouts):
        if self._MLP is not None:
            return self._MLP(nin, nouts)
        return PlainMLP(self.Value, nin, nouts)

    def total(self, terms):
        return self.Value.sum(terms)  # one n-ary node

    def parents(self, node):
        return node._parents


class PlainMLP:
    """micrograd's MLP (ReLU hidden layers, linear output) with one ``Value.sum`` node per neuron."""

    def __init__(self, Value, nin, nouts):
        sizes = [nin] + list(nouts)
        self.Value = Value
        self.layers = [[([Value(0.0) for _ in range(sizes[i])], Value(0.0)) for _ in range(sizes[i + 1])]
                       for i in range(len(nouts))]

    def __call__(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            out = [self.Value.sum([*(wi * xi for wi, xi in zip(w, x)), b]) for w, b in layer]
            x = out if i == last else [v.relu() for v in out]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for w, b in layer for p in (*w, b)]


def make_engine(name: str):
    return {"micrograd": Micrograd, "autograd_mini": AutogradMini}[name]()


# -- helpers -----------------------------------------------------------------------------------

class GCClock:
    """Adds up the time Python's cyclic garbage collector runs (gc.callbacks)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = 0
        self._start = 0.0

    def __call__(self, phase, info) -> None:
        if phase == "start":
            self._start = cpu_time()
        else:
            self.total += cpu_time() - self._start
            self.collections += 1

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def count_nodes(engine, root) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        for parent in engine.parents(stack.pop()):
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen)


# -- 1 and 2: micrograd's demo ---------------------------------------------------------------------

class Demo:
    """micrograd's demo.ipynb training loop, written the same way for both engines."""

    def __init__(self, engine, X, y, weights, sizes) -> None:
        self.engine = engine
        self.X, self.y = X, y
        self.model = engine.mlp(2, sizes)
        params = self.model.parameters()
        if len(params) != len(weights):
            raise ValueError(f"model has {len(params)} parameters, the shared init has {len(weights)}")
        for p, w in zip(params, weights):  # the same initial weights for both engines
            p.data = w
        self.params = params
        self.total_loss = None

    def loss(self):
        Value, total = self.engine.Value, self.engine.total
        inputs = [[Value(a), Value(b)] for a, b in self.X]
        scores = [self.model(x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(self.y, scores)]
        data_loss = total(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * total(p * p for p in self.params)
        accuracy = sum((yi > 0) == (si.data > 0) for yi, si in zip(self.y, scores)) / len(self.y)
        return data_loss + reg_loss, accuracy

    def describe(self) -> dict:
        """The loss before training and the size of one step's graph (not timed)."""
        loss, _ = self.loss()
        return {"initial_loss": loss.data, "nodes_per_step": count_nodes(self.engine, loss)}

    def evaluate(self) -> dict:
        loss, accuracy = self.loss()  # the graph dies on return: no live graph between requests
        return {"loss": loss.data, "accuracy": accuracy}

    def step(self, k: int, steps: int = 100):
        # As in the notebook, where `total_loss` is a global: the previous step's graph stays
        # alive until the next one is built.
        total_loss, accuracy = self.loss()
        self.total_loss = total_loss
        for p in self.params:  # model.zero_grad()
            p.grad = 0.0
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / steps
        for p in self.params:
            p.data -= learning_rate * p.grad
        return total_loss.data, accuracy


def timed_steps(demo: Demo, k0: int, count: int, gc_enabled: bool = True) -> dict:
    """``count`` training steps k0, k0+1, ...; time of each and time spent in the collector."""
    times, losses, accs = [], [], []
    was_enabled = gc.isenabled()
    if not gc_enabled:
        gc.disable()
    try:
        with GCClock() as clock:
            for k in range(k0, k0 + count):
                t0 = cpu_time()
                loss, acc = demo.step(k)
                times.append(cpu_time() - t0)
                losses.append(loss)
                accs.append(acc)
    finally:
        demo.total_loss = None  # no graph stays alive between requests (untimed)
        if was_enabled:
            gc.enable()
    if not gc_enabled:
        gc.collect()  # clean up after the untimed block (micrograd's cycles) before the next one
    return {"times": times, "gc_time": clock.total, "gc_collections": clock.collections,
            "losses": losses, "accuracies": accs}


# -- 3: a chain of N ops ------------------------------------------------------------------------------

W, B = 1.0 - 1e-7, 1e-7  # y -> y*W + B keeps y at 1.0 and every gradient far from 0


def build_chain(Value, n: int):
    w, b, y0 = Value(W), Value(B), Value(1.0)
    y = y0
    for _ in range(n // 2):
        y = y * w
        y = y + b
    return y, (y0, w, b)


def chain_time(engine, n: int, gc_enabled: bool = True) -> dict:
    gc.collect()  # the previous repetition's garbage is not this one's cost
    if not gc_enabled:
        gc.disable()
    try:
        t0 = cpu_time()
        y, (y0, w, b) = build_chain(engine.Value, n)
        t1 = cpu_time()
        y.backward()
        t2 = cpu_time()
    finally:
        gc.enable()
    check = [y.data, y0.grad, w.grad, b.grad]
    t3 = cpu_time()
    del y, y0, w, b
    t4 = cpu_time()
    return {"forward": t1 - t0, "backward": t2 - t1, "drop": t4 - t3, "check": check}


def chain_memory(engine, n: int, with_backward: bool = True) -> dict:
    """Bytes held per node (tracemalloc) and what is left after the graph is dropped.

    ``with_backward=False`` skips the backward pass: tracemalloc counts every frame on the stack
    at each allocation, so micrograd's recursive backward costs O(depth) per allocation under it
    (hours at 10^6 nodes).
    """
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y, leaves = build_chain(engine.Value, n)
        after_forward = tracemalloc.get_traced_memory()[0] - base
        after_backward = None
        if with_backward:
            y.backward()
            after_backward = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
        del y, leaves
        residue_dropped = tracemalloc.get_traced_memory()[0] - base
        collected = gc.collect()
        residue_collected = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return {"after_forward": after_forward, "after_backward": after_backward, "peak": peak,
            "residue_dropped": residue_dropped, "residue_collected": residue_collected,
            "collected_objects": collected}


# -- 4: one node creation ---------------------------------------------------------------------------

def node_creation(engine, number: int, repeat: int, gc_enabled: bool) -> dict:
    """Best and median nanoseconds of ``a * b`` (two Values) and of ``x * y`` (two floats)."""
    setup = "gc.enable()" if gc_enabled else "gc.disable()"  # timeit itself disables the collector
    env = {"a": engine.Value(1.5), "b": engine.Value(2.5), "x": 1.5, "y": 2.5, "gc": gc}
    result = {}
    for key, stmt in (("node", "a * b"), ("float", "x * y")):
        runs = timeit.repeat(stmt, setup, repeat=repeat, number=number, globals=env, timer=cpu_time)
        per_op = sorted(t / number * 1e9 for t in runs)
        result[key] = {"best": per_op[0], "median": per_op[len(per_op) // 2]}
    gc.enable()
    gc.collect()
    return result


# -- 6: fixed costs and a wide sum (issue 10) --------------------------------------------------------

def tiny_graphs(engine, n: int) -> dict:
    """``e = (a + b) * (b + 1)`` built and backpropagated ``n`` times in a plain loop, GC on."""
    Value = engine.Value
    gc.collect()
    with GCClock() as clock:
        t0 = cpu_time()
        for _ in range(n):
            a = Value(2.0)
            b = Value(1.0)
            e = (a + b) * (b + 1)
            e.backward()
        elapsed = cpu_time() - t0
    return {"time": elapsed, "gc_time": clock.total, "check": [e.data, a.grad, b.grad]}


def number_chain(engine, n: int) -> dict:
    """The peer benchmark: ``y = 0.001 + 1.0001 * y`` n times, then backward (numbers mixed in:
    micrograd makes a node of each). Time, the collector's share, and the nodes it made."""
    Value = engine.Value
    gc.collect()
    with GCClock() as clock:
        t0 = cpu_time()
        x = Value(1.0)
        y = x
        for _ in range(n):
            y = 0.001 + 1.0001 * y
        t1 = cpu_time()
        y.backward()
        t2 = cpu_time()
    check = [x.grad, 1.0001 ** n]
    del x, y
    gc.collect()
    return {"forward": t1 - t0, "backward": t2 - t1, "gc_time": clock.total, "check": check}


def number_chain_memory(engine, n: int, with_backward: bool = True) -> dict:
    """Bytes held (tracemalloc) after the forward pass of ``number_chain`` and at the peak
    through backward; objects the collector tracks per step."""
    Value = engine.Value
    gc.collect()
    tracked = len(gc.get_objects())
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        x = Value(1.0)
        y = x
        for _ in range(n):
            y = 0.001 + 1.0001 * y
        after_forward = tracemalloc.get_traced_memory()[0] - base
        tracked = (len(gc.get_objects()) - tracked) / n
        if with_backward:
            y.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
        del x, y
    finally:
        tracemalloc.stop()
    gc.collect()
    return {"after_forward": after_forward, "peak": peak if with_backward else None,
            "tracked_per_step": tracked}


def wide_sum(engine, n: int, seed: int, gc_enabled: bool = True) -> dict:
    """Sum of a_i * b_i over n pairs, added as a balanced tree of ``+`` nodes, then backward.
    ``gc_enabled=False``: the same inside ``gc.disable()`` (what ``collector_paused`` does)."""
    rng = random.Random(seed)
    Value = engine.Value
    a = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    b = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    gc.collect()  # the previous repetition's garbage is not this one's cost
    if not gc_enabled:
        gc.disable()
    with GCClock() as clock:
        t0 = cpu_time()
        terms = [x * y for x, y in zip(a, b)]
        while len(terms) > 1:
            pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
            if len(terms) % 2:
                pairs.append(terms[-1])
            terms = pairs
        total = terms[0]
        t1 = cpu_time()
        total.backward()
        t2 = cpu_time()
    gc.enable()
    # by hand: d total / d a_i = b_i
    check = [total.data, a[0].grad - b[0].data, a[-1].grad - b[-1].data]
    return {"forward": t1 - t0, "backward": t2 - t1, "gc_time": clock.total, "check": check}


# -- 5: compiled (issue 6) -------------------------------------------------------------------------

def compiled_available() -> str:
    """"" if ``autograd_mini.compile`` can be imported, else why not."""
    try:
        import importlib
        importlib.import_module("autograd_mini.compile")
        return ""
    except Exception as exc:  # not written yet, or broken: the benchmark says which
        return f"{type(exc).__name__}: {exc}"


def float_chain(n: int, repeat: int) -> list[float]:
    """The chain's arithmetic on plain floats: the floor for any engine."""
    times = []
    for _ in range(repeat):
        t0 = cpu_time()
        y = 1.0
        for _ in range(n // 2):
            y = y * W
            y = y + B
        times.append(cpu_time() - t0)
    return times


def compiled_chain(engine, n: int, repeat: int) -> dict:
    """One compiled call of an n-node graph: time per node (forward, and value_and_grad)."""
    from autograd_mini import compile as ag_compile

    def chain(y0, w, b):
        y = y0
        for _ in range(n // 2):
            y = y * w
            y = y + b
        return y

    f = ag_compile(chain)
    t0 = cpu_time()
    first = f(1.0, W, B)  # traces
    trace_time = cpu_time() - t0
    t0 = cpu_time()
    f.value_and_grad(1.0, W, B)  # the first gradient call writes the reverse program
    first_grad_time = cpu_time() - t0
    calls, grads = [], []
    for _ in range(repeat):
        t0 = cpu_time()
        value = f(1.0, W, B)
        calls.append(cpu_time() - t0)
        t0 = cpu_time()
        value2, g = f.value_and_grad(1.0, W, B)
        grads.append(cpu_time() - t0)
    return {"trace": trace_time, "first_grad": first_grad_time, "call": calls, "value_and_grad": grads,
            "check": [value, *list(g)], "first": first}


# -- the request loop --------------------------------------------------------------------------------

def info(engine) -> dict:
    return {"engine": engine.name, "version": engine.version, "model": engine.model_kind,
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "executable": sys.executable, "gc_threshold": list(gc.get_threshold()),
            "compiled": compiled_available() if engine.name == "autograd_mini" else "n/a"}


def serve(engine_name: str) -> None:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # anything an engine prints must not corrupt the protocol
    engine = make_engine(engine_name)
    demo = None
    for line in sys.stdin:
        request = json.loads(line)
        command = request.pop("command")
        try:
            if command == "info":
                answer = info(engine)
            elif command == "demo_init":
                demo = Demo(engine, request["X"], request["y"], request["weights"], request["sizes"])
                answer = demo.describe()
            elif command == "demo_steps":
                answer = timed_steps(demo, request["k0"], request["count"], request.get("gc", True))
            elif command == "demo_accuracy":
                answer = demo.evaluate()
            elif command == "chain_time":
                answer = chain_time(engine, request["n"], request.get("gc", True))
            elif command == "chain_memory":
                answer = chain_memory(engine, request["n"], request.get("with_backward", True))
            elif command == "node_creation":
                answer = node_creation(engine, request["number"], request["repeat"], request["gc"])
            elif command == "compiled_chain":
                answer = compiled_chain(engine, request["n"], request["repeat"])
            elif command == "compiled_demo":
                answer = compiled_demo(engine, request["X"], request["y"], request["weights"],
                                       request["sizes"], request["steps"], request.get("timed_steps", 0))
            elif command == "compiled_step_demo":
                answer = compiled_step_demo(engine, request["X"], request["y"], request["weights"],
                                            request["sizes"], request["steps"])
            elif command == "tiny_graphs":
                answer = tiny_graphs(engine, request["n"])
            elif command == "number_chain":
                answer = number_chain(engine, request["n"])
            elif command == "number_chain_memory":
                answer = number_chain_memory(engine, request["n"])
            elif command == "wide_sum":
                answer = wide_sum(engine, request["n"], request["seed"], request.get("gc", True))
            elif command == "float_chain":
                answer = {"times": float_chain(request["n"], request["repeat"])}
            elif command == "quit":
                break
            else:
                raise ValueError(f"unknown command {command!r}")
            reply = {"ok": True, **answer}
        except Exception as exc:  # report it to the parent, which decides; keep serving
            import traceback
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc()}
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()



def demo_loss_function(Value, X, y, sizes):
    """micrograd's demo loss as a function of the flat parameter list (for autograd_mini.compile)."""
    dims = [2] + list(sizes)

    def loss(*params):
        k = 0
        layers = []
        for i in range(len(sizes)):
            layer = []
            for _ in range(dims[i + 1]):
                layer.append((params[k:k + dims[i]], params[k + dims[i]]))
                k += dims[i] + 1
            layers.append(layer)
        losses = []
        for (a, b), yi in zip(X, y):
            x = [a, b]
            for i, layer in enumerate(layers):
                out = [Value.sum([*(wi * xi for wi, xi in zip(w, x)), bias]) for w, bias in layer]
                x = out if i == len(layers) - 1 else [v.relu() for v in out]
            losses.append((1 + -yi * x[0]).relu())
        data_loss = Value.sum(losses) * (1.0 / len(losses))
        return data_loss + 1e-4 * Value.sum(p * p for p in params)

    return loss


def compiled_demo(engine, X, y, weights, sizes, steps: int, timed_steps: int = 0) -> dict:
    """micrograd's demo with a compiled value_and_grad of the loss; accuracy checked eagerly."""
    from autograd_mini import compile as ag_compile
    f = ag_compile(demo_loss_function(engine.Value, X, y, sizes))
    params = list(weights)
    t0 = cpu_time()
    f.value_and_grad(*params)  # the first call traces
    trace_time = cpu_time() - t0
    times, losses = [], []
    for k in range(steps):
        t0 = cpu_time()
        loss, grads = f.value_and_grad(*params)
        learning_rate = 1.0 - 0.9 * k / 100
        params = [p - learning_rate * g for p, g in zip(params, grads)]
        times.append(cpu_time() - t0)
        losses.append(loss)
    demo = Demo(engine, X, y, params, sizes)  # the eager engine judges the trained weights
    return {"trace": trace_time, "times": times[:timed_steps] if timed_steps else times,
            "losses": losses, **demo.evaluate()}


def compiled_step_demo(engine, X, y, weights, sizes, steps: int) -> dict:
    """micrograd's demo with nn's compiled training step (whole batch at once, NumPy if present).

    nn's L2 leaves biases alone: l2=2e-4 gives micrograd's 1e-4 * sum(w * w) over the weights.
    """
    import nn
    from nn.compiled import CompiledStep
    model = nn.MLP(2, sizes)
    params = model.parameters()
    for p, w in zip(params, weights):
        p.data = w
    step = CompiledStep(model, "hinge", l2=2e-4)
    times, losses = [], []
    for k in range(steps):
        t0 = cpu_time()
        loss, grads, outputs = step(X, y)  # the first call traces, the second compiles the loss
        learning_rate = 1.0 - 0.9 * k / 100
        for p, g in zip(params, grads):
            p.data -= learning_rate * g
        times.append(cpu_time() - t0)
        losses.append(loss)
    demo = Demo(engine, X, y, [p.data for p in params], sizes)  # the eager engine judges
    return {"times": times, "losses": losses, "backend": "numpy" if step.np is not None else "float",
            **demo.evaluate()}


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("micrograd", "autograd_mini"):
        sys.exit("usage: worker.py micrograd|autograd_mini")
    serve(sys.argv[1])
