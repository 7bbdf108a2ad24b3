"""``autograd-mini site DIR``: a static web site whose playground runs this engine in the browser.

``DIR/playground/index.html`` is the playground: the page files (``templates/playground/``), the
Python runtime (Pyodide: CPython compiled to WebAssembly), Graphviz for the browser (viz.js, for
the DOT text the engine writes) and the engine's own source (the installed ``autograd_mini`` and
``nn`` files, zipped as they are, plus the pure-Python ``graphviz`` package that writes DOT) are
all copied into DIR, so any static file server (``python -m http.server``, GitHub Pages) serves
it and nothing is fetched from the network when the page runs.

The browser assets come from the npm packages pinned in ``web/package.json`` and its lock file;
``npm ci`` installs them there when they are missing.

>>> sorted(RUNTIME)[:2]
['pyodide-lock.json', 'pyodide.asm.mjs']
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import stat
import subprocess
import zipfile
from importlib import resources
from pathlib import Path

__all__ = ["SiteError", "build", "engine_files", "web_directory"]

PAGE = "playground"                      # DIR/playground/index.html
PAGE_FILES = ("index.html", "playground.css", "playground.js", "worker.js")
PLAYER_FILES = ("player.js", "player.css")  # the step-through player the CLI's --steps uses
RUNTIME = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
           "pyodide-lock.json")        # what Pyodide needs to start, from node_modules/pyodide
VIZ = ("@viz-js", "viz", "dist", "viz.js")  # Graphviz compiled to WebAssembly, one ES module
ENGINE_PACKAGES = ("autograd_mini", "nn", "graphviz")
MARKER = ".autograd-mini-site"           # says a directory holds a site this command wrote
NODE_HELP = ("install Node.js and npm (Debian/Ubuntu: sudo apt-get install nodejs npm; "
             "elsewhere https://nodejs.org) and run the command again")


class SiteError(RuntimeError):
    """The site cannot be built; ``str(error)`` is one line saying why and what to do."""


def web_directory() -> Path:
    """``web/`` of the source checkout: the pinned npm packages (package.json + lock file)."""
    return Path(__file__).resolve().parent.parent / "web"


def engine_files() -> dict[str, bytes]:
    """The Python source the page runs: every file of the installed packages, by archive path.

    >>> files = engine_files()
    >>> "autograd_mini/value.py" in files and "nn/layers.py" in files
    True
    """
    files: dict[str, bytes] = {}
    for package in ENGINE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SiteError(f"the package {package} is not installed: pip install -e . first")
        top = Path(list(spec.submodule_search_locations)[0])
        for path in sorted(top.rglob("*")):
            relative = path.relative_to(top)
            if path.is_file() and "__pycache__" not in relative.parts \
                    and path.suffix not in (".pyc", ".pyo"):
                files[f"{package}/{relative.as_posix()}"] = path.read_bytes()
    return files


def _engine_zip() -> bytes:
    """The packages as one zip with fixed dates, so the same source gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in engine_files().items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                             zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _installed_as_pinned(web: Path, modules: Path) -> bool:
    """Are the packages in ``node_modules`` there, at the versions ``package.json`` pins?"""
    try:
        pins = json.loads((web / "package.json").read_text("utf-8"))["dependencies"]
        return all(json.loads((modules / name / "package.json").read_text("utf-8"))["version"]
                   == version for name, version in pins.items()) \
            and all((modules / "pyodide" / name).is_file() for name in RUNTIME) \
            and modules.joinpath(*VIZ).is_file()
    except (OSError, ValueError, KeyError):
        return False


def _node_modules(web: Path) -> Path:
    """``web/node_modules``, installed from the lock file with ``npm ci`` when missing or not
    at the pinned versions."""
    modules = web / "node_modules"
    if _installed_as_pinned(web, modules):
        return modules
    if not (web / "package.json").is_file() or not (web / "package-lock.json").is_file():
        raise SiteError(f"{web} has no package.json and package-lock.json: the site is built "
                        f"from a source checkout of autograd-mini (or pass --web DIR)")
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SiteError(f"building the site needs Node.js and npm to install the pinned browser "
                        f"assets: {NODE_HELP}")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web,
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        raise SiteError(f"npm ci in {web} failed: {lines[-1]}")
    return modules


def _template(*parts: str) -> bytes:
    return resources.files(__package__).joinpath("templates", *parts).read_bytes()


def _check_directory(directory: Path) -> None:
    """Write only into a new or empty directory, or one this command wrote before."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise SiteError(f"{directory} is not a directory: name a new or empty directory")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MARKER).is_file():
        raise SiteError(f"{directory} is not empty and holds no site written by autograd-mini: "
                        f"name a new or empty directory")


def _kind(mode: int) -> str:
    return ("a directory" if stat.S_ISDIR(mode) else "a symbolic link" if stat.S_ISLNK(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a regular file")


def _check_paths(directory: Path, names) -> None:
    """Refuse, before writing anything, where a path the site writes is not what it wrote:
    a folder that is not a real directory, or a file that is not a regular file. Checked with
    ``lstat``, so nothing is opened or followed: a link is never written through, a FIFO never
    blocks, and each file is then replaced by a new one (written beside it, renamed over it)."""
    seen = set()
    for name in names:
        parts = Path(name).parts
        for depth in range(1, len(parts) + 1):
            path = directory.joinpath(*parts[:depth])
            if path in seen:
                continue
            seen.add(path)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                break  # nothing below it exists either
            except OSError as error:
                raise SiteError(f"cannot check {path}: {error.strerror or error}") from None
            is_file = depth == len(parts)
            if stat.S_ISREG(mode) if is_file else stat.S_ISDIR(mode):
                continue
            raise SiteError(f"{path} is {_kind(mode)} where the site writes "
                            f"{'a file' if is_file else 'a folder'}: remove it or name a new "
                            f"or empty directory")


def build(directory: str | os.PathLike, web: str | os.PathLike | None = None) -> list[Path]:
    """Write the static site into ``directory``; returns the files written.

    ``web`` holds ``package.json`` and ``package-lock.json`` (default: the checkout's ``web/``).
    """
    from .files import write_atomic
    directory = Path(directory)
    _check_directory(directory)
    modules = _node_modules(Path(web) if web is not None else web_directory())
    files: dict[str, bytes] = {MARKER: b"written by `autograd-mini site`\n"}
    files["index.html"] = _template("playground", "site-index.html")
    for name in PAGE_FILES:
        files[f"{PAGE}/{name}"] = _template("playground", name)
    for name in PLAYER_FILES:
        if resources.files(__package__).joinpath("templates", name).is_file():
            files[f"{PAGE}/{name}"] = _template(name)
    for name in RUNTIME:
        files[f"{PAGE}/vendor/pyodide/{name}"] = (modules / "pyodide" / name).read_bytes()
    files[f"{PAGE}/vendor/viz.js"] = modules.joinpath(*VIZ).read_bytes()
    files[f"{PAGE}/engine.zip"] = _engine_zip()
    _check_paths(directory, files)
    written = []
    for name, data in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        written.append(path)
    return written
