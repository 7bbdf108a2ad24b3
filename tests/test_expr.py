"""The expression parser: a whitelist over Python's ast, never eval.

Oracles: hand-derived numbers of e = (a+b)(b+1) (Olah 2015); for random expression trees, a value computed
here with math from the tree itself and derivatives from central finite differences; for
"never executes anything", Python's audit hooks (every exec, import, os.system, subprocess, file
open raises an audit event) watched while the parser runs.
"""
import math
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autograd_mini import Value
from autograd_mini.expr import MAX_EXPONENT, ExpressionError, evaluate, parse

# -- never executes anything -----------------------------------------------------------------

FORBIDDEN_EVENTS = ("exec", "import", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
                    "subprocess.Popen", "open", "socket.", "ctypes.", "builtins.input")
_watch = {"on": False, "seen": []}


def _audit(event, args):
    if _watch["on"] and event.startswith(FORBIDDEN_EVENTS):
        if event == "open" and args[0] == "<expression>" and args[1] == "rb":
            return  # CPython looks for the source line of a SyntaxError under the parse's name
        _watch["seen"].append((event, args[:1]))


sys.addaudithook(_audit)  # hooks cannot be removed; this one only records while watching


def parse_and_build(text, values):
    """Parse and evaluate while watching; returns the output or the ExpressionError."""
    _watch["on"], _watch["seen"] = True, []
    try:
        try:
            return parse(text).evaluate(values).output
        except ExpressionError as error:
            return error
    finally:
        _watch["on"] = False
        assert _watch["seen"] == [], f"{text!r} triggered {_watch['seen']}"


VALUES = {"a": 2.0, "b": 1.0, "x": 0.5, "w": -1.5}


def test_the_seed_expression():
    result = parse("(a+b)*(b+1)").evaluate({"a": 2, "b": 1})
    e, a, b = result.output, result.inputs["a"], result.inputs["b"]
    assert e.data == 6.0
    e.backward()
    assert (a.grad, b.grad) == (2.0, 5.0)  # de/da, de/db, by hand
    assert (a.label, b.label) == ("a", "b")


def test_assignments_name_the_intermediate_nodes():
    result = parse("c = a + b; d = b + 1\ne = c * d").evaluate({"a": 2, "b": 1})
    assert [(k, v.data) for k, v in result.named.items()] == [
        ("a", 2.0), ("b", 1.0), ("c", 3.0), ("d", 2.0), ("e", 6.0)]
    assert result.output is result.named["e"] and result.output.label == "e"
    c, d = result.named["c"], result.named["d"]
    assert result.output.parents == (c, d) and result.output.local_grads == (2.0, 3.0)


def test_functions_from_the_op_table():
    out = evaluate("tanh(w*x + b) + exp(0) + sum(a, b, 3) + relu(-a) + abs(w) + sigmoid(0)",
                   VALUES)
    expected = math.tanh(-1.5 * 0.5 + 1.0) + 1.0 + 6.0 + 0.0 + 1.5 + 0.5
    assert out.data == pytest.approx(expected)
    assert evaluate("pow(a, 3) - mul(a, b) + div(a, 4) + neg(b) + pos(b)", VALUES).data == \
        pytest.approx(8 - 2 + 0.5 - 1 + 1)


def test_an_operator_is_allowed_when_a_row_of_the_table_provides_its_method(fresh_ops):
    with pytest.raises(ExpressionError, match="the operator % is not supported; use numbers, "
                                              "names, [+] - [*] / [*][*] and the functions"):
        parse("a % b")
    from autograd_mini import defop
    defop("fmod", math.fmod, lambda out, a, b: (1.0, -float(int(a / b))), method="__mod__")
    out = evaluate("a % b", a=7.5, b=2)  # fmod(7.5, 2) = 1.5; d/da = 1, d/db = -trunc(7.5/2) = -3
    out.backward()
    assert (out.op, out.data, out.parents[0].grad, out.parents[1].grad) == ("fmod", 1.5, 1.0, -3.0)
    assert "% " in str(pytest.raises(ExpressionError, parse, "a @ b").value).split("use")[1]


