"""The text of a ``list`` query: column names, and the common ``--where`` conditions compiled.

``minireg list --where`` takes a pandas ``DataFrame.query`` expression. The
conditions people write most (``metric.auc_roc > 0.9 and stage == 'Staging'``)
need neither pandas nor a typed frame of every version: this module compiles
a well-defined subset of those expressions into a test over plain column
values that picks exactly the rows pandas picks (:mod:`minireg.domain.query_rows`
applies it to the records; :mod:`minireg.adapters.query` chooses the path).

The subset: comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, chained
too) between one column and a constant of the column's type (text for text
columns; an int or a float for metrics, versions and byte sizes), ``in`` and
``not in`` a list or tuple of such constants, joined by ``and``, ``or``, ``not``
and parentheses. A missing metric is NaN, as in pandas: every comparison is
False but ``!=``. Anything else raises :class:`Unsupported` (dates, ``git_dirty``,
``&``/``|``/``~`` whose precedence pandas changes, arithmetic, functions, names
that are not columns, a constant of the wrong type, an integer beyond 2**53,
a value pandas would read another way...), and pandas decides, error
messages included.
"""

from __future__ import annotations

import ast
import keyword
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import reduce
from itertools import repeat
from typing import Any

from minireg.errors import InvalidInput

DATE_COLUMNS = ("created_at", "approved_at", "training_date")
INT_COLUMNS = ("version", "artifact_bytes")
# The columns `list --where` shows when --columns is not given (metrics follow).
DEFAULT_COLUMNS = ("model", "version", "stage", "aliases", "created_at", "git_commit")
_DOTTED = re.compile(r"(?<![\w.`])(metric|param|tag)\.([\w.\-/]*\w)")
EXACT = 2**53
"""Integers up to this size are the same as floats (numpy compares them as floats)."""


class Unsupported(Exception):
    """The query is outside what this module evaluates exactly like pandas: pandas decides."""


def kind(col: str) -> str:
    """How pandas types column ``col``: "int", "float", "date", "bool" or "text"."""
    if col in INT_COLUMNS:
        return "int"
    if col.startswith("metric."):
        return "float"
    if col in DATE_COLUMNS:
        return "date"
    if col == "git_dirty":
        return "bool"
    return "text"


# -- names --------------------------------------------------------------------------

_STRINGS = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`)""")


def quote_columns(expression: str, columns: list[str]) -> str:
    """``expression`` with every ``metric.x``/``param.x``/``tag.x`` name in backticks.

    DataFrame.query reads ``metric.auc_roc`` as attribute access; backticks
    make it a column name, so the user's expression works as written. Text in
    quotes or already in backticks is left alone.

    Raises:
        InvalidInput: the expression names a metric, param or tag no version has.
    """
    known = set(columns)
    parts = _STRINGS.split(expression)

    def sub(match: re.Match[str]) -> str:
        name = match.group(0)
        # The longest known column the dotted word starts with (metric.a.b, else metric.a).
        candidate = name
        while candidate not in known and "." in candidate[len(match.group(1)) + 1 :]:
            candidate = candidate.rsplit(".", 1)[0]
        if candidate not in known:
            kind = match.group(1)
            have = sorted(c.partition(".")[2] for c in columns if c.startswith(kind + "."))
            listing = ", ".join(have) if have else "none"
            raise InvalidInput(
                f"No version has {kind} {match.group(2)!r} (--where names {name}); "
                f"the {kind}s are: {listing}."
            )
        return f"`{candidate}`" + name[len(candidate) :]

    return "".join(
        part if index % 2 else _DOTTED.sub(sub, part) for index, part in enumerate(parts)
    )


def column_list(text: str, columns: list[str], option: str) -> list[str]:
    """The column names of ``text`` (separated by commas), each a column of ``columns``;
    for ``--sort`` a name may start with ``-`` (descending).

    Raises:
        InvalidInput: the list is empty or names an unknown column.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise InvalidInput(f"{option} is empty; name columns separated by commas.")
    for name in names:
        bare = name.lstrip("-") if option == "--sort" else name
        if bare not in columns:
            raise InvalidInput(
                f"{option} names unknown column {bare!r}; the columns are: {', '.join(columns)}."
            )
    return names


def default_columns(names: list[str]) -> list[str]:
    """The columns a table shows when none are asked for: identity, stage, dates, metrics."""
    return [
        *(c for c in DEFAULT_COLUMNS if c in names),
        *(c for c in names if c.startswith("metric.")),
    ]


# -- the expression ---------------------------------------------------------------

Values = Mapping[str, Sequence[Any]]
Test = Callable[[Values], list[bool]]
_PLACEHOLDER = "__minireg_column_"
# A number as the user wrote it (up to the next character that ends it), and the forms
# Python reads without a warning: "1and" parses, with a SyntaxWarning on stderr.
_NUMBER_RUN = re.compile(r"(?<![\w.])\.?\d[\w.]*(?:(?<=[eE])[+-][\w.]*)?")
_NUMBER = re.compile(
    r"(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?|0[xXoObB][\da-fA-F_]+"
)
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
}
# pandas turns `a.b` in backticks into a Python name; these are the characters column
# names hold (names with others are left to pandas).
_CLEAN = {" ": "_", ".": "_DOT_", "-": "_MINUS_", "/": "_SLASH_"}


class Condition:
    """A compiled ``--where`` expression: the columns it reads and its test over them."""

    def __init__(self, columns: frozenset[str], test: Test) -> None:
        self.columns = columns
        self.test = test

    def __call__(self, values: Values) -> list[bool]:
        """Whether each row passes, given the values of :attr:`columns` (from
        :func:`~minireg.domain.query_rows.filter_values`), one list per column, all of
        the same length."""
        try:
            return self.test(values)
        except RecursionError as exc:  # thousands of nested `not`: pandas decides
            raise Unsupported("too deeply nested") from exc


def compile_where(expression: str, known: Collection[str]) -> Condition:
    """The condition ``expression`` states (with its column names in backticks, as
    ``quote_columns`` leaves them) over the columns ``known``.

    Raises:
        Unsupported: the expression is outside the subset; pandas decides.
    """
    text, names = _without_backticks(expression)
    used: set[str] = set()
    try:
        tree = ast.parse(text, mode="eval")
        test = _condition(tree.body, _resolver(names, known, used))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise Unsupported(str(exc)) from exc
    return Condition(frozenset(used), test)


def _without_backticks(expression: str) -> tuple[str, dict[str, str]]:
    """``expression`` with each name in backticks replaced by a placeholder name."""
    if any(bad in expression for bad in ("\n", "\r", "\\", "'''", '"""', _PLACEHOLDER)):
        raise Unsupported("pandas reads this expression its own way")
    names: dict[str, str] = {}
    parts = _STRINGS.split(expression)
    for at, part in enumerate(parts):
        if at % 2 == 0:
            if "#" in part or "`" in part:
                raise Unsupported("a comment or an unclosed backtick")
            if not all(map(_NUMBER.fullmatch, _NUMBER_RUN.findall(part))):
                raise Unsupported("a number Python would warn about")
        elif part.startswith("`"):
            placeholder = f"{_PLACEHOLDER}{len(names)}"
            names[placeholder] = part[1:-1]
            parts[at] = placeholder
    return "".join(parts), names


