"""``autograd-mini train``: train an MLP on a 2-D data set from the command line, plot it, save it.

``autograd_mini/cli.py`` calls ``register(subparsers)``; ``python -m nn.cli train ...`` works too.
"""
from __future__ import annotations

import argparse
import inspect
import math
import os
import sys
import time

from autograd_mini.cli import Parser, positive_int

EXAMPLES = """\
examples:
  autograd-mini train moons --epochs 100 --plot boundary.png
  autograd-mini train spirals --optimizer adam --batch-size 10 --epochs 30 --plot spirals.png
  autograd-mini train circles --loss bce --batch-size 16 --save circles.json
  autograd-mini train moons --page training.html

Defaults follow micrograd's demo: MLP(2, [16, 16, 1]) with ReLU, hinge loss + L2, SGD with the
learning rate falling linearly from --lr to a tenth of it, full batch, 100 points, noise 0.1.
spirals defaults to cross-entropy with one output per class."""

BINARY = {"hinge", "bce"}


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _sizes(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):  # "4,,4" or "4,": a size left out is a typo, not a smaller network
        raise argparse.ArgumentTypeError(f"expected hidden layer sizes like 16,16 (positive "
                                         f"integers separated by single commas), got {text!r}")
    return [positive_int(part) for part in parts]


def _outside_domain(activation: str) -> str | None:
    """Where the activation's row of the op table gives no finite number for a finite input
    (``log(-2.0) = nan``), read from the row's own value and derivative rules; ``None`` when
    both are finite at every point tried, as for an op defined on all reals."""
    from autograd_mini.ops import OPS
    op = OPS.get(activation)
    if op is None or op.arity != 1:
        return None
    for x in (-2.0, -0.5, 0.0, 0.5, 2.0):
        try:
            out = op.value(x)
            slopes = op.derivative(out, x)
        except (ArithmeticError, ValueError):
            return f"{activation}({x}) fails"
        if not all(math.isfinite(v) for v in (out, *slopes)):
            return f"{activation}({x}) = {out}"
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .datasets import DATASETS
    from .layers import ACTIVATIONS
    from .losses import LOSSES
    parser.add_argument("dataset", choices=sorted(DATASETS), help="the data set to learn")
    data = parser.add_argument_group("data")
    data.add_argument("--samples", type=positive_int, default=None, metavar="N",
                      help="number of points (default 100; spirals 150)")
    data.add_argument("--noise", type=_non_negative, default=None, metavar="X",
                      help="noise level (default: moons 0.1, circles 0.05, xor 0, spirals 0.2)")
    data.add_argument("--classes", type=positive_int, default=3, metavar="K",
                      help="spirals: number of arms/classes (default %(default)s)")
    data.add_argument("--seed", type=int, default=0,
                      help="seed for the data, the weights and the shuffling (default %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--hidden", type=_sizes, default=[16, 16], metavar="SIZES",
                       help="hidden layer sizes, comma-separated (default 16,16)")
    model.add_argument("--activation", choices=[a for a in ACTIVATIONS.names() if a != "linear"],
                       default="relu", metavar="NAME",
                       help="hidden activation: any one-operand op of the table (default %(default)s; "
                            "%(choices)s)")
    train = parser.add_argument_group("training")
    train.add_argument("--loss", choices=sorted(LOSSES), default=None,
                       help="the loss to minimise (default: hinge; cross_entropy for spirals)")
    train.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                       help="sgd (with --momentum) or adam (default %(default)s)")
    train.add_argument("--lr", type=_positive, default=None,
                       help="learning rate (default: sgd 1.0, adam 0.02)")
    train.add_argument("--schedule", choices=["linear", "constant", "cosine"], default=None,
                       help="learning-rate schedule over the run (default: linear for sgd, "
                            "constant for adam)")
    train.add_argument("--momentum", type=_non_negative, default=0.0,
                       help="sgd momentum (default %(default)g)")
    train.add_argument("--l2", type=_non_negative, default=1e-4, metavar="LAMBDA",
                       help="weight decay: adds (lambda/2) * sum of squared weights (default %(default)g)")
    train.add_argument("--epochs", type=positive_int, default=100,
                       help="passes over the data (default %(default)s)")
    train.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                       help="examples per step (default: all of them)")
    train.add_argument("--compile", action="store_true",
                       help="run the steps as a compiled program (needs nn.compiled)")
    out = parser.add_argument_group("output")
    out.add_argument("--plot", metavar="PNG", help="save the decision boundary and the curves")
    out.add_argument("--save", metavar="JSON", help="save the trained model (nn.load reads it)")
    out.add_argument("--page", metavar="HTML",
                     help="write a training page: the run epoch by epoch in a browser "
                          "(boundary, curves, parameters, the network for a point)")
    out.add_argument("--force", action="store_true",
                     help="write over --save, --plot and --page files even if read-only (as cp -f)")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="show a progress bar (default: when the output is a terminal)")
    out.add_argument("--quiet", action="store_true", help="print only the final result")


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an argparse ``subparsers`` object; returns its parser.

    The parser's defaults hold ``func=run``: call ``args.func(args)``, which returns the exit code.
    """
    parser = subparsers.add_parser(
        "train", help="train a small neural network on a 2-D data set",
        description="Train an MLP made of autograd_mini Values on a 2-D data set.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _writable(path: str, what: str, force: bool) -> None:
    """Fail now, not after training, if ``path`` cannot be written (kind, directory, rights)."""
    from autograd_mini.files import check_writable
    try:
        check_writable(path, force=force)
    except OSError as error:
        detail = str(error).split(": ", 1)[-1]
        raise type(error)(f"cannot write the {what} to {path}: {detail}") from None


def _plot_format(path: str) -> None:
    """The plot's format, from its suffix, must be one matplotlib writes."""
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in formats:
        others = ", ".join("." + f for f in sorted(formats) if f not in ("png", "svg", "pdf"))
        raise ValueError(f"cannot tell how to write the plot {path}: name it .png, .svg or .pdf "
                         f"(or {others})")


