"""The ``autograd-mini`` command (also ``python -m autograd_mini``).

``autograd-mini graph "(a+b)*(b+1)" a=2 b=1 -o e.svg`` computes the values, runs backward and
draws the graph; ``--steps -o e.html`` writes the step-through player; ``--format dot`` prints
DOT; without ``-o`` it prints the values and derivatives.

Other packages add subcommands through the entry-point group ``autograd_mini.commands``: each
entry names a function ``register(subparsers)`` (in pyproject.toml:
``[project.entry-points."autograd_mini.commands"] train = "nn.cli:register"``), called with the
``argparse`` subparsers; the parser it adds names the function to run with
``set_defaults(run=function)`` (``func=`` works too), which gets the parsed arguments and returns
an exit code (``None`` counts as 0). An entry that fails to load or register is reported in one
line, and the other commands still work.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from importlib.metadata import entry_points
from typing import Sequence

from .ops import OPS

PROG = "autograd-mini"
COMMANDS = "autograd_mini.commands"  # the entry-point group of subcommands (train, run, ...)
FORMATS = ("text", "svg", "png", "dot", "html")
SUFFIXES = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".html": "html",
            ".htm": "html", ".txt": "text"}


class UsageError(ValueError):
    """A bad command line: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line and a hint, not the usage block.

    Subcommands' parsers are of this class too (argparse makes them of the parent's class).
    """

    parsing_graph = False  # set by main: an unknown "-..." is then likely an expression

    def error(self, message: str):
        if self.parsing_graph and message.startswith("unrecognized arguments: -") \
                and not message.startswith("unrecognized arguments: --"):
            message += f'; an expression starting with - goes after --: {PROG} graph -- "-a*b" a=1 b=2'
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


MAIN_EXAMPLES = f"""\
examples:
  {PROG} graph "(a+b)*(b+1)" a=2 b=1                 values and derivatives
  {PROG} graph "(a+b)*(b+1)" a=2 b=1 -o e.svg        the graph, edges labelled with d child/d parent
  {PROG} graph "c=a+b; d=b+1; e=c*d" a=2 b=1 --steps -o steps.html
                                                          a step-through player (one HTML file)

Run `{PROG} COMMAND --help` for a command's options.
"""

# the functions an expression may call: every row of the op table, listed from the table
_TABLE_FUNCTIONS = textwrap.fill(" ".join(sorted(OPS)), 88, initial_indent=" " * 26,
                                 subsequent_indent="").strip()

GRAPH_EXAMPLES = f"""\
examples:
  {PROG} graph "(a+b)*(b+1)" a=2 b=1
  {PROG} graph "(a+b)*(b+1)" a=2 b=1 -o e.svg
  {PROG} graph "c = a + b; d = b + 1; e = c * d" a=2 b=1 -o e.png --rankdir BT
  {PROG} graph "c = a + b; d = b + 1; e = c * d" a=2 b=1 --steps -o steps.html
  {PROG} graph "tanh(w*x + b)" w=0.5 x=2 b=0 --format dot
  {PROG} graph "(a+b)*(b+1)" a=2 b=1 --format svg -o - > e.svg

