"""Expressions given as text, such as ``"(a+b)*(b+1)"``, turned into a graph of Values safely.

The text is parsed by Python's ``ast`` and only a whitelist is accepted: numbers, names,
``+ - * / **``, unary ``-`` and ``+``, calls of the op table's functions (``exp``, ``log``,
``tanh``, ``sigmoid``, ``relu``, ``sqrt``, ``sin``, ``cos``, ``abs``, ``sum``, ... and any op
added with ``defop``), and ``name = expression`` statements separated by ``;`` or new lines, so
that intermediate nodes get names. Nothing is ever passed to ``eval`` or ``exec``: the tree is
walked here and each step applies an op from the table. Anything else raises
``ExpressionError``, a one-line message that names the problem and its column.

>>> out = evaluate("c = a + b; d = b + 1; e = c * d", a=2, b=1)
>>> out.label, out.data
('e', 6.0)
>>> evaluate("a.__class__", a=1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
autograd_mini.expr.ExpressionError: column 1: attribute access (.__class__) is not allowed; use numbers, names, + - * / ** and the functions abs, add, affine, ...

All arithmetic is IEEE float arithmetic through the op table, so ``9 ** 0.5`` or ``1 / 0`` (inf)
never raise and nothing can run for long: Python's unbounded integer ``**`` is never used. Even
so, an exponent that is a number larger than ``MAX_EXPONENT`` is refused, since it can only
overflow.
"""
from __future__ import annotations

import ast
import math
import sys
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from numbers import Real
from typing import Mapping

from .ops import OPS
from .value import Value

__all__ = ["ExpressionError", "Expression", "Evaluation", "parse", "evaluate",
           "MAX_LENGTH", "MAX_NESTING", "MAX_EXPONENT"]

MAX_LENGTH = 10_000   # characters of text accepted
MAX_NESTING = 100     # levels of brackets, calls, unary signs and ** towers (a flat sum is 1)
MAX_EXPONENT = 1024   # |y| of a number used as an exponent: beyond it x ** y is 0, 1 or inf

# Python's operators: how each is written and the method Python calls for it. One is allowed
# when a row of the op table provides that method (``+ - * / **``, unary ``-`` and ``+`` today).
OPERATORS = {
    ast.Add: ("+", "__add__"), ast.Sub: ("-", "__sub__"), ast.Mult: ("*", "__mul__"),
    ast.Div: ("/", "__truediv__"), ast.Pow: ("**", "__pow__"), ast.FloorDiv: ("//", "__floordiv__"),
    ast.Mod: ("%", "__mod__"), ast.MatMult: ("@", "__matmul__"), ast.LShift: ("<<", "__lshift__"),
    ast.RShift: (">>", "__rshift__"), ast.BitOr: ("|", "__or__"), ast.BitXor: ("^", "__xor__"),
    ast.BitAnd: ("&", "__and__"), ast.USub: ("-", "__neg__"), ast.UAdd: ("+", "__pos__"),
    ast.Invert: ("~", "__invert__"), ast.Not: ("not", None),
}
WHAT = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing with [...]",
    ast.Lambda: "lambda", ast.Compare: "a comparison", ast.BoolOp: "and / or",
    ast.IfExp: "if / else", ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict",
    ast.Set: "a set", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "the := operator", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Starred: "* unpacking", ast.Slice: "a slice",
}


class ExpressionError(ValueError):
    """An expression that cannot be used; ``str(error)`` is one line naming the problem.

    ``line`` and ``column`` (1-based) point at it when there is a place to point at.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 many_lines: bool = False) -> None:
        self.message, self.line, self.column = message, line, column
        where = ""
        if column is not None:
            where = f"line {line}, column {column}: " if many_lines else f"column {column}: "
        super().__init__(where + message)


def _functions() -> dict:
    """The callable ops, read from the table each time (so ``defop`` additions count)."""
    return dict(sorted(OPS.items()))


def _operator_op(operator: ast.AST):
    """The table's row that a Python operator (``ast.Add``, ``ast.USub``, ...) calls, or None."""
    method = OPERATORS.get(type(operator), (None, None))[1]
    return next((op for op in OPS.values() if method in op.methods), None)


