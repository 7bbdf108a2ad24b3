"""`autograd-mini run` and `%load_ext autograd_mini.micrograd`: micrograd's import names resolve to
this project inside the run only. Scripts are written here, in tmp_path (no micrograd file is
copied); a stand-in "real micrograd" package checks that an installed micrograd is left alone."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import autograd_mini
import nn
from autograd_mini import cli, micrograd

ROOT = Path(autograd_mini.__file__).resolve().parent.parent
ENGINE_LINE = micrograd.engine_line()

# What a micrograd user writes; the expected numbers are derived by hand below.
MICROGRAD_SCRIPT = """\
import sys
from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Module, Neuron
import micrograd, micrograd.engine, micrograd.nn
import autograd_mini, nn
assert Value is autograd_mini.Value and micrograd.engine.Value is Value
assert Module is nn.Module and issubclass(MLP, nn.MLP) and issubclass(Neuron, nn.Neuron)
assert issubclass(Layer, nn.Layer)
a = Value(2.0); b = Value(-3.0)
c = a * b + b ** 2          # dc/da = b = -3, dc/db = a + 2b = -4
c.backward()
print("grads", a.grad, b.grad)
print("argv", sys.argv[1:])
print("name", __name__)
print("path0", sys.path[0])
"""


def run_cli(*argv, cwd=None, extra_path=None, timeout=120):
    """`python -m autograd_mini ARGV` in a fresh process; returns (code, stdout, stderr)."""
    paths = ([str(extra_path)] if extra_path else []) + [str(ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("AUTOGRAD_MINI_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "autograd_mini", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def real_micrograd(tmp_path) -> Path:
    """A folder holding a stand-in for an installed micrograd: importing it is recognisable."""
    site = tmp_path / "site"
    write(site / "micrograd" / "__init__.py", "REAL = True\n")
    write(site / "micrograd" / "engine.py", "class Value:  # stands in for micrograd's\n"
                                            "    REAL = True\n")
    return site


def test_a_script_gets_this_engine_with_its_arguments(tmp_path):
    script = write(tmp_path / "train.py", MICROGRAD_SCRIPT)
    code, out, err = run_cli("run", str(script), "a", "--epochs", "3", "-m", "x", cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == ["grads -3.0 -4.0", "argv ['a', '--epochs', '3', '-m', 'x']",
                                "name __main__", f"path0 {tmp_path}"]
    assert err.splitlines() == [ENGINE_LINE]  # the one line saying which engine runs


def test_the_engine_line_names_this_project():
    assert "autograd_mini" in ENGINE_LINE and autograd_mini.__version__ in ENGINE_LINE
    assert str(Path(autograd_mini.__file__).parent) in ENGINE_LINE


def test_module_form_passes_arguments_through(tmp_path):
    write(tmp_path / "mgtool.py", MICROGRAD_SCRIPT)
    code, out, err = run_cli("run", "-m", "mgtool", "--flag", "-q", "file.txt", cwd=tmp_path)
    assert code == 0, err
    assert "grads -3.0 -4.0" in out and "argv ['--flag', '-q', 'file.txt']" in out
    assert f"path0 {tmp_path}" in out and err.splitlines() == [ENGINE_LINE]


def test_pytest_runs_a_micrograd_style_test_suite_on_this_engine(tmp_path):
    # laid out as micrograd's repository is: its package beside test/, so without the run
    # `import micrograd` would find the local package (which fails loudly here)
    write(tmp_path / "micrograd" / "__init__.py", "raise ImportError('the local micrograd')\n")
    write(tmp_path / "test" / "test_ops.py", """\
        from micrograd.engine import Value

        def test_chain():
            x = Value(-4.0)
            z = 2 * x + 2 + x            # z = 3x + 2 = -10, dz/dx = 3
            y = (z * z).relu() + z * x   # y = z^2 + z x, dy/dx = 2 z 3 + 3 x + z = -82
            y.backward()
            assert y.data == 140.0 and x.grad == -82.0

        def test_engine_is_autograd_mini():
            assert Value.__module__.startswith("autograd_mini")
        """)
    code, out, err = run_cli("run", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "-p", "no:randomly", "test/test_ops.py", cwd=tmp_path)
    assert code == 0, out + err
    assert "2 passed" in out and err.splitlines()[0] == ENGINE_LINE


def test_exit_codes_and_errors_come_from_the_script(tmp_path):
    exits = write(tmp_path / "exits.py", "import sys\nsys.exit(3)\n")
    assert run_cli("run", str(exits))[0] == 3
    message = write(tmp_path / "message.py", "import sys\nsys.exit('stopped early')\n")
    code, _, err = run_cli("run", str(message))
    assert code == 1 and err.splitlines()[-1] == "stopped early"
    broken = write(tmp_path / "broken.py", "x = 1\nraise ValueError('bad thing in the script')\n")
    code, _, err = run_cli("run", str(broken))
    assert code == 1
    assert f'File "{broken}", line 2' in err and err.splitlines()[-1] == \
        "ValueError: bad thing in the script"
    assert "runner.py" not in err and "runpy" not in err  # the user's traceback only


def test_only_the_three_micrograd_modules_are_served(tmp_path):
    script = write(tmp_path / "other.py", "import micrograd.utils\n")
    code, _, err = run_cli("run", str(script))
    assert code == 1 and "ModuleNotFoundError: No module named 'micrograd.utils'" in err


def test_an_installed_micrograd_is_used_outside_the_run(tmp_path, real_micrograd):
    script = write(tmp_path / "which.py", """\
        from micrograd.engine import Value
        print(getattr(Value, "REAL", False))
        """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(real_micrograd), str(ROOT)])}
    plain = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                           text=True, timeout=60)
    assert plain.stdout == "True\n"  # python alone: the installed micrograd
    code, out, err = run_cli("run", str(script), extra_path=real_micrograd)
    assert (code, out) == (0, "False\n"), err  # inside the run: this engine


def test_aliases_restore_an_already_imported_micrograd(monkeypatch, real_micrograd):
    monkeypatch.syspath_prepend(str(real_micrograd))
    for name in [n for n in sys.modules if n == "micrograd" or n.startswith("micrograd.")]:
        monkeypatch.delitem(sys.modules, name)
    import micrograd.engine as real_engine
    assert real_engine.Value.REAL
    with micrograd.aliased():
        from micrograd.engine import Value as ours
        assert ours is autograd_mini.Value
    import micrograd.engine as after
    assert after is real_engine and not micrograd.installed()
    assert sys.modules["micrograd"].REAL
    for name in ("micrograd", "micrograd.engine"):
        del sys.modules[name]


def test_ipython_extension_with_a_plain_call(capsys):
    assert not micrograd.installed()
    micrograd.load_ipython_extension(object())  # what %load_ext does, with any shell
    try:
        assert capsys.readouterr().out.splitlines() == [ENGINE_LINE]
        from micrograd.engine import Value
        from micrograd.nn import MLP
        assert Value is autograd_mini.Value and issubclass(MLP, nn.MLP)
        micrograd.load_ipython_extension(object())  # twice is harmless
        assert micrograd.installed()
    finally:
        micrograd.unload_ipython_extension(object())
    assert not micrograd.installed() and "micrograd.engine" not in sys.modules


def test_ipython_extension_in_a_real_ipython(tmp_path):
    pytest.importorskip("IPython")
    cell = ("%load_ext autograd_mini.micrograd\n"
            "from micrograd.engine import Value\n"
            "print('module', Value.__module__)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IPYTHONDIR": str(tmp_path / "ipython")}
    done = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner",
                           "--colors=nocolor", "-c", cell], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ENGINE_LINE in done.stdout and "module autograd_mini.value" in done.stdout


@pytest.mark.parametrize("argv, message", [
    (["run"], "run needs a script"),
    (["run", "-m"], "-m needs a module name"),
    (["run", "no_such_script.py"], "no such file: no_such_script.py"),
    (["run", "-m", "no_such_module_for_autograd_mini"],
     "no module named 'no_such_module_for_autograd_mini'"),
])
def test_bad_usage_is_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    argv_before, path_before = list(sys.argv), list(sys.path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"autograd-mini: error: {message}") and err.count("\n") == 1
    assert (sys.argv, sys.path) == (argv_before, path_before) and not micrograd.installed()


def test_in_process_run_restores_argv_path_and_modules(capsys, tmp_path):
    script = write(tmp_path / "s.py", MICROGRAD_SCRIPT)
    argv_before, path_before = list(sys.argv), list(sys.path)
    assert cli.main(["run", str(script), "x"]) == 0
    out = capsys.readouterr().out
    assert "grads -3.0 -4.0" in out and "argv ['x']" in out
    assert (sys.argv, sys.path) == (argv_before, path_before)
    assert not micrograd.installed() and "micrograd" not in sys.modules
    import multiprocessing.spawn

    from graphviz.backend import execute
    for hooked in (multiprocessing.spawn.get_preparation_data, execute.run_check):
        assert not hasattr(hooked, "__wrapped__")  # spawn and graphviz as they were


def test_a_module_of_the_user_named_nn_is_refused_not_hidden(tmp_path):
    write(tmp_path / "nn.py", "x = 1\n")  # the user's own nn.py, beside the script
    script = write(tmp_path / "uses_nn.py", "import nn\nprint(nn.x)\n")
    code, out, err = run_cli("run", str(script))
    assert (code, out) == (2, "")
    assert err.startswith(f"autograd-mini: error: {tmp_path / 'nn.py'} would be hidden")


def test_micrograd_nn_refuses_a_foreign_nn(monkeypatch, tmp_path):
    foreign = types.ModuleType("nn")
    foreign.__file__ = str(tmp_path / "nn.py")
    monkeypatch.setitem(sys.modules, "nn", foreign)
    with micrograd.aliased(), pytest.raises(ImportError, match="the name nn is taken by"):
        importlib.import_module("micrograd.nn")


SPAWNED = """\
import multiprocessing
from micrograd.engine import Value

