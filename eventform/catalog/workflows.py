"""Step Functions workflows a domain owns (``workflows:``): a definition file beside the catalog, checked here.

The definition (``catalog/<domain>/workflows/<name>.asl.json`` unless ``definition:`` says otherwise) is Amazon
States Language whose task states name catalog things by placeholder, resolved at synthesis per environment:

- ``${consumer:<domain>/<consumer>}``: the function of a consumer with a handler (a Task's Resource, or
  ``FunctionName`` of ``arn:aws:states:::lambda:invoke``);
- ``${queue:<domain>/<consumer>}``: the queue URL of a ``via: workflow`` consumer (``QueueUrl`` of
  ``arn:aws:states:::sqs:sendMessage[.waitForTaskToken]``); with ``.waitForTaskToken`` the message is the envelope of
  an event the consumer takes, carrying the token as the ``tasktoken`` extension;
- ``${bus}``: the domain's bus (``EventBusName`` of ``arn:aws:states:::events:putEvents``), for the events the
  workflow ``emits``.

Tasks may do nothing else: the state machine's role is derived from these (lambda:InvokeFunction on the named
functions, sqs:SendMessage on the named queues, events:PutEvents on the bus), so a definition cannot reach what the
catalog does not say. Starters (rule and pipe targets ``type: workflow``, schedules ``workflow:``) name a workflow of
their own domain. The loader calls :func:`build_workflows` while it builds a domain, :func:`check_catalog` once
every domain is known.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eventform.catalog import asl
from eventform.catalog.model import Catalog, Consumer, Domain, Workflow
from eventform.catalog.naming import Names, fit
from eventform.catalog.parsing import Collector, EntryReport, line_of, parse_duration, parse_yaml
from eventform.catalog.workflow_model import (
    MAX_DEFINITION_BYTES,
    MAX_EXPRESS_TIMEOUT,
    MAX_STANDARD_TIMEOUT,
    Placeholder,
    WorkflowLogging,
)

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
TEMPLATE_SEQUENCE = re.compile(r"[$%]\{")  # Terraform would read these as interpolations or directives
QUALIFIED = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")
DEFAULT_TIMEOUT = {"STANDARD": 86400, "EXPRESS": MAX_EXPRESS_TIMEOUT}
MAX_TIMEOUT = {"STANDARD": MAX_STANDARD_TIMEOUT, "EXPRESS": MAX_EXPRESS_TIMEOUT}
# The optimized integrations a task may use (AWS: "Integrating services with Step Functions"); the role allows them.
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
TASK_TOKEN = ".waitForTaskToken"
TOKEN_PATH = "$$.Task.Token"
TOKEN_ATTRIBUTE = "tasktoken"  # the CloudEvents extension the task consumer reads (eventform.runtime.tasks)
STATE_MACHINE_NAME_LIMIT = 80
LOG_GROUP_PREFIX = "/aws/vendedlogs/states/"  # AWS's prefix for vended logs: no resource-policy size limit


# --------------------------------------------------------------------------------------------------------------
# One domain's workflows
# --------------------------------------------------------------------------------------------------------------
def build_workflows(path: Path, document: Any, data: dict[str, Any], out: Collector) -> tuple[Workflow, ...]:
    workflows = []
    for name, spec in sorted(data.get("workflows", {}).items()):
        report = EntryReport(path, document, out, ["workflows", name])
        kind = spec.get("type", "STANDARD")
        timeout = parse_duration(spec.get("timeout", DEFAULT_TIMEOUT[kind]))
        if not 1 <= timeout <= MAX_TIMEOUT[kind]:
            report.add(
                ["timeout"],
                f"a timeout of {spec.get('timeout')} is outside what {kind} executions may run",
                "use 1s..365d for STANDARD, 1s..5m for EXPRESS",
            )
        logging = WorkflowLogging(**spec.get("logging", {}))
        relative = spec.get("definition", f"workflows/{name}.asl.json")
        file = path.parent / data["domain"] / relative
        definition = _read_definition(file, relative, report)
        if definition is None or report.count:
            continue
        placeholders = _placeholders(file, definition, out)
        if placeholders is None:
            continue
        emits = tuple(q if "/" in q else f"{data['domain']}/{q}" for q in spec.get("emits", ()))
        workflows.append(
            Workflow(
                domain=data["domain"],
                name=name,
                description=spec["description"],
                path=file,
                definition=definition,
                type=kind,
                timeout=timeout,
                emits=emits,
                logging=logging,
                placeholders=placeholders,
                task_queues=_task_queues(definition),
            )
        )
    return tuple(workflows)


def _read_definition(file: Path, relative: str, report: EntryReport) -> dict[str, Any] | None:
    if not file.is_file():
        report.add(
            ["definition"],
            f"the definition file {relative} does not exist (looked for {file})",
            f"create {file.name} beside the catalog (catalog/<domain>/workflows/), or point definition: at it",
        )
        return None
    text = file.read_text(encoding="utf-8")
    if len(text.encode()) > MAX_DEFINITION_BYTES:
        report.out.add(file, "", "the definition is larger than Step Functions' 1 MB", "split the workflow")
        report.count += 1
        return None
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as error:
        report.out.add(
            file, "", f"not JSON: {error.msg} (column {error.colno})", "fix the JSON (a linter shows it)", error.lineno
        )
        report.count += 1
        return None
    lines = _lines(text)
    for keys, message, fix in asl.problems(definition):
        report.out.add(file, asl.json_path(keys), message, fix, _line(lines, keys))
        report.count += 1
    return definition if report.count == 0 else None


def _lines(text: str) -> dict[tuple[Any, ...], int]:
    try:
        return parse_yaml(text).lines  # JSON is YAML: the same walker gives every key its line
    except Exception:
        return {}


def _line(lines: dict[tuple[Any, ...], int], keys: list[Any]) -> int | None:
    for length in range(len(keys), -1, -1):
        if tuple(keys[:length]) in lines:
            return lines[tuple(keys[:length])]
    return None


def _placeholders(file: Path, definition: dict[str, Any], out: Collector) -> tuple[Placeholder, ...] | None:
    found, bad = [], 0
    lines = _lines(file.read_text(encoding="utf-8"))
    for keys, value in asl.walk(definition, []):
        texts = [value] if isinstance(value, str) else []
        texts += [k for k in value if isinstance(k, str)] if isinstance(value, dict) else []
        for text in texts:
            for match in PLACEHOLDER.finditer(text):
                kind, _, target = match.group(1).partition(":")
                at = asl.json_path(keys)
                if (kind == "bus" and not target) or (kind in ("consumer", "queue") and QUALIFIED.match(target)):
                    found.append(Placeholder(kind, target, at))  # type: ignore[arg-type]
                    continue
                out.add(
                    file,
                    at,
                    f"unknown placeholder {match.group(0)!r}",
                    "use ${consumer:<domain>/<consumer>} (its function), ${queue:<domain>/<consumer>} (its queue "
                    "URL) or ${bus} (the domain's bus)",
                    _line(lines, keys),
                )
                bad += 1
            if TEMPLATE_SEQUENCE.search(PLACEHOLDER.sub("", text)):
                out.add(
                    file,
                    asl.json_path(keys),
                    "'${' or '%{' outside a placeholder: Terraform would read it as a template",
                    "write the text without it (States.Format uses {} alone)",
                    _line(lines, keys),
                )
                bad += 1
    return None if bad else tuple(found)


def _task_queues(definition: dict[str, Any]) -> tuple[str, ...]:
    queues = set()
    for _, state in asl.task_states(definition, []):
        if state.get("Resource") == SQS_SEND + TASK_TOKEN:
            url = str((state.get("Parameters") or {}).get("QueueUrl", ""))
            match = PLACEHOLDER.fullmatch(url)
            if match and match.group(1).startswith("queue:"):
                queues.add(match.group(1).removeprefix("queue:"))
    return tuple(sorted(queues))


# --------------------------------------------------------------------------------------------------------------
# Once every domain is known
# --------------------------------------------------------------------------------------------------------------
def workflows_of(catalog: Catalog) -> dict[str, Workflow]:
    return {w.qualified_name: w for d in catalog.domains for w in d.workflows}


def check_catalog(catalog: Catalog, documents: dict[Path, Any], out: Collector) -> None:
    consumers = {c.qualified_name: c for c in catalog.consumers}
    served: set[str] = set()
    for domain in catalog.domains:
        document = documents[domain.path]
        for workflow in domain.workflows:
            report = EntryReport(domain.path, document, out, ["workflows", workflow.name])
            _check_emits(catalog, domain, workflow, report)
            _check_tasks(catalog, domain, workflow, consumers, out)
            _check_logging(catalog, domain, workflow, report)
            served |= set(workflow.task_queues)
        _check_starters(domain, document, out)
    for consumer in catalog.consumers:
        if consumer.tasks and consumer.qualified_name not in served:
            domain = catalog.domain(consumer.domain)
            out.add(
                domain.path,
                f"consumers.{consumer.name}.via",
                "a via: workflow consumer receives only what workflows' task states send it, and no workflow "
                f"names ${{queue:{consumer.qualified_name}}} with .waitForTaskToken",
                f"send it a task from a workflow (QueueUrl: ${{queue:{consumer.qualified_name}}}), or subscribe it "
                "through a topic or bus",
                line_of(documents[domain.path], ["consumers", consumer.name, "via"]),
            )


def _check_emits(catalog: Catalog, domain: Domain, workflow: Workflow, report: EntryReport) -> None:
    own = {e.name: e for e in domain.events}
    for index, qualified in enumerate(workflow.emits):
        event_domain, _, name = qualified.partition("/")
        if event_domain != domain.name or name not in own:
            report.add(
                ["emits", index],
                f"{qualified} is not an event of {domain.name}: a workflow puts only its own domain's events",
                f"emit one of: {', '.join(sorted(own)) or '(no events)'}",
            )
        elif "bus" not in own[name].via or domain.bus is None:
            report.add(
                ["emits", index],
                f"{qualified} does not travel on {domain.name}'s bus (via: {list(own[name].via)})",
                f"add bus to events.{name}.via (and a bus: to the domain), or stop emitting it",
            )
    put: set[str] = set()
    for at, state in asl.task_states(workflow.definition, []):
        if state.get("Resource", "").startswith(PUT_EVENTS):
            put |= _check_put_events(catalog, domain, workflow, at, state, report)
    for index, qualified in enumerate(workflow.emits):
        if qualified not in put and not report.count:
            report.add(
                ["emits", index],
                f"{qualified} is listed in emits, but no events:putEvents task of {workflow.path.name} puts it",
                "add the task, or remove the event from emits (consumers would wait for it in vain)",
            )


def _check_put_events(
    catalog: Catalog, domain: Domain, workflow: Workflow, at: list[Any], state: dict[str, Any], report: EntryReport
) -> set[str]:
    entries = (state.get("Parameters") or {}).get("Entries")
    file_at = asl.json_path([*at, "Parameters", "Entries"])
    if not isinstance(entries, list) or not entries:
        _file_problem(
            report,
            workflow,
            file_at,
            "an events:putEvents task lists its Entries in the definition",
            "write Parameters.Entries: [{EventBusName, Source, DetailType, Detail}] (not Entries.$)",
        )
        return set()
    put = set()
    for index, entry in enumerate(entries):
        where = f"{file_at}[{index}]"
        detail_type = entry.get("DetailType") if isinstance(entry, dict) else None
        qualified = f"{domain.name}/{detail_type}"
        if not isinstance(entry, dict) or entry.get("EventBusName") != "${bus}":
            _file_problem(
                report,
                workflow,
                where,
                "an entry puts on another bus than the domain's",
                'set "EventBusName": "${bus}"',
            )
        elif entry.get("Source") != domain.source:
            _file_problem(
                report,
                workflow,
                f"{where}.Source",
                f"Source must be the domain's ({domain.source})",
                f'set "Source": "{domain.source}"',
            )
        elif qualified not in workflow.emits:
            _file_problem(
                report,
                workflow,
                f"{where}.DetailType",
                f"{detail_type!r} is not an event the workflow emits ({', '.join(workflow.emits) or 'none'})",
                f"add {detail_type} to workflows.{workflow.name}.emits, or put an event it lists",
            )
        elif not isinstance(entry.get("Detail"), dict) or entry["Detail"].get("type") != detail_type:
            _file_problem(
                report,
                workflow,
                f"{where}.Detail",
                "Detail is the event's CloudEvents envelope (consumers unwrap it): an object whose type is "
                "the DetailType",
                f'write "Detail": {{"specversion": "1.0", "type": "{detail_type}", ...}}',
            )
        else:
            put.add(qualified)
    return put


def _check_tasks(
    catalog: Catalog, domain: Domain, workflow: Workflow, consumers: dict[str, Consumer], out: Collector
) -> None:
    lines = _lines(workflow.path.read_text(encoding="utf-8"))
    fix_resource = (
        f"use a catalog placeholder: ${{consumer:...}}, {LAMBDA_INVOKE}, {SQS_SEND}[{TASK_TOKEN}] or {PUT_EVENTS} "
        "(the state machine's role allows exactly these)"
    )

    def problem(keys: list[Any], message: str, fix: str) -> None:
        out.add(workflow.path, asl.json_path(keys), message, fix, _line(lines, keys))

    for at, state in asl.task_states(workflow.definition, []):
        resource = state["Resource"]
        base = resource.removesuffix(TASK_TOKEN)
        direct = PLACEHOLDER.fullmatch(resource)
        if not (direct and resource.startswith("${consumer:")) and base not in (LAMBDA_INVOKE, SQS_SEND, PUT_EVENTS):
            problem([*at, "Resource"], f"{resource!r} is not a task eventform derives a role for", fix_resource)
            continue
        if resource.endswith(TASK_TOKEN):
            if workflow.type == "EXPRESS":
                problem([*at, "Resource"], "an EXPRESS workflow cannot wait for a task token", "use type: STANDARD")
            elif TOKEN_PATH not in json.dumps(state.get("Parameters", {})):
                problem(
                    [*at, "Parameters"],
                    f"the task waits for a token but never sends {TOKEN_PATH}",
                    f'pass it, e.g. "{TOKEN_ATTRIBUTE}.$": "{TOKEN_PATH}" in the message',
                )
    for placeholder in workflow.placeholders:
        keys = _keys_of(placeholder.at)
        if placeholder.kind == "bus":
            if domain.bus is None:
                problem(keys, f"{domain.name} has no bus for ${{bus}}", "add bus: to the domain")
            continue
        consumer = consumers.get(placeholder.target)
        if placeholder.kind == "consumer" and (consumer is None or consumer.handler is None):
            with_handler = sorted(q for q, c in consumers.items() if c.handler)
            problem(
                keys,
                f"{placeholder.text}: no consumer {placeholder.target!r} with a handler (a function)",
                f"name one of: {', '.join(with_handler) or 'none yet'}",
            )
        elif placeholder.kind == "queue" and (consumer is None or not consumer.tasks):
            task_consumers = sorted(q for q, c in consumers.items() if c.tasks)
            problem(
                keys,
                f"{placeholder.text}: no via: workflow consumer {placeholder.target!r}",
                "declare the consumer with via: workflow (its queue takes workflows' tasks) or use one of: "
                f"{', '.join(task_consumers) or 'none yet'}",
            )
    for at, state in asl.task_states(workflow.definition, []):
        if state["Resource"] == SQS_SEND + TASK_TOKEN:
            _check_task_message(catalog, domain, workflow, at, state, consumers, problem)


def _check_task_message(
    catalog: Catalog,
    domain: Domain,
    workflow: Workflow,
    at: list[Any],
    state: dict[str, Any],
    consumers: dict[str, Consumer],
    problem: Any,
) -> None:
    """The message to a task consumer is the envelope of an event it takes, with the token as ``tasktoken``."""
    parameters = state.get("Parameters") or {}
    match = PLACEHOLDER.fullmatch(str(parameters.get("QueueUrl", "")))
    consumer = consumers.get(match.group(1).removeprefix("queue:")) if match else None
    if consumer is None or not consumer.tasks:
        if not match:
            problem(
                [*at, "Parameters", "QueueUrl"],
                "a task-token queue is named by placeholder",
                '"QueueUrl": "${queue:<domain>/<consumer>}" (a via: workflow consumer)',
            )
        return
    body = parameters.get("MessageBody")
    takes = {q.split("/", 1)[1]: q for q in consumer.events}
    if not isinstance(body, dict) or body.get("type") not in takes or body.get(f"{TOKEN_ATTRIBUTE}.$") != TOKEN_PATH:
        problem(
            [*at, "Parameters", "MessageBody"],
            f"the message to {consumer.qualified_name} is the CloudEvents envelope of an event it takes "
            f"({', '.join(consumer.events)}) carrying the token as {TOKEN_ATTRIBUTE}",
            f'write "MessageBody": {{"specversion": "1.0", "type": "<event>", "source": "<its domain\'s source>", '
            f'"id.$": "States.UUID()", "time.$": "$$.State.EnteredTime", "dataversion": 1, "data.$": "$.<path>", '
            f'"{TOKEN_ATTRIBUTE}.$": "{TOKEN_PATH}"}}',
        )
        return
    event = catalog.event(takes[body["type"]])
    if body.get("source") != catalog.domain(event.domain).source:
        problem(
            [*at, "Parameters", "MessageBody", "source"],
            f"{event.qualified_name}'s source is {catalog.domain(event.domain).source}",
            f'set "source": "{catalog.domain(event.domain).source}"',
        )


def _check_logging(catalog: Catalog, domain: Domain, workflow: Workflow, report: EntryReport) -> None:
    if not workflow.logging.execution_data:
        return
    carried = list(workflow.emits)
    for consumer in catalog.consumers:
        if consumer.qualified_name in workflow.task_queues:
            carried += consumer.events
    personal = sorted(q for q in carried if catalog.event(q).pii)
    if domain.data_classification == "restricted" or personal:
        report.add(
            ["logging", "execution_data"],
            "execution data (every state's input and output) would put payloads in the logs, and "
            + (f"{personal[0]} holds personal data" if personal else f"{domain.name} is restricted"),
            "remove execution_data: ALL still logs every transition, without payloads",
        )


def _check_starters(domain: Domain, document: Any, out: Collector) -> None:
    """Rule and pipe targets ``type: workflow`` and schedules ``workflow:`` name a workflow of their own domain."""
    own = {w.name: w for w in domain.workflows}
    listed = ", ".join(own) or "none yet"

    def check(name: str | None, keys: list[Any]) -> None:
        if name is None:
            out.add(
                domain.path,
                ".".join(map(str, keys)),
                "a workflow target names the workflow it starts",
                f"add workflow: <a workflow of {domain.name}: {listed}>",
                line_of(document, keys),
            )
        elif name not in own:
            out.add(
                domain.path,
                ".".join(map(str, [*keys, "workflow"])),
                f"{domain.name} has no workflow {name!r} (a starter starts its own domain's workflows)",
                f"use one of: {listed}; another domain starts it by putting an event its rule matches",
                line_of(document, [*keys, "workflow"]),
            )

    for consumer in domain.consumers:
        for target in consumer.route.targets if consumer.route else ():
            if target.kind == "workflow":
                check(target.workflow, ["consumers", consumer.name, "targets", target.name])
    for pipe in domain.pipes:
        if pipe.target.kind == "workflow":
            check(pipe.target.workflow, ["pipes", pipe.name, "target"])
            workflow = own.get(pipe.target.workflow or "")
            if workflow and workflow.type == "STANDARD" and pipe.target.invocation == "REQUEST_RESPONSE":
                out.add(
                    domain.path,
                    f"pipes.{pipe.name}.target.invocation",
                    "a STANDARD workflow is started asynchronously only (StartSyncExecution is for EXPRESS)",
                    "use invocation: FIRE_AND_FORGET, or make the workflow type: EXPRESS",
                    line_of(document, ["pipes", pipe.name, "target", "invocation"]),
                )
    for schedule in domain.schedules:
        if schedule.workflow is not None:
            check(schedule.workflow, ["schedules", schedule.name])


def starters(catalog: Catalog, workflow: Workflow) -> list[str]:
    """What starts a workflow: rules (consumers' targets), pipes and schedules of its domain that name it."""
    domain = catalog.domain(workflow.domain)
    return [
        *(
            f"rule {c.qualified_name}"
            for c in domain.consumers
            if c.route and any(t.kind == "workflow" and t.workflow == workflow.name for t in c.route.targets)
        ),
        *(f"pipe {domain.name}/{p.name}" for p in domain.pipes if p.target.workflow == workflow.name),
        *(f"schedule {domain.name}/{s.name}" for s in domain.schedules if s.workflow == workflow.name),
    ]


def state_rows(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(state, type, what follows) of the top-level states, for the docs: Next, Choices, Default, Catch, or end."""
    rows = []
    for name, state in workflow.definition.get("States", {}).items():
        follows = asl.next_states(state)
        kind = state.get("Type", "")
        ends = "end" if kind in ("Succeed", "Fail") or state.get("End") is True else ""
        rows.append((name, kind, ", ".join(dict.fromkeys([*follows, *([ends] if ends else [])]))))
    return rows


def _file_problem(report: EntryReport, workflow: Workflow, at: str, message: str, fix: str) -> None:
    lines = _lines(workflow.path.read_text(encoding="utf-8"))
    report.out.add(workflow.path, at, message, fix, _line(lines, _keys_of(at)))
    report.count += 1


def _keys_of(at: str) -> list[Any]:
    """``States.Pay.Catch[0].Next`` -> ``["States", "Pay", "Catch", 0, "Next"]`` (state names hold no dots here)."""
    keys: list[Any] = []
    for part in at.split("."):
        name, *indexes = part.split("[")
        keys.append(name)
        keys.extend(int(i.rstrip("]")) for i in indexes)
    return keys


# --------------------------------------------------------------------------------------------------------------
# Synthesis: names and the resolved definition
# --------------------------------------------------------------------------------------------------------------
def state_machine_name(names: Names, workflow: Workflow) -> str:
    return fit(f"{names.env}-{workflow.domain}-{workflow.name}", STATE_MACHINE_NAME_LIMIT)


def state_machine_arn(names: Names, workflow: Workflow) -> str:
    return names._arn("states", f"stateMachine:{state_machine_name(names, workflow)}")


def log_group_name(names: Names, workflow: Workflow) -> str:
    return f"{LOG_GROUP_PREFIX}{state_machine_name(names, workflow)}"


def queue_url(names: Names, queue: str) -> str:
    return f"https://sqs.{names.region}.amazonaws.com/{names.account_id}/{queue}"


def resolve(catalog: Catalog, names: Names, placeholder: Placeholder) -> str:
    """What a placeholder becomes in one environment: a function ARN, a queue URL, the bus name."""
    if placeholder.kind == "bus":
        return names.bus(placeholder.target or "")
    domain, consumer_name = placeholder.target.split("/", 1)
    consumer = next(c for c in catalog.domain(domain).consumers if c.name == consumer_name)
    if placeholder.kind == "consumer":
        return names.function_arn(names.function(domain, consumer.physical_name))
    return queue_url(names, names.queue(domain, consumer.physical_name, False))


def definition_text(catalog: Catalog, names: Names, workflow: Workflow) -> str:
    """The definition Step Functions gets in one environment: placeholders resolved, the catalog's timeout as
    TimeoutSeconds, keys sorted (byte-identical for the same catalog)."""

    def substitute(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: substitute(value) for key, value in node.items()}
        if isinstance(node, list):
            return [substitute(value) for value in node]
        if isinstance(node, str):
            return PLACEHOLDER.sub(lambda m: _resolved(catalog, names, workflow, m.group(1)), node)
        return node

    definition = substitute(workflow.definition)
    definition.setdefault("TimeoutSeconds", workflow.timeout)
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))


def _resolved(catalog: Catalog, names: Names, workflow: Workflow, inner: str) -> str:
    kind, _, target = inner.partition(":")
    return resolve(catalog, names, Placeholder(kind, target or workflow.domain, ""))  # type: ignore[arg-type]
