"""`autograd-mini train`: it trains, plots and saves; bad input is one line and a non-zero exit."""
import importlib.util
import re

import pytest

import nn
from nn import cli


def run(capsys, *argv):
    code = cli.main(["train", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_moons_plots_and_saves(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot, model = tmp_path / "boundary.png", tmp_path / "model.json"
    code, out, err = run(capsys, "moons", "--epochs", "5", "--samples", "30", "--plot", str(plot),
                         "--save", str(model), "--no-progress")
    assert code == 0, err
    assert "MLP(2 -> 16 relu -> 16 relu -> 1 linear; 337 parameters)" in out
    assert "epoch  1  loss" in out and "done   5 epochs" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = nn.load(model)
    assert loaded.nouts == [16, 16, 1]


def test_spirals_uses_cross_entropy_with_one_output_per_class(tmp_path, capsys):
    code, out, err = run(capsys, "spirals", "--classes", "4", "--samples", "20", "--epochs", "2",
                         "--hidden", "4", "--optimizer", "adam", "--quiet",
                         "--save", str(tmp_path / "s.json"))
    assert code == 0, err
    assert out.startswith("done   2 epochs")
    assert nn.load(tmp_path / "s.json").nouts == [4, 4]


@pytest.mark.parametrize("argv, message", [
    (["spirals", "--loss", "hinge"], "the hinge loss separates 2 classes, but spirals has 3"),
    (["moons", "--plot", "/no/such/dir/b.png"], "the directory /no/such/dir does not exist"),
    (["moons", "--save", "/no/such/dir/m.json"], "the directory /no/such/dir does not exist"),
    (["moons", "--loss", "mse"], "--loss mse is for regression"),
])
def test_errors_are_one_line_with_exit_code_1(capsys, argv, message):
    code, out, err = run(capsys, *argv, "--epochs", "1")
    assert code == 1
    assert err.startswith("autograd-mini train: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["moons", "--epochs", "0"], "expected a positive integer, got '0'"),
    (["moons", "--hidden", "16,x"], "expected a positive integer, got 'x'"),
    (["moons", "--hidden", "4,,4"], "expected hidden layer sizes like 16,16 (positive integers "
                                    "separated by single commas), got '4,,4'"),
    (["moons", "--hidden", "4,"], "got '4,'"),
    (["moons", "--hidden", ","], "got ','"),
    (["moons", "--lr", "-1"], "expected a number >= 0"),
    (["iris"], "invalid choice: 'iris'"),
])
def test_bad_arguments_exit_2_with_a_usage_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit:
        cli.main(["train", *argv])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "autograd-mini train moons --epochs 100 --plot boundary.png" in out


def test_compile_flag_runs_or_reports_a_missing_compiler_in_one_line(capsys):
    code, out, err = run(capsys, "moons", "--epochs", "3", "--samples", "20", "--compile")
    if importlib.util.find_spec("nn.compiled") is None:
        assert code == 1 and "nn/compiled.py" in err and err.count("\n") == 1
    else:
        assert code == 0 and "done   3 epochs" in out


def test_the_autograd_mini_command_has_train():
    from autograd_mini import cli as main_cli
    assert main_cli.main(["train", "xor", "--epochs", "1", "--samples", "8", "--quiet"]) == 0


# -- outputs checked before training; the model saved before the plot; divergence is an error ------

@pytest.mark.parametrize("argv, message", [
    (["--plot", "x.xyz", "--save", "m.json"],
     "cannot tell how to write the plot x.xyz: name it .png"),
    (["--plot", "b.png", "--save", "."], "cannot write the model to .: it is a directory"),
    (["--save", "nofolder/m.json"], "the directory"),
    (["--save", "file.txt/m.json"], "cannot write the model"),
    (["--plot", "same.png", "--save", "same.png"], "name the same file"),
])
def test_every_output_is_checked_before_training(tmp_path, monkeypatch, capsys, argv, message):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("a file, not a folder")

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the outputs")

    monkeypatch.setattr(nn, "fit", no_training)
    code, out, err = run(capsys, "moons", *argv)
    assert code == 1 and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_the_model_is_saved_before_the_plot(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")

    def plot_fails(*args, **kwargs):
        raise OSError("the plot could not be written")

    monkeypatch.setattr(nn.plot, "training_report", plot_fails)
    model = tmp_path / "m.json"
    code, out, err = run(capsys, "moons", "--epochs", "2", "--samples", "20", "--quiet",
                         "--plot", str(tmp_path / "b.png"), "--save", str(model))
    assert code == 1 and "the plot could not be written" in err
    assert nn.load(model).nouts == [16, 16, 1]


def test_a_run_that_diverges_warns_exits_non_zero_and_saves_nothing(tmp_path, capsys):
    model = tmp_path / "m.json"
    code, out, err = run(capsys, "moons", "--lr", "1e6", "--epochs", "30", "--samples", "30",
                         "--quiet", "--save", str(model))
    assert re.search(r"training loss (nan|inf)", out)
    assert re.search(r"warning: the loss is (nan|inf) after epoch \d+; stopping", err)
    assert "done   30 epochs" not in out  # stopped at the first epoch that was not finite
    assert code == 1 and "training diverged" in err and "smaller --lr" in err
    assert f"nothing written: --save {model}" in err
    assert not model.exists()


def test_argparse_errors_are_one_line_with_a_hint(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["train", "moons", "--epochs", "x"])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.count("\n") == 1 and "usage:" not in err
    assert err.startswith("autograd-mini: error: argument --epochs: expected a positive integer")
    assert "autograd-mini train --help" in err


def test_read_only_outputs_are_refused_before_training_and_force_writes_them(tmp_path, capsys):
    import os
    pytest.importorskip("matplotlib")
    paths = {name: tmp_path / f"out.{suffix}" for name, suffix in
             [("save", "json"), ("plot", "png"), ("page", "html")]}
    for path in paths.values():
        path.write_text("the user's")
        os.chmod(path, 0o444)
    base = ["moons", "--epochs", "2", "--samples", "20", "--hidden", "3", "--quiet"]
    for name, path in paths.items():
        code, out, err = run(capsys, *base, f"--{name}", str(path))
        assert code == 1 and "read-only (mode 444)" in err and err.count("\n") == 1, err
        assert "done" not in out  # refused before training
        assert path.read_text() == "the user's"
    outputs = [arg for name, path in paths.items() for arg in (f"--{name}", str(path))]
    code, out, err = run(capsys, *base, *outputs, "--force")
    assert code == 0, err
    assert nn.load(paths["save"]).nouts == [3, 1]
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"
    assert paths["page"].read_text().startswith("<!DOCTYPE html>")


def test_help_shows_every_default(capsys):
    """Each option that takes a value says what it is when not given: the number itself where
    there is one (read from the parser, so the help cannot drift from it)."""
    import argparse
    parser = argparse.ArgumentParser(prog="autograd-mini")
    train = cli.register(parser.add_subparsers())
    text = " ".join(train.format_help().split())
    for action in train._actions:
        if not action.option_strings or action.nargs == 0 or action.help == argparse.SUPPRESS:
            continue  # positional, a flag (--force, --quiet, --compile) or --help
        if action.dest in ("plot", "save", "page"):
            continue  # files: not given, not written
        if isinstance(action, argparse.BooleanOptionalAction):
            assert "default" in action.help, action.dest
            continue
        shown = " ".join(((action.help or "") % {**vars(action), "default": action.default,
                                          "choices": ", ".join(map(str, action.choices or []))}
                          ).split())
        assert "default" in shown and shown in text, (action.dest, shown)
        if action.default is not None:
            default = action.default
            written = ",".join(map(str, default)) if isinstance(default, list) else f"{default:g}" \
                if isinstance(default, float) else str(default)
            assert f"default {written}" in shown, (action.dest, shown)
    for option, default in [("--epochs", "100"), ("--optimizer", "sgd"), ("--momentum", "0"), ("--l2", "0.0001")]:
        assert f"default {default}" in text, option


def test_a_nan_from_an_activations_domain_is_not_blamed_on_the_learning_rate(capsys):
    code, out, err = run(capsys, "xor", "--activation", "log", "--epochs", "5", "--quiet")
    assert code == 1
    stopped = re.search(r"the loss became nan at epoch (\d+)", err)
    assert stopped and "an input of log left its domain (log(-2.0) = nan)" in err
    assert "smaller --lr" not in err and "grew too large" not in err
    epochs = int(stopped.group(1))
    assert epochs < 5 and f"done   {epochs} epoch{'s' if epochs > 1 else ''} " in out
    assert f"stopped after {epochs} of 5 epochs" in out
