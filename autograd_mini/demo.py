"""The demo: ``python -m autograd_mini.demo [output folder]``.

1. The graph e = (a+b)*(b+1) of C. Olah's "Calculus on Computational Graphs" (2015): values, the
   derivative on every edge, reverse mode (one pass, every input) and forward mode (one pass per
   input), drawn to SVG with a step-through player.
2. micrograd's demo, on this engine: an MLP(2, [16, 16, 1]) learns the two moons; its network is
   drawn layer by layer, and the run is written as a training page to step through in a browser.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from autograd_mini import Value, forward_derivative, trace


def seed_graph(folder: Path) -> None:
    print("1. The computational graph e = (a + b) * (b + 1), with a = 2 and b = 1")
    with trace() as recording:
        a = Value(2.0, label="a")
        b = Value(1.0, label="b")
        c = a + b; c.label = "c"
        d = b + 1; d.label = "d"
        e = c * d; e.label = "e"
    print(f"   values:      c = {c.data:g}, d = {d.data:g}, e = {e.data:g}")
    for node in (c, d, e):
        for parent, local in zip(node.parents, node.local_grads):
            if not parent.is_constant:  # the 1 of b + 1 is a number, not a node of the figure
                name = parent.label
                print(f"   edge {name} -> {node.label}:  d{node.label}/d{name} = {local:g}")
    recording.backward(e)
    print(f"   reverse mode, one pass:    de/da = {a.grad:g}, de/db = {b.grad:g}")
    print(f"   forward mode, two passes:  de/da = {forward_derivative(e, a):g}, "
          f"de/db = {forward_derivative(e, b):g}")
    for frame in recording.frames[5:-1]:  # the reverse pass (its summary said just above)
        print(f"     {frame.caption}")
    folder.mkdir(parents=True, exist_ok=True)
    from autograd_mini import save
    svg, html = folder / "graph.svg", folder / "steps.html"
    try:
        save(e, svg)
        print(f"   drew {svg}")
    except Exception as error:  # rendering is a bonus here: say why, keep going
        print(f"   (could not draw the graph: {error})")
    recording.to_html(html)
    print(f"   wrote {html}: open it in a browser and press the arrow keys")


def moons(folder: Path, steps: int = 100) -> None:
    import nn
    print(f"\n2. micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons, hinge loss + 1e-4 L2, {steps} steps")
    X, y = nn.datasets.make_moons(100, noise=0.1, seed=1)
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    print(f"   {model!r}")
    start = time.perf_counter()
    history = nn.fit(model, X, y, loss="hinge", l2=1e-4, epochs=steps, progress=False,
                     optimizer=nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, steps)), record=True,
                     live=False)
    seconds = time.perf_counter() - start
    for epoch in (0, steps // 4, steps // 2, steps - 1):
        print(f"   step {epoch:3d}: loss {history.loss[epoch]:.4f}, accuracy {history.accuracy[epoch]:.0%}")
    print(f"   {seconds / steps * 1000:.0f} ms per step (forward, backward and update of "
          f"{len(model.parameters())} parameters over 100 examples)")
    drawing, page = folder / "network.svg", folder / "training.html"
    try:
        x, target = least_sure_new_point(model)
        draw_one_point(model, x, target, drawing)
        print(f"   drew {drawing}: the network on the new point it is least sure of, each "
              f"neuron's value and gradient")
    except Exception as error:  # rendering is a bonus here: say why, keep going
        print(f"   (could not draw the network: {error})")
    nn.plot.training_page(model, X, y, history, page)
    print(f"   wrote {page}: move the slider over the epochs, click a point to see its network")


def least_sure_new_point(model, count: int = 50):
    """The point the network is least sure of (output nearest 0, the boundary) among moons it has
    not seen: on its training points the trained network's hinge loss is 0, and so is every
    gradient a picture would show."""
    import nn
    X, y = nn.datasets.make_moons(count, noise=0.1, seed=2)
    return min(zip(X, y), key=lambda point: abs(model(point[0]).data))


def _sign(y) -> float:
    return 1.0 if y > 0 else -1.0


def draw_one_point(model, x, y, path: Path) -> None:
    """The trained network on one point: its hinge loss, then backward, drawn layer by layer
    with each neuron's value and gradient, and the size of each layer's weight gradients."""
    from autograd_mini import save
    target = _sign(y)
    loss = (1.0 - target * model(x)).relu()
    loss.label = "loss"
    model.zero_grad()
    loss.backward()
    point = ", ".join(f"{v:.3g}" for v in x)
    save(loss, path, group="layer",
         title=f"the network on a new point ({point}), target {target:+g} (class "
               f"{int(target > 0)}, as on the training page): hinge loss {loss.data:.4g}, "
               f"after backward")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograd_mini.demo",
        description="Draw e = (a+b)*(b+1) with its derivatives and train micrograd's demo network.")
    parser.add_argument("folder", nargs="?", default="autograd_mini_demo",
                        help="where the drawings and pages go (default: %(default)s)")
    folder = Path(parser.parse_args(argv).folder)
    if folder.exists() and not folder.is_dir() or folder.is_symlink() and not folder.exists():
        parser.error(f"{folder} is not a folder: name a new folder or an existing one")
    seed_graph(folder)
    moons(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
