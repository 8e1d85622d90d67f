"""What a JSON Logic tree may contain here: the subset, its limits, and the variables it reads."""

from dataclasses import dataclass, field
from typing import Any

SUBSET = frozenset(
    {
        "var", "missing", "missing_some", "if", "and", "or", "!", "!!",
        "==", "===", "!=", "!==", "<", "<=", ">", ">=",
        "+", "-", "*", "/", "%", "min", "max", "in", "cat",
    }
)  # fmt: skip
MAX_DEPTH = 64
MAX_NODES = 10_000


@dataclass
class Problem:
    code: str
    message: str
    path: str


@dataclass
class Analysis:
    problems: list[Problem] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)
    # Each read of a variable as (name, JSON path of the operation reading it), in no set order.
    reads: list[tuple[str, str]] = field(default_factory=list)
    nodes: int = 0
    depth: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _child_path(path: str, part: int | str) -> str:
    return f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}"


def _is_internal_name(name: str) -> bool:
    # A path into the internals of an object (`__class__`, `constructor.prototype`) is refused:
    # population columns are plain names.
    return any(part.startswith("_") or part in ("constructor", "prototype") for part in name.split("."))


def _var_name(args: Any, path: str, analysis: Analysis) -> str | None:
    """The variable a `var` reads, or None after recording why it cannot be known."""
    target = args[0] if isinstance(args, list) and args else args
    if isinstance(args, list) and len(args) > 2:
        analysis.problems.append(Problem("LOGIC_VAR_ARGS", "A 'var' takes a name and at most a default.", path))
        return None
    if isinstance(target, (int, float)) and not isinstance(target, bool):
        return str(target)
    if not isinstance(target, str):
        analysis.problems.append(
            Problem("LOGIC_VAR_DYNAMIC", "A 'var' must name its variable as plain text, not compute it.", path)
        )
        return None
    if target == "":
        return None  # the whole record; reads no single column
    if _is_internal_name(target):
        analysis.problems.append(
            Problem("LOGIC_VAR_INTERNAL", f"Variable name {target!r} reaches into object internals.", path)
        )
        return None
    return target


def analyse(tree: Any, root_path: str = "$") -> Analysis:
    """Walk `tree` without recursion, so a hostile depth cannot overflow the stack."""
    analysis = Analysis()
    stack = [(tree, root_path, 1)]
    while stack:
        node, path, depth = stack.pop()
        analysis.nodes += 1
        analysis.depth = max(analysis.depth, depth)
        if analysis.nodes > MAX_NODES:
            analysis.problems.append(
                Problem("LOGIC_TOO_LARGE", f"The logic has more than {MAX_NODES:,} nodes.", root_path)
            )
            return analysis
        if depth > MAX_DEPTH:
            analysis.problems.append(
                Problem("LOGIC_TOO_DEEP", f"The logic is nested more than {MAX_DEPTH} levels deep.", path)
            )
            return analysis
        if isinstance(node, list):
            stack.extend((item, _child_path(path, i), depth + 1) for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        if len(node) != 1:
            analysis.problems.append(
                Problem(
                    "LOGIC_OBJECT",
                    f"An operation is an object with exactly one operator; this one has {len(node)} keys.",
                    path,
                )
            )
            continue
        ((operator, args),) = node.items()
        op_path = _child_path(path, operator)
        if operator not in SUBSET:
            analysis.problems.append(
                Problem("LOGIC_OPERATOR", f"Operator {operator!r} is not allowed in a rule.", op_path)
            )
            continue
        if operator == "var":
            name = _var_name(args, op_path, analysis)
            if name is not None:
                analysis.variables.add(name)
                analysis.reads.append((name, op_path))
            if isinstance(args, list) and len(args) == 2:
                stack.append((args[1], _child_path(op_path, 1), depth + 1))
            continue
        if operator in ("missing", "missing_some"):
            names = args
            if operator == "missing_some":
                names = args[1] if isinstance(args, list) and len(args) == 2 else None
            elif not isinstance(args, list):
                names = [args]
            if isinstance(names, list) and all(isinstance(n, str) for n in names):
                for name in names:
                    if _is_internal_name(name):
                        analysis.problems.append(
                            Problem(
                                "LOGIC_VAR_INTERNAL", f"Variable name {name!r} reaches into object internals.", op_path
                            )
                        )
                    else:
                        analysis.variables.add(name)
                        analysis.reads.append((name, op_path))
            else:
                analysis.problems.append(
                    Problem("LOGIC_VAR_DYNAMIC", f"'{operator}' must list its variable names as plain text.", op_path)
                )
            continue
        stack.append((args, op_path, depth + 1))
    return analysis
