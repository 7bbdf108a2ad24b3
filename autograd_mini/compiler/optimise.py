"""From the joint graph to a plan: which nodes to compute, and which to compute together.

1. ``build``: the graph's Values become plan nodes. Identities are dropped (``+x``, ``1.0 * x``:
   the same float), ops on numbers alone are folded into the number the engine computed.
2. ``collapse_sums``: a gradient piled up from several edges is a chain of additions of products
   (``w1 * g1 + w2 * g2 + ...``, the engine adds them one by one); the table's op whose value is
   such a sum of pairs (``pairs=True``: the neuron's ``affine``) says the same in one node, and
   sums in the same order, so the floats do not change.
3. ``group``: nodes that do the same op at the same depth of the graph, on operands of the same
   kinds, are computed together (``emit``): a layer's weighted sums, their activations, their
   gradients. Nothing here knows about layers: it is read off the graph."""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from ..graph import _collector_paused
from ..ops import OPS
from ..value import Value

_ADD, _MUL, _NEG, _POS, _SUM = OPS["add"], OPS["mul"], OPS["neg"], OPS["pos"], OPS["sum"]
_PAIRS = next(op for op in OPS.values() if op.pairs)


class Node:
    """One node of the plan: an input, a parameter, a number, or an op on other nodes."""

    __slots__ = ("kind", "op", "args", "number", "slot", "label", "batched", "level", "uses",
                 "total_only", "name", "grad_of")

    def __init__(self, kind, op=None, args=(), number=0.0, slot=0, label=""):
        self.kind, self.op, self.args, self.number = kind, op, list(args), number
        self.slot, self.label = slot, label
        self.batched = kind == "input"
        for a in self.args:
            if a.batched:
                self.batched = True
                break
        # the depth in the graph and the uses (set by Plan._reachable), names (set by emit)
        self.level, self.uses, self.total_only, self.name, self.grad_of = 0, 0, False, None, None


class Plan:
    """What a program computes: ``outputs`` (one value per row of a batch) and ``totals`` (summed
    over the rows of a batch), from ``inputs`` (a number per row) and ``params`` (one number).

    A total is kept as the list of the terms it adds up (a parameter's gradient piled from
    several uses): summed over the rows term by term, each term can go with its like (the
    gradient of a weight from the batch is a matrix product; from an L2 penalty, which does not
    depend on the row, it is computed once)."""

    @_collector_paused  # many objects, no cycles: the cycle collector would only cost time
    def __init__(self, outputs: Sequence[Value], inputs: Sequence[Value],
                 params: Sequence[Value] = (), totals: Sequence[Value] = (),
                 grad_names: dict | None = None):
        self.memo: dict[int, Node] = {}
        self.seen: dict[tuple, Node] = {}
        self.inputs = [self._leaf(x, "input", i) for i, x in enumerate(inputs)]
        self.params = [self.memo.get(id(p)) or self._leaf(p, "param", i)
                       for i, p in enumerate(params)]
        self.values = list(outputs) + list(totals)  # keeps the Values alive (ids stay unique)
        self.outputs = [self.node(o) for o in outputs]
        self.totals = [[self.node(t)] for t in totals]
        for value, of in (grad_names or {}).items():  # d node / d (an earlier node): named after it
            node, named = self.memo.get(id(value)), self.memo.get(id(of))
            if node is not None and named is not None and node.kind == "op" \
                    and node.op is value._rule and node.grad_of is None:
                node.grad_of = named
        self.order = self._reachable()
        self._split_totals()  # (the counts of uses stay right: a term loses its addition's use
        collapse_sums(self)   # and gains the total's)
        self.order = self._reachable()

    def _split_totals(self) -> None:
        """Each total's additions (used by it alone) opened into its list of terms."""
        for k, (total,) in enumerate(self.totals):
            terms, stack = [], [total]
            while stack:
                node = stack.pop()
                if node.op is _ADD and node.uses == 1:
                    stack += [node.args[1], node.args[0]]  # the left term first
                else:
                    terms.append(node)
            for term in terms:  # named after what they are the gradient of
                if term.grad_of is None:
                    term.grad_of = total.grad_of
            self.totals[k] = terms

    def _leaf(self, value: Value, kind: str, slot: int) -> Node:
        node = Node(kind, slot=slot, label=value.label)
        self.memo[id(value)] = node
        return node

    def node(self, value) -> Node:
        """The plan node of a Value (made once; the walk is iterative: deep graphs work)."""
        if not isinstance(value, Value):
            return Node("const", number=float(value))
        stack = [value]
        while stack:
            v = stack[-1]
            if id(v) in self.memo:
                stack.pop()
                continue
            missing = [p for p in v.parents if id(p) not in self.memo]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self.memo[id(v)] = self._make(v, [self.memo[id(p)] for p in v.parents])
        return self.memo[id(value)]

    def _make(self, value: Value, args: list) -> Node:
        if not args:
            return Node("const", number=value.data, label=value.label)
        if all(a.kind == "const" for a in args):  # folded: the number the engine computed
            return Node("const", number=value.data)
        op = value._rule
        if op is _POS or op is _SUM and len(args) == 1:  # +x, a sum of one term: x
            return args[0]
        if op is _MUL:
            for one, other in ((args[0], args[1]), (args[1], args[0])):
                if one.kind == "const" and one.number == 1.0:
                    return other  # 1.0 * x is x, bit for bit
                if one.kind == "const" and one.number == -1.0:
                    return Node("op", _NEG, [other])
        key = (op, tuple(map(id, args)))  # the same op on the same nodes: computed once
        if key not in self.seen:
            self.seen[key] = Node("op", op, args, label=value.label)
        return self.seen[key]

    def _reachable(self) -> list[Node]:
        """Every op node the results need, parents first; counts the uses of each node."""
        order, seen = [], set()
        terms = [t for total in self.totals for t in total]
        roots = self.outputs + terms
        for root in roots:
            stack = [(root, iter(root.args))]
            if id(root) in seen:
                continue
            seen.add(id(root))
            root.uses = 0
            while stack:
                node, args = stack[-1]
                for arg in args:
                    if id(arg) not in seen:
                        seen.add(id(arg))
                        arg.uses = 0
                        stack.append((arg, iter(arg.args)))
                        break
                else:
                    stack.pop()
                    if node.kind == "op":
                        order.append(node)
        for node in order:
            level = 0
            for arg in node.args:
                arg.uses += 1
                if arg.level > level:
                    level = arg.level
            node.level = level + 1
        for root in roots:
            root.uses += 1
        is_total = defaultdict(int)
        for t in terms:
            is_total[id(t)] += 1
        for node in order:
            node.total_only = is_total[id(node)] == node.uses and node.batched
        return order


