"""autograd_mini: a scalar automatic-differentiation engine built on computational graphs.

>>> from autograd_mini import Value
>>> a = Value(2.0, label="a"); b = Value(1.0, label="b")
>>> e = (a + b) * (b + 1)
>>> e.backward()
>>> a.grad, b.grad
(2.0, 5.0)
"""
from .value import Value
from .ops import OPS, Op, defop  # the table gives Value its operators and methods
from .context import AnomalyError, GraphCutError, detect_anomaly, enable_grad, no_grad
# graph.py gives Value its backward()
from .graph import (collector_paused, count_multiplications, forward_derivative, gradients,
                    tangents, topological_order)
from .functional import grad, hessian, jacobian, jvp, value_and_grad, vjp
from .check import GradcheckError, gradcheck
# Eager (stdlib only): a lazy name would be shadowed by the submodule autograd_mini.trace.
from .trace import Trace, trace
from .compile import compile  # eager for the same reason (stdlib only; NumPy loads on first batch)
from . import display as _display
_display.register()  # inside Jupyter, a Value shows as its graph (drawn on first display)

__version__ = "0.1.0"

# Drawing loads on first use (it reaches for Graphviz), so `import autograd_mini` stays light.
_DRAWING = ("to_dot", "draw_dot", "to_svg", "save")


def __getattr__(name: str):
    if name in _DRAWING:
        from . import viz
        return getattr(viz, name)
    raise AttributeError(f"module 'autograd_mini' has no attribute {name!r}")

__all__ = [
    "Value", "OPS", "Op", "defop",
    "no_grad", "enable_grad", "detect_anomaly", "AnomalyError", "GraphCutError",
    "forward_derivative", "gradients", "tangents", "topological_order", "count_multiplications",
    "collector_paused",
    "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian",
    "gradcheck", "GradcheckError",  # not "compile": a star import would hide the builtin
    *_DRAWING,
]
