"""One table-driven validator for the operator objects of EventBridge patterns and SNS filter policies.

Both languages share aws/event-ruler's grammar: an object of fields whose leaves are value lists, ``$or`` forks,
and value lists of strings, numbers, booleans, null and one-key operator objects (``{"prefix": "x"}``). What differs
is the table a language passes in (:class:`Language`): which operators it accepts, which may nest inside
``anything-but``, limits on numbers, and the wording of every message and fix. The compiled form (OR-ed branches of
``{dotted path: [matcher, ...]}``) is what :mod:`eventform.catalog.rule_matching` matches against events.

Refusals follow ruler (``JsonRuleCompiler``) at HEAD 337e8d9 (v2.0.1); the reasons keep ruler's meaning. Numbers may
be int, float or :class:`decimal.Decimal` (parse JSON with ``parse_float=Decimal`` for exact fidelity).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

Problem = tuple[str, str, str]  # (location, message, fix)
Matcher = tuple[str, Any]  # (kind, argument), see rule_matching.value_matches
Branch = dict[str, list[Matcher]]  # dotted field path -> matchers (any of them)

OR_KEY = "$or"
# ruler Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP: refused as keys anywhere inside an $or branch.
RESERVED_IN_OR = frozenset(
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric", "cidr",
        "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
        "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
        "ip-address-not-in-range",
    }
)  # fmt: skip
NUMERIC_COMPARATORS = ("=", "<", "<=", ">", ">=")
_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


class PatternError(ValueError):
    """A pattern or policy AWS would refuse; carries (location, message, fix)."""

    def __init__(self, location: str, message: str, fix: str) -> None:
        super().__init__(f"{location}: {message}")
        self.problem: Problem = (location, message, fix)


@dataclass(frozen=True)
class Language:
    """What one language accepts and how it words refusals.

    ``operators`` maps each accepted operator to the fix shown when its argument is wrong (how to write it);
    ``anything_but`` lists the operators that may nest inside ``anything-but``; ``number_limit`` returns
    (message, fix) for a number the language refuses beyond ruler's own rules. ``wording`` holds the structural
    messages, formatted with ``key``, ``value``, ``op``, ``noun``.
    """

    noun: str
    operators: Mapping[str, str]
    anything_but: frozenset[str]
    wording: Mapping[str, tuple[str, str]]
    unsupported: Mapping[str, str] = field(default_factory=dict)  # operator -> why this language lacks it
    number_limit: Callable[[Any], tuple[str, str] | None] | None = None

    def refuse(self, location: str, wording: str, **values: Any) -> PatternError:
        message, fix = self.wording[wording]
        values.setdefault("noun", self.noun)
        return PatternError(location, message.format(**values), fix.format(**values))

    def bad(self, location: str, op: str, argument: Any, reason: str) -> PatternError:
        return PatternError(location, f"bad {op} argument {argument!r}: {reason}", self.operators[op])


# --------------------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------------------
def is_number(value: Any) -> bool:
    """JSON number test; bool is excluded because ruler never treats true/false as numbers."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def comparable(value: Any) -> float | None:
    """The double if ruler's ComparableNumber accepts the number (finite and exactly a double), else None."""
    if not is_number(value):
        return None
    try:
        exact = value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, int) else None
        number = float(value)
    except (OverflowError, InvalidOperation, ValueError):
        return None
    if not math.isfinite(number):
        return None
    if exact is not None and (not exact.is_finite() or Decimal(repr(number)) != exact):
        return None
    return number


def num_key(number: float) -> tuple[float, float]:
    """Order doubles like ruler's bit encoding (-0.0 sorts below 0.0 and differs from it)."""
    return (number, math.copysign(1.0, number))


def number_text(value: Any) -> str:
    """Textual JSON form of a number, used for ruler's literal (non-comparable) number matching."""
    return repr(value) if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------------------------------
# IP addresses: ruler compares them as hex digit strings in a range trie (see rule_matching.range_hit)
# --------------------------------------------------------------------------------------------------------------
def ip_bytes(text: str) -> bytes | None:
    """Parse an IP literal the way ruler does (regex gate, then InetAddress); None if not an IP address."""
    if _IPV4.fullmatch(text):
        parts = [int(p) for p in text.split(".")]
        return bytes(parts) if all(p <= 255 for p in parts) else None
    if _IPV6.fullmatch(text):
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = address.ipv4_mapped  # Java's InetAddress returns an Inet4Address for ::ffff:a.b.c.d
        return mapped.packed if mapped is not None else address.packed
    return None


def hex_digits(raw: bytes) -> str:
    return raw.hex().upper()


def _single_ip(raw: bytes) -> tuple[str, bool, str, bool]:
    """A plain IP string in a pattern becomes a one-address range, built the way ruler builds it."""
    digits = hex_digits(raw)
    last = digits[-1]
    if last == "F":
        return (digits[:-1] + "E", True, digits, False)
    return (digits, False, digits[:-1] + ("A" if last == "9" else chr(ord(last) + 1)), True)


