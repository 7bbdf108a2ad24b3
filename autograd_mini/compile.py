"""The compiler's old address: ``autograd_mini.compile`` is ``autograd_mini.compiler``."""
from .compiler import *  # noqa: F401,F403
from .compiler import __all__, __doc__  # noqa: F401