class DivergedError(ArithmeticError):
    """Training ended with a loss or weights that are not finite numbers."""


def run(args: argparse.Namespace) -> int:
    """Train as ``args`` says; print one-line errors (no traceback); return the exit code."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("autograd-mini train: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError, NotImplementedError,
            DivergedError) as error:
        print(f"autograd-mini train: error: {error}", file=sys.stderr)
        return 1


def _run(args) -> int:
    import nn

    say = (lambda *a: None) if args.quiet else (lambda text: print(text, flush=True))
    # check what can be checked before spending time on training
    if args.plot:
        nn.plot._matplotlib()
        _plot_format(args.plot)
        _writable(args.plot, "plot", args.force)
    if args.save:
        _writable(args.save, "model", args.force)
    outputs = [os.path.abspath(p) for p in (args.plot, args.save, args.page) if p]
    if len(set(outputs)) < len(outputs):
        raise ValueError("--plot, --save and --page name the same file: give each its own")
    if args.page:
        _writable(args.page, "training page", args.force)
    spirals = args.dataset == "spirals"
    loss = args.loss or ("cross_entropy" if spirals else "hinge")
    n_classes = args.classes if spirals else 2
    if spirals and args.classes < 2:
        raise ValueError("--classes must be at least 2")
    if loss in BINARY and n_classes != 2:
        raise ValueError(f"the {loss} loss separates 2 classes, but spirals has {n_classes}; "
                         "use --loss cross_entropy")
    if loss == "mse":
        raise ValueError("--loss mse is for regression; for these classification data sets use "
                         "hinge, bce or cross_entropy")

    options = {"seed": args.seed}
    if args.samples is not None:
        options["n_samples"] = args.samples
    if args.noise is not None:
        options["noise"] = args.noise
    if spirals:
        options["n_classes"] = n_classes
    X, y = nn.datasets.load(args.dataset, **options)
    n_outputs = n_classes if loss == "cross_entropy" else 1
    model = nn.MLP(2, args.hidden + [n_outputs], activation=args.activation, seed=args.seed)

    steps_per_epoch = 1 if args.batch_size is None else -(-len(X) // args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    schedule = args.schedule or ("linear" if args.optimizer == "sgd" else "constant")
    lr = args.lr or (1.0 if args.optimizer == "sgd" else 0.02)
    if schedule == "linear":
        lr = nn.linear_decay(lr, lr / 10, total_steps)
    elif schedule == "cosine":
        lr = nn.cosine_decay(lr, lr / 10, total_steps)
    if args.optimizer == "sgd":
        optimizer = nn.SGD(model, lr=lr, momentum=args.momentum)
    else:
        optimizer = nn.Adam(model, lr=lr)

    make = nn.datasets.DATASETS[args.dataset]
    noise = options.get("noise", inspect.signature(make).parameters["noise"].default)
    described = f"{len(X)} points, {n_classes} classes"
    say(f"data   {args.dataset}: {described} (seed {args.seed}"
        + (f", noise {noise}" if noise is not None else "") + ")")
    say(f"model  {model!r}")
    batch = "full batch" if args.batch_size is None else f"batches of {args.batch_size}"
    penalty = f" + L2 {args.l2:g}" if args.l2 else ""
    say(f"train  {loss} loss{penalty}, {optimizer!r}, {batch}, {args.epochs} epochs")

    progress = args.progress
    if progress is None:
        progress = not args.quiet and sys.stderr.isatty()
    every = max(1, args.epochs // 10)

    def report(epoch: int, history) -> bool:
        if not progress and (epoch == 0 or (epoch + 1) % every == 0):
            text = f"epoch  {epoch + 1:>{len(str(args.epochs))}}  loss {history.loss[-1]:.4f}"
            if history.accuracy:
                text += f"  accuracy {history.accuracy[-1]:.1%}"
            say(text)
        if not math.isfinite(history.loss[-1]):  # diverged: more epochs cannot bring it back
            print(f"autograd-mini train: warning: the loss is {history.loss[-1]} after epoch "
                  f"{epoch + 1}; stopping", file=sys.stderr, flush=True)
            return True
        return False

    started = time.perf_counter()
    history = nn.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=args.epochs,
                     batch_size=args.batch_size, seed=args.seed, l2=args.l2, progress=progress,
                     callback=report, compile=args.compile, record=bool(args.page))
    seconds = time.perf_counter() - started
    final_loss, final_accuracy = nn.evaluate(model, X, y, loss=loss)
    ran = history.epochs
    stopped = f", stopped after {ran} of {args.epochs} epochs" if ran < args.epochs else ""
    print(f"done   {ran} epoch{'' if ran == 1 else 's'} in {seconds:.1f} s: training loss "
          f"{final_loss:.4f}, accuracy {final_accuracy:.1%} (after the last step{stopped})",
          flush=True)
    bad = sum(not math.isfinite(p.data) for p in model.parameters())
    if bad or not math.isfinite(final_loss):
        # a nan model is of no use, and a saved one would look like a result: say so, exit 1
        skipped = " ".join(f"--{name} {getattr(args, name)}" for name in ("save", "plot", "page")
                           if getattr(args, name))
        first = next((i + 1 for i, value in enumerate(history.loss)
                      if not math.isfinite(value)), None)
        when = (f"the loss became {history.loss[first - 1]} at epoch {first}" if first
                else f"the loss is {final_loss} after the last step")
        weights = f", and {bad} of {model.num_parameters()} weights are not finite numbers" \
            if bad else ""
        outside = _outside_domain(args.activation)
        cause = (f"likely cause: an input of {args.activation} left its domain ({outside}); try "
                 f"an --activation defined for every number, e.g. tanh" if outside
                 else "likely cause: too large a learning rate; try a smaller --lr")
        raise DivergedError(f"training diverged: {when}{weights}; {cause}"
                            + (f" (nothing written: {skipped})" if skipped else ""))
    if args.save:  # first: a plot that fails must not lose the trained model
        model.save(args.save, force=args.force)
        say(f"saved  {args.save}")
    if args.plot:
        nn.plot.training_report(model, X, y, history, args.plot,
                                title=f"{args.dataset}: {model!r}", force=args.force)
        say(f"plot   {args.plot}")
    if args.page:
        nn.plot.training_page(model, X, y, history, args.page,
                              title=f"{args.dataset}: {model!r}", force=args.force)
        say(f"page   {args.page} (open it in a browser)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m nn.cli train moons ...``: the same subcommand without the rest of the CLI."""
    parser = Parser(prog="autograd-mini")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