# --------------------------------------------------------------------------------------------------------------
# String patterns
# --------------------------------------------------------------------------------------------------------------
def wildcard_regex(text: str) -> re.Pattern[str] | str:
    """Compile a ruler wildcard ('*' any run, '\\*' and '\\\\' literals); a reason string if ruler refuses it."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "*":
            if text[i + 1 : i + 2] == "*":
                return f"consecutive wildcard characters at position {i + 1}"
            out.append(".*")
        elif char == "\\":
            if i + 1 < len(text) and text[i + 1] in ("*", "\\"):
                out.append(re.escape(text[i + 1]))
                i += 1
            else:
                return f"invalid escape character at position {i + 1} (only \\* and \\\\ may be escaped)"
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def ignore_case_regex(text: str) -> str:
    """Ruler's equals-ignore-case: each char matches its Locale.ROOT lower or upper form (no full case folding)."""
    parts = []
    for char in text:
        forms = {char.lower(), char.upper()}
        parts.append("(?:" + "|".join(re.escape(f) for f in sorted(forms)) + ")" if len(forms) > 1 else re.escape(char))
    return "".join(parts)


# --------------------------------------------------------------------------------------------------------------
# Operator compilers, shared by every language (the table decides which ones a language may use)
# --------------------------------------------------------------------------------------------------------------
def _string(op: str, spec: Any, loc: str, lang: Language) -> str:
    if not isinstance(spec, str):
        raise lang.bad(loc, op, spec, "must be a string")
    return spec


def _limit(number: Any, op: str, loc: str, lang: Language) -> None:
    found = lang.number_limit(number) if lang.number_limit else None
    if found:
        raise PatternError(loc, found[0], found[1])


def _exactly(spec: Any, loc: str, lang: Language) -> Matcher:
    return ("exact", _string("exactly", spec, loc, lang))


def _affix(name: str) -> Callable[[Any, str, Language], Matcher]:
    def compile_affix(spec: Any, loc: str, lang: Language) -> Matcher:
        if isinstance(spec, dict):
            if list(spec) != ["equals-ignore-case"]:
                raise lang.bad(loc, name, spec, "only equals-ignore-case may nest inside it")
            regex = ignore_case_regex(_string(name, spec["equals-ignore-case"], loc, lang))
            return (name + "-eic", re.compile(regex + ".*" if name == "prefix" else ".*" + regex, re.DOTALL))
        return (name, _string(name, spec, loc, lang))

    return compile_affix


def _bound(spec: list[Any], index: int, loc: str, lang: Language) -> float:
    if len(spec) <= index or not is_number(spec[index]):
        raise lang.bad(loc, "numeric", spec, f"{spec[index - 1]} must be followed by a number")
    number = comparable(spec[index])
    if number is None:
        raise lang.bad(loc, "numeric", spec, f"{spec[index]} is not a finite number exactly representable as a double")
    _limit(spec[index], "numeric", loc, lang)
    return number


def _numeric(spec: Any, loc: str, lang: Language) -> Matcher:
    """Ruler's grammar: ["=",n] | [">"|">=",n] | [">"|">=",n,"<"|"<=",m] | ["<"|"<=",n]."""
    if not isinstance(spec, list) or not spec or spec[0] not in NUMERIC_COMPARATORS:
        raise lang.bad(loc, "numeric", spec, "it is a list starting with =, <, <=, > or >=")
    op = spec[0]
    first = _bound(spec, 1, loc, lang)
    if op in ("=", "<", "<=") or len(spec) == 2:
        if len(spec) != 2:
            raise lang.bad(loc, "numeric", spec, 'only ">" or ">=" may be followed by an upper bound')
        if op == "=":
            return ("numeq", first)
        return ("range", (None, (first, op == "<")) if op in ("<", "<=") else ((first, op == ">"), None))
    if spec[2] not in ("<", "<="):
        raise lang.bad(loc, "numeric", spec, 'the upper bound operator must be "<" or "<="')
    second = _bound(spec, 3, loc, lang)
    if len(spec) > 4:
        raise lang.bad(loc, "numeric", spec, "at most two bounds")
    if num_key(first) >= num_key(second):
        raise lang.bad(loc, "numeric", spec, "the range is empty or reversed (bottom must be less than top)")
    return ("range", ((first, op == ">"), (second, spec[2] == "<")))


