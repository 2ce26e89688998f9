"""Conformance: eventform's verdicts on patterns, filter policies and input transformers agree with AWS.

The cases (``eventbridge/``, ``sns/``, ``transformer/``) keep their provenance in ``source``: aws/event-ruler's own
tests at a pinned commit (each expectation re-checked by running ruler), the SNS developer guide, the EventBridge
input transformation guide. They run against eventform's public functions: ``patterns.matches`` and
``rule_matching.syntax_problems`` (``patterns.syntax_problems`` adds eventform's own envelope rules on top),
``filters.syntax_problems`` / ``filters.matches`` and ``patterns.render_input`` / ``transformers.template_problems``.

One test per case file, reporting every disagreement at once (4000 pytest params would cost more than the checks).
``python tests/conformance/test_conformance.py`` prints the agreement per operator.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from eventform.catalog import filters, patterns, rule_matching, transformers

HERE = Path(__file__).resolve().parent
OPERATORS = ("exactly", "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists",
             "cidr", "$or")  # fmt: skip
SCOPE = {"MessageAttributes": "attributes", "MessageBody": "body"}


def case_files(kind: str) -> list[Path]:
    return sorted((HERE / kind).glob("*.json"))


def load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def field(case: dict[str, Any], key: str) -> Any:
    """Cases keep raw JSON text when a number would lose precision as a float."""
    if key + "_text" in case:
        return json.loads(case[key + "_text"], parse_float=Decimal)
    return case[key]


def eventbridge_verdict(case: dict[str, Any]) -> str | None:
    """None when eventform agrees with AWS on the case, else what went wrong."""
    pattern = field(case, "pattern")
    problems = rule_matching.syntax_problems(pattern)
    if case["kind"] == "reject":
        return None if problems else f"accepted a pattern AWS refuses ({case.get('ruler_error')})"
    if problems:
        return f"refused a pattern AWS accepts: {problems[0][1]}"
    if case["kind"] == "match":
        got = patterns.matches(pattern, field(case, "event"))
        return None if got is case["expected"] else f"matches() = {got}, AWS: {case['expected']}"
    return None


def sns_verdict(case: dict[str, Any]) -> str | None:
    problems = filters.syntax_problems(case["policy"], scope=SCOPE[case["scope"]])
    if case["kind"] == "reject":
        return None if problems else f"accepted a policy SNS refuses ({case.get('reason')})"
    if problems:
        return f"refused a policy SNS accepts: {problems[0][1]}"
    if case["kind"] == "match":
        got = filters.matches(case["policy"], case["scope"], case.get("attributes", {}), case.get("body"))
        return None if got is case["expected"] else f"matches() = {got}, SNS: {case['expected']}"
    return None


def transformer_verdict(case: dict[str, Any]) -> str | None:
    problems = transformers.template_problems(case["input_paths"], case["template"])
    if case["kind"] == "reject":
        return None if problems else f"accepted a transformer EventBridge refuses ({case.get('reason')})"
    if problems:
        return f"refused a transformer EventBridge accepts: {problems[0][1]}"
    rendered = patterns.render_input(case["event"], None, case["input_paths"], case["template"], rule_name="",
                                     rule_arn="")  # fmt: skip
    if rendered != case["expected"]:
        return f"rendered {rendered!r}, EventBridge: {case['expected']!r}"
    if "valid_json" in case and transformers.is_json(rendered) is not case["valid_json"]:
        return f"is_json = {not case['valid_json']}, expected {case['valid_json']}"
    return None


VERDICTS = {"eventbridge": eventbridge_verdict, "sns": sns_verdict, "transformer": transformer_verdict}


def disagreements(path: Path) -> tuple[int, list[str]]:
    verdict = VERDICTS[path.parent.name]
    cases = [c for c in load(path) if not c.get("excluded")]
    wrong = []
    for case in cases:
        try:
            problem = verdict(case)
        except Exception as error:  # a crash is a disagreement to report
            problem = f"raised {type(error).__name__}: {error}"
        if problem:
            wrong.append(f"{case['id']} ({case['kind']}): {problem}")
    return len(cases), wrong


@pytest.mark.parametrize(
    "path", [p for kind in VERDICTS for p in case_files(kind)], ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_eventform_agrees_with_aws(path: Path) -> None:
    total, wrong = disagreements(path)
    assert total, f"{path} holds no cases"
    assert not wrong, f"{len(wrong)} of {total} cases disagree with AWS:\n" + "\n".join(wrong)


def test_the_corpus_is_complete() -> None:
    counts = {kind: sum(len(load(p)) for p in case_files(kind)) for kind in VERDICTS}
    assert counts == {"eventbridge": 4082, "sns": 50, "transformer": 21}, counts
    for kind in VERDICTS:
        for path in case_files(kind):
            assert all(case.get("source") for case in load(path)), f"{path}: a case without its provenance"


def operators_of(node: Any) -> set[str]:
    """Operators a pattern uses ("plain" when it has no operator object)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in OPERATORS:
                found.add(key)
            found |= operators_of(value)
    elif isinstance(node, list):
        for item in node:
            found |= operators_of(item)
    return found


def agreement_table() -> str:  # pragma: no cover - a report for people
    tally: Counter[tuple[str, str, bool]] = Counter()
    for kind in VERDICTS:
        for path in case_files(kind):
            for case in load(path):
                verdict = VERDICTS[kind](case) is None
                key = "pattern" if kind == "eventbridge" else "policy" if kind == "sns" else "input_paths"
                used = operators_of(field(case, key)) if kind != "transformer" else set()
                outcome = "reject" if case["kind"] == "reject" else "match/accept/render"
                for operator in sorted(used or {"plain values" if kind != "transformer" else "transformer"}):
                    tally[(f"{kind}: {operator}", outcome, verdict)] += 1
    rows = sorted({name for name, _, _ in tally})
    lines = ["| language: operator | match/accept/render agreed/cases | reject agreed/cases |", "| --- | --- | --- |"]
    for name in rows:
        cells = []
        for outcome in ("match/accept/render", "reject"):
            agreed, failed = tally[(name, outcome, True)], tally[(name, outcome, False)]
            cells.append(f"{agreed}/{agreed + failed}")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(agreement_table() + "\n")
