"""The README's demo command runs and tells the texts' numbers."""
from autograd_mini import demo


def test_demo_prints_the_texts_numbers_and_writes_its_files(tmp_path, capsys):
    assert demo.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "c = 3, d = 2, e = 6" in out
    assert "de/dc = 2" in out and "de/dd = 3" in out
    assert "reverse mode, one pass:    de/da = 2, de/db = 5" in out
    assert "forward mode, two passes:  de/da = 2, de/db = 5" in out
    assert "b now holds 2 + 3 = 5" in out
    assert "accuracy 100%" in out.splitlines()[-2]  # micrograd's demo learns the moons
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "<html" in (tmp_path / "steps.html").read_text().lower()