def _anything_but(spec: Any, loc: str, lang: Language) -> Matcher:
    if isinstance(spec, dict):
        kind = next(iter(spec), None)
        if kind not in lang.anything_but:
            allowed = ", ".join(sorted(lang.anything_but))
            raise lang.bad(loc, "anything-but", spec, f"only {allowed} may nest inside it")
        if len(spec) > 1:
            raise lang.bad(loc, "anything-but", spec, "one nested operator at most")
        inner = spec[kind]
        values = inner if isinstance(inner, list) else [inner]
        if not (isinstance(inner, list | str) or is_number(inner)) or not all(isinstance(v, str) for v in values):
            raise lang.bad(loc, "anything-but", spec, f"{kind} inside anything-but takes strings")
        if kind in ("prefix", "suffix") and "" in values:
            raise lang.bad(loc, "anything-but", spec, f"an empty {kind} is not allowed")
        if kind == "wildcard":
            regexes = [wildcard_regex(v) for v in values]
            for regex in regexes:
                if isinstance(regex, str):
                    raise lang.bad(loc, "anything-but", spec, regex)
            return ("not-wildcard", regexes)
        if kind == "equals-ignore-case":
            return ("not-eic", [re.compile(ignore_case_regex(v), re.DOTALL) for v in values])
        return ("not-" + kind, values)
    values = spec if isinstance(spec, list) else [spec]
    if not values or any(not (isinstance(v, str) or is_number(v)) for v in values):
        raise lang.bad(loc, "anything-but", spec, "a string, a number, or a non-empty list of them")
    strings = [v for v in values if isinstance(v, str)]
    if strings and len(strings) != len(values):
        raise lang.bad(loc, "anything-but", spec, "all strings or all numbers, never mixed")
    if strings:
        return ("not-str", set(strings))
    numbers = []
    for value in values:
        number = comparable(value)
        if number is None:
            raise lang.bad(loc, "anything-but", spec, f"{value} is not exactly representable as a double")
        _limit(value, "anything-but", loc, lang)
        numbers.append(num_key(number))
    return ("not-num", set(numbers))


def _exists(spec: Any, loc: str, lang: Language) -> Matcher:
    if not isinstance(spec, bool):
        raise lang.bad(loc, "exists", spec, "true or false")
    return ("exists", None) if spec else ("absent", None)


def _cidr(spec: Any, loc: str, lang: Language) -> Matcher:
    text = _string("cidr", spec, loc, lang)
    parts = text.split("/")
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()  # Java String.split drops trailing empty strings
    if len(parts) != 2 or not re.fullmatch(r"[+-]?[0-9]+", parts[1]) or int(parts[1]) < 0:
        raise lang.bad(loc, "cidr", spec, "one '/' followed by a non-negative prefix length")
    bits, base = int(parts[1]), ip_bytes(parts[0])
    if base is None:
        raise lang.bad(loc, "cidr", spec, f"{parts[0]} is not an IP address")
    limit = 31 if len(base) == 4 else 127
    if bits > limit:
        raise lang.bad(loc, "cidr", spec, f"the prefix length must be below {limit + 1}; list a single address as a "
                       "plain string value")  # fmt: skip
    host = (1 << (len(base) * 8 - bits)) - 1
    value = int.from_bytes(base, "big")
    # host bits set in the base address are accepted and ignored, as in ruler
    low, high = (value & ~host).to_bytes(len(base), "big"), (value | host).to_bytes(len(base), "big")
    return ("cidr", (hex_digits(low), False, hex_digits(high), False))


def _equals_ignore_case(spec: Any, loc: str, lang: Language) -> Matcher:
    text = _string("equals-ignore-case", spec, loc, lang)
    return ("eic", re.compile(ignore_case_regex(text), re.DOTALL))


def _wildcard(spec: Any, loc: str, lang: Language) -> Matcher:
    regex = wildcard_regex(_string("wildcard", spec, loc, lang))
    if isinstance(regex, str):
        raise lang.bad(loc, "wildcard", spec, regex)
    return ("wildcard", regex)


COMPILERS: dict[str, Callable[[Any, str, Language], Matcher]] = {
    "exactly": _exactly,
    "prefix": _affix("prefix"),
    "suffix": _affix("suffix"),
    "numeric": _numeric,
    "anything-but": _anything_but,
    "exists": _exists,
    "cidr": _cidr,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
}


# --------------------------------------------------------------------------------------------------------------
# Value lists, objects and $or
# --------------------------------------------------------------------------------------------------------------
def _expression(expr: dict[str, Any], loc: str, lang: Language) -> Matcher:
    if not expr:
        raise lang.refuse(loc, "empty_operator")
    op, spec = next(iter(expr.items()))
    if op in lang.unsupported:
        raise PatternError(loc, lang.unsupported[op], "use one of: " + ", ".join(sorted(lang.operators)))
    if op not in lang.operators:
        raise lang.refuse(loc, "unknown", op=op, operators=", ".join(sorted(lang.operators)))
    result = COMPILERS[op](spec, f"{loc}.{op}", lang)
    if len(expr) != 1:
        raise lang.refuse(loc, "one_operator", value=expr)
    return result


