"""Insert entries into catalog YAML files while keeping every other byte: comments, order, quoting, blank lines.

ruamel.yaml's round-trip mode parses the file and renders the new entry; the entry is then spliced into the original
text at the end of its section, so a scaffolded change is a pure addition in the pull request. Whenever a splice is
not possible (flow-style sections such as ``events: {}``) the whole document is re-dumped by ruamel, which still keeps
comments and order. Either way the result is parsed again and checked to equal the old data plus the new entry.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 120
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def plain(node: Any) -> Any:
    """ruamel containers -> plain dict/list for comparisons."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def styled(value: Any) -> Any:
    """Lists in flow style (``[a, b]``, as the catalog writes them), mappings in block style."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = styled(item)
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(styled(v) for v in value)
        sequence.fa.set_flow_style()
        return sequence
    return value


def render(key: str, value: Any, indent: int = 0) -> str:
    """One ``key: value`` block as YAML text, indented by ``indent`` spaces."""
    buffer = io.StringIO()
    _yaml().dump(styled({key: value}), buffer)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in buffer.getvalue().splitlines(keepends=True))


def load(text: str) -> Any:
    return _yaml().load(text)


def _top_level_lines(document: CommentedMap) -> dict[str, int]:
    return {str(key): document.lc.key(key)[0] for key in document}


def _section_end(lines: list[str], start: int) -> int:
    """Index after the last content line of the block that begins at ``start`` (skips trailing blanks/comments)."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "\t", "#"))):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return end


def insert_entry(text: str, section: str, key: str, value: Any, before: tuple[str, ...] = ()) -> str:
    """Add ``section.key = value``; create ``section`` (placed before the first of ``before`` present) if missing."""
    document = load(text)
    expected = plain(document)
    expected.setdefault(section, {})
    expected[section][key] = plain(value)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    existing = document.get(section)
    if existing is None:
        block = render(section, {key: value})
        new_text = _insert_top_level(document, lines, block, before)
    elif isinstance(existing, CommentedMap) and len(existing) and not existing.fa.flow_style():
        starts = _top_level_lines(document)
        start = starts[section]
        end = _section_end(lines, start)
        spaced = any(not line.strip() for line in lines[start + 1 : end])
        entry = render(key, value, indent=2)
        new_text = "".join([*lines[:end], "\n" if spaced else "", entry, *lines[end:]])
    else:
        if not isinstance(existing, dict):
            raise ValueError(f"`{section}` is not a mapping")
        existing[key] = styled(value)
        buffer = io.StringIO()
        _yaml().dump(document, buffer)
        new_text = buffer.getvalue()
    if plain(load(new_text)) != expected:  # pragma: no cover - a bug guard, never user input
        raise AssertionError(f"inserting {section}.{key} changed other data")
    return new_text


def insert_top_level(text: str, key: str, value: Any, comment: str = "", before: tuple[str, ...] = ()) -> str:
    """Add a top-level ``key: value`` (before the first of ``before`` present, else at the end)."""
    document = load(text)
    expected = plain(document)
    expected[key] = plain(value)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    block = render(key, value)
    if comment:
        block = block.rstrip("\n") + f"  # {comment}\n"
    new_text = _insert_top_level(document, lines, block, before)
    if plain(load(new_text)) != expected:  # pragma: no cover - a bug guard
        raise AssertionError(f"inserting {key} changed other data")
    return new_text


def _insert_top_level(document: CommentedMap, lines: list[str], block: str, before: tuple[str, ...]) -> str:
    starts = _top_level_lines(document)
    for anchor in before:
        if anchor in starts:
            at = starts[anchor]
            # Keep comment lines that introduce the anchor attached to it.
            while at > 0 and lines[at - 1].startswith("#"):
                at -= 1
            return "".join([*lines[:at], block, "\n", *lines[at:]])
    separator = "" if not lines or not lines[-1].strip() else "\n"
    return "".join([*lines, separator, block])


__all__ = ["insert_entry", "insert_top_level", "load", "plain", "render", "styled"]
