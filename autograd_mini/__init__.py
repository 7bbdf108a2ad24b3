"""autograd_mini: a scalar automatic-differentiation engine built on computational graphs.

>>> from autograd_mini import Value
>>> a = Value(2.0, label="a"); b = Value(1.0, label="b")
>>> e = (a + b) * (b + 1)
>>> e.backward()
>>> a.grad, b.grad
(2.0, 5.0)
"""
from .value import Value
from . import ops as _ops  # fills Value's operators and methods from the op table
from .ops import OPS, Op, defop
from .context import AnomalyError, detect_anomaly, enable_grad, no_grad
from .graph import forward_derivative, gradients, tangents, topological_order
from .functional import grad, hessian, jacobian, jvp, value_and_grad, vjp
from .check import GradcheckError, gradcheck

__version__ = "0.1.0"

__all__ = [
    "Value", "OPS", "Op", "defop",
    "no_grad", "enable_grad", "detect_anomaly", "AnomalyError",
    "forward_derivative", "gradients", "tangents", "topological_order",
    "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian",
    "gradcheck", "GradcheckError",
]