def test_numbers_alone_use_ieee_floats():
    assert evaluate("1/0").data == math.inf
    assert math.isnan(evaluate("(-8) ** 0.5").data)
    assert evaluate("2 * 3").data == 6.0 and evaluate("2 * 3").is_leaf


@pytest.mark.parametrize("text, fragment, column", [
    ("__import__('os')", "unknown function '__import__'", 1),
    ("__import__('os').system('ls')", "only the engine's functions can be called", 1),
    ("a.__class__", "attribute access (.__class__) is not allowed", 1),
    ("a + b.data", "attribute access (.data)", 5),
    ("(lambda: 1)()", "only the engine's functions can be called", 1),
    ("lambda: a", "lambda is not allowed", 1),
    ("a[0]", "indexing", 1),
    ("open('x')", "unknown function 'open'", 1),
    ("eval('1')", "unknown function 'eval'", 1),
    ("exp", "exp is a function: call it", 1),
    ("exp(a, b)", "exp() takes 1 argument, got 2", 1),
    ("exp(x=1)", "plain arguments", 1),
    ("exp(*a)", "unpacking", 5),
    ("a // b", "the operator // is not supported", 3),
    ("(a + b) % b", "the operator % is not supported", 9),
    ("a if b else x", "if / else is not allowed", 1),
    ("a < b", "a comparison is not allowed", 1),
    ("'text'", "'text' is not a number", 1),
    ("True * a", "True is not a number", 1),
    ("1e999", "the number 1e999 is too large for a float", 1),
    ("9**9**9", "the exponent 387420489 is too large", 2),
    ("a ** 1e6", "the exponent 1000000 is too large", 3),
    ("2 ** (10 ** 4)", "the exponent 10000 is too large", 3),
    ("(a + b", "syntax error: '(' was never closed", 1),
    ("a +* b", "syntax error", 4),
    ("import os", "a statement (import) is not allowed", 1),
    ("a = 1; a = 2", "a already has a value", 8),
    ("exp = 1", "exp is a function; pick another name", 1),
    ("a, b = 1, 2", "only a single name can be assigned", 1),
    ("", "the expression is empty", None),
    ("c = a\nd = b.c", "attribute access (.c)", 5),
    ("é + b.x", "attribute access (.x)", 5),  # columns count characters, not bytes
])
def test_refused_with_a_one_line_message_and_column(text, fragment, column):
    error = parse_and_build(text, VALUES)
    assert isinstance(error, ExpressionError), text
    message = str(error)
    assert fragment in message and "\n" not in message
    assert error.column == column
    if column is not None:
        assert message.startswith(f"column {column}: ") or message.startswith("line ")


def test_missing_and_conflicting_values():
    with pytest.raises(ExpressionError, match=r"^no value for b, c: give them as b=1.5 c=\.\.\.$"):
        parse("a + b * c").evaluate({"a": 1})
    with pytest.raises(ExpressionError, match="also given a value"):
        parse("c = a + 1; c * a").evaluate({"a": 1, "c": 2})
    with pytest.raises(ExpressionError, match="must be a number"):
        parse("a + 1").evaluate({"a": "2"})
    assert parse("a + 1").evaluate({"a": 1, "unused": 5}).output.data == 2.0


def test_limits_of_size_and_depth():
    with pytest.raises(ExpressionError, match="at most 10,000"):
        parse("a+" * 6000 + "a")
    for depth in (101, 5000, 9000):  # real nesting: refused, by Python's parser or by ours
        result = parse_and_build("-" * depth + "a", {"a": 1.5})
        assert isinstance(result, ExpressionError) and "nested" in str(result)
    assert parse_and_build("-" * 90 + "a", {"a": 1.5}).data == 1.5
    assert isinstance(parse_and_build("exp(" * 101 + "a" + ")" * 101, {"a": 0.0}),
                      ExpressionError)
    with pytest.raises(ExpressionError, match="syntax error"):
        parse("(" * 300 + "a" + ")" * 300)
    long_sum = parse("+".join(["a"] * 900)).evaluate({"a": 1.0}).output
    assert long_sum.data == 900.0  # a deep tree, built without recursion


