"""The handler's logger never writes what the catalog marks ``pii:``.

Why in the formatter, not in each ``logger.info`` call: business code logs the event, its data, an exception that
quotes a value, or an f-string built from a field; the formatter sees every one of them. While the runtime handles an
event it binds that event's ``pii`` paths and values here; each log line then has

- every dict in it (the message, extra keys) with those paths replaced by :data:`MASK`, wherever the dict is the
  payload (``customer.email``), the envelope (``data.customer.email``) or an EventBridge event
  (``detail.data.customer.email``);
- every remaining occurrence of one of those values (a string of at least :data:`SHORTEST` characters, or a number
  of at least that many digits) replaced by :data:`MASK` in the serialized line, which covers f-strings and
  exception texts.

Values shorter than that are masked where their path says so but not searched for in free text (a one-letter
value would erase half the line); the README says so.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

__all__ = ["MASK", "SHORTEST", "PiiRedactingFormatter", "bound_pii", "personal_values"]

MASK = "*****"
SHORTEST = 3
_PREFIXES: tuple[tuple[str, ...], ...] = ((), ("data",), ("detail", "data"))
_current: contextvars.ContextVar[tuple[tuple[str, ...], tuple[str, ...]]] = contextvars.ContextVar(
    "eventform_pii", default=((), ())
)


def _lookup(document: Any, parts: tuple[str, ...]) -> Iterator[Any]:
    """The values at a dotted path; a list along the way applies the rest of the path to each item."""
    if not parts:
        yield document
    elif isinstance(document, Mapping) and parts[0] in document:
        yield from _lookup(document[parts[0]], parts[1:])
    elif isinstance(document, list):
        for item in document:
            yield from _lookup(item, parts)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def personal_values(data: Any, paths: tuple[str, ...]) -> tuple[str, ...]:
    """The searchable text of every value under ``paths`` in ``data`` (longest first, so a value that contains
    another is masked whole)."""
    found = set()
    for path in paths:
        for value in _lookup(data, tuple(path.split("."))):
            for leaf in _leaves(value):
                if isinstance(leaf, bool) or leaf is None:
                    continue
                text = leaf if isinstance(leaf, str) else str(leaf)
                if len(text) >= SHORTEST:
                    found.add(text)
    return tuple(sorted(found, key=lambda text: (-len(text), text)))


@contextmanager
def bound_pii(paths: tuple[str, ...], data: Any) -> Iterator[None]:
    """``with bound_pii(paths, data):`` every log line written inside is redacted for this event."""
    token = _current.set((paths, personal_values(data, paths)) if paths else ((), ()))
    try:
        yield
    finally:
        _current.reset(token)


def _copied(value: Any) -> Any:
    """Dicts and lists copied (the caller's objects stay as they were); anything else is shared, never copied."""
    if isinstance(value, Mapping):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _erase(document: Any, parts: tuple[str, ...]) -> None:
    if isinstance(document, list):
        for item in document:
            _erase(item, parts)
    elif isinstance(document, dict) and parts and parts[0] in document:
        if len(parts) == 1:
            document[parts[0]] = MASK
        else:
            _erase(document[parts[0]], parts[1:])


def _erase_everywhere(value: Any, paths: tuple[str, ...]) -> None:
    """Mask ``paths`` in every dict nested in ``value`` that holds them, as payload, envelope or EventBridge event."""
    if isinstance(value, dict):
        for path in paths:
            for prefix in _PREFIXES:
                _erase(value, (*prefix, *path.split(".")))
        for item in value.values():
            _erase_everywhere(item, paths)
    elif isinstance(value, list):
        for item in value:
            _erase_everywhere(item, paths)


class PiiRedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with the bound event's ``pii`` paths and values masked in every line."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        paths, values = _current.get()
        if not paths:
            return super().serialize(log)
        redacted = _copied(log)
        _erase_everywhere(redacted, paths)
        line = super().serialize(redacted)
        for value in values:
            escaped = json.dumps(value)[1:-1]  # as it appears inside a JSON string
            line = line.replace(escaped, MASK)
            if escaped != value:
                line = line.replace(value, MASK)
        return line
