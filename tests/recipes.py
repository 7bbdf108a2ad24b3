"""Random expression graphs over EVERY op in the table, for the property tests.

A graph is drawn as a recipe (inputs, then steps "apply op to these earlier nodes or constants"),
so the same recipe can be replayed on Values, on perturbed inputs (finite differences), on sympy
symbols (the symbolic oracle) or through the compiler. Ops come from ``OPS`` itself: an op added
to the table is covered with no new test. Operands are drawn from all earlier nodes, so
subexpressions are shared.
"""
import math

from hypothesis import assume
from hypothesis import strategies as st

from autograd_mini import OPS

OP_NAMES = sorted(OPS)


def replay(recipe, inputs, constant=lambda c: c, apply=lambda op, args: op(*args)):
    """Run a recipe on ``inputs``; returns the last node. By default on Values (numbers in the
    recipe become the engine's constants); ``constant`` and ``apply`` change the algebra."""
    nodes = list(inputs)
    for name, operands in recipe:
        args = [nodes[ref] if kind == "node" else constant(ref) for kind, ref in operands]
        nodes.append(apply(OPS[name], args))
    return nodes[-1]


def numbers(bound):
    """Moderate floats away from 0, where relu and abs have their kinks (at a kink the engine
    follows PyTorch's one-sided convention, which no oracle shares)."""
    return st.floats(-bound, bound).filter(lambda x: abs(x) > 1e-3)


@st.composite
def recipes(draw, max_inputs=3, max_steps=6, limit=1e3, wild=False):
    """(inputs, recipe). Steps whose value is not a finite number below ``limit`` are dropped
    (domain errors are the IEEE tests' business), unless ``wild``: then inputs and constants are
    any floats (0, inf and nan included) and every step is kept."""
    inputs = st.floats(allow_nan=True, allow_infinity=True) if wild else numbers(2.0)
    constants = inputs if wild else numbers(3.0)
    xs = draw(st.lists(inputs, min_size=1, max_size=max_inputs))
    values = list(xs)
    recipe = []
    for _ in range(draw(st.integers(1, max_steps))):
        name = draw(st.sampled_from(OP_NAMES))
        arity = OPS[name].arity or draw(st.integers(1, 4))
        operands = []
        for _ in range(arity):
            if draw(st.integers(0, 3)) == 0:
                operands.append(("const", draw(constants)))
            else:
                operands.append(("node", draw(st.integers(0, len(values) - 1))))
        out = OPS[name].value(*[values[ref] if kind == "node" else ref for kind, ref in operands])
        if wild or math.isfinite(out) and abs(out) < limit:
            recipe.append((name, operands))
            values.append(out)
    assume(recipe)
    return xs, recipe
