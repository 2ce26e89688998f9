"""The structure of an Amazon States Language definition, checked before Step Functions sees it.

What CreateStateMachine would refuse (AWS: "Amazon States Language", "States", "Error handling"): ``StartAt`` and
``States``; each state's ``Type``; exactly one of ``Next`` / ``End`` on Task, Pass, Wait, Parallel and Map; no
transition out of Succeed and Fail; Choice rules and ``Default``, ``Catch`` targets that exist; Wait's one time
field; ``Retry``/``Catch`` with ``ErrorEquals``; Parallel branches and Map processors checked as machines of their
own (their states see only each other); states nobody reaches; a machine with no terminal state. Each problem is
(JSON path as keys, message, fix): the workflow reader turns it into file, location and line.
"""

from __future__ import annotations

from typing import Any

from eventform.catalog.workflow_model import MAX_STATE_NAME

Problem = tuple[list[Any], str, str]

STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
TRANSITIONING = ("Task", "Pass", "Wait", "Parallel", "Map")  # exactly one of Next and End
WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")


def problems(definition: Any) -> list[Problem]:
    """Every structural problem of a top-level definition."""
    if not isinstance(definition, dict):
        return [([], "a definition is a JSON object", 'write {"StartAt": "<state>", "States": {...}}')]
    found: list[Problem] = []
    language = definition.get("QueryLanguage", "JSONPath")
    if language != "JSONPath":
        found.append(
            (
                ["QueryLanguage"],
                f"QueryLanguage {language!r}: eventform checks and resolves JSONPath definitions only",
                "remove QueryLanguage (JSONPath is the default) and write Parameters / ResultPath",
            )
        )
    timeout = definition.get("TimeoutSeconds")
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1):
        found.append((["TimeoutSeconds"], "TimeoutSeconds is a positive whole number", "write e.g. 3600"))
    found.extend(_machine(definition, []))
    return found


def _machine(machine: dict[str, Any], at: list[Any]) -> list[Problem]:
    found: list[Problem] = []
    states = machine.get("States")
    start = machine.get("StartAt")
    if not isinstance(states, dict) or not states:
        return [([*at, "States"], "a machine needs States: an object of named states", 'add "States": {...}')]
    if not isinstance(start, str):
        found.append(([*at, "StartAt"], "a machine needs StartAt: the name of its first state", 'add "StartAt"'))
    elif start not in states:
        found.append(([*at, "StartAt"], f"StartAt names {start!r}, which is not a state", _one_of(states, "StartAt")))
    for name, state in states.items():
        found.extend(_state(name, state, states, [*at, "States", name]))
    if found:
        return found
    reached = _reachable(start, states)
    for name in states:
        if name not in reached:
            found.append(
                (
                    [*at, "States", name],
                    f"state {name!r} is not reachable from StartAt {start!r} (Step Functions refuses it)",
                    "point a Next, Default, Choices or Catch at it, or delete it",
                )
            )
    if not any(_terminal(state) for state in states.values()):
        found.append(
            (
                [*at, "States"],
                "no state ends the machine: every execution would run until its timeout",
                'give a state "End": true, or add a Succeed or Fail state',
            )
        )
    return found


def _state(name: str, state: Any, states: dict[str, Any], at: list[Any]) -> list[Problem]:
    if len(name) > MAX_STATE_NAME:
        return [(at, f"the state name is {len(name)} characters (at most {MAX_STATE_NAME})", "shorten it")]
    if not isinstance(state, dict):
        return [(at, "a state is a JSON object", 'write {"Type": "Task", ...}')]
    kind = state.get("Type")
    if kind not in STATE_TYPES:
        return [([*at, "Type"], f"unknown state Type {kind!r}", f"use one of: {', '.join(STATE_TYPES)}")]
    found: list[Problem] = []
    has_next, ends = "Next" in state, state.get("End") is True
    if kind in TRANSITIONING and has_next == ends:
        found.append(
            (
                at,
                f"a {kind} state has exactly one of Next and End: true"
                + (" (it has both)" if has_next else " (it has neither)"),
                'keep "Next": "<state>" to continue, or "End": true to finish here',
            )
        )
    if kind not in TRANSITIONING and (has_next or "End" in state):
        found.append(
            (
                [*at, "Next" if has_next else "End"],
                f"a {kind} state has no Next or End"
                + (" (Choice continues through Choices and Default)" if kind == "Choice" else " (it is terminal)"),
                "remove it",
            )
        )
    if has_next:
        found.extend(_target(state["Next"], states, [*at, "Next"]))
    if kind == "Task":
        found.extend(_task(state, at))
    if kind == "Choice":
        found.extend(_choice(state, states, at))
    if kind == "Wait" and sum(field in state for field in WAIT_FIELDS) != 1:
        found.append((at, "a Wait state has exactly one of " + ", ".join(WAIT_FIELDS), "keep one, e.g. Seconds"))
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            found.append((at, "a Parallel state needs Branches: a list of machines", 'add "Branches": [...]'))
        else:
            for index, branch in enumerate(branches):
                found.extend(_sub_machine(branch, [*at, "Branches", index]))
    if kind == "Map":
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        found.extend(_sub_machine(state.get(key), [*at, key]))
    for field in ("Retry", "Catch"):
        found.extend(_handlers(state, field, states, at))
    return found


