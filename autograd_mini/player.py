"""The step-through player as one offline HTML page, around the data a recording gives.

The page is ``templates/player.html`` with ``player.css`` and ``player.js`` inlined; the script
``AutogradMiniPlayer.mount(element, data)`` is the player itself, which any page can hold (the
data: ``Trace.player_data()``). Placeholders are filled in one pass, so text a user wrote (a
label, a title) is never read as a placeholder, and the data sit in a JSON script element
escaped for every HTML context.
"""
from __future__ import annotations

import html
import json
import re
from importlib import resources

__all__ = ["page", "InlinePlayer", "asset"]

_PLACEHOLDER = re.compile(r"__([A-Z]+)__")


def asset(name: str) -> str:
    """A file of the player (``player.js``, ``player.css``, ...), shipped as package data."""
    return resources.files(__package__).joinpath("templates", name).read_text("utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    """Every ``__KEY__`` of the template replaced at once (what is put in is never rescanned)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _script_json(data) -> str:
    """JSON that can sit inside a <script> element: no "</script>", "<!--" or "<script" can
    end or change it (every <, > and & is written as a \\u escape)."""
    return (json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _steps(frames, row: str = "player-step.html") -> str:
    """The list of steps as HTML rows, numbered from 1: what shows without scripts."""
    row = asset(row).strip()
    return "\n".join(_fill(row, {"INDEX": str(number), "NUMBER": str(number + 1),
                                 "CAPTION": html.escape(frame["c"])})
                     for number, frame in enumerate(frames))


def page(data: dict) -> str:
    """The player page for ``data`` (``Trace.player_data()``, with its ``svg``): one file.

    >>> from autograd_mini import Value, trace
    >>> with trace() as t:
    ...     x = Value(3.0, label="__SVG__"); y = x * x
    >>> text = page(t.player_data(backend="wasm", title="__DATA__"))
    >>> '<span class="t">__SVG__ = 3</span>' in text, "<title>__DATA__</title>" in text
    (True, True)
    """
    data = dict(data)
    svg = data.pop("svg")  # in the page, where it shows without scripts too
    data.pop("dot", None)  # drawn already
    return _fill(asset("player.html"), {
        "TITLE": html.escape(data.get("title", "")),
        "BACKEND": html.escape(data.pop("backend", "")),
        "COUNT": str(len(data["frames"])),
        "CSS": asset("player.css"),
        "JS": asset("player.js"),
        "SVG": svg,
        "STEPS": _steps(data["frames"]),
        "DATA": _script_json(data),
    })


class InlinePlayer:
    """The HTML player for a notebook cell, isolated in an iframe; ``.html`` is the page.

    Where the iframe or its scripts are not shown (GitHub, an untrusted notebook in JupyterLab,
    whose sanitiser removes iframes and scripts) the cell's HTML keeps a static stand-in: the
    picture of the last step (``.svg``, as an image) and the list of steps as text. A script
    beside it removes the stand-in wherever scripts run, and so the iframe shows too.

    >>> from autograd_mini import Value, trace
    >>> with trace() as t:
    ...     x = Value(3.0, label="x"); y = x * x
    >>> cell = InlinePlayer(t.player_data(backend="wasm"))._repr_html_()
    >>> cell.count("<iframe"), "<li>x = 3</li>" in cell
    (1, True)
    """

    def __init__(self, data: dict) -> None:
        self.html = page(data)
        self.svg = data.get("svg", "")
        self._frames = data["frames"]

    def _repr_html_(self) -> str:
        import base64
        import hashlib
        return _fill(asset("player-cell.html"), {
            "PAGE": html.escape(self.html, quote=True),
            # the same output gives the same id: regenerated notebooks stay byte-stable
            "ID": "agm-static-" + hashlib.sha1(self.html.encode("utf-8")).hexdigest()[:12],
            "COUNT": str(len(self._frames)),
            "SVG": base64.b64encode(self.svg.encode("utf-8")).decode("ascii"),
            "STEPS": _steps(self._frames, "player-cell-step.html"),  # <ol> numbers from 1
        })

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/html": self._repr_html_(), "text/plain": "<step-through player>"}
        if self.svg:
            bundle["image/svg+xml"] = self.svg
        return bundle
