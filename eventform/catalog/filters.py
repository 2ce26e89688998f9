"""SNS subscription filter policies: load-time checks, matching, and the policy eventform generates.

A consumer's subscription to a topic always filters on the event types it consumes from that topic (so it never
receives, say, ``order.cancelled`` when it asked for ``order.created``); the catalog's ``filter`` adds conditions.
Checks and matching follow the SNS developer guide (:mod:`eventform.catalog.filter_matching`, which shares the
operator validator with EventBridge patterns); ``tests/conformance/sns`` pins them.
"""

from __future__ import annotations

from typing import Any

from eventform.catalog import filter_matching
from eventform.catalog.operators import Problem

# Operators SNS accepts inside a filter policy value list.
OPERATORS = frozenset(filter_matching.SNS.operators)
MAX_ATTRIBUTE_KEYS = filter_matching.MAX_KEYS  # SNS: at most 5 attribute names per filter policy
# eventform's filter_scope -> SNS FilterPolicyScope
SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}


def sns_scope(scope: str) -> str:
    """``attributes``/``body`` (the catalog's words) or SNS's own ``MessageAttributes``/``MessageBody``."""
    return SCOPES.get(scope, scope)


def syntax_problems(policy: Any, path: str = "filter", scope: str = "attributes") -> list[Problem]:
    """(location, message, fix) for every documented reason SNS refuses the policy; [] means SNS accepts it."""
    return filter_matching.syntax_problems(policy, sns_scope(scope), path)


def matches(policy: dict[str, Any], scope: str, attributes: dict[str, Any], body: Any) -> bool:
    """Does SNS deliver the message to a subscription with this policy? ``scope``: attributes/body (or SNS's
    MessageAttributes/MessageBody); ``attributes`` in the SNS API's shape (``{"DataType", "StringValue"}``);
    ``body`` the message text or its parsed JSON."""
    return filter_matching.matches(policy, sns_scope(scope), attributes, body)


def attribute_keys(policy: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, value in policy.items():
        if key == "$or":
            for alternative in value:
                keys |= attribute_keys(alternative)
        else:
            keys.add(key)
    return keys


def subscription_policy(event_types: list[str], extra: dict[str, Any] | None) -> dict[str, Any]:
    """The filter policy of one subscription: the consumed types from that topic plus the catalog's filter."""
    policy: dict[str, Any] = {"type": sorted(event_types)}
    if extra:
        policy.update(extra)
    return policy
