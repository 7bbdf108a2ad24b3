"""Two helpers the lessons use to show pictures that survive being stored in a notebook.

JupyterLab shows an SVG output of a notebook you did not run yourself only once the notebook is
trusted, and a step-through player only with a running kernel; a PNG shows everywhere (JupyterLab,
GitHub, nbviewer). So each drawing is shown as SVG *and* PNG (``show``), and next to each player
goes a static strip of some of its frames as one PNG (``strip``). Drawings are scaled down to fit
the width of a notebook (``MAX_WIDTH_INCHES``); they are never cut off.

PNG needs the Graphviz program ``dot``; without it (the embedded WebAssembly Graphviz draws)
``show`` gives the SVG alone and ``strip`` one SVG of the frames side by side.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import shutil
import textwrap

MAX_WIDTH_INCHES = 8.0  # 768 pixels at 96 dpi: the text column of JupyterLab and of GitHub
PNG_DPI = 96


def _drawing(thing, options: dict):
    """A graphviz graph for a Value (or list of Values), a frame, or an existing drawing."""
    from autograd_mini import Value, to_dot

    if hasattr(thing, "source") and not isinstance(thing, Value):
        return thing.copy()
    if hasattr(thing, "to_dot") and not isinstance(thing, Value):  # a trace's frame
        return thing.to_dot(**options)
    return to_dot(thing, **options)


def _fitted(drawing, max_width: float):
    drawing.graph_attr["size"] = f"{max_width:g},100"  # scale down if wider; never up
    return drawing


def _png(drawing) -> bytes | None:
    """The drawing as PNG at ``PNG_DPI`` (a resolution for pixels only: an SVG keeps its own)."""
    if shutil.which("dot") is None:
        return None
    from autograd_mini.render import render

    drawing = drawing.copy()
    drawing.graph_attr["dpi"] = str(PNG_DPI)
    return _small(render(drawing.source, "png", "dot")[0])


def _small(png: bytes, colors: int = 64) -> bytes:
    """The picture with a palette of ``colors`` (drawings and plots use few): a third the bytes."""
    from PIL import Image  # matplotlib's own dependency

    picture = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colors)
    buffer = io.BytesIO()
    picture.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


class Picture:
    """A drawing for Jupyter as both ``image/svg+xml`` and ``image/png`` (``show`` returns one)."""

    def __init__(self, svg: str, png: bytes | None, text: str) -> None:
        self.svg, self.png, self.text = svg, png, text

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"image/svg+xml": self.svg, "text/plain": self.text}
        if self.png is not None:
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        return self.text


def show(thing, *, max_width: float = MAX_WIDTH_INCHES, **options) -> Picture:
    """``thing`` drawn (``to_dot`` ``options`` apply to a Value or a frame), fitted to the page.

    >>> from autograd_mini import Value
    >>> picture = show(Value(2.0, label="a") * 3)
    >>> picture.svg.lstrip().startswith("<?xml"), picture.text
    (True, '<Drawing: 3 nodes>')
    """
    from autograd_mini.viz import to_svg

    drawing = _drawing(thing, options)
    text = repr(thing if hasattr(thing, "source") else drawing)  # a copy forgets its node count
    drawing = _fitted(drawing, max_width)
    return Picture(str(to_svg(drawing)), _png(drawing), text)


FRAMES = "application/vnd.autograd-mini.frames+json"  # what a strip shows, whoever drew it


class Strip:
    """A picture for Jupyter (``strip`` returns one): ``.png`` holds its bytes, or, drawn without
    the system Graphviz, ``.svg`` its text (the other is None). ``.shows`` says what it shows (the
    captions and a digest of the drawings' DOT text), stored beside it as ``FRAMES``."""

    def __init__(self, png: bytes | None, text: str, svg: str | None = None,
                 shows: dict | None = None) -> None:
        self.png, self.text, self.svg, self.shows = png, text, svg, shows or {}

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.text, FRAMES: self.shows}
        if self.png is not None:
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        if self.svg is not None:
            bundle["image/svg+xml"] = self.svg
        return bundle

    def __repr__(self) -> str:
        return self.text


