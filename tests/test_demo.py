"""The README's demo command runs and tells the hand-derived numbers of e = (a+b)(b+1)."""
import html
import re

import pytest

from autograd_mini import demo

pytestmark = pytest.mark.slow  # trains micrograd's demo network


def test_demo_prints_the_figures_numbers_and_writes_its_files(tmp_path, capsys):
    assert demo.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "c = 3, d = 2, e = 6" in out
    assert "de/dc = 2" in out and "de/dd = 3" in out
    assert "reverse mode, one pass:    de/da = 2, de/db = 5" in out
    assert "forward mode, two passes:  de/da = 2, de/db = 5" in out
    assert "b now holds 2 + 3 = 5" in out
    assert "step  99: loss" in out and "accuracy 100%" in out  # micrograd's demo learns the moons
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "<html" in (tmp_path / "steps.html").read_text().lower()
    network = html.unescape((tmp_path / "network.svg").read_text())  # dot writes - as &#45;
    assert "layer 0: 16 relu" in network and "loss (relu)" in network
    loss = float(re.search(r"hinge loss ([\d.]+), after backward", network).group(1))
    assert loss > 0  # a point the network gets wrong: gradients to show
    # every neuron's value and gradient
    assert all(re.search(rf">a0\[{j}\] [-\d.e]+, grad [-\d.e]+<", network) for j in range(16))
    assert re.search(r">z2\[0\] [-\d.e]+, grad [-\d.e]+<", network)
    grads = [float(g) for g in re.findall(r", grad ([-\d.e]+)<", network)]
    assert any(g != 0 for g in grads)  # the loss reaches the neurons
    page = (tmp_path / "training.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page


def test_help_prints_usage_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        demo.main(["--help"])
    assert done.value.code == 0
    assert "usage: python -m autograd_mini.demo [-h] [folder]" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # no "--help" folder, nothing the user did not name


@pytest.mark.parametrize("kind", ["file", "broken symlink", "symlink to a file"])
def test_a_folder_that_is_not_one_gets_one_line_and_nothing_is_touched(tmp_path, capsys, kind):
    mine = tmp_path / "mine.txt"
    mine.write_text("keep")
    target = tmp_path / "out"
    if kind == "file":
        target.write_text("keep")
    else:
        target.symlink_to(mine if kind == "symlink to a file" else tmp_path / "nowhere")
    with pytest.raises(SystemExit) as done:
        demo.main([str(target)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"python -m autograd_mini.demo: error: {target} is not a folder: name a new " \
                  "folder or an existing one"
    assert mine.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "out"]
    assert target.is_symlink() or target.read_text() == "keep"
