"""Labels and formats for every view: one palette, one way to write a number, and the text of a
node's label (its formula, escaped for Graphviz). Knows the op table's way of writing an op
(``Op.written``), nothing of nn.

>>> write = number_formatter(".3g")
>>> write(2 / 3), write(-0.0), spread("a", [0.5, 0.25], write)
('0.667', '0', 'a 0.5, 0.25')
"""
from __future__ import annotations

import textwrap
import unicodedata
from typing import Callable, Mapping

import graphviz

from .value import Value

__all__ = ["FONT", "COLOR", "TITLE_WIDTH", "number_formatter", "formula", "header", "spread",
           "visible", "plain", "record", "title_label"]

TITLE_WIDTH = 90  # characters on a line of a title

# Colours: inputs blue, the output(s) gold, a highlighted node orange, constants grey.
FONT = "Helvetica,Arial,sans-serif"
COLOR = {
    "border": "#4a5568", "header": "#edf2f7", "leaf": "#dbeafe", "output": "#fef3c7",
    "highlight": "#fdba74", "edge": "#4a5568", "edge_label": "#1d4ed8", "grad": "#b91c1c",
    "constant": "#718096", "muted": "#a0aec0",
    "data": "#ede9fe", "layer": "#f8fafc", "layer_border": "#94a3b8", "neuron": "#ffffff",
    "box": "#f1f5f9",
}


def number_formatter(number_format: str | Callable[[float], str] = ".4g") -> Callable[[object], str]:
    """A function that writes a number (or a Value's number) with ``number_format``.

    ``number_format`` is a format spec such as ``".4g"`` or ``".3f"``, or a function.

    >>> number_formatter(".3f")(2), number_formatter()(1 / 3)
    ('2.000', '0.3333')
    """
    if callable(number_format):
        write = number_format
    else:
        try:
            format(1.5, number_format)
        except (TypeError, ValueError):
            raise ValueError(f"number_format must be a float format spec such as '.4g' or '.3f' "
                             f"(or a function), got {number_format!r}") from None

        def write(x: float) -> str:
            return format(x, number_format)

    def formatted(x) -> str:
        if isinstance(x, Value):  # a grad after backward(create_graph=True)
            x = x.data
        x = float(x)
        return write(0.0 if x == 0.0 else x)  # -0.0 reads as a stray minus sign

    return formatted


def formula(node: Value, name_of: Callable[[Value], str | None], neuron=None) -> str | None:
    """The node's op written over its parents' names, as the op table's row writes it (e.g.
    ``"a + b"``, ``"tanh(h)"``, ``"w1·i1 + w2·i2 + b1"``).

    ``name_of(parent)`` gives a parent's name (None when it has none: then there is no formula).
    A neuron's input sum (``neuron``, from ``autograd_mini.groups``) whose weights are named as a
    matrix's row, or whose operands have no names, reads as vectors: ``w0[3,·]·x + b0[3]``.
    """
    if not node.parents:
        return None
    if neuron is not None and neuron.net is node and neuron.weights_row:
        return neuron.formula()
    names = [name_of(p) for p in node.parents]
    if any(name is None for name in names):
        return neuron.formula() if neuron is not None and neuron.net is node else None
    return node._rule.written(names)


def as_float(x) -> float:
    return float(x.data if isinstance(x, Value) else x)  # a grad may be a Value (create_graph)


def spread(name: str, numbers: list, write, listed: int = 4) -> str:
    """A few numbers written out (``a 0, 0.4, 0.2``), more as their range and mean."""
    if len(numbers) <= listed:
        return f"{name} {', '.join(write(x) for x in numbers)}"
    values = [as_float(x) for x in numbers]
    return (f"{name} {write(min(values))} … {write(max(values))}, "
            f"mean {write(sum(values) / len(values))}")


def header(node: Value, name_of, neuron_of: Mapping | None = None) -> str:
    """``c = a + b`` when the parents have names, else ``c (+)``; a leaf shows its name; a
    neuron's input sum reads ``z0[3] = w0[3,·]·x + b0[3]``."""
    name = node.label or name_of(node) or ""
    if not node.parents:
        return name
    neuron = neuron_of.get(node) if neuron_of else None
    text = formula(node, name_of, neuron)
    if text is None:
        return f"{name} ({node.op})" if name else node.op
    return f"{name} = {text}" if name else text


def title_label(title: str, width: int = TITLE_WIDTH) -> str:
    """A title as lines of at most ``width`` characters (Graphviz does not wrap): each note
    (parts joined by " · ") starts a line."""
    lines = [line for part in visible(title).split(" · ")
             for line in textwrap.wrap(part, width) or [""]]
    return graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))


def record(fields: list[str], rankdir: str) -> str:
    label = " | ".join(record_escape(field) for field in fields)
    return plain_record(label if rankdir in ("LR", "RL") else "{ " + label + " }")


_RECORD_SPECIALS = {c: "\\" + c for c in '{}|<>"\\'}


def visible(text) -> str:
    """One line of text that XML can carry: whitespace runs become one space, other control
    characters their visible pictures (NUL is ␀), lone surrogates and non-characters U+FFFD."""
    out = []
    for c in " ".join(str(text).split()):
        code = ord(c)
        if code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF) or \
                unicodedata.category(c) == "Cc":
            out.append("\ufffd")
        else:
            out.append(c)
    return "".join(out)


def record_escape(text: str) -> str:
    """A field of a record label: Graphviz gives {, }, |, <, >, quotes and \\ a meaning there."""
    return "".join(_RECORD_SPECIALS.get(c, c) for c in visible(text))


def plain(text: str) -> str:
    """One line of text for a quoted DOT string: never taken as an HTML-like label (a text in
    <...> would be), with a backslash kept as a backslash."""
    return graphviz.nohtml(visible(text).replace("\\", "\\\\"))


def plain_record(label: str) -> str:
    """A record label already escaped field by field: only kept from being read as HTML."""
    return graphviz.nohtml(label)