The expression may use numbers, names, + - * / ** (unary - too), the engine's functions
(the op table's rows: {_TABLE_FUNCTIONS}), and
`name = expression` statements separated by `;`, which name the intermediate nodes. It is
checked against that list and never run as Python. An expression starting with `-` goes after
`--`: {PROG} graph -- "-a*b" a=1 b=2
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with the plugins' subcommands added."""
    from . import __version__
    parser = Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=MAIN_EXAMPLES,
        description="A scalar automatic-differentiation engine whose graphs you can see.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    graph = commands.add_parser(
        "graph", help="compute an expression, run backward, draw its graph",
        description="Compute an expression, run backward, and print the derivatives or draw "
                    "the graph (every edge labelled with its local derivative).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=GRAPH_EXAMPLES)
    graph.add_argument("expression", help='e.g. "(a+b)*(b+1)"')
    graph.add_argument("values", nargs="*", metavar="NAME=VALUE",
                       help="a value for each input, e.g. a=2 b=1")
    graph.add_argument("-o", "--output", metavar="PATH",
                       help="write to PATH (.svg .png .dot .html); - for standard output")
    graph.add_argument("--force", action="store_true",
                       help="write over PATH even if it is read-only (as cp -f)")
    graph.add_argument("--format", choices=FORMATS,
                       help="what to write (default: from the suffix of -o; text without -o)")
    graph.add_argument("--steps", action="store_true",
                       help="write the step-through player (HTML): building, then backward")
    graph.add_argument("--forward", metavar="NAME",
                       help="with --steps: also record forward mode from the input NAME")
    graph.add_argument("--rankdir", choices=("LR", "BT", "TB", "RL"), default="LR",
                       help="direction of the drawing: LR left to right (default), BT bottom up")
    graph.add_argument("--number-format", type=number_format, default=".4g", metavar="SPEC",
                       help="Python format spec for the numbers (default .4g; e.g. .3f)")
    graph.add_argument("--hide-constants", action="store_true",
                       help="leave out the numbers mixed into the expression (the 1 in b+1)")
    graph.add_argument("--backend", choices=("auto", "dot", "wasm"), default="auto",
                       help="Graphviz to use: system dot, embedded WebAssembly, or auto "
                            "(dot when installed)")
    graph.add_argument("--max-nodes", type=positive_int, default=None, metavar="N",
                       help="draw at most N nodes (default 200); larger graphs are cut "
                            "near the output")
    graph.set_defaults(run=run_graph)

    site = commands.add_parser(
        "site", help="write the static web site with the playground (the engine in a browser)",
        description="Write a static web site into DIR: DIR/playground/index.html runs this "
                    "engine in the browser (Pyodide), with everything it needs copied in.")
    site.add_argument("directory", metavar="DIR", help="a new or empty directory (or a site "
                                                        "written before, to update it)")
    site.add_argument("--web", metavar="DIR", help="where package.json and its lock file are "
                                                   "(default: the source checkout's web/)")
    site.set_defaults(run=run_site)

    _add_plugins(commands)
    return parser


def positive_int(text: str) -> int:
    """An argparse type for subcommands (nn's train uses it too): a whole number >= 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return number


MAX_FORMAT_WIDTH = 100  # characters of one number: width and precision beyond it are mistakes


def number_format(spec: str) -> str:
    """An argparse type: a float format spec such as ``.4g`` or ``.3f``, with a sane size.

    >>> number_format(".3f")
    '.3f'
    >>> number_format("999999f")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 999999f asks for numbers 999,999 characters wide; at most 100
    """
    for digits in re.findall(r"\d+", spec):
        if int(digits) > MAX_FORMAT_WIDTH:
            raise argparse.ArgumentTypeError(
                f"{spec} asks for numbers {int(digits):,} characters wide; at most "
                f"{MAX_FORMAT_WIDTH}")
    try:
        format(1.5, spec)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a float format spec such as .4g or .3f, "
                                         f"got {spec!r}") from None
    return spec


def _add_plugins(commands) -> None:
    for entry in entry_points(group=COMMANDS):
        try:
            register = entry.load()
        except Exception as error:  # a broken plugin must not take the other commands down
            _warn(f"{entry.value} could not be loaded ({type(error).__name__}: {error}); the "
                  f"{entry.name} command is unavailable")
            continue
        try:
            register(commands)
        except Exception as error:
            _warn(f"{entry.value} failed ({type(error).__name__}: {error})")


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


# -- graph -----------------------------------------------------------------------------------------


def parse_values(items: Sequence[str]) -> dict[str, float]:
    """``["a=2", "b=-1.5"]`` -> ``{"a": 2.0, "b": -1.5}``, with one-line errors.

    Names are NFKC-normalised, as in the expression (``ﬁ=2`` is a value for ``fi``).

    >>> parse_values(["a=2", "b=-1.5", "ﬁ=3"])
    {'a': 2.0, 'b': -1.5, 'fi': 3.0}
    """
    from .expr import normalize_name
    values: dict[str, float] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not equals or not name:
            raise UsageError(f"expected NAME=VALUE (like a=2), got {item!r}")
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not a name (in {item!r}); names look like a, x1, w_2")
        name = normalize_name(name)  # as Python reads the same name in the expression
        if name in values:
            raise UsageError(f"{name} is given twice")
        try:
            values[name] = float(text)
        except ValueError:
            raise UsageError(f"the value of {name} must be a number, got {text!r}") from None
    return values


def _choose_format(args) -> str:
    if args.output == "":  # "" is no file name: ignoring it would print where a file was asked for
        raise UsageError("-o/--output is empty: name a file (.svg, .png, .dot or .html), "
                         "or - for standard output")
    from_suffix = None
    if args.output and args.output != "-":
        suffix = os.path.splitext(args.output)[1].lower()
        from_suffix = SUFFIXES.get(suffix)
        if from_suffix is None and not args.format:
            raise UsageError(f"cannot tell the format from {args.output!r}: name it .svg, .png, "
                             f".dot or .html, or give --format")
    if args.format and from_suffix and args.format != from_suffix:
        raise UsageError(f"-o {args.output} looks like {from_suffix}, but --format is "
                         f"{args.format}")
    chosen = args.format or from_suffix or ("html" if args.steps else
                                            "svg" if args.output == "-" else "text")
    if args.steps and chosen != "html":
        raise UsageError("--steps writes an HTML player: use -o NAME.html (or --format html)")
    if args.forward and chosen != "html":
        raise UsageError("--forward goes with --steps (it records forward mode in the player)")
    return chosen


def run_graph(args) -> int:
    from .expr import parse
    from .viz import number_formatter
    chosen = _choose_format(args)
    write = number_formatter(args.number_format)  # checks the spec before any work
    if args.output and args.output != "-":
        from .files import check_writable
        check_writable(args.output, force=args.force)  # before the work: a bad path fails at once
    expression = parse(args.expression)
    values = parse_values(args.values)
    unused = [name for name in values if name not in expression.inputs]
    if unused:
        _warn(f"not in the expression, ignored: {', '.join(unused)}")
    if args.forward and args.forward not in expression.inputs:
        raise UsageError(f"--forward {args.forward}: not an input of the expression (inputs: "
                         f"{', '.join(expression.inputs) or 'none'})")
    options = {"rankdir": args.rankdir, "number_format": args.number_format,
               "hide_constants": args.hide_constants}

    if chosen == "html":
        if args.output is None:  # a page of HTML is not for the terminal: steps.html, said so
            args.output = _default_player_path()
        from .trace import trace
        with trace(args.number_format) as recording:
            built = expression.evaluate(values)
        recording.backward(built.output)
        if args.forward:
            recording.forward(built.output, built.inputs[args.forward])
        if args.max_nodes:
            options["max_nodes"] = args.max_nodes
        page = recording.to_html(None, backend=args.backend, **options)
        return _emit(args, page.encode("utf-8"), f"{len(recording.frames)} steps")

    built = expression.evaluate(values)
    built.output.backward()
    if chosen == "text":
        return _emit(args, _summary(expression.text, built, write).encode("utf-8"), "")

    from . import viz
    if args.max_nodes:
        options["max_nodes"] = args.max_nodes
    drawing = viz.to_dot(built.output, **options)
    if chosen == "dot":
        data, used = drawing.source.encode("utf-8"), ""
    else:
        data, used = viz._render(drawing.source, chosen, args.backend)
    if chosen == "png" and args.output in (None, "-") and sys.stdout.isatty():
        raise UsageError("not writing PNG to a terminal: give -o NAME.png")
    cut = (f", {drawing.nodes_drawn} of {drawing.nodes_total} nodes drawn"
           if drawing.nodes_drawn < drawing.nodes_total else f", {drawing.nodes_drawn} nodes")
    return _emit(args, data, (f"Graphviz: {used}" if used else "DOT") + cut)


DEFAULT_PLAYER = "steps.html"


def _default_player_path() -> str:
    """Where ``--steps`` without ``-o`` writes: steps.html, never over a file already there."""
    if os.path.lexists(DEFAULT_PLAYER):
        raise UsageError(f"--steps without -o writes {DEFAULT_PLAYER}, which already exists "
                         f"here: give -o NAME.html (or -o - to print the page)")
    return DEFAULT_PLAYER


def _emit(args, data: bytes, note: str) -> int:
    if args.output and args.output != "-":
        from .files import write_atomic
        write_atomic(args.output, data, force=args.force)
        print(f"wrote {args.output}" + (f" ({note})" if note else ""), file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def _summary(text: str, built, write) -> str:
    """The values, then d output / d every named node, as plain text."""
    output = built.output
    name = output.label or "out"
    lines = [f"{name} = {write(output.data)}" if output.label else
             f"out = {' '.join(text.split())} = {write(output.data)}"]
    rows = [(key, node) for key, node in built.named.items() if node is not output]
    width = max((len(f"{key} = {write(node.data)}") for key, node in rows), default=0)
    for key, node in rows:
        left = f"{key} = {write(node.data)}"
        lines.append(f"{left.ljust(width)}   d{name}/d{key} = {write(node.grad)}")
    return "\n".join(lines) + "\n"


def run_site(args) -> int:
    from .site import SiteError, build
    try:
        written = build(args.directory, web=args.web)
    except SiteError as error:
        raise UsageError(str(error)) from None
    print(f"wrote {len(written)} files; open {os.path.join(args.directory, 'playground', '')} "
          f"through a web server, e.g. python -m http.server -d {args.directory}", file=sys.stderr)
    return 0


# -- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed, 2 bad usage)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser.parsing_graph = argv[:1] == ["graph"]
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    run = getattr(args, "run", None) or getattr(args, "func", None)
    if run is None:
        print(f"{PROG}: error: the command {args.command!r} has nothing to run", file=sys.stderr)
        return 1
    from .expr import ExpressionError
    from .viz import RenderError
    try:
        code = run(args)
    except (UsageError, ExpressionError) as error:
        return _fail(error, 2)
    except (RenderError, ValueError, TypeError, OSError) as error:
        if isinstance(error, BrokenPipeError):
            return _quiet_broken_pipe()
        return _fail(error, 1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0 if code is None else int(code)


def _fail(error: Exception, code: int) -> int:
    if os.environ.get("AUTOGRAD_MINI_DEBUG"):
        raise error
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, OSError) and error.filename and error.strerror:
        message = f"cannot write {error.filename}: {error.strerror}"
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _quiet_broken_pipe() -> int:
    """The reader went away (e.g. `| head`): stop quietly, as other command-line tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