def square_grad(x):
    v = Value(x); y = v * v; y.backward()
    return v.grad                       # d(x^2)/dx = 2x

if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        print(pool.map(square_grad, [1.0, 2.0, 3.0], chunksize=1))
"""


def test_spawned_children_import_micrograd(tmp_path):
    """multiprocessing's spawn (the default on macOS and Windows) starts fresh interpreters that
    re-import the script: they must get the aliases too, or a Pool waits forever."""
    script = write(tmp_path / "pool.py", SPAWNED)
    try:
        code, out, err = run_cli("run", str(script), cwd=tmp_path, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("a spawn Pool under `autograd-mini run` hung (its children cannot import "
                    "micrograd)")
    assert code == 0, err
    assert out == "[2.0, 4.0, 6.0]\n"


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_linked_script_puts_its_targets_folder_first_as_python_does(tmp_path):
    write(tmp_path / "real" / "helper.py", "WHERE = 'beside the target'\n")
    write(tmp_path / "real" / "main.py", "import sys, helper\nprint(sys.path[0])\n"
                                         "print(helper.WHERE)\n")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "main.py"
    os.symlink(tmp_path / "real" / "main.py", link)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    plain = subprocess.run([sys.executable, str(link)], capture_output=True, text=True,
                           timeout=60, env=env, cwd=tmp_path)  # the oracle: Python itself
    assert plain.returncode == 0, plain.stderr
    code, out, err = run_cli("run", str(link), cwd=tmp_path)
    assert code == 0, err
    assert out == plain.stdout == f"{tmp_path / 'real'}\nbeside the target\n"


# -- micrograd's zip: a list of another length than the model was built for -----------------------

def micrograd_neuron(neuron, x):
    """micrograd's Neuron.__call__, written out: sum((wi*xi for wi,xi in zip(self.w, x)), self.b)
    and its ReLU (the oracle)."""
    act = sum((wi * xi for wi, xi in zip(neuron.w, x)), neuron.b)
    return act.relu() if neuron.nonlin else act


@pytest.mark.parametrize("inputs", [[0.5, -1.5, 2.0, 7.0], [0.5, -1.5], [0.5]])
def test_the_micrograd_layer_zips_inputs_of_another_length(inputs):
    with micrograd.aliased():
        from micrograd.nn import MLP, Layer, Neuron
    import random
    random.seed(1337)
    model = MLP(3, [4, 1])
    with pytest.warns(UserWarning, match="was built for 3 inputs and got"):
        out = model(inputs)
    out.backward()
    got = [p.grad for p in model.parameters()]
    model.zero_grad()
    hidden = [micrograd_neuron(n, inputs) for n in model.layers[0].neurons]
    expected = micrograd_neuron(model.layers[1].neurons[0], hidden)
    expected.backward()
    assert out.data == pytest.approx(expected.data, rel=1e-12)
    assert got == pytest.approx([p.grad for p in model.parameters()], rel=1e-12, abs=0)
    layer, neuron = Layer(3, 2), Neuron(3)
    for part in (layer, layer.neurons[0], neuron, model.layers[0]):
        with pytest.warns(UserWarning, match="as micrograd does"):
            part(inputs)
    with pytest.raises(ValueError, match="takes 3 input"):  # the project's own nn stays strict
        nn.MLP(3, [4, 1])(inputs)


def test_a_micrograd_script_with_a_longer_row_runs_under_run(tmp_path):
    script = write(tmp_path / "rows.py", """\
        import random
        from micrograd.nn import MLP
        random.seed(1337)
        model = MLP(2, [4, 1])
        row = [1.0, -2.0, 0.5]              # a row with its label still in it
        print(model(row).data == model(row[:2]).data)
        """)
    code, out, err = run_cli("run", str(script), cwd=tmp_path)
    assert (code, out) == (0, "True\n"), err
    assert "was built for 2 inputs and got 3" in err
