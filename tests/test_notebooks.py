"""The lessons in notebooks/ run top to bottom, and their stored outputs are what a fresh run gives.

Each notebook is executed afresh with nbclient (``notebooks/regenerate.py``, the script behind
``make notebooks``) in a kernel run by this very Python, in memory: the committed file is never
written. A cell's asserts check the numbers it teaches against independent computations, so an
engine change that breaks a lesson fails here with the cell and its traceback; and the outputs of
the fresh run must equal the stored ones, after the normalisation that script applies (the
Graphviz version line, memory addresses, timings; PNGs compared by their pixels), so a stored
figure cannot go stale. Regenerate with ``make notebooks`` after changing the engine or a lesson.
"""
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
MAX_FILE_SIZE = 600_000  # bytes: the stored pictures must stay a reasonable download
# the only Chinese a lesson may show, each next to its English
CHINESE_TERMS = {"正向求导": "forward", "反向求导": "reverse", "堆放": "pil"}  # term: its English (stem)
# what a lesson must not lean on: material a learner does not have
UNSHIPPED = re.compile(r"\.\./shared|REFERENCE\.md|DESIGN\.md|\bseeds? 0\d\d|\bthe seeds\b|\bthe texts?\b|§",
                       re.I)


def _regenerate():
    spec = importlib.util.spec_from_file_location("regenerate", NOTEBOOKS / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    writes = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no notebooks/__pycache__
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


regenerate = _regenerate()


def _stored(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _outputs(notebook):
    return [(index, output) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" for output in cell.outputs]


def test_the_lessons_are_numbered_from_01_without_gaps():
    numbers = [int(name[:2]) for name in LESSONS]
    assert len(numbers) >= 8 and numbers == list(range(1, len(numbers) + 1)), LESSONS


@pytest.mark.skipif(shutil.which("dot") is None, reason="the stored pictures were drawn by "
                    "Graphviz's dot (apt-get install graphviz); without it drawings differ")
@pytest.mark.parametrize("name", LESSONS)
@pytest.mark.slow
def test_a_fresh_run_gives_the_stored_outputs(name):
    before = sorted(os.listdir(NOTEBOOKS))
    fresh = regenerate.run(NOTEBOOKS / name)  # raises CellExecutionError, naming the cell
    assert not [o for _, o in _outputs(fresh) if o.output_type == "error"]
    assert sorted(os.listdir(NOTEBOOKS)) == before, "a lesson left files in notebooks/"
    stored = _stored(name)
    regenerate.normalise(stored)
    stale = regenerate.differences(stored, fresh)
    assert not stale, (f"{name}: the stored outputs are stale (run `make notebooks`):\n  "
                       + "\n  ".join(stale))


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_stored_with_its_outputs(name):
    """Committed as run: every code cell executed once, in order, without errors, with pictures."""
    path = NOTEBOOKS / name
    notebook = _stored(name)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and notebook.cells[0].cell_type == "markdown"
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{name} was not run top to bottom: {counts}"
    outputs = [output for _, output in _outputs(notebook)]
    assert not [o for o in outputs if o.output_type == "error"], f"{name} stores an error"
    pictures = [o for o in outputs if {"image/svg+xml", "image/png"} & set(o.get("data", {}))]
    assert pictures, f"{name} stores no graph or plot"
    assert path.stat().st_size < MAX_FILE_SIZE, f"{name} is {path.stat().st_size:,} bytes"


@pytest.mark.parametrize("name", LESSONS)
def test_every_picture_shows_without_trust(name):
    """JupyterLab shows SVG and HTML of an untrusted notebook only after it is trusted or run, a
    widget only with a kernel; a PNG always. So each SVG has a PNG beside it, and each player is
    followed by a PNG strip of its frames in the same cell or the next code cell."""
    notebook = _stored(name)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for position, cell in enumerate(code):
        for output in cell.outputs:
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data or "<iframe" in data.get("text/html", ""):
                nearby = cell.outputs + (code[position + 1].outputs if position + 1 < len(code) else [])
                assert any("image/png" in o.get("data", {}) for o in nearby), \
                    f"{name}, code cell {position + 1}: a player without a static strip of frames"
            elif "image/svg+xml" in data:
                assert "image/png" in data, f"{name}, code cell {position + 1}: SVG without a PNG"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_stands_on_its_own(name):
    """No pointer to material a learner does not have; Chinese only as the three terms, translated."""
    notebook = _stored(name)
    for index, cell in enumerate(notebook.cells):
        found = UNSHIPPED.search(cell.source)
        assert not found, f"{name}, cell {index}: {found.group(0)!r} points at unshipped material"
        for run in re.findall(r"[\u3400-\u9fff]+", cell.source):
            assert run in CHINESE_TERMS, f"{name}, cell {index}: untranslated Chinese {run!r}"
            assert CHINESE_TERMS[run] in cell.source.lower(), \
                f"{name}, cell {index}: {run} without its English ({CHINESE_TERMS[run]}...)"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_its_picture_for_the_readme(name):
    number = int(name[:2])
    assert list((ROOT / "docs" / "images").glob(f"lesson-{number}.*")), \
        f"docs/images/lesson-{number}.svg or .png is missing"
    assert f"notebooks/{name}" in (ROOT / "README.md").read_text(encoding="utf-8"), \
        f"README.md's lesson table does not list {name}"


@pytest.mark.parametrize("name", LESSONS)
def test_the_readme_picture_is_the_lessons_own(name):
    """docs/images/lesson-N.png (and .svg) is the stored output of the cell tagged "readme"."""
    pictures = regenerate.readme_pictures(_stored(name), int(name[:2]))
    assert pictures, f"{name}: no cell tagged 'readme' with a picture"
    for path, data in pictures.items():
        assert (ROOT / path).read_bytes() == data, f"{path} is not {name}'s picture (make notebooks)"


def test_the_comparison_sees_a_changed_number_and_a_changed_picture():
    """What the staleness test relies on: differences() reports a changed printed number and a
    changed plot, and ignores what normalise() removes (a Graphviz version line)."""
    import base64
    import copy
    import io

    from matplotlib.figure import Figure

    def plot(height):
        figure = Figure(figsize=(3, 2))
        figure.add_subplot().plot([0, 1, 2], [0, height, 0])
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return base64.b64encode(buffer.getvalue()).decode()

    stored = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    stored.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="J = 0.0916\n"),
        nbformat.v4.new_output("display_data", data={"image/png": plot(1.0), "image/svg+xml":
                               "<!-- Generated by graphviz version 2.43.0 (0)\n -->\n<svg/>"})]
    fresh = copy.deepcopy(stored)
    fresh.cells[0].outputs[1]["data"]["image/svg+xml"] = \
        "<!-- Generated by graphviz version 9.0.0 (0)\n -->\n<svg/>"
    for notebook in (stored, fresh):
        regenerate.normalise(notebook)
    assert regenerate.differences(stored, fresh) == []
    fresh.cells[0].outputs[0]["text"] = "J = 0.0917\n"
    fresh.cells[0].outputs[1]["data"]["image/png"] = plot(0.8)
    assert regenerate.differences(stored, fresh) == ["cell 0, output 0: the text differs",
                                                     "cell 0, output 1: image/png differs"]
    # drawn by another matplotlib or Graphviz, a picture has other pixels: only its presence counts
    fresh.metadata["pictures_made_with"] = {"matplotlib": "0.0", "graphviz": "none"}
    assert regenerate.differences(stored, fresh) == ["cell 0, output 0: the text differs"]
    del fresh.cells[0].outputs[1]["data"]["image/png"]
    assert regenerate.differences(stored, fresh) == [
        "cell 0, output 0: the text differs",
        "cell 0, output 1: stored ['image/png', 'image/svg+xml'], now ['image/svg+xml']"]
