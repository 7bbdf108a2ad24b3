"""mkdocs hooks (mkdocs.yml names this file). The lessons become pages notebooks/NAME.ipynb,
read where they are (no copy to keep in step), and the doctests in docstrings
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
    return files


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
