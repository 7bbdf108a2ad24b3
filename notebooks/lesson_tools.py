"""Two helpers the lessons use to show pictures that survive being stored in a notebook.

JupyterLab shows an SVG output of a notebook you did not run yourself only once the notebook is
trusted, and a step-through player only with a running kernel; a PNG shows everywhere (JupyterLab,
GitHub, nbviewer). So each drawing is shown as SVG *and* PNG (``show``), and next to each player
goes a static strip of some of its frames as one PNG (``strip``). Drawings are scaled down to fit
the width of a notebook (``MAX_WIDTH_INCHES``); they are never cut off.

PNG needs the Graphviz program ``dot``; without it ``show`` gives the SVG alone.
"""
from __future__ import annotations

import base64
import io
import shutil

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
    drawing.graph_attr["dpi"] = str(PNG_DPI)
    return drawing


def _png(source: str) -> bytes | None:
    if shutil.which("dot") is None:
        return None
    import graphviz
    return _small(graphviz.Source(source).pipe(format="png"))


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
    return Picture(str(to_svg(drawing)), _png(drawing.source), text)


class Strip:
    """A PNG picture for Jupyter (``strip`` returns one); ``.png`` holds its bytes."""

    def __init__(self, png: bytes, text: str) -> None:
        self.png, self.text = png, text

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return self.text


def strip(frames, *, columns: int = 3, title: str = "", width_inches: float = 11.0,
          **options) -> Strip:
    """Some frames of a trace side by side, each with its caption, as one PNG: the player's
    steps for a reader without a running kernel (``to_dot`` ``options`` apply to each frame)."""
    from matplotlib import image
    from matplotlib.figure import Figure

    frames = list(frames)
    rows = -(-len(frames) // columns)
    pictures = []
    for frame in frames:
        drawing = _fitted(_drawing(frame, options), 4.0)
        png = _png(drawing.source)
        if png is None:
            raise RuntimeError("strip() needs the Graphviz program `dot` (apt-get install graphviz)")
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
        ax.set_title(f"step {frame.index}: {frame.caption}", fontsize=9, wrap=True)
    if title:
        figure.suptitle(title, fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return Strip(_small(buffer.getvalue()), f"<{len(frames)} frames: steps {frames[0].index} to "
                                    f"{frames[-1].index}>")
