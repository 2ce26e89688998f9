"""Handler packages for ``eventform add consumer``: rendered from ``eventform/authoring/templates/handler/``.

The templates are the only place that knows the handler layout and the runtime API (``eventform/runtime/handler.py``'s
``EventHandler``), so following a runtime change means editing that one folder. The generated test publishes the
consumed events' catalog examples through real SNS -> SQS subscriptions in moto (``handlers/conftest.py``) and
passes out of the box.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from eventform.authoring.files import Change

TEMPLATE_FOLDER = "handler"
# template file -> path inside handlers/<name>/
FILES = {
    "__init__.py.j2": "__init__.py",
    "handler.py.j2": "handler.py",
    "tests/__init__.py.j2": "tests/__init__.py",
    "tests/test_handler.py.j2": "tests/test_handler.py",
}
# how the handler is reached -> the template of its test (SNS -> SQS is the default, tests/test_handler.py.j2)
TEST_TEMPLATES = {
    "topic-queue": "tests/test_handler.py.j2",
    "topic-push": "tests/test_handler_topic_push.py.j2",
    "bus-queue": "tests/test_handler_bus_queue.py.j2",
    "bus-push": "tests/test_handler_bus_push.py.j2",
}


def templates() -> Environment:
    """Strict jinja2 environment: a missing variable is an error, never an empty string in generated code."""
    return Environment(
        loader=PackageLoader("eventform.authoring", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def function_name(event: str, qualify: bool = False) -> str:
    """``orders/order.created`` -> ``on_order_created`` (``qualify``: ``on_orders_order_created``, for a consumer
    of two domains' events of the same name): a valid, readable Python identifier."""
    return "on_" + re.sub(r"[^a-z0-9_]", "_", event if qualify else event.split("/", 1)[1])


def _tuple_literal(items: list[str]) -> str:
    """A tuple of strings as ruff would format it: one line when it fits, else one item per line."""
    if len(items) == 1:
        return f'("{items[0]}",)'
    one_line = "(" + ", ".join(f'"{item}"' for item in items) + ")"
    if len(one_line) <= 100:
        return one_line
    return "(\n" + "".join(f'    "{item}",\n' for item in items) + ")"


def scaffold_handler(
    root: Path,
    handler: str,
    events: list[str],
    domain: str,
    consumer: str,
    change: Change,
    delivery: str = "topic-queue",
) -> Path:
    """Write ``handlers/<handler>/`` (handler + test) into ``change``; the caller checked it does not exist.
    ``delivery`` (topic-queue, topic-push, bus-queue, bus-push) chooses the test: what Lambda receives differs."""
    package = root / "handlers" / handler
    names = [e.split("/", 1)[1] for e in events]
    context = {
        "package": handler,
        "domain": domain,
        "consumer": consumer,
        "events": events,
        "events_literal": _tuple_literal(events),
        "pushed": delivery.endswith("-push"),
        "handlers": [
            {"event": e, "name": e.split("/", 1)[1], "function": function_name(e, names.count(e.split("/", 1)[1]) > 1)}
            for e in events
        ],
    }
    environment = templates()
    for template_name, target in FILES.items():
        template_name = TEST_TEMPLATES[delivery] if target == "tests/test_handler.py" else template_name
        text = environment.get_template(f"{TEMPLATE_FOLDER}/{template_name}").render(**context)
        change.write(package / target, text)
    return package


__all__ = ["FILES", "TEMPLATE_FOLDER", "TEST_TEMPLATES", "function_name", "scaffold_handler"]