def _task(state: dict[str, Any], at: list[Any]) -> list[Problem]:
    found: list[Problem] = []
    if not isinstance(state.get("Resource"), str):
        found.append(([*at, "Resource"], "a Task state needs Resource", 'add "Resource": "arn:aws:states:::..."'))
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    for field, value in (("TimeoutSeconds", timeout), ("HeartbeatSeconds", heartbeat)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            found.append(([*at, field], f"{field} is a positive whole number of seconds", "write e.g. 300"))
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
        found.append(([*at, "HeartbeatSeconds"], "HeartbeatSeconds must be smaller than TimeoutSeconds", "lower it"))
    return found


def _choice(state: dict[str, Any], states: dict[str, Any], at: list[Any]) -> list[Problem]:
    choices = state.get("Choices")
    if not isinstance(choices, list) or not choices:
        return [(at, "a Choice state needs Choices: a non-empty list of rules", 'add "Choices": [...]')]
    found: list[Problem] = []
    for index, rule in enumerate(choices):
        where = [*at, "Choices", index]
        if not isinstance(rule, dict) or "Next" not in rule:
            found.append((where, "a top-level Choice rule needs Next", 'add "Next": "<state>"'))
        else:
            found.extend(_target(rule["Next"], states, [*where, "Next"]))
    if "Default" in state:
        found.extend(_target(state["Default"], states, [*at, "Default"]))
    return found


def _handlers(state: dict[str, Any], field: str, states: dict[str, Any], at: list[Any]) -> list[Problem]:
    entries = state.get(field)
    if entries is None:
        return []
    if not isinstance(entries, list):
        return [([*at, field], f"{field} is a list of objects", f'write "{field}": [{{"ErrorEquals": [...]}}]')]
    found: list[Problem] = []
    for index, entry in enumerate(entries):
        where = [*at, field, index]
        errors = entry.get("ErrorEquals") if isinstance(entry, dict) else None
        if not isinstance(errors, list) or not errors:
            found.append(
                (where, f"each {field} entry needs ErrorEquals: a non-empty list", 'e.g. "ErrorEquals": ["States.ALL"]')
            )
            continue
        if field == "Catch":
            if "Next" not in entry:
                found.append((where, "a Catch entry needs Next: the state that handles the error", 'add "Next"'))
            else:
                found.extend(_target(entry["Next"], states, [*where, "Next"]))
    return found


def _sub_machine(machine: Any, at: list[Any]) -> list[Problem]:
    if not isinstance(machine, dict):
        return [(at, "a branch or item processor is a machine: StartAt and States", 'write {"StartAt", "States"}')]
    return _machine(machine, at)


def _target(name: Any, states: dict[str, Any], at: list[Any]) -> list[Problem]:
    if name in states:
        return []
    return [(at, f"{name!r} is not a state of this machine", _one_of(states, at[-1]))]


def _one_of(states: dict[str, Any], key: Any) -> str:
    return f"point {key} at one of: {', '.join(states)}"


def next_states(state: dict[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [rule["Next"] for rule in state.get("Choices", []) if isinstance(rule, dict) and "Next" in rule]
    found += [state["Default"]] if "Default" in state else []
    found += [entry["Next"] for entry in state.get("Catch", []) if isinstance(entry, dict) and "Next" in entry]
    return found


def _reachable(start: Any, states: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [start] if start in states else []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in next_states(states[name]) if n in states and n not in seen)
    return seen


def _terminal(state: dict[str, Any]) -> bool:
    return state.get("Type") in ("Succeed", "Fail") or state.get("End") is True


def walk(node: Any, at: list[Any]) -> list[tuple[list[Any], Any]]:
    """Every (JSON path, value) below ``node``, depth first in document order: what placeholders are found in."""
    found: list[tuple[list[Any], Any]] = [(at, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(walk(value, [*at, key]))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(walk(value, [*at, index]))
    return found


def task_states(machine: dict[str, Any], at: list[Any]) -> list[tuple[list[Any], dict[str, Any]]]:
    """(JSON path, state) of every Task state, in branches and item processors too."""
    found: list[tuple[list[Any], dict[str, Any]]] = []
    for name, state in machine.get("States", {}).items():
        where = [*at, "States", name]
        if state.get("Type") == "Task":
            found.append((where, state))
        for index, branch in enumerate(state.get("Branches", []) or []):
            found.extend(task_states(branch, [*where, "Branches", index]))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                found.extend(task_states(state[key], [*where, key]))
    return found


def json_path(keys: list[Any]) -> str:
    """``["States", "Pay", "Catch", 0, "Next"]`` -> ``States.Pay.Catch[0].Next``."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text