def collapse_sums(plan: Plan) -> None:
    """Rewrite chains ``((m1 + m2) + m3) ...`` of products used once into one pairs node (the
    table's ``affine``), which sums in the same order. Outermost sums first, so a chain is
    flattened whole."""
    seen: set[int] = set()
    for node in reversed(plan.order):
        if node.op is _SUM:
            _collapse_n_ary(node)
        if node.op is not _ADD or id(node) in seen:
            continue
        adds, terms, cur = [], [], node
        while cur.op is _ADD and (cur is node or cur.uses == 1) and id(cur) not in seen:
            adds.append(cur)
            seen.add(id(cur))
            terms.append(cur.args[1])
            cur = cur.args[0]
        terms.append(cur)
        terms.reverse()  # terms[0] starts the sum
        adds.reverse()   # adds[i] holds terms[0] + ... + terms[i + 1]
        j = 0            # the leading products after the start
        while j + 1 < len(terms) and terms[j + 1].op is _MUL and terms[j + 1].uses == 1:
            j += 1
        start = terms[0]
        if j == 0 or (j == 1 and not (start.op is _MUL and start.uses == 1)):
            continue
        pairs = []
        if start.op is _MUL and start.uses == 1:
            pairs += start.args
            start = None
        for t in terms[1:j + 1]:
            pairs += t.args
        adds[j - 1].op, adds[j - 1].args = _PAIRS, pairs + ([start] if start is not None else [])


def group(plan: Plan) -> list[list[Node]]:
    """The plan's op nodes in groups computed together, in an order that respects the edges:
    same depth (so none needs another), same op, same number and kinds of operands."""
    buckets: dict[tuple, list[Node]] = {}
    for node in plan.order:
        kinds = tuple("c" if a.kind == "const" else "p" if a.kind == "param" else
                      "d" if a.batched else "s" for a in node.args)
        key = (node.level, id(node.op), kinds, node.batched, node.total_only)
        buckets.setdefault(key, []).append(node)
    return [nodes for key, nodes in sorted(buckets.items(), key=lambda kv: kv[0][0])]


def _collapse_n_ary(node: Node) -> None:
    """``sum(m1, ..., mk, r1, ...)`` with products m used once: ``pairs(m's, 0.0) + r1 + ...``
    (the table's sum adds left to right from 0.0: the same floats, a zero's sign included)."""
    k = 0
    while k < len(node.args) and node.args[k].op is _MUL and node.args[k].uses == 1:
        k += 1
    if k < 2:
        return
    # from 0.0, as the table's sum: a sum of -0.0 terms is 0.0 (pairs alone would keep -0.0)
    pairs = [a for m in node.args[:k] for a in m.args] + [Node("const", number=0.0)]
    rest = node.args[k:]
    if not rest:
        node.op, node.args = _PAIRS, pairs
        return
    total = Node("op", _PAIRS, pairs)
    for term in rest[:-1]:
        total = Node("op", _ADD, [total, term])
    node.op, node.args = _ADD, [total, rest[-1]]
