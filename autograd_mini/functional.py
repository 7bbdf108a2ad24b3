"""Derivatives of plain Python functions: grad, value_and_grad, jvp, vjp, jacobian, hessian.

Each function records a graph by calling ``f`` on Values, then reads derivatives off it with the
two interpreters of ``graph.py`` (reverse: ``gradients``; forward: ``tangents``). When the
arguments are themselves Values (as inside another ``grad``), the derivatives are built as
Values with ``create_graph``, which is what makes ``grad(grad(f))`` work.

An argument may be a number, a Value, or a list/tuple of them (its derivative has the same shape).
"""
from __future__ import annotations

from numbers import Real
from typing import Any, Callable, Sequence

from .graph import gradients, tangents
from .value import Value, constant

def _lift(arg, where: str):
    """(the argument to pass to f, the leaf nodes it is made of, whether it came in as Values)."""
    if isinstance(arg, Value):
        node = +arg  # a fresh node still connected to the outer graph, so nesting works
        return node, node, True
    if isinstance(arg, Real):
        node = Value(float(arg))
        return node, node, False
    if isinstance(arg, (list, tuple)):
        lifted = [_lift(a, f"{where}[{i}]") for i, a in enumerate(arg)]
        nodes = [node for node, _, _ in lifted]
        return type(arg)(nodes), nodes, any(nested for _, _, nested in lifted)
    raise TypeError(f"{where} must be a number, a Value or a list of them, got {type(arg).__name__}")


def _prepare(args: tuple, argnums, name: str):
    if isinstance(argnums, int):
        single, nums = True, (argnums,)
    else:
        single, nums = False, tuple(argnums)
    for i in nums:
        if not isinstance(i, int) or not -len(args) <= i < len(args):
            raise ValueError(f"{name}: argnums {argnums!r} does not fit the {len(args)} argument(s) given")
    # Numbers not differentiated still arrive as (constant) Values, so f can call y.sin() on them.
    call_args = [constant(float(a)) if isinstance(a, Real) and not isinstance(a, Value) else a
                 for a in args]
    structures, nested, done = [], False, {}
    for i in nums:
        i %= len(args)  # -1 and len - 1 are one argument
        if i not in done:  # argnums=(0, 0): the same input twice, so the same derivative (JAX)
            lifted, nodes, was_value = _lift(args[i], f"{name}: argument {i}")
            call_args[i] = lifted
            done[i] = nodes
            nested = nested or was_value
        structures.append(done[i])
    return call_args, structures, single, nested


def _flat(structures) -> list[Value]:
    flat = []
    for s in structures:
        flat.extend(s if isinstance(s, list) else [s])
    return flat


def _shape(values: dict, structures, single: bool):
    shaped = tuple([values[n] for n in s] if isinstance(s, list) else values[s] for s in structures)
    return shaped[0] if single else shaped


def _check_output(out, name: str) -> Value:
    if isinstance(out, Value):
        return out
    if isinstance(out, Real):
        return constant(float(out))  # f ignores its inputs: every derivative is 0
    raise TypeError(f"{name}: the function must return a Value or a number, got {type(out).__name__}")


def value_and_grad(f: Callable, argnums=0) -> Callable:
    """A function returning ``(f(*args), df/d args[argnums])`` by reverse mode.

    >>> from autograd_mini import value_and_grad
    >>> value_and_grad(lambda x, y: x * y + y)(2.0, 3.0)
    (9.0, 3.0)
    >>> value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    (6.0, (3.0, 2.0))
    """
    def value_and_grad_f(*args):
        call_args, structures, single, nested = _prepare(args, argnums, "grad")
        out = _check_output(f(*call_args), "grad")
        inputs = _flat(structures)
        found = gradients(out, inputs, create_graph=nested, stop_at=inputs)
        return (out if nested else out.data), _shape(found, structures, single)
    value_and_grad_f.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return value_and_grad_f


def grad(f: Callable, argnums=0) -> Callable:
    """The gradient of a scalar function, as a function. Composable: ``grad(grad(f))`` works.

    >>> from autograd_mini import grad
    >>> grad(lambda x: x ** 3)(2.0)
    12.0
    >>> grad(grad(lambda x: x ** 3))(2.0)
    12.0
    """
    value_and_grad_f = value_and_grad(f, argnums)

    def grad_f(*args):
        return value_and_grad_f(*args)[1]
    grad_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return grad_f


