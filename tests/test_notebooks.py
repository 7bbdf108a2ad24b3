"""The lessons in notebooks/ run top to bottom, and keep their outputs so they read well unrun.

Each notebook is executed afresh with nbclient in a Jupyter kernel run by this very Python (so it
imports this checkout, whatever else is installed), with the notebook's folder as working
directory. The notebook is read into memory and executed there: the committed file is never
written. The cells assert the numbers they teach (REFERENCE.md), so a change in the engine that
breaks a lesson fails here, with the failing cell and its traceback in the message.
"""
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 300  # seconds for one cell; a whole lesson takes well under a minute
MAX_FILE_SIZE = 600_000  # bytes: the stored pictures must stay a reasonable download


def this_python_kernel(scratch: Path):
    """A kernel manager for the python3 kernel, started by this interpreter.

    Matplotlib gets a non-interactive backend (the lessons switch to the inline one, which only
    makes PNGs), the project root goes first on the kernel's path, and hypothesis keeps its
    cache in ``scratch`` rather than in notebooks/.hypothesis.
    """
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                      display_name="Python 3", language="python",
                      env={"MPLBACKEND": "Agg", "PYTHONPATH": path,
                           "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / ".hypothesis")})

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return spec

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def test_the_lessons_are_numbered_from_01_without_gaps():
    numbers = [int(name[:2]) for name in LESSONS]
    assert len(numbers) >= 6 and numbers == list(range(1, len(numbers) + 1)), LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_top_to_bottom(name, tmp_path):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    before = sorted(os.listdir(NOTEBOOKS))
    client = nbclient.NotebookClient(notebook, km=this_python_kernel(tmp_path), timeout=CELL_TIMEOUT,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sorted(os.listdir(NOTEBOOKS)) == before, "a lesson left files in notebooks/"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_stored_with_its_outputs(name):
    """Committed as run: every code cell executed once, in order, without errors, with pictures."""
    path = NOTEBOOKS / name
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and notebook.cells[0].cell_type == "markdown"
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{name} was not run top to bottom: {counts}"
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"], f"{name} stores an error"
    pictures = [o for o in outputs if {"image/svg+xml", "image/png"} & set(o.get("data", {}))]
    assert pictures, f"{name} stores no graph or plot"
    assert path.stat().st_size < MAX_FILE_SIZE, f"{name} is {path.stat().st_size:,} bytes"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_its_picture_for_the_readme(name):
    number = int(name[:2])
    assert list((ROOT / "docs" / "images").glob(f"lesson-{number}.*")), \
        f"docs/images/lesson-{number}.svg or .png is missing"