def _allowed() -> str:
    binary = [symbol for kind, (symbol, _) in OPERATORS.items()
              if issubclass(kind, ast.operator) and _operator_op(kind()) is not None]
    return f"use numbers, names, {' '.join(binary)} and the functions " + ", ".join(_functions())


@dataclass(frozen=True)
class Evaluation:
    """The result of ``Expression.evaluate``: the output node and every named node."""

    output: Value
    inputs: dict[str, Value]   # the names given values, in order of first use
    named: dict[str, Value]    # every name: inputs and names assigned in the text


class Expression:
    """A parsed, checked expression; ``inputs`` are the names it needs values for.

    >>> e = parse("(a + b) * (b + 1)")
    >>> e.inputs
    ('a', 'b')
    >>> result = e.evaluate({"a": 2, "b": 1})
    >>> result.output.data, result.inputs["b"].label
    (6.0, 'b')
    """

    def __init__(self, text: str, tree: ast.Module) -> None:
        self.text = text
        self._tree = tree
        self._lines = text.splitlines() or [""]
        self.inputs, self.assigned = self._check()

    # -- where things are ----------------------------------------------------------------------
    def _error(self, message: str, node: ast.AST | None = None) -> ExpressionError:
        if node is None or not hasattr(node, "col_offset"):
            return ExpressionError(message)
        line, offset = self._operator_position(node) or (node.lineno, node.col_offset)
        source = self._lines[line - 1] if line - 1 < len(self._lines) else ""
        # ast counts columns in UTF-8 bytes; people count characters
        column = len(source.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1
        return ExpressionError(message, line, column, len(self._lines) > 1)

    def _operator_position(self, node: ast.AST) -> tuple[int, int] | None:
        """Where a binary operator's symbol is (ast only knows where its operands are)."""
        if not isinstance(node, ast.BinOp) or node.left.end_lineno != node.right.lineno:
            return None
        line = node.left.end_lineno
        source = self._lines[line - 1].encode("utf-8") if line - 1 < len(self._lines) else b""
        between = source[node.left.end_col_offset:node.right.col_offset]
        stripped = between.lstrip(b" \t()")
        if not stripped:
            return None
        return line, node.left.end_col_offset + len(between) - len(stripped)

    def _source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.dump(node)

    # -- the whitelist ---------------------------------------------------------------------------
    def _check(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        functions = _functions()
        inputs: list[str] = []
        assigned: list[str] = []
        if not self._tree.body:
            raise ExpressionError("the expression is empty")
        self._check_nesting()
        for statement in self._tree.body:
            if isinstance(statement, ast.Expr):
                value = statement.value
            elif isinstance(statement, ast.Assign):
                if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                    raise self._error("only a single name can be assigned, as in c = a + b",
                                      statement)
                value = statement.value
            else:
                kind = type(statement).__name__.lower()
                raise self._error(f"a statement ({kind}) is not allowed: write expressions, or "
                                  f"name = expression", statement)
            for node in _preorder(value):
                self._check_node(node, functions, inputs, assigned)
            if isinstance(statement, ast.Assign):
                target = statement.targets[0]
                if target.id in functions:
                    raise self._error(f"{target.id} is a function; pick another name", target)
                if target.id in assigned or target.id in inputs:
                    raise self._error(f"{target.id} already has a value; pick a new name",
                                      target)
                assigned.append(target.id)
        return tuple(inputs), tuple(assigned)

    def _check_nesting(self) -> None:
        """Refuse real nesting deeper than ``MAX_NESTING``. A chain of one operator (``a+b+c``,
        ``a*b*c``) is not nesting, however long: Python's tree hangs it on its left operands."""
        stack = [(statement, 0) for statement in self._tree.body]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_NESTING:
                raise self._error(f"the expression is nested more than {MAX_NESTING} levels "
                                  f"deep (brackets, calls, signs or ** inside each other); "
                                  f"name parts with `name = ...;` statements", node)
            for child in ast.iter_child_nodes(node):
                chained = isinstance(node, ast.BinOp) and child is node.left \
                    and isinstance(child, ast.BinOp)
                stack.append((child, depth if chained else depth + 1))

    def _check_node(self, node: ast.AST, functions, inputs: list, assigned: list) -> None:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._error(f"{value!r} is not a number; {_allowed()}", node)
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise self._error(f"the number {_short(self._source(node))} is too large for "
                                  f"a float", node)
        elif isinstance(node, ast.Name):
            if node.id in functions:
                raise self._error(f"{node.id} is a function: call it, as in {node.id}(x)", node)
            if node.id not in assigned and node.id not in inputs:
                inputs.append(node.id)
        elif isinstance(node, (ast.BinOp, ast.UnaryOp)):
            if _operator_op(node.op) is None:
                symbol = OPERATORS.get(type(node.op), (type(node.op).__name__,))[0]
                raise self._error(f"the operator {symbol} is not supported; {_allowed()}", node)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self._error(f"only the engine's functions can be called; {_allowed()}",
                                  node)
            name = node.func.id
            if name not in functions:
                raise self._error(f"unknown function {name!r}; the functions are "
                                  f"{', '.join(functions)}", node)
            if node.keywords:
                raise self._error(f"{name}() takes plain arguments, no name=value", node)
            arity = functions[name].arity
            if arity is not None and len(node.args) != arity:
                plural = "s" if arity != 1 else ""
                raise self._error(f"{name}() takes {arity} argument{plural}, got "
                                  f"{len(node.args)}", node)
            if arity is None and not node.args:
                raise self._error(f"{name}() needs at least one argument", node)
        elif isinstance(node, (ast.operator, ast.unaryop, ast.expr_context)):
            pass
        else:
            what = WHAT.get(type(node), type(node).__name__)
            if isinstance(node, ast.Attribute):
                what += f" (.{node.attr})"
            raise self._error(f"{what} is not allowed; {_allowed()}", node)

    # -- building the graph ------------------------------------------------------------------------
    def evaluate(self, values: Mapping[str, float] | None = None) -> Evaluation:
        """Build the graph with ``values`` for the inputs (leaves labelled with their names).

        Every input needs a value; names the expression does not use are ignored.
        """
        values = _as_names(values or {})
        missing = [name for name in self.inputs if name not in values]
        if missing:
            wanted = " ".join(f"{name}=1.5" if i == 0 else f"{name}=..." for i, name in
                              enumerate(missing))
            raise ExpressionError(f"no value for {', '.join(missing)}: give "
                                  f"{'it' if len(missing) == 1 else 'them'} as {wanted}")
        for name in self.assigned:
            if name in values:
                raise ExpressionError(f"{name} is assigned in the expression and also given a "
                                      f"value; drop one")
        named: dict[str, Value] = {}
        for name in self.inputs:
            named[name] = Value(_number(values[name], name), label=name)
        inputs = dict(named)
        result = None
        for statement in self._tree.body:
            result = self._build(statement.value, named)
            if isinstance(statement, ast.Assign):
                name = statement.targets[0].id
                if not isinstance(result, Value):
                    result = Value(result, label=name)  # a number given a name: an input too
                elif not result.label:
                    result.label = name
                named[name] = result
        if not isinstance(result, Value):
            result = Value(result)
        return Evaluation(result, inputs, named)

    def _build(self, root: ast.expr, named: dict[str, Value]):
        """Apply the ops bottom up, without recursion (a long sum is a deep tree)."""
        functions = _functions()
        results: list = []
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            operands = _operands(node)
            if not ready and operands:
                stack.append((node, True))
                stack.extend((operand, False) for operand in reversed(operands))
                continue
            arguments = results[len(results) - len(operands):] if operands else []
            del results[len(results) - len(operands):]
            if isinstance(node, ast.Constant):
                results.append(float(node.value))
            elif isinstance(node, ast.Name):
                results.append(named[node.id])
            else:  # an operator or a call of the table's functions, checked in _check
                op = functions[node.func.id] if isinstance(node, ast.Call) else \
                    _operator_op(node.op)
                if "__pow__" in op.methods:
                    self._check_exponent(arguments[1], node)
                results.append(_apply(op, arguments))
        return results[0]

    def _check_exponent(self, exponent, node: ast.AST) -> None:
        if not isinstance(exponent, Value) and abs(exponent) > MAX_EXPONENT:
            raise self._error(f"the exponent {_short(exponent)} is too large (at most "
                              f"{MAX_EXPONENT} here): the result can only overflow", node)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _preorder(root: ast.AST):
    """Every node, outer before inner and left before right (so errors come in reading order)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Call):  # the callee's name is checked with the call
            children = [*node.args, *node.keywords]
        else:
            children = list(ast.iter_child_nodes(node))
        stack.extend(reversed(children))


def _operands(node: ast.AST) -> list:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _apply(op, arguments: list):
    """An op on Values makes a node; on plain numbers it is the table's float rule."""
    if any(isinstance(a, Value) for a in arguments):
        return op(*arguments)
    return float(op.value(*arguments))


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ExpressionError(f"the value of {name} must be a number, got "
                              f"{type(value).__name__} {value!r:.30}")
    try:
        return float(value)
    except OverflowError:
        raise ExpressionError(f"the value of {name} is too large for a float") from None


def normalize_name(name: str) -> str:
    """A name as Python reads it in the expression: NFKC-normalised (PEP 3131), so the
    ligature ``ﬁ`` is the name ``fi``.

    >>> normalize_name("ﬁ"), normalize_name("x₁")
    ('fi', 'x1')
    """
    return unicodedata.normalize("NFKC", name)


def _as_names(values: Mapping[str, float]) -> dict[str, float]:
    """``values`` keyed by the names as the expression has them; two keys for one name: refused."""
    named: dict[str, float] = {}
    for key, value in dict(values).items():
        name = normalize_name(key) if isinstance(key, str) else key
        if name in named:
            raise ExpressionError(f"{name} is given twice ({key!r} is the same name)")
        named[name] = value
    return named


def _short(number) -> str:
    text = str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def parse(text: str) -> Expression:
    """Check ``text`` against the whitelist; raises ``ExpressionError`` if anything is amiss.

    >>> parse("tanh(x) ** 2").inputs
    ('x',)
    >>> parse("foo(x)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    autograd_mini.expr.ExpressionError: column 1: unknown function 'foo'; the functions are abs, add, affine, ...
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; at most "
                              f"{MAX_LENGTH:,} are accepted")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = _parse_tree(text)
    except SyntaxError as error:
        message = (error.msg or "invalid syntax").split(" (")[0]
        if error.offset and error.lineno:
            many = len(text.splitlines()) > 1
            raise ExpressionError(f"syntax error: {message}", error.lineno, error.offset,
                                  many) from None
        raise ExpressionError(f"syntax error: {message}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    except ValueError as error:  # e.g. NUL characters, on some Python versions
        raise ExpressionError(f"the expression cannot be read: {error}") from None
    return Expression(text, tree)


_recursion_lock = threading.Lock()


def _parse_tree(text: str) -> ast.Module:
    """``ast.parse``, with room for a long flat chain: Python 3.11 builds the tree of ``a+a+...``
    recursively, one level per term, and would stop at the recursion limit (1,000) although the
    text is under ``MAX_LENGTH``. The real nesting limit is checked on the tree afterwards."""
    needed = len(text) + 200  # a tree is never deeper than its text is long
    with _recursion_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "1 is 1": refused later
        old = sys.getrecursionlimit()
        if needed > old:
            sys.setrecursionlimit(needed)
        try:
            return ast.parse(text, filename="<expression>", mode="exec")
        finally:
            if needed > old:
                sys.setrecursionlimit(old)


def evaluate(text: str, values: Mapping[str, float] | None = None, **more: float) -> Value:
    """Parse and build in one go; returns the output node.

    >>> y = evaluate("tanh(w * x + b)", w=0.5, x=2.0, b=0.0)
    >>> round(y.data, 6)
    0.761594
    """
    return parse(text).evaluate({**(values or {}), **more}).output