def strip(frames, *, columns: int = 3, title: str = "", width_inches: float = 11.0,
          **options) -> Strip:
    """Some frames of a trace side by side, each with its caption, as one PNG: the player's
    steps for a reader without a running kernel (``to_dot`` ``options`` apply to each frame)."""
    from matplotlib import image
    from matplotlib.figure import Figure

    frames = list(frames)
    text = f"<{len(frames)} frames: steps {frames[0].number} to {frames[-1].number}>"
    sources = "".join(_drawing(frame, options).source for frame in frames)
    shows = {"title": title, "captions": [_caption(frame) for frame in frames],
             "drawings": hashlib.sha256(sources.encode()).hexdigest()[:16]}
    if shutil.which("dot") is None:
        return Strip(None, text, _svg_strip(frames, columns, title, width_inches, options), shows)
    rows = -(-len(frames) // columns)
    pictures = []
    for frame in frames:
        png = _png(_fitted(_drawing(frame, options), 4.0))
        pictures.append(image.imread(io.BytesIO(png), format="png"))
    tallest = max(p.shape[0] / p.shape[1] for p in pictures)
    cell_width = width_inches / columns
    figure = Figure(figsize=(width_inches, rows * (cell_width * tallest + 0.6)),
                    layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, frame, picture in zip(axes.flat, frames, pictures):
        ax.imshow(picture)
        ax.set_title(_caption(frame), fontsize=9, wrap=True)
    if title:
        figure.suptitle(title, fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return Strip(_small(buffer.getvalue()), text, shows=shows)


def _caption(frame) -> str:
    return f"step {frame.number}: {frame.caption}"


def _svg_strip(frames, columns: int, title: str, width_inches: float, options: dict) -> str:
    """The frames side by side as one SVG, each drawn (by any renderer) into its cell."""
    from autograd_mini.viz import to_svg

    cell = width_inches * 72 / columns  # points
    captions = [textwrap.wrap(_caption(frame), int(cell / 5.5)) for frame in frames]  # 10 pt
    caption_height, title_height = 8 + 12 * max(map(len, captions)), 24 if title else 0
    drawn = []
    for frame in frames:
        svg = str(to_svg(_fitted(_drawing(frame, options), 4.0)))
        opening = re.search(r"<svg\b[^>]*>", svg)
        view_box = re.search(r'viewBox="([^"]*)"', opening.group(0)).group(1)
        width, height = (float(x) for x in view_box.split()[2:])
        drawn.append((view_box, width, height, svg[opening.end():svg.rindex("</svg>")]))
    tallest = max(cell * h / w for _, w, h, _ in drawn)
    row_height = tallest + caption_height
    rows = -(-len(frames) // columns)
    total_width, total_height = cell * columns, title_height + rows * row_height
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
             f'width="{total_width:.0f}pt" height="{total_height:.0f}pt" '
             f'viewBox="0 0 {total_width:.2f} {total_height:.2f}" font-family="sans-serif">',
             f'<rect width="100%" height="100%" fill="white"/>']
    if title:
        parts.append(f'<text x="{total_width / 2:.1f}" y="16" text-anchor="middle" '
                     f'font-size="13">{html.escape(title)}</text>')
    for k, (lines, (view_box, width, height, body)) in enumerate(zip(captions, drawn)):
        x, y = (k % columns) * cell, title_height + (k // columns) * row_height
        parts += [f'<text x="{x + cell / 2:.1f}" y="{y + 12 * (i + 1):.1f}" text-anchor="middle" '
                  f'font-size="10">{html.escape(line)}</text>' for i, line in enumerate(lines)]
        parts.append(f'<svg x="{x:.1f}" y="{y + caption_height:.1f}" width="{cell:.1f}" '
                     f'height="{tallest:.1f}" viewBox="{view_box}">{body}</svg>')
    return "\n".join(parts + ["</svg>"])
