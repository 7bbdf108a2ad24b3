"""Writing a plan out as Python: straight-line code on floats, or array code on NumPy.

Every line comes from the op table: an op's ``code`` template (``{0} + {1}``) or a call of its
rule by name (``tanh(v)``: the float rule, or the array rule on NumPy). On NumPy each group of
the plan is one line over arrays with a column per node of the group; a group of weighted sums
(the table's ``pairs`` op, a neuron's ``affine``) that share their inputs is a matrix product,
and the parameters' gradients summed over a batch's rows are products of transposed matrices.
So the program of a layered network reads like the four equations of backpropagation.

The source is in ``linecache`` (tracebacks show it) until the program is freed."""
from __future__ import annotations

import builtins
import itertools
import keyword
import linecache
import math
import re
import weakref
from collections import defaultdict
from functools import partial

from ..graph import _collector_paused
from ..ops import OPS
from .optimise import Node, Plan, group

_MUL = OPS["mul"]

_programs = itertools.count()


def _literal(x: float) -> str:
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "(-inf)"
    return repr(x) if math.copysign(1.0, x) > 0 else f"({x!r})"


def numpy_module():
    """NumPy, or None when it is not installed (programs then run on floats)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


class Names:
    """Names for the program's variables: the user's labels where they are plain identifiers
    (ASCII, so two labels never normalise to one name; never a keyword or a name the program
    uses), else x0, v1, ...; ``dv1`` is kept for the gradient of ``v1``."""

    def __init__(self, reserved):
        self.taken = set(reserved) | set(dir(builtins)) | set(keyword.kwlist)
        self.for_grads: set[str] = set()

    def pick(self, label: str, fallback: str, of: str | None = None) -> str:
        """A free name: ``label`` if usable, or ``d`` + ``of`` (a gradient), else ``fallback``."""
        if of is not None and _plain(of) and "d" + of not in self.taken:
            name = "d" + of
        else:
            if not _plain(fallback):  # made from a user's label: "a b0", or a fullwidth "ｘ0"
                fallback = "v"        # (which Python reads as x0, an input's name)
            name = label if self._usable(label) and label not in self.for_grads else fallback
            k = 0
            while name in self.taken or name in self.for_grads:
                k += 1
                name = f"{fallback}_{k}"
        self.taken.add(name)
        self.for_grads.add("d" + name)
        return name


    @staticmethod
    def _usable(label: str) -> bool:
        return (_plain(label) and not label.startswith("_")
                and not (label[0] in "vxpgzh" and label[1:].isdigit()))


def _plain(text: str) -> bool:
    """An ASCII identifier that is not a keyword (two such names never normalise to one)."""
    return text.isidentifier() and text.isascii() and not keyword.iskeyword(text)


_FIXED = {"np", "stack", "inf", "nan", "X", "P", "params", "rows", "totals"}


def _ops_of(plan: Plan, program: str) -> dict:
    """Each op of the plan -> the name its rule has in the program (its own, made unique)."""
    names, used = {}, _FIXED | {program}
    for node in plan.order:
        if node.op not in names:
            name, k = node.op.name, 0
            while name in used:
                k += 1
                name = f"{node.op.name}_{k}"
            used.add(name)
            names[node.op] = name
    return names


class Program:
    """A plan written out. ``function(backend)`` gives it as a Python function:

    - ``"float"``: ``run(*inputs, params) -> (outputs, totals)``, numbers in and out;
    - ``"numpy"``: ``run(X, params) -> (outputs, totals)``, ``X`` a 2-D array with a row per
      example and a column per input; each output an array with one value per row (or one
      number, if it does not depend on the row), the totals summed over the rows.
    """

    def __init__(self, plan: Plan, name: str = "f"):
        self.plan, self.name = plan, name if name.isidentifier() else "f"
        self.op_names = _ops_of(plan, self.name)
        self.sources: dict[str, str] = {}
        self.functions: dict = {}

    # -- names ---------------------------------------------------------------------------------
    def _names(self, reserved) -> Names:
        names = Names(set(reserved) | set(self.op_names.values()) | {self.name})
        for node in self.plan.memo.values():
            node.name = None
        for i, node in enumerate(self.plan.inputs):
            node.name = names.pick(node.label, f"x{i}")
        for i, node in enumerate(self.plan.params):
            node.name = names.pick(node.label, f"p{i}")
        return names

    # -- floats ----------------------------------------------------------------------------------
    def float_source(self) -> str:
        plan = self.plan
        names = self._names({"params", "inf", "nan"})
        lines = []
        for count, node in enumerate(plan.order, 1):
            node.name = names.pick(node.label, f"v{count}", node.grad_of and node.grad_of.name)
            lines += self._assign(node.name, node)
        args = [n.name for n in plan.inputs] + (["params"] if plan.params else [])
        head = [f"def {self.name}({', '.join(args)}):"]
        if plan.params:
            head.append(f"    {', '.join(p.name for p in plan.params)}{',' if len(plan.params) == 1 else ''} = params")
        outs = ", ".join(self._atom(o) for o in plan.outputs)
        totals = ", ".join(" + ".join(self._atom(t) for t in terms) for terms in plan.totals)
        tail = f"    return ({outs}{',' if len(plan.outputs) == 1 else ''}), [{totals}]"
        return "\n".join(head + [f"    {line}" for line in lines] + [tail])

    def _atom(self, node: Node) -> str:
        return _literal(node.number) if node.kind == "const" else node.name

    def _assign(self, name: str, node: Node, atom=None) -> list[str]:
        """The lines computing ``node`` into ``name``."""
        args = [(atom or self._atom)(a) for a in node.args]
        if node.op.pairs:  # start + a0 * a1 + a2 * a3 ..., left to right as the table's rule
            terms = ([args[-1]] if len(args) % 2 else []) + \
                [f"{args[i]} * {args[i + 1]}" for i in range(0, len(args) - 1, 2)]
            # in lines of 64 terms (the same order): Python's compiler recurses on long sums
            lines = [f"{name} = {' + '.join(terms[:64])}"]
            lines += [f"{name} = {name} + {' + '.join(terms[k:k + 64])}"
                      for k in range(64, len(terms), 64)]
            return lines
        if node.op.code is not None:
            return [f"{name} = {node.op.code.format(*args)}"]
        return [f"{name} = {self.op_names[node.op]}({', '.join(args)})"]

    # -- running ---------------------------------------------------------------------------------
    def source(self, backend: str = "numpy") -> str:
        self.function(backend)
        return self.sources[backend]

    def function(self, backend: str = "float"):
        if backend not in self.functions:
            self._build(backend)
        return self.functions[backend]

    @_collector_paused  # (as Plan: many objects, no cycles)
    def _build(self, backend: str) -> None:
        if backend == "float":
            text, namespace = self.float_source(), {}
            namespace.update({name: op.value for op, name in self.op_names.items()})
            namespace.update(inf=math.inf, nan=math.nan)
        elif backend == "numpy":
            np = numpy_module()
            if np is None:
                raise ImportError("a batched program needs NumPy (pip install numpy); the float "
                                  "backend runs without it")
            text, namespace = _Vectorised(self).write()
            namespace.update({name: partial(op.numpy, np) for op, name in self.op_names.items()})
            namespace.update(inf=math.inf, nan=math.nan, np=np, stack=lambda *columns: np.stack(
                np.broadcast_arrays(*columns), axis=-1))
        else:
            raise ValueError(f"backend must be 'float' or 'numpy', got {backend!r}")
        filename = f"<compiled {self.name} #{next(_programs)}, {backend}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        weakref.finalize(self, linecache.cache.pop, filename, None)  # freed with the program
        exec(builtins.compile(text, filename, "exec"), namespace)
        run = namespace[self.name]
        if backend == "numpy":
            run = _quiet(np, run)
        self.sources[backend], self.functions[backend] = text, run


def _quiet(np, function):
    """IEEE results without RuntimeWarnings (inf and nan are values here, as on floats)."""
    def run(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    return run


class _Vectorised:
    """The plan's groups written as array code (one line per group)."""

    def __init__(self, program: Program):
        self.program, self.plan = program, program.plan
        self.names = program._names(_FIXED)
        self.constants: dict[tuple, str] = {}  # (dtype, numbers, shape) -> name
        self.views: dict[tuple, str] = {}      # gathered parameters: (slots, shape) -> name
        self.where: dict[int, tuple] = {}      # op node -> (its group's name, lane, width)
        self.head: list[str] = []
        self.lines: list[str] = []
        self.count = itertools.count(1)

    def _slots(self, numbers: tuple, shape: tuple | None = None) -> str:
        """An index: a slice (a view, no copy) when the places follow each other."""
        if numbers == tuple(range(numbers[0], numbers[0] + len(numbers))):
            return f"{numbers[0]}:{numbers[0] + len(numbers)}"
        return self._constant("_i", numbers, shape)

    def _constant(self, prefix: str, numbers: tuple, shape: tuple | None = None) -> str:
        entry = ("index" if prefix == "_i" else "float", tuple(numbers), shape or (len(numbers),))
        return self.constants.setdefault(entry, f"{prefix}{len(self.constants)}")

    def _view(self, params: list[Node], shape: tuple) -> str:
        """Parameters as a vector or a matrix, gathered once at the top: ``w0 = P[_i3]``."""
        index = tuple(p.slot for p in params)
        if (index, shape) in self.views:
            return self.views[(index, shape)]
        if len(shape) == 2:  # the transpose of a matrix already gathered (the reverse pass's W)
            rows, cols = shape
            flipped = tuple(index[r * cols + c] for c in range(cols) for r in range(rows))
            if (flipped, (cols, rows)) in self.views:
                return self.views[(flipped, (cols, rows))] + ".T"
        stems = {p.label.split("[")[0] for p in params}
        stem = stems.pop() if len(stems) == 1 and all("[" in p.label for p in params) else ""
        name = self.names.pick(stem, f"{stem or 'p'}{len(self.views)}")
        where = self._slots(index, shape)
        reshape = f".reshape{shape}" if ":" in where and len(shape) == 2 else ""
        self.head.append(f"{name} = P[{where}]{reshape}")
        self.views[(index, shape)] = name
        return name

    def atom(self, node: Node) -> str:
        """One node's value: a number, a name, or a column of its group."""
        if node.kind == "const":
            return _literal(node.number)
        if node.kind != "op":
            return node.name
        name, lane, width = self.where[id(node)]
        return name if width == 1 else f"{name}[..., {lane}]"

    def home(self, nodes: list[Node]):
        """(array, width, lanes) when all ``nodes`` live in one array (X, or one group)."""
        if all(n.kind == "input" for n in nodes):
            slots = [n.slot for n in nodes]
            first = sorted(set(slots))
            if first == list(range(len(first))) and len(first) < len(self.plan.inputs):
                return f"X[:, :{len(first)}]", len(first), slots  # the first columns of X
            return "X", len(self.plan.inputs), slots
        places = [self.where.get(id(n)) if n.kind == "op" else None for n in nodes]
        if None in places or len({p[0] for p in places}) != 1:
            return None
        name, _, width = places[0]
        return name, width, [p[1] for p in places]

    def lanes(self, nodes: list[Node], width: int) -> str:
        """An array holding ``nodes[i]`` in column i (broadcasting against the group's shape)."""
        first = nodes[0]
        if all(n is first for n in nodes):
            text = self.atom(first)
            return f"{text}[..., None]" if width > 1 and first.batched else text
        if all(n.kind == "const" for n in nodes) and len({repr(n.number) for n in nodes}) == 1:
            return _literal(first.number)
        if all(n.kind == "const" for n in nodes):
            return self._constant("_c", tuple(n.number for n in nodes))
        if all(n.kind == "param" for n in nodes):
            return self._view(nodes, (len(nodes),))
        found = self.home(nodes)
        if found is not None:
            name, home_width, index = found
            if index == list(range(home_width)):
                return name if home_width > 1 else f"{name}[..., None]"
            if name.startswith("X"):
                return f"X[:, {self._constant('_i', tuple(index))}]"
            return f"{name}[..., {self._constant('_i', tuple(index))}]"
        return f"stack({', '.join(self.atom(n) for n in nodes)})"

    def write(self) -> tuple[str, dict]:
        plan = self.plan
        deferred = []
        for bucket in group(plan):
            for nodes in self._split(bucket):
                if nodes[0].total_only and self._outer(nodes) is not None \
                        and all(self._once(n) for n in nodes):
                    deferred.append(nodes)  # a product of matrices summed over the rows, below
                else:
                    self._group(nodes)
        totals = self._totals(deferred) if plan.totals else []
        outs = ", ".join(self.atom(o) for o in plan.outputs)
        tail = [f"return ({outs}{',' if len(plan.outputs) == 1 else ''}), "
                + ("totals" if plan.totals else "()")]
        body = self.head + self.lines + totals + tail
        used = set(re.findall(r"[A-Za-z_]\w*", "\n".join(body)))
        unpack = []
        columns = [n.name for n in plan.inputs]
        if len(used.intersection(columns)) * 4 > len(columns):
            unpack.append(f"{', '.join(columns)}{',' if len(columns) == 1 else ''} = X.T")
        else:  # (a few of many: one view each)
            unpack += [f"{name} = X[:, {k}]" for k, name in enumerate(columns) if name in used]
        unpack += [f"{p.name} = P[{p.slot}]" for p in plan.params if p.name in used]
        text = "\n".join([f"def {self.program.name}(X, P):"]
                         + [f"    {line}" for line in unpack + body])
        return text, self._namespace()

    def _split(self, bucket: list[Node]) -> list[list[Node]]:
        """A bucket of like nodes in groups whose operands, position by position, live in one
        array each (so no group has to gather columns from several); nodes that differ only by
        a number go together when there are four or more (``t - [0, 1, 2, ...]``, a class
        index against each class: the ops after them can then group)."""
        def home(node: Node):
            if node.kind in ("const", "param", "input"):
                return node.kind
            return self.where[id(node)][0]
        parts: dict[tuple, list[Node]] = {}
        for node in bucket:
            parts.setdefault(tuple(home(a) for a in node.args), []).append(node)
        def same(a: Node, b: Node) -> bool:
            return a is b or a.kind == b.kind == "const" and repr(a.number) == repr(b.number)
        groups = []
        for nodes in parts.values():
            varying = [i for i in range(len(nodes[0].args))
                       if any(not same(n.args[i], nodes[0].args[i]) for n in nodes)]
            if not varying or len(nodes) < 4 and all(nodes[0].args[i].kind == "const"
                                                     for i in varying):
                groups += [[n] for n in nodes]  # (v ** 2 and v ** 1 read better alone)
            else:
                groups.append(nodes)
        return groups

    def _namespace(self) -> dict:
        np = numpy_module()
        return {name: np.array(numbers, dtype=np.intp if kind == "index" else float).reshape(shape)
                for (kind, numbers, shape), name in self.constants.items()}

    def _name_group(self, nodes: list[Node]) -> str:
        k = next(self.count)
        of = [n.grad_of for n in nodes]
        if len(nodes) == 1 and of[0] is not None and of[0].kind != "op" and of[0].name:
            return self.names.pick("", f"v{k}", of[0].name)
        if [o.slot if o is not None and o.kind == "input" else None for o in of] \
                == list(range(len(self.plan.inputs))) and len(nodes) > 1:
            return self.names.pick("", f"g{k}", "X")
        if all(o is not None and o.kind == "op" and id(o) in self.where for o in of):
            found = self.home(of)
            if found is not None and found[2] == list(range(found[1])) and found[1] == len(nodes):
                return self.names.pick("", f"g{k}", found[0])
        if len(nodes) == 1:
            return self.names.pick(nodes[0].label, f"v{k}")
        return self.names.pick("", ("z" if nodes[0].op.pairs else "h") + str(k))

    def _group(self, nodes: list[Node]) -> None:
        width, op = len(nodes), nodes[0].op
        name = self._name_group(nodes)
        text = self._product(nodes) if op.pairs else None
        if text is None and op.pairs and width == 1:
            self.lines += self.program._assign(name, nodes[0], self.atom)
        elif text is None:
            args = [self.lanes([n.args[i] for n in nodes], width) for i in range(len(nodes[0].args))]
            if op.code is not None:
                text = op.code.format(*[a if _simple(a) else f"({a})" for a in args])
            else:
                text = f"{self.program.op_names[op]}({', '.join(args)})"
        if text is not None:
            self.lines.append(f"{name} = {text}")
        for lane, node in enumerate(nodes):
            self.where[id(node)] = (name, lane, width)

    def _product(self, nodes: list[Node]) -> str | None:
        """Weighted sums as a matrix product ``S @ W.T + b``: every node of the group sums the
        same row S of nodes against its own row of weights (which do not vary by example)."""
        width, count = len(nodes), len(nodes[0].args) // 2
        whole = [self.home([nodes[0].args[2 * p + side] for p in range(count)]) if count else None
                 for side in (0, 1)]
        if width < 2 and count < 4 and not any(h and h[1] == count and h[1] > 1 for h in whole):
            return None  # a small sum: the table's rule, term by term (the engine's order)
        for shared in (1, 0):
            row = [nodes[0].args[2 * p + shared] for p in range(count)]
            if count < 2 or all(r is row[0] for r in row) or all(r.kind == "const" for r in row) \
                    or not all(n.args[2 * p + shared] is row[p] for n in nodes for p in range(count)):
                continue  # (a product needs a row of two or more nodes, not numbers alone)
            weights = [n.args[2 * p + 1 - shared] for n in nodes for p in range(count)]
            shape = (width, count) if width > 1 else (count,)
            if all(w.kind == "param" for w in weights):
                matrix = self._view(weights, shape)
            elif all(w.kind == "const" for w in weights):
                matrix = self._constant("_c", tuple(w.number for w in weights), shape)
            else:
                continue  # weights of mixed kinds: the table's rule, term by term
            if width > 1:
                matrix = matrix[:-2] if matrix.endswith(".T") else f"{matrix}.T"
            text = f"{self.lanes(row, count)} @ {matrix}"
            if len(nodes[0].args) % 2:
                text += f" + {self.lanes([n.args[-1] for n in nodes], width)}"
            return text
        return None

    def _once(self, node: Node) -> bool:
        """Is ``node`` a term of exactly one total, once?"""
        if not hasattr(self, "_term_counts"):
            self._term_counts = defaultdict(int)
            for terms in self.plan.totals:
                for term in terms:
                    self._term_counts[id(term)] += 1
        return self._term_counts[id(node)] == 1

    def _outer(self, nodes: list[Node]):
        """Products a_i * g_j summed over the rows (a weight's gradient: its input times the
        gradient of the sum it feeds), when the a's live in one array A and the g's in one G:
        then the sums are entries of ``G.T @ A``."""
        if nodes[0].op is not _MUL or len(nodes) < 2:
            return None
        sides = [self.home([n.args[position] for n in nodes]) for position in (0, 1)]
        if None in sides or not all(n.args[0].batched and n.args[1].batched for n in nodes):
            return None
        return sides

    def _totals(self, deferred) -> list[str]:
        """Lines that add up each total's terms over the rows, into the vector ``totals``."""
        plan = self.plan
        lines = [f"totals = np.zeros({len(plan.totals)})"]
        pending = [(i, term) for i, terms in enumerate(plan.totals) for term in terms]
        outer = {id(n) for nodes in deferred for n in nodes}
        slots = {id(term): i for i, term in pending if id(term) in outer}
        for nodes in deferred:  # each of these nodes is a term of one total (see write)
            (a, width_a, lanes_a), (g, width_g, lanes_g) = self._outer(nodes)
            name = self._name_total(nodes)
            lines.append(f"{name} = {g}.T @ {a}" if width_g > 1 else f"{name} = {g} @ {a}")
            if width_g == 1:  # a vector: one entry per column of A
                values = name if lanes_a == list(range(width_a)) else \
                    f"{name}[{self._constant('_i', tuple(lanes_a))}]"
            elif list(zip(lanes_g, lanes_a)) == [(j, i) for j in range(width_g)
                                                 for i in range(width_a)]:
                values = f"{name}.ravel()"
            else:
                values = (f"{name}[{self._constant('_i', tuple(lanes_g))}, "
                          f"{self._constant('_i', tuple(lanes_a))}]")
            index = tuple(slots[id(n)] for n in nodes)
            if len(set(index)) < len(index):  # a weight used twice: `a[i] += v` adds a repeat once
                lines.append(f"np.add.at(totals, {self._constant('_i', index)}, {values})")
            else:
                lines.append(f"totals[{self._slots(index)}] += {values}")
        pending = [(i, term) for i, term in pending if id(term) not in outer]
        while pending:  # in rounds, so that no statement adds twice into one place
            taken, later, by_group = set(), [], {}
            for i, node in pending:
                if i in taken:
                    later.append((i, node))
                    continue
                taken.add(i)
                if node.kind == "op" and self.where[id(node)][2] > 1:
                    by_group.setdefault((self.where[id(node)][0], node.batched), []).append((i, node))
                elif node.batched:
                    lines.append(f"totals[{i}] += {self.atom(node)}.sum()")
                else:
                    lines.append(f"totals[{i}] += rows * {self.atom(node)}")
            for (name, batched), items in by_group.items():
                slots = self._slots(tuple(i for i, _ in items))
                lanes = [self.where[id(n)][1] for _, n in items]
                if lanes != list(range(self.where[id(items[0][1])][2])):
                    name = f"{name}[..., {self._constant('_i', tuple(lanes))}]"
                lines.append(f"totals[{slots}] += " + (f"{name}.sum(axis=0)" if batched
                                                        else f"rows * {name}"))
            pending = later
        if any("rows" in line for line in lines):
            lines.insert(0, "rows = X.shape[0]")
        return lines

    def _name_total(self, nodes: list[Node]) -> str:
        stems = {n.grad_of.label.split("[")[0] if n.grad_of is not None else "" for n in nodes}
        stem = stems.pop() if len(stems) == 1 else ""
        return self.names.pick("", f"g{next(self.count)}", stem or None)


def _simple(text: str) -> bool:
    return text.replace("_", "").replace(".", "").replace("[", "").replace("]", "") \
        .replace(",", "").replace(" ", "").isalnum() or text.startswith("(")
