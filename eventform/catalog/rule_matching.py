"""EventBridge event patterns as AWS runs them: aws/event-ruler's semantics, stdlib only.

:data:`EVENTBRIDGE` is the operator table this language passes to the shared validator
(:mod:`eventform.catalog.operators`); :func:`matches` runs ruler's array-consistent finder. What differs from a
lenient emulator (and was pinned by ``tests/conformance``): arrays of arrays are crushed out of field paths, booleans
are never numbers, ``exists: true`` needs a leaf value, fields of one array element stay together, IP literals compare
as addresses, equals-ignore-case compares per character (Locale.ROOT lower/upper), unknown operators are refused.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from eventform.catalog import operators
from eventform.catalog.operators import Branch, Language, Matcher, Problem, comparable, is_number, num_key

Membership = tuple[tuple[int, int], ...]
Fields = dict[str, list[tuple[Any, Membership]]]

EVENTBRIDGE = Language(
    noun="pattern",
    operators={
        "exactly": "write exactly: <string>",
        "prefix": "write prefix: <string> or prefix: {equals-ignore-case: <string>}",
        "suffix": "write suffix: <string> or suffix: {equals-ignore-case: <string>}",
        "equals-ignore-case": "write equals-ignore-case: <string>",
        "exists": "write exists: true or exists: false",
        "wildcard": "write wildcard: <string with *>, never two * in a row; escape a literal * as \\*",
        "cidr": "write cidr: 10.0.0.0/24 (an IPv4 or IPv6 network, prefix length below 32 / 128)",
        "numeric": 'write numeric: [">=", 10], numeric: ["=", 5] or numeric: [">", 0, "<=", 100]',
        "anything-but": "write anything-but: <value>, anything-but: [values of one type] or anything-but: "
        "{prefix|suffix|equals-ignore-case|wildcard: ...}",
    },
    anything_but=frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"}),
    wording=operators.STRUCTURE,
)


def compile_pattern(pattern: Any) -> list[Branch]:
    """OR-ed branches of {dotted path: matchers}; raises :class:`operators.PatternError` where EventBridge refuses."""
    return operators.compile_pattern(pattern, EVENTBRIDGE)


def syntax_problems(pattern: Any, path: str = "pattern") -> list[Problem]:
    """(location, message, fix) for every reason EventBridge (PutRule / TestEventPattern) refuses ``pattern``."""
    return operators.syntax_problems(pattern, EVENTBRIDGE, path)


# --------------------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------------------
def flatten(event: Any) -> Fields:
    """Leaf values per dotted path with their array membership; arrays (of arrays) are crushed out of the path."""
    fields: Fields = {}
    ids = count()

    def walk(node: Any, name: str, member: Membership) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, f"{name}.{key}" if name else key, member)
        elif isinstance(node, list):
            array = next(ids)
            for index, child in enumerate(node):
                walk(child, name, (*member, (array, index)))
        else:
            fields.setdefault(name, []).append((node, member))

    if isinstance(event, dict):
        walk(event, "", ())
    return fields


def _consistent(a: Membership, b: Membership) -> Membership | None:
    """Merge memberships unless they disagree on the element of some shared array (ruler's array consistency)."""
    seen = dict(a)
    for array, index in b:
        if seen.setdefault(array, index) != index:
            return None
    return tuple(seen.items())


def _range_ok(number: float, bounds: Any) -> bool:
    low, high = bounds
    key = num_key(number)
    if low is not None and (key < num_key(low[0]) or (low[1] and key == num_key(low[0]))):
        return False
    return not (high is not None and (key > num_key(high[0]) or (high[1] and key == num_key(high[0]))))


def range_hit(bottom: str, open_bottom: bool, top: str, open_top: bool, value: str) -> bool:
    """Walk a hex value through ruler's range trie.

    Not a plain comparison: ruler reports a match as soon as a digit proves the value inside the range, so an IPv4
    range can match an IPv6 address whose leading 8 hex digits fall inside it (and vice versa).
    """
    fork = next(i for i in range(len(bottom)) if bottom[i] != top[i])
    if len(value) <= fork or value[:fork] != bottom[:fork]:
        return False
    digit = value[fork]
    if bottom[fork] < digit < top[fork]:
        return True
    if digit not in (bottom[fork], top[fork]):
        return False
    upward = digit == bottom[fork]
    path, is_open = (bottom, open_bottom) if upward else (top, open_top)
    for offset in range(fork + 1, len(path)):
        if offset >= len(value):
            return False
        if (value[offset] > path[offset]) if upward else (value[offset] < path[offset]):
            return True
        if value[offset] != path[offset]:
            return False
    return not is_open


def value_matches(matcher: Matcher, value: Any) -> bool:
    """One matcher against one leaf value; strings, numbers, booleans and null never cross-match."""
    kind, arg = matcher
    is_str = isinstance(value, str)
    number = comparable(value)
    if kind == "exists":
        return True
    if kind == "literal":
        return value is arg if isinstance(arg, bool) else value is None
    if kind == "exact":
        return is_str and value == arg
    if kind == "number":
        if is_number(value) and number is not None and arg[0] is not None:
            return num_key(number) == num_key(arg[0])
        return is_number(value) and number is None and operators.number_text(value) == arg[1]
    if kind == "numeq":
        return number is not None and num_key(number) == num_key(arg)
    if kind == "range":
        return number is not None and _range_ok(number, arg)
    if kind == "cidr":
        ip = operators.ip_bytes(value) if is_str else None
        bottom, open_bottom, top, open_top = arg
        return ip is not None and range_hit(bottom, open_bottom, top, open_top, operators.hex_digits(ip))
    quoted = f'"{value}"' if is_str else None
    if kind == "prefix":
        return quoted is not None and quoted.startswith('"' + arg)
    if kind == "suffix":
        return quoted is not None and quoted.endswith(arg + '"')
    if kind in ("prefix-eic", "suffix-eic", "eic", "wildcard"):
        return is_str and arg.fullmatch(value) is not None
    if kind == "not-str":
        return not (is_str and value in arg)
    if kind == "not-num":
        return not (number is not None and num_key(number) in arg)
    if kind == "not-prefix":
        return not (quoted is not None and any(quoted.startswith('"' + p) for p in arg))
    if kind == "not-suffix":
        return not (quoted is not None and any(quoted.endswith(s + '"') for s in arg))
    if kind in ("not-eic", "not-wildcard"):
        return not (is_str and any(r.fullmatch(value) for r in arg))
    return False


def _branch_matches(branch: Branch, fields: Fields) -> bool:
    """Backtrack over rule keys in sorted order, as ruler's finder does, keeping array membership consistent."""
    keys = sorted(branch)

    def step(i: int, member: Membership) -> bool:
        if i == len(keys):
            return True
        matchers = branch[keys[i]]
        leaves = fields.get(keys[i], [])
        value_matchers = [m for m in matchers if m[0] != "absent"]
        for value, leaf_member in leaves:
            merged = _consistent(member, leaf_member)
            if merged is not None and any(value_matches(m, value) for m in value_matchers) and step(i + 1, merged):
                return True
        # exists: false holds when no leaf at this path is array-consistent with what matched so far
        return (
            len(value_matchers) != len(matchers)
            and all(_consistent(member, lm) is None for _, lm in leaves)
            and step(i + 1, member)
        )

    return step(0, ())


def matches_compiled(branches: list[Branch], event: Any) -> bool:
    fields = flatten(event)
    return any(_branch_matches(branch, fields) for branch in branches)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """True if EventBridge delivers ``event`` to a rule with ``pattern``; raises PatternError if AWS refuses it."""
    return matches_compiled(compile_pattern(pattern), event)


__all__ = ["EVENTBRIDGE", "compile_pattern", "flatten", "matches", "matches_compiled", "syntax_problems"]