def compile_values(values: list[Any], loc: str, lang: Language) -> list[Matcher]:
    out: list[Matcher] = []
    for index, value in enumerate(values):
        where = f"{loc}[{index}]"
        if isinstance(value, dict):
            out.append(_expression(value, where, lang))
        elif isinstance(value, str):
            ip = ip_bytes(value)
            out.append(("cidr", _single_ip(ip)) if ip is not None else ("exact", value))
        elif value is None or isinstance(value, bool):
            out.append(("literal", value))
        elif is_number(value):
            _limit(value, "value", where, lang)
            out.append(("number", (comparable(value), number_text(value))))
        else:
            raise lang.refuse(where, "bad_value", value=value)
    if not out:
        raise lang.refuse(loc, "empty_list")
    return out


def _object(obj: dict[str, Any], prefix: str, rules: list[Branch], loc: str, in_or: bool, lang: Language) -> None:
    """Walk one object like ruler's JsonRuleCompiler.parseObject, forking ``rules`` on every $or."""
    if not obj:
        raise lang.refuse(loc, "empty_object")
    for key, value in obj.items():
        where = f"{loc}.{key}"
        if key == OR_KEY:
            _or(value, prefix, rules, where, lang)
            continue
        if in_or and key in RESERVED_IN_OR:
            raise lang.refuse(where, "or_reserved", key=key)
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _object(value, name, rules, where, in_or, lang)
        elif isinstance(value, list):
            matchers = compile_values(value, where, lang)
            if not rules:
                rules.append({})
            for rule in rules:
                rule[name] = matchers
        else:
            raise lang.refuse(where, "not_list", key=key, value=value)


def _or(value: Any, prefix: str, rules: list[Branch], loc: str, lang: Language) -> None:
    if not isinstance(value, list):
        raise lang.refuse(loc, "or_list")
    current = [dict(r) for r in rules]
    rules.clear()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise lang.refuse(f"{loc}[{index}]", "or_member")
        forked = [dict(r) for r in current] or [{}]
        _object(item, prefix, forked, f"{loc}[{index}]", True, lang)
        rules.extend(forked)
    if len(value) < 2:
        raise lang.refuse(loc, "or_list")


def compile_pattern(pattern: Any, lang: Language, path: str = "pattern") -> list[Branch]:
    """Compile to OR-ed branches of {dotted path: matchers}; raises PatternError where AWS refuses."""
    if not isinstance(pattern, dict):
        raise lang.refuse(path, "not_object")
    rules: list[Branch] = []
    _object(pattern, "", rules, path, False, lang)
    return rules


def syntax_problems(pattern: Any, lang: Language, path: str = "pattern") -> list[Problem]:
    """Every refusal, collected per top-level field so that one error does not hide the others."""
    if not isinstance(pattern, dict) or not pattern:
        try:
            compile_pattern(pattern, lang, path)
        except PatternError as error:
            return [error.problem]
        return []
    problems: list[Problem] = []
    for key, value in pattern.items():
        try:
            compile_pattern({key: value}, lang, path)
        except PatternError as error:
            problems.append(error.problem)
    return problems


# The structural wording both languages start from; a language overrides what it words differently.
STRUCTURE: dict[str, tuple[str, str]] = {
    "not_object": ("a {noun} is a non-empty mapping", "write `field: [value, ...]` pairs"),
    "empty_object": ("an empty mapping is not allowed in a {noun}", "remove it or give it a field"),
    "not_list": ("values must be a list, got {value!r}", "write `{key}: [{value!r}]`"),
    "empty_list": ("an empty value list matches nothing", "list at least one value"),
    "bad_value": (
        "unsupported value {value!r}: a value is a string, a number, true, false, null or one operator object",
        "nested lists are not allowed in a value list",
    ),
    "empty_operator": ("an empty operator object", 'use one operator, e.g. {{"prefix": "x"}}'),
    "one_operator": ("one operator per object, got {value!r}", "split the operators into separate list elements"),
    "unknown": ("unknown {noun} operator {op!r}", "use one of: {operators}"),
    "or_list": ("$or takes a list of at least two {noun}s", "list the alternatives: $or: [{{...}}, {{...}}]"),
    "or_member": ("every $or alternative is a mapping", "make every $or element an object"),
    "or_reserved": (
        "{key!r} is an operator name and cannot be a field name inside $or",
        "put the operator in a value list under a real field name",
    ),
}

__all__ = [
    "COMPILERS",
    "STRUCTURE",
    "Branch",
    "Language",
    "Matcher",
    "PatternError",
    "Problem",
    "comparable",
    "compile_pattern",
    "compile_values",
    "hex_digits",
    "ip_bytes",
    "is_number",
    "num_key",
    "number_text",
    "syntax_problems",
]
