"""One reading of ``<name>`` in input templates: the loader's checks, the renderer and lint agree with EventBridge,
whose variable names are 1..256 letters, digits, '_' or '-' (the API's InputTransformerPathKey) or predefined."""

from __future__ import annotations

from eventform.catalog import patterns, transformers

TEMPLATE = '{"note": "<a/b> and <a b>", "state": <state>, "rule": "<aws.events.rule-name>", "raw": "<x.y>"}'
EVENT = {"detail": {"state": "RUNNING"}, "time": "2026-01-15T08:00:00Z"}


def test_the_checks_and_the_renderer_read_the_same_placeholders() -> None:
    assert transformers.placeholders(TEMPLATE) == {"state", "aws.events.rule-name"}
    assert patterns.placeholders(TEMPLATE) == transformers.placeholders(TEMPLATE)


def test_text_in_angle_brackets_that_names_no_variable_stays_literal() -> None:
    rendered = transformers.render({"state": "$.detail.state"}, TEMPLATE, EVENT, rule_name="r")
    assert rendered == '{"note": "<a/b> and <a b>", "state": "RUNNING", "rule": "r", "raw": "<x.y>"}'
    assert transformers.is_json(rendered)


def test_a_variable_name_eventbridge_refuses_is_a_problem() -> None:
    problems = transformers.template_problems({"a/b": "$.detail.state"}, '"<a/b>"')
    assert [(where, message) for where, message, _ in problems] == [
        ("InputPathsMap.a/b", "variable name 'a/b' is not 1 to 256 letters, digits, '_' or '-'")
    ]
    assert transformers.template_problems({"camelCase_name-1": "$.detail.state"}, '"<camelCase_name-1>"') == []
