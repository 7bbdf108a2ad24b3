"""Jupyter shows a Value as the picture of its graph: the views register that with IPython here,
so the node (``value.py``) imports no view. Nothing is drawn, and ``viz`` is not imported, until
a Value is first shown.

``import autograd_mini`` calls ``register()``; inside a running IPython (a Jupyter kernel) it
adds the display, elsewhere it does nothing.
"""
from __future__ import annotations

import sys

__all__ = ["register"]


def register(shell=None) -> bool:
    """Show Values as their graphs in IPython ``shell`` (default: the running one, if any);
    True when registered.

    >>> class Formatter:                 # what IPython's display formatter offers
    ...     def for_type_by_name(self, module, name, function):
    ...         self.registered = (module, name)
    >>> class Shell:
    ...     class display_formatter:
    ...         mimebundle_formatter = Formatter()
    >>> register(Shell())
    True
    >>> Shell.display_formatter.mimebundle_formatter.registered
    ('autograd_mini.value', 'Value')
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    formatter = shell.display_formatter.mimebundle_formatter
    formatter.for_type_by_name("autograd_mini.value", "Value", _value_bundle)
    return True


def _value_bundle(value) -> dict:
    from .viz import value_mimebundle  # the drawing loads on first display
    return value_mimebundle(value)
