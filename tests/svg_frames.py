"""Measuring an SVG's frame: its declared size against its viewBox, and its content against both.

A browser draws an SVG's viewBox into a box of the declared width and height; content outside
the viewBox is cropped. Graphviz writes its content in one group ``transform="scale(s s)
rotate(0) translate(tx ty)"``: a point (x, y) of the content lands at (s (x + tx), s (y + ty)).
"""
import re
import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"
UNITS = {"pt": 1.0, "": 1.0, "px": 0.75, "in": 72.0}  # to points
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _points(text: str) -> list[float]:
    return [float(x) for x in _NUMBER.findall(text or "")]


def _length(text: str) -> float:
    number, unit = re.fullmatch(r"\s*([\d.]+)\s*([a-z]*)\s*", text).groups()
    return float(number) * UNITS[unit]


def content_points(root):
    """Every corner, anchor and path point of the drawing, in the content's own units."""
    for element in root.iter():
        tag = element.tag.replace(SVG_NS, "")
        if tag in ("polygon", "polyline"):
            numbers = _points(element.get("points"))
        elif tag == "path":
            numbers = _points(element.get("d"))
        elif tag == "ellipse":
            cx, cy, rx, ry = (float(element.get(k)) for k in ("cx", "cy", "rx", "ry"))
            numbers = [cx - rx, cy - ry, cx + rx, cy + ry]
        elif tag == "text":
            numbers = [float(element.get("x")), float(element.get("y"))]
        else:
            continue
        yield from zip(numbers[0::2], numbers[1::2])


def frame_problems(svg, tolerance: float = 0.02) -> list[str]:
    """What would crop or shrink ``svg`` in a browser: a declared size not equal to its viewBox
    (within ``tolerance``), content outside the viewBox. Empty when it shows whole. Pictures
    nested in it (``<svg x= y=>``, as a strip of frames) are measured each in its own frame,
    and must lie inside their parent's."""
    root = svg if isinstance(svg, ET.Element) else \
        ET.fromstring(svg.encode() if isinstance(svg, str) else svg)
    nested = isinstance(svg, ET.Element)
    problems = []
    vx, vy, vw, vh = _points(root.get("viewBox"))
    width, height = _length(root.get("width")), _length(root.get("height"))
    if nested:  # drawn into (x, y, width, height) of its parent: its aspect must be kept
        if abs(width / height - vw / vh) > tolerance * vw / vh:
            problems.append(f"a nested picture drawn {width:g} x {height:g}, "
                            f"viewBox {vw:g} x {vh:g}")
    elif abs(width - vw) > tolerance * vw or abs(height - vh) > tolerance * vh:
        problems.append(f"declared {width:g} x {height:g} pt, viewBox {vw:g} x {vh:g}")
    children = root.findall(f"{SVG_NS}svg")
    for child in children:
        x, y = float(child.get("x", 0)), float(child.get("y", 0))
        w, h = _length(child.get("width")), _length(child.get("height"))
        if x < vx - 1 or y < vy - 1 or x + w > vx + vw + 1 or y + h > vy + vh + 1:
            problems.append(f"a nested picture at ({x:g}, {y:g}) {w:g} x {h:g} is outside "
                            f"{vw:g} x {vh:g}")
        problems += frame_problems(child, tolerance)
    if children:
        return problems
    graph = root.find(f"{SVG_NS}g")
    transform = graph.get("transform", "") if graph is not None else ""
    scale = re.search(r"scale\(([-\d.e]+)(?:[ ,]+([-\d.e]+))?\)", transform)
    sx = float(scale.group(1)) if scale else 1.0
    sy = float(scale.group(2) or sx) if scale else 1.0
    shift = re.search(r"translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)", transform)
    tx, ty = (float(shift.group(1)), float(shift.group(2))) if shift else (0.0, 0.0)
    # Graphviz rounds the scale to 2 or 4 digits: allow for that much drift over the width
    slack_x, slack_y = 1.0 + 0.01 * vw, 1.0 + 0.01 * vh
    outside = [(x, y) for x, y in content_points(graph if graph is not None else root)
               if not (vx - slack_x <= sx * (x + tx) <= vx + vw + slack_x
                       and vy - slack_y <= sy * (y + ty) <= vy + vh + slack_y)]
    if outside:
        x, y = outside[0]
        problems.append(f"{len(outside)} points outside the viewBox, e.g. ({sx * (x + tx):.1f}, "
                        f"{sy * (y + ty):.1f}) in {vw:g} x {vh:g}")
    return problems
