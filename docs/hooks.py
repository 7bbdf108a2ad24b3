"""mkdocs hooks (mkdocs.yml names this file). The lessons become pages notebooks/NAME.ipynb,
read where they are (no copy to keep in step), their math is typeset by a MathJax copied into
the site from the pip package ``jupyter-server-mathjax`` (nothing is fetched at page time), and
the doctests in docstrings
(``>>>`` paragraphs) are shown as Python code in the API reference. Only the standard library is
imported at the top, so pytest's doctest collection can import this file without mkdocs."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def on_config(config):
    config.markdown_extensions.append(_doctest_fences())
    return config


def on_files(files, config):
    from mkdocs.structure.files import File
    for notebook in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        files.append(File(f"notebooks/{notebook.name}", str(ROOT), config["site_dir"],
                          config["use_directory_urls"]))
    mathjax = _mathjax_folder()
    for path in sorted(p for p in mathjax.rglob("*") if p.is_file()):
        files.append(File.generated(config, f"{MATHJAX}/{path.relative_to(mathjax).as_posix()}",
                                    abs_src_path=str(path)))
    return files


MATHJAX = "mathjax"  # the site's folder for it: mkdocs.yml's custom_mathjax_url points there


def _mathjax_folder() -> pathlib.Path:
    """MathJax 2 as the pip package jupyter-server-mathjax ships it (the version the lessons'
    nbconvert template configures), or a one-line error saying how to get it."""
    import importlib.util
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.origin:
        raise ImportError("the lessons' math needs MathJax from jupyter-server-mathjax: "
                          'pip install -e ".[docs]"')
    return pathlib.Path(spec.origin).parent / "static"


on_files.mkdocs_priority = 100  # mkdocs.plugins.event_priority(100): before mkdocs-jupyter's


def fence_doctests(lines: list[str]) -> list[str]:
    """Each paragraph that starts with ``>>>`` outside a fenced block, fenced as ``pycon``.

    >>> fence_doctests(["Text.", ">>> 1 + 1", "2", "", "```", ">>> kept", "```"])
    ['Text.', '', '```pycon', '>>> 1 + 1', '2', '```', '', '```', '>>> kept', '```']
    """
    out, fenced, in_doctest = [], False, False
    for line in lines:
        if in_doctest and not line.strip():
            out += ["```", ""]
            in_doctest = False
            continue
        if not in_doctest and line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and not in_doctest and line.lstrip().startswith(">>>"):
            out += ["", "```pycon"]
            in_doctest = True
        out.append(line)
    return out + ["```"] if in_doctest else out


def _doctest_fences():
    from markdown import Extension
    from markdown.preprocessors import Preprocessor

    class DoctestFences(Preprocessor):
        def run(self, lines):
            return fence_doctests(lines)

    class DoctestFencesExtension(Extension):
        def extendMarkdown(self, md):
            md.preprocessors.register(DoctestFences(md), "doctest_fences", 40)  # before fences

    return DoctestFencesExtension()
