"""The lessons in notebooks/ run top to bottom, and their stored outputs are what a fresh run gives.

Each notebook is executed afresh with nbclient (``notebooks/regenerate.py``, the script behind
``make notebooks``) in a kernel run by this very Python, in memory: the committed file is never
written. A cell's asserts check the numbers it teaches against independent computations, so an
engine change that breaks a lesson fails here with the cell and its traceback; and the outputs of
the fresh run must equal the stored ones, after the normalisation that script applies (the
Graphviz version line, memory addresses, timings), with pictures compared by what they show
(texts, numbers, nodes and edges of a drawing; the data of a plot), never by their bytes, so a
stored figure cannot go stale and the suite passes on any machine, with or without the system
Graphviz. Regenerate with ``make notebooks`` after changing the engine or a lesson.
"""
import base64
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


@pytest.mark.parametrize("name", LESSONS)
@pytest.mark.slow
def test_a_fresh_run_gives_the_stored_outputs(name):
    from autograd_mini.render import available_backends
    if not available_backends():  # Python 3.10 without the system dot: no Graphviz at all
        pytest.skip("no Graphviz renderer installed here (apt-get install graphviz; the "
                    "WebAssembly Graphviz needs Python 3.11+)")
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


def _png(figure) -> str:
    import base64
    import io
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def _plot(height, dpi=100, font="DejaVu Sans"):
    from matplotlib.figure import Figure
    figure = Figure(figsize=(3, 2), dpi=dpi)
    ax = figure.add_subplot()
    ax.plot([0, 1, 2], [0, height, 0], label="loss")
    ax.hist([0.5, 1.0, 1.0, height], bins=2, histtype="step")  # a Polygon patch
    ax.bar([0.5], [height / 2])
    ax.scatter([1.0], [height / 4], c=[height])
    ax.set_title("J", fontfamily=font)
    ax.legend()
    assert "unread" not in regenerate.plot_shows(figure)
    return {"image/png": _png(figure), regenerate.PLOT: regenerate.plot_shows(figure),
            "text/plain": "<Figure>"}


def _notebook(*outputs):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    notebook.cells[0].outputs = list(outputs)
    regenerate.normalise(notebook)
    return notebook


def test_the_comparison_sees_changed_numbers_not_other_pixels():
    """What the staleness test relies on: differences() reports a changed printed number and a
    changed plot, and not the same plot drawn with other pixels (another resolution, another
    font: another machine)."""
    text = nbformat.v4.new_output("stream", name="stdout", text="J = 0.0916\n")
    stored = _notebook(text, nbformat.v4.new_output("display_data", data=_plot(1.0)))
    same = _notebook(text, nbformat.v4.new_output("display_data", data=_plot(1.0, dpi=80,
                                                                            font="monospace")))
    pngs = [n.cells[0].outputs[1]["data"]["image/png"] for n in (same, stored)]
    assert pngs[0] != pngs[1]  # other pixels
    assert regenerate.differences(stored, same) == []
    changed = _notebook(nbformat.v4.new_output("stream", name="stdout", text="J = 0.0917\n"),
                        nbformat.v4.new_output("display_data", data=_plot(0.8)))
    assert regenerate.differences(stored, changed) == [
        "cell 0, output 0: the text differs",
        f"cell 0, output 1: {regenerate.PLOT} differs"]