def jacobian(f: Callable, argnums=0) -> Callable:
    """Derivatives of every output of ``f`` (a scalar, or a list/tuple of scalars, possibly nested
    one level) with respect to ``args[argnums]``: the result nests outputs outside inputs.

    >>> from autograd_mini import jacobian
    >>> jacobian(lambda x, y: [x * y, x + y], argnums=(0, 1))(2.0, 3.0)
    [(3.0, 2.0), (1.0, 1.0)]
    """
    def jacobian_f(*args):
        call_args, structures, single, nested = _prepare(args, argnums, "jacobian")
        flat_inputs = _flat(structures)

        def differentiate(out):
            if isinstance(out, (list, tuple)):
                return type(out)(differentiate(o) for o in out)
            out = _check_output(out, "jacobian")
            found = gradients(out, flat_inputs, create_graph=nested, stop_at=flat_inputs)
            return _shape(found, structures, single)
        return differentiate(f(*call_args))
    return jacobian_f


def hessian(f: Callable, argnums=0) -> Callable:
    """Second derivatives of a scalar function: ``jacobian(grad(f))``.

    >>> from autograd_mini import hessian
    >>> hessian(lambda x, y: x * x * y, argnums=(0, 1))(2.0, 3.0)
    ((6.0, 4.0), (4.0, 0.0))
    >>> hessian(lambda v: v[0] ** 2 * v[1])([2.0, 3.0])
    [[6.0, 4.0], [4.0, 0.0]]
    """
    return jacobian(grad(f, argnums), argnums)


def jvp(f: Callable, primals: Sequence, tangents_in: Sequence) -> tuple[Any, Any]:
    """Forward mode: ``(f(*primals), directional derivative of f along tangents)``; for an ``f``
    returning a list or tuple, both are lists or tuples. A Hessian-vector product is
    ``jvp(grad(f, argnums=(0, 1)), primals, vector)``.

    >>> from autograd_mini import jvp, grad
    >>> jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)
    >>> jvp(grad(lambda x, y: x * x * y, argnums=(0, 1)), (2.0, 3.0), (1.0, 0.0))  # H @ (1, 0)
    ((12.0, 4.0), (6.0, 4.0))
    """
    primals, tangents_in = tuple(primals), tuple(tangents_in)
    if len(primals) != len(tangents_in):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents_in)} tangent(s)")
    call_args, structures, _, nested = _prepare(primals, tuple(range(len(primals))), "jvp")
    seeds = {}
    for structure, t in zip(structures, tangents_in):
        if isinstance(structure, list):
            if not isinstance(t, (list, tuple)) or len(t) != len(structure):
                raise ValueError("jvp: a list primal needs a tangent list of the same length")
            seeds.update(zip(structure, t))
        else:
            seeds[structure] = t
    result = f(*call_args)
    if isinstance(result, (list, tuple)):  # several outputs: a tangent for each
        pairs = [_jvp_of(_check_output(out, "jvp"), seeds, nested) for out in result]
        return type(result)(v for v, _ in pairs), type(result)(t for _, t in pairs)
    return _jvp_of(_check_output(result, "jvp"), seeds, nested)


def _jvp_of(out: Value, seeds: dict, nested: bool):
    found = tangents(out, seeds, create_graph=nested)
    return (out if nested else out.data), found.get(out, 0.0)


def vjp(f: Callable, *primals) -> tuple[Any, Callable]:
    """Reverse mode with a chosen output weighting: ``(f(*primals), vjp_fn)``, where
    ``vjp_fn(cotangent)`` returns the derivative of ``cotangent * f`` for each primal.

    >>> from autograd_mini import vjp
    >>> out, back = vjp(lambda x, y: x * y, 2.0, 3.0)
    >>> out, back(1.0)
    (6.0, (3.0, 2.0))
    """
    call_args, structures, _, nested = _prepare(primals, tuple(range(len(primals))), "vjp")
    out = _check_output(f(*call_args), "vjp")

    def vjp_fn(cotangent=1.0):
        inputs = _flat(structures)
        found = gradients(out, inputs, cotangent, create_graph=nested, stop_at=inputs)
        return _shape(found, structures, False)
    return (out if nested else out.data), vjp_fn
