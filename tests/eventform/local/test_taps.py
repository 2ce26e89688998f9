"""How observed target inputs are judged: AWS's rendering (lint --matrix) first, moto's own rendering as the only
excuse, anything else a failure; and moto 5's template parser pinned where it differs from AWS (README)."""

from __future__ import annotations

import json

from eventform.catalog.model import Consumer, InputTransformer, Route, Target
from eventform.catalog.naming import Names
from eventform.catalog.routing import bus_event
from eventform.local import taps

NAMES = Names(env="local", region="us-east-1", account_id="123456789012")
EVENT = bus_event(
    "com.example.orders",
    "order.created",
    {"source": "com.example.orders", "data": {"order_id": "ord_1", "total": 1200, "gift": True}},
    event_id="e-1",
    time="2026-11-29T18:00:00Z",
    account="123456789012",
    region="us-east-1",
)


def _consumer(target: Target) -> Consumer:
    route = Route(pattern=None, targets=(target,))
    return Consumer("payments", "large-orders", "d", ("orders/order.created",), route=route)


def _target(template: str, **paths: str) -> Target:
    return Target("t", "sns", "arn:aws:sns:us-east-1:1:x", input_transformer=InputTransformer(dict(paths), template))


def test_an_input_as_aws_renders_it_is_as_predicted() -> None:
    target = _target(
        '"Order <order> needs review (total <total>)"', order="$.detail.data.order_id", total="$.detail.data.total"
    )
    verdict, aws = taps.judge(NAMES, _consumer(target), target, EVENT, '"Order ord_1 needs review (total 1200)"')
    assert verdict == taps.AS_PREDICTED and aws == '"Order ord_1 needs review (total 1200)"'


def test_moto_s_own_rendering_is_reported_as_moto_s_and_anything_else_fails() -> None:
    target = _target('{"at": "<at>"}', at="$.time")
    moto = taps.moto_rendering(target, EVENT)
    assert json.loads(moto) == {"at": "1795975200"}  # moto: epoch seconds (2026-11-29T18:00Z); AWS: ISO
    verdict, aws = taps.judge(NAMES, _consumer(target), target, EVENT, moto)
    assert verdict == taps.MOTO_DIFFERS and json.loads(aws) == {"at": "2026-11-29T18:00:00Z"}
    verdict, _ = taps.judge(NAMES, _consumer(target), target, EVENT, '{"at": "yesterday"}')
    assert verdict == taps.NOT_PREDICTED


def test_moto_5_template_parser_differs_from_aws_where_the_readme_says() -> None:
    outside = _target('{"order": <order>}', order="$.detail.data.order_id")  # AWS: {"order":"ord_1"}
    assert taps.moto_rendering(outside, EVENT) is None  # moto inserts the raw string: invalid JSON, HTTP 500
    boolean = _target('{"gift": <gift>}', gift="$.detail.data.gift")  # AWS: {"gift":true}
    assert taps.moto_rendering(boolean, EVENT) is None  # moto writes True
    missing = _target('{"x": "<x>"}', x="$.detail.data.nothing")  # AWS: {"x":""}
    assert json.loads(taps.moto_rendering(missing, EVENT)) == {"x": "<x>"}
    path_only = Target("t", "stepfunctions", "arn:aws:states:us-east-1:1:stateMachine:x", input_path="$.detail.data")
    whole = json.loads(taps.moto_rendering(path_only, EVENT))  # moto ignores InputPath: the whole event, less account
    assert whole["detail"]["data"]["order_id"] == "ord_1" and "account" not in whole