def test_a_drawing_is_compared_by_what_it_shows_whoever_drew_it():
    """The same graph drawn by the system and the WebAssembly Graphviz (other versions, other
    coordinates and, here, no PNG beside it) shows the same; a changed number does not."""
    from conftest import build_seed_graph

    from autograd_mini import render, to_dot
    backends = render.available_backends()
    if not backends:
        pytest.skip("no Graphviz renderer here")
    e = build_seed_graph()[-1]
    e.backward()
    svgs = [render.render(to_dot(e).source, "svg", b)[0].decode() for b in backends]
    picture = {"image/svg+xml": svgs[0], "image/png": "iVBORw0K", "text/plain": "<Drawing>"}
    stored = _notebook(nbformat.v4.new_output("execute_result", data=picture, execution_count=1))
    for svg in svgs:
        fresh = _notebook(nbformat.v4.new_output("execute_result", execution_count=1,
                                                 data={"image/svg+xml": svg,
                                                       "text/plain": "<Drawing>"}))
        assert regenerate.differences(stored, fresh) == []
        moved = svg.replace(">grad 5<", ">grad 6<")
        assert moved != svg
        fresh.cells[0].outputs[0]["data"]["image/svg+xml"] = moved
        assert regenerate.differences(stored, fresh) == ["cell 0, output 0: image/svg+xml differs"]
    fresh.cells[0].outputs[0]["data"] = {"text/plain": "<Drawing>"}
    assert regenerate.differences(stored, fresh) == [
        "cell 0, output 0: stored ['image/png', 'image/svg+xml', 'text/plain'], now ['text/plain']"]


def test_a_player_cell_is_compared_by_what_its_untrusted_stand_in_shows_whoever_drew_it():
    """The player cell's HTML carries, for untrusted notebooks, the last step's picture as a
    data URI and an id made from a hash of it: drawn by either Graphviz it shows the same; a
    changed number in the picture does not."""
    from conftest import build_seed_graph

    from autograd_mini import render, trace
    from autograd_mini.player import InlinePlayer
    backends = render.available_backends()
    if not backends:
        pytest.skip("no Graphviz renderer here")
    with trace() as t:
        e = build_seed_graph()[-1]
    t.backward(e)
    cells = [InlinePlayer(t.player_data(backend=b))._repr_html_() for b in backends]
    stored = _notebook(nbformat.v4.new_output("display_data", data={"text/html": cells[0]}))
    for html in cells:
        fresh = _notebook(nbformat.v4.new_output("display_data", data={"text/html": html}))
        assert regenerate.differences(stored, fresh) == []
        picture = re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1)
        changed = base64.b64encode(base64.b64decode(picture).replace(b">grad 5<", b">grad 6<"))
        assert changed.decode() != picture
        fresh.cells[0].outputs[0]["data"]["text/html"] = html.replace(picture, changed.decode())
        assert regenerate.differences(stored, fresh) == ["cell 0, output 0: text/html differs"]


def test_a_lessons_kernel_stores_what_each_plot_shows_beside_its_png():
    """`%matplotlib inline` shows a figure as a PNG; the lesson's kernel (regenerate.run) stores
    beside it the figure's data, which the staleness test compares instead of pixels."""
    import tempfile

    import nbclient
    code = ("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
            "plt.plot([0, 1, 2], [0, 0.5, 0]); plt.title('J'); plt.show()")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    with tempfile.TemporaryDirectory() as scratch:
        nbclient.NotebookClient(notebook, km=regenerate.kernel_manager(Path(scratch)),
                                timeout=120).execute()
    [shown] = [o for o in notebook.cells[0].outputs if "image/png" in o.get("data", {})]
    plot = shown["data"][regenerate.PLOT]
    assert plot["axes"][0]["texts"][0] == "J"
    assert plot["axes"][0]["lines"][0]["ends"] == ["0", "0", "2", "0"]  # (0, 0) ... (2, 0)
    assert plot["axes"][0]["lines"][0]["n"] == 6


def test_a_strip_numbers_its_steps_as_the_player_does():
    """The player's list counts steps from 1; a strip of the same frames says the same numbers.
    By hand for e = (a + b)(b + 1) with two forward passes: 5 build steps, 3 from a, 5 from b,
    so the reverse pass starts at step 14."""
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        from lesson_tools import strip
    finally:
        sys.path.remove(str(NOTEBOOKS))
    from autograd_mini import Value, render, trace
    if not render.available_backends():
        pytest.skip("no Graphviz renderer here")
    with trace() as t:
        a, b = Value(2.0, label="a"), Value(1.0, label="b")
        e = (a + b) * (b + 1)
    t.forward(e, a), t.forward(e, b)
    t.backward(e)
    start = next(frame for frame in t.frames if frame.caption.startswith("start at"))
    shown = strip([start], columns=1).shows
    assert shown["captions"][0].startswith("step 14: start at")
