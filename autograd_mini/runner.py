"""``autograd-mini run``: run a Python script or module written for micrograd on this engine.

``autograd-mini run SCRIPT [ARGS...]`` and ``autograd-mini run -m MODULE [ARGS...]`` behave as
``python SCRIPT ARGS`` and ``python -m MODULE ARGS`` (same ``sys.argv``, same ``sys.path[0]``,
``__name__ == "__main__"``, the script's exit code), except that ``micrograd``,
``micrograd.engine`` and ``micrograd.nn`` are this project (see ``autograd_mini.micrograd``).
One line on standard error says so before the code starts. So micrograd's own tests run on this
engine, unedited, from a micrograd checkout::

    autograd-mini run -m pytest test/test_engine.py

>>> run_module(["this_module_does_not_exist"])
Traceback (most recent call last):
autograd_mini.cli.UsageError: no module named 'this_module_does_not_exist'
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import runpy
import sys
import traceback
from typing import Sequence

from . import micrograd

EXAMPLES = """\
examples:
  autograd-mini run train.py --epochs 10          python train.py --epochs 10, on this engine
  autograd-mini run -m pytest test/test_engine.py  micrograd's own tests, on this engine

In the script, `micrograd.engine.Value` is autograd_mini's Value and `micrograd.nn` is nn's
Module, Neuron, Layer and MLP. In Jupyter: %load_ext autograd_mini.micrograd
"""


def register(commands) -> None:
    """Add the ``run`` subcommand (``autograd_mini.cli`` calls this for each plugin)."""
    parser = commands.add_parser(
        "run", help="run a script or module written for micrograd on this engine",
        description="Run Python code as `python SCRIPT` or `python -m MODULE` would, with "
                    "micrograd, micrograd.engine and micrograd.nn resolved to this project.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        usage="autograd-mini run [-h] (SCRIPT | -m MODULE) [ARGS...]")
    # REMAINDER in both places: everything after the script or module goes to it untouched
    parser.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE",
                        help="MODULE [ARGS...]: run a module as `python -m MODULE` does")
    parser.add_argument("script", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS...]",
                        help="the Python file to run and its arguments")
    parser.set_defaults(run=run_command)


def run_command(args) -> int:
    """The ``run`` subcommand, from argparse's namespace."""
    if args.module is not None:
        return run_module(args.module)
    command = list(args.script)
    if command[:1] == ["--"]:
        command = command[1:]
    return run_script(command)


def run_script(command: Sequence[str]) -> int:
    """``python SCRIPT ARGS`` with micrograd aliased; ``command`` is ``[SCRIPT, *ARGS]``."""
    from .cli import UsageError
    if not command:
        raise UsageError("run needs a script (autograd-mini run SCRIPT [ARGS...]) or a module "
                         "(autograd-mini run -m MODULE [ARGS...])")
    script = command[0]
    if not os.path.exists(script):
        raise UsageError(f"no such file: {script}")
    # as `python SCRIPT`: the folder of the script (of a link's target) comes first on sys.path
    return _run(lambda: runpy.run_path(script, run_name="__main__"), list(command),
                os.path.dirname(os.path.realpath(script)))


def run_module(command: Sequence[str]) -> int:
    """``python -m MODULE ARGS`` with micrograd aliased; ``command`` is ``[MODULE, *ARGS]``."""
    from .cli import UsageError
    if not command:
        raise UsageError("-m needs a module name (autograd-mini run -m MODULE [ARGS...])")
    name = command[0]
    # as `python -m`: the current folder comes first on sys.path
    with _argv_and_path(list(command), os.getcwd()), micrograd.aliased():
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
    if found is None:
        raise UsageError(f"no module named {name!r}")
    return _run(lambda: runpy.run_module(name, run_name="__main__", alter_sys=True),
                list(command), os.getcwd())


class _argv_and_path:
    """Set ``sys.argv`` and ``sys.path[0]`` as Python does for a script; restore them after."""

    def __init__(self, argv: list, path0: str) -> None:
        self.argv, self.path0 = argv, path0

    def __enter__(self):
        self.saved = sys.argv, list(sys.path)
        sys.argv = self.argv
        sys.path[:1] = [self.path0]
        return self

    def __exit__(self, *exc) -> None:
        sys.argv, sys.path[:] = self.saved[0], self.saved[1]


def _refuse_a_shadowed_nn(folder: str) -> None:
    """A module of the user's named nn would lose to this project's nn (micrograd.nn needs it)."""
    from .cli import UsageError
    ours = os.path.join(os.path.dirname(micrograd.engine_location()), "nn")
    for candidate in (os.path.join(folder, "nn.py"), os.path.join(folder, "nn")):
        if os.path.exists(candidate) and os.path.abspath(candidate) != ours:
            raise UsageError(f"{candidate} would be hidden: in this run the name nn is "
                             f"autograd_mini's nn package, which micrograd.nn is made of; rename "
                             f"{os.path.basename(candidate)} or run from another folder")


def _run(execute, argv: list, path0: str) -> int:
    _refuse_a_shadowed_nn(path0)
    print(micrograd.engine_line(), file=sys.stderr, flush=True)
    with _argv_and_path(argv, path0), micrograd.aliased():
        try:
            execute()
        except SystemExit as leaving:
            return _exit_code(leaving.code)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # the user's error: its traceback, as Python shows it
            _print_user_traceback(error)
            return 1
        finally:
            sys.stdout.flush()
    return 0


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message") prints the message, exits 1
    return 1


def _print_user_traceback(error: BaseException) -> None:
    """The traceback from the user's code on: this runner's and runpy's frames left out."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in (__name__, "runpy"):
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)