@pytest.mark.parametrize("operator", ["+", "-", "*", "/"])
def test_a_long_flat_chain_under_the_length_limit_is_not_nesting(operator):
    """3,333 terms (9,999 characters) is one level of nesting, not 3,333."""
    text = operator.join(["a"] * 3333)
    assert len(text) < 10_000
    out = parse(text).evaluate({"a": 1.0}).output
    assert out.data == {"+": 3333.0, "-": -3331.0, "*": 1.0, "/": 1.0}[operator]
    out.backward()
    assert len(text.split(operator)) == 3333


def test_names_given_values_are_normalised_as_names_in_the_expression():
    """Python reads the ligature ﬁ in the text as the name fi (NFKC); a value for ﬁ is fi's."""
    assert parse("ﬁ + 1").inputs == ("fi",)
    assert parse("ﬁ + 1").evaluate({"ﬁ": 2}).output.data == 3.0
    assert evaluate("\uff58 * 2", **{"\uff58": 4}).data == 8.0  # a full-width x is x
    with pytest.raises(ExpressionError, match="fi is given twice"):
        parse("ﬁ + 1").evaluate({"ﬁ": 2, "fi": 3})


def test_a_huge_exponent_from_a_value_is_instant_inf():
    assert evaluate("a ** b", a=9.0, b=9.0 ** 9).data == math.inf


# -- property: the value and derivatives of random expressions --------------------------------

UNARY = {"exp": math.exp, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
         "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "neg": lambda v: -v}
BINARY = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q}


def trees(depth=3):
    leaf = st.one_of(st.sampled_from(["a", "b", "x"]),
                     st.integers(-3, 3).map(str), st.sampled_from(["0.5", "1.25"]))
    if depth == 0:
        return leaf
    inner = trees(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.sampled_from(sorted(UNARY)), inner),
        st.tuples(st.sampled_from(sorted(BINARY)), inner, inner),
    )


def render(tree):
    if isinstance(tree, str):
        return tree
    if len(tree) == 2:
        return f"{tree[0]}({render(tree[1])})"
    return f"({render(tree[1])} {tree[0]} {render(tree[2])})"


def compute(tree, env):
    if isinstance(tree, str):
        return env[tree] if tree in env else float(tree)
    if len(tree) == 2:
        return UNARY[tree[0]](compute(tree[1], env))
    return BINARY[tree[0]](compute(tree[1], env), compute(tree[2], env))


@settings(max_examples=60, deadline=None)
@given(trees(), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_random_expressions_match_an_independent_evaluation(tree, a, b, x):
    env = {"a": a, "b": b, "x": x}
    result = parse(render(tree)).evaluate(env)
    assert result.output.data == pytest.approx(compute(tree, env), rel=1e-12, abs=1e-12)
    result.output.backward()
    for name, node in result.inputs.items():
        h = 1e-6
        up = compute(tree, {**env, name: env[name] + h})
        down = compute(tree, {**env, name: env[name] - h})
        assert node.grad == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-5)


# -- fuzz: random text is refused cleanly and never runs anything -------------------------------

TOKENS = ["a", "b", "x", "1", "2.5", "1e999", "9", "**", "*", "+", "-", "/", "//", "(", ")",
          ",", ".", "=", ";", "\n", " ", "exp", "tanh", "sum", "__import__", "'os'", "lambda",
          ":", "[", "]", "{", "}", "os", "system", "__class__", "eval", "open", "if", "else",
          "not", "and", "@", "%", "~", "<", "is", "yield", "await", "*a", "**a", "\\", "#",
          "\x00", "é", "f'", "j", "_", "0x", "1_0", "...", "True", "None"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_fuzz_token_soup(text):
    result = parse_and_build(text, VALUES)
    assert isinstance(result, (Value, ExpressionError))
    if isinstance(result, ExpressionError):
        assert "\n" not in str(result) and str(result)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_any_text(text):
    result = parse_and_build(text, VALUES)
    assert isinstance(result, (Value, ExpressionError))
