"""The embedded AWS's lifecycle: one server per project, found again through its pid file, stopped twice safely."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import boto3
import pytest

from eventform.local import embedded as local
from eventform.synthesis.app import PlannedStack


def test_server_starts_refuses_a_second_and_stops_idempotently(tmp_path: Path) -> None:
    paths = local.LocalPaths(tmp_path)
    url = local.start_server(paths)
    try:
        assert url.startswith("http://127.0.0.1:")
        pid = local.server_pid(paths)
        assert pid is not None and local.endpoint(paths) == url
        sqs = boto3.client(
            "sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        assert sqs.create_queue(QueueName="probe")["QueueUrl"].endswith("/probe")
        with pytest.raises(local.LocalError, match="already running"):
            local.start_server(paths)
    finally:
        assert local.stop_server(paths) is True
    assert local.server_pid(paths) is None and not paths.pid.exists()
    assert local.stop_server(paths) is False
    assert local.down(tmp_path) is False  # nothing running, nothing deployed: safe


def test_a_stale_pid_file_is_not_a_running_server(tmp_path: Path) -> None:
    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    paths.pid.write_text("999999\n")
    assert local.server_pid(paths) is None


def fake_local_terraform(record: list[tuple[str, tuple[str, ...]]], fail: str | None = None, early: bool = False):
    """Stands in for `local._run`: records (stack, args); plans show changes; ``fail``'s whole-stack apply fails (with
    ``early``: its targeted apply of topics and buses)."""
    import subprocess

    def run(paths, name, *args):
        record.append((name, args))
        targeted = any(a.startswith("-target=") for a in args)
        if args[:2] == ("apply", "-auto-approve") and name == fail and targeted == early:
            return subprocess.CompletedProcess(args, 1, "", f"Error: apply of {name} broke")
        planned = "Plan: 1 to add, 0 to change, 0 to destroy.\n" if args[0] == "plan" else ""
        return subprocess.CompletedProcess(args, 2 if args[0] == "plan" else 0, planned, "")

    return run


def write_stacks(paths, stacks) -> None:
    """Each stack's folder with a cdk.tf.json holding a topic (what `local up` creates first in the stacks others
    wait for) and a queue."""
    import json

    for stack in stacks:
        paths.stack_dir(stack.name).mkdir(parents=True)
        name = stack.domain or "platform"
        resources = {"aws_sns_topic": {f"{name}_topic": {}}, "aws_sqs_queue": {f"{name}_queue": {}}}
        (paths.stack_dir(stack.name) / "cdk.tf.json").write_text(json.dumps({"resource": resources}))


def test_local_up_applies_through_the_deploy_path_after_each_stacks_dependencies(monkeypatch, tmp_path) -> None:
    """`local up` runs eventform deploy's steps, every plan approved (`apply -auto-approve`): the stacks others wait
    for create their topics and buses first; each whole stack starts once the topics it needs exist (not once whole
    stacks are done); it records every stack in the journal."""
    runs: list[tuple[str, tuple[str, ...]]] = []
    monkeypatch.setattr(local, "_run", fake_local_terraform(runs))
    environment = None
    stacks = [
        PlannedStack("local-notifications", environment, "notifications", ("local-orders", "local-users")),
        PlannedStack("local-orders", environment, "orders"),
        PlannedStack("local-platform", environment, None),
        PlannedStack("local-users", environment, "users"),
    ]
    paths = local.LocalPaths(tmp_path)
    write_stacks(paths, stacks)
    done = local.apply_in_dependency_order(paths, stacks, lambda _: None)
    assert set(done) == {s.name for s in stacks}
    early = [(name, args) for name, args in runs if args[-1].startswith("-target=")]
    assert sorted(early) == [
        (f"local-{d}", ("apply", "-auto-approve", f"-target=aws_sns_topic.{d}_topic")) for d in ("orders", "users")
    ]  # the queues are created with their stacks: their waits overlap across stacks anyway
    whole = ("apply", "-auto-approve")
    assert sorted(name for name, args in runs if args == whole) == sorted(s.name for s in stacks)
    assert runs.index(("local-notifications", whole)) > max(runs.index(e) for e in early)
    for name in ("local-orders", "local-users"):  # a stack's own topics before the rest of it
        assert runs.index((name, whole)) > runs.index(next(e for e in early if e[0] == name))
    assert sorted(local.deployed_stacks(paths)) == sorted(s.name for s in stacks)


def test_after_a_failed_stack_nothing_new_starts_and_every_started_stack_is_recorded(monkeypatch, tmp_path) -> None:
    """The journal: a stack is recorded before its first step starts; after the first failure no new step starts,
    the ones running are waited for, then the failure is raised (and `down` finds every one of them)."""
    import threading
    import time as clock

    runs: list[tuple[str, tuple[str, ...]]] = []
    failing = fake_local_terraform(runs, fail="local-orders", early=True)
    platform_done = threading.Event()

    def slow_platform(paths, name, *args):
        if name == "local-platform" and args[-1].startswith("-target="):
            clock.sleep(0.5)  # still running when orders fails
            platform_done.set()
        return failing(paths, name, *args)

    monkeypatch.setattr(local, "_run", slow_platform)
    stacks = [
        PlannedStack("local-orders", None, "orders"),
        PlannedStack("local-platform", None, None),
        PlannedStack("local-inventory", None, "inventory", ("local-orders", "local-platform")),
    ]
    paths = local.LocalPaths(tmp_path)
    write_stacks(paths, stacks)
    with pytest.raises(local.LocalError, match="local-orders failed: terraform apply"):
        local.apply_in_dependency_order(paths, stacks, lambda _: None)
    assert platform_done.is_set()  # waited for, not abandoned
    assert not any(name == "local-inventory" and args[0] == "apply" for name, args in runs)  # never started
    assert ("local-platform", ("apply", "-auto-approve")) not in runs  # nothing new after the failure
    assert sorted(local.deployed_stacks(paths)) == ["local-orders", "local-platform"]  # every started stack


def test_down_stops_the_server_without_destroying_stack_by_stack(monkeypatch, tmp_path: Path) -> None:
    """Stopping the embedded AWS removes every resource it holds: `down` runs no terraform at all."""
    paths = local.LocalPaths(tmp_path)
    url = local.start_server(paths)
    paths.tfstate("local-orders").write_text("{}")
    local._write_deployed(paths, ["local-orders"])
    monkeypatch.setattr(local, "_terraform", lambda *args: pytest.fail(f"down ran terraform {args[2:]}"))
    said: list[str] = []
    assert local.down(tmp_path, said.append) is True
    assert local.server_pid(paths) is None and not paths.tfstate("local-orders").exists()
    assert said == ["embedded AWS stopped, and with it every resource of local-orders"]
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def test_down_removes_every_local_state_and_lock_whatever_the_journal_says(tmp_path: Path) -> None:
    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    leftovers = [
        paths.tfstate("local-orders"),
        paths.tfstate("local-users").with_suffix(".tfstate.backup"),
        paths.state / ".terraform.local-users.tfstate.lock.info",
    ]
    for path in [*leftovers, paths.tfstate("local-users")]:
        path.write_text("{}")
    local.down(tmp_path)  # the journal (deployed.json) names none of them, and no server runs
    assert not [p for p in paths.state.iterdir() if "tfstate" in p.name or p.name.endswith(".lock.info")]


def test_down_stops_a_terraform_an_interrupted_up_left_running(tmp_path: Path) -> None:
    import subprocess

    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    orphan = subprocess.Popen(["bash", "-c", "exec -a terraform sleep 60"], start_new_session=True)
    try:
        local._record_child(paths, orphan.pid, "local-orders apply")
        local.down(tmp_path)
        assert orphan.wait(timeout=15) != 0  # stopped by a signal, not finished
        assert not paths.children.exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()


def test_an_alias_the_sdks_retry_found_already_created_is_imported_and_the_apply_repeated(
    monkeypatch, tmp_path
) -> None:
    """The KMS alias race: the first CreateAlias succeeded, the SDK retried it (no response under load) and got
    AlreadyExistsException; the alias is ours, so it is imported and the apply runs again, once."""
    import subprocess

    failed = (
        "Error: creating KMS Alias (alias/local-platform-alarms): operation error KMS: CreateAlias, https response "
        "error StatusCode: 400, AlreadyExistsException: An alias with the name arn:aws:kms:us-east-1:123456789012:"
        "alias/local-platform-alarms already exists\n\n  with aws_kms_alias.alarm-key_alias_1C2B58D9,\n"
    )
    calls: list[tuple[str, ...]] = []

    def fake_terraform(paths, stack, *args):
        calls.append(args)
        first_apply = args[0] == "apply" and sum(c[0] == "apply" for c in calls) == 1
        return subprocess.CompletedProcess(
            args, 1 if first_apply else 0, stdout="", stderr=failed if first_apply else ""
        )

    monkeypatch.setattr(local, "_terraform", fake_terraform)
    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    assert local._run(paths, "local-platform", "apply", "eventform.tfplan").returncode == 0
    assert calls == [
        ("apply", "eventform.tfplan"),
        ("import", "aws_kms_alias.alarm-key_alias_1C2B58D9", "alias/local-platform-alarms"),
        ("apply", "-auto-approve"),  # a fresh plan: the saved one is spent
    ]
    assert "imported" in paths.command_log("local-platform", "apply").read_text()


def test_each_error_block_names_its_own_resource_created_twice() -> None:
    """A Lambda function the SDK's retry found created (409 after the provider's 2-minute conflict retries) is
    recovered like the alias; an unrelated error between them is never paired with either."""
    output = (
        "Error: creating Lambda Function (local-orders-ship-order): operation error Lambda: CreateFunction, https "
        "response error StatusCode: 409, RequestID: 1, ResourceConflictException: Function already exist: "
        "local-orders-ship-order\n\n  with aws_lambda_function.ship-order_function_0A1B2C3D,\n\n"
        "Error: creating SQS Queue (local-orders-x): AccessDenied\n\n  with aws_sqs_queue.x_queue_1,\n\n"
        "Error: creating KMS Alias (alias/local-orders): operation error KMS: CreateAlias, AlreadyExistsException: "
        "exists\n\n  with aws_kms_alias.key_alias_9,\n"
    )
    assert local.created_twice(output) == [
        ("local-orders-ship-order", "aws_lambda_function.ship-order_function_0A1B2C3D"),
        ("alias/local-orders", "aws_kms_alias.key_alias_9"),
    ]
    conflict_only = "Error: creating SQS Queue (q): ResourceConflictException already exist\n  with aws_sqs_queue.q,\n"
    assert local.created_twice(conflict_only) == []


def test_the_early_targeted_apply_keeps_its_own_log(monkeypatch, tmp_path) -> None:
    """bench/local.py reads the SQS creation times from both logs: the whole-stack apply must not overwrite them."""
    import subprocess

    def fake_terraform(paths, stack, *args):
        return subprocess.CompletedProcess(args, 0, stdout=" ".join(args), stderr="")

    monkeypatch.setattr(local, "_terraform", fake_terraform)
    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    local._run(paths, "local-orders", "apply", "-auto-approve", "-target=aws_sqs_queue.q")
    local._run(paths, "local-orders", "apply", "-auto-approve")
    assert paths.command_log("local-orders", "apply-first").read_text().endswith("-target=aws_sqs_queue.q")
    assert paths.command_log("local-orders", "apply").read_text() == "apply -auto-approve"


def test_local_terraform_never_inherits_the_developers_aws_variables(monkeypatch, tmp_path: Path) -> None:
    for name, value in {
        "AWS_PROFILE": "prod-admin",
        "AWS_SESSION_TOKEN": "real-token",
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
        "AWS_ENDPOINT_URL": "https://sqs.eu-west-1.amazonaws.com",
    }.items():
        monkeypatch.setenv(name, value)
    env = local.local_terraform_environment(tmp_path)
    aws = {k: v for k, v in env.items() if k.startswith("AWS_")}
    assert aws == local.LOCAL_CREDENTIALS
    assert env["TF_CLI_CONFIG_FILE"].startswith(str(tmp_path))