def _clean(name: str) -> str | None:
    """The Python name pandas gives column ``name`` in an expression (None: not known here)."""
    if name.isidentifier() and not keyword.iskeyword(name):
        return name
    if not all(c.isascii() and (c.isalnum() or c in "_ .-/") for c in name):
        return None
    return "BACKTICK_QUOTED_STRING_" + "".join(_CLEAN.get(c, c) for c in name)


def _resolver(
    names: dict[str, str], known: Collection[str], used: set[str]
) -> Callable[[str], str]:
    """What turns a name in the parsed expression into a column, recording it in ``used``."""
    cleaned: dict[str | None, int] = {}
    for col in known:
        key = _clean(col)
        cleaned[key] = cleaned.get(key, 0) + 1

    def resolve(name: str) -> str:
        col = names.get(name, name)
        if col not in known:
            raise Unsupported(f"{col!r} is not a column")
        key = _clean(col)
        if key is None or cleaned[key] > 1 or None in cleaned:
            raise Unsupported(f"pandas may take {col!r} for another column")
        used.add(col)
        return col

    return resolve


def _condition(node: ast.expr, resolve: Callable[[str], str]) -> Test:
    if isinstance(node, ast.BoolOp):
        join = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        return _joined(join, [_condition(value, resolve) for value in node.values])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _condition(node.operand, resolve)
        return lambda values: list(map(operator.not_, inner(values)))
    if isinstance(node, ast.Compare):
        # pandas reads `a < b < c` as `a < b and b < c`.
        lefts = [node.left, *node.comparators[:-1]]
        tests = [
            _comparison(left, op, right, resolve)
            for left, op, right in zip(lefts, node.ops, node.comparators)
        ]
        return _joined(operator.and_, tests)
    raise Unsupported(f"{type(node).__name__} is not a condition of the subset")


def _joined(join: Callable[[bool, bool], bool], tests: list[Test]) -> Test:
    if len(tests) == 1:
        return tests[0]

    def test(values: Values) -> list[bool]:
        # Every part for every row, as pandas does (no short cut).
        return reduce(lambda a, b: list(map(join, a, b)), (t(values) for t in tests))

    return test


def _comparison(
    left: ast.expr, op: ast.cmpop, right: ast.expr, resolve: Callable[[str], str]
) -> Test:
    if isinstance(op, (ast.In, ast.NotIn)):
        if not isinstance(left, ast.Name) or not isinstance(right, (ast.List, ast.Tuple)):
            raise Unsupported("`in` takes a column and a list of constants")
        col = resolve(left.id)
        members = frozenset(_constant(item, kind(col)) for item in right.elts)
        if isinstance(op, ast.In):
            return lambda values: list(map(members.__contains__, values[col]))
        return lambda values: [value not in members for value in values[col]]
    if type(op) not in _COMPARE:
        raise Unsupported(f"{type(op).__name__} is not a comparison of the subset")
    if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
        left, right, op = right, left, _FLIPPED[type(op)]()
    if not isinstance(left, ast.Name):
        raise Unsupported("a comparison names one column")
    col = resolve(left.id)
    const = _constant(right, kind(col))
    compare = _COMPARE[type(op)]
    return lambda values: list(map(compare, values[col], repeat(const)))


def _constant(node: ast.expr, col_kind: str) -> object:
    """The constant ``node`` if it has the type of a column of ``col_kind``."""
    value = _literal(node)
    if col_kind == "text" and isinstance(value, str):
        return value
    if col_kind in ("int", "float") and isinstance(value, (int, float)):
        return value
    raise Unsupported(f"{value!r} against a {col_kind} column")


def _literal(node: ast.expr) -> int | float | str:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal(node.operand)
        if isinstance(inner, str):
            raise Unsupported("a sign before text")
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Constant):
        value = node.value
        if type(value) is str or type(value) is float:
            return value
        if type(value) is int and -EXACT <= value <= EXACT:
            return value
    raise Unsupported("not a text or number constant of the subset")
