"""The embedded AWS's lifecycle: one server per project, found again through its pid file, stopped twice safely."""

from __future__ import annotations

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


def test_stacks_apply_after_their_dependencies(monkeypatch, tmp_path: Path) -> None:
    """The scheduler starts a stack once what it depends on is applied, everything else at once."""
    started: list[str] = []

    def fake_run(paths, name, *args):  # records order instead of running terraform
        started.append(name)
        return 0.0

    monkeypatch.setattr(local, "_run", fake_run)
    environment = None
    stacks = [
        PlannedStack("local-notifications", environment, "notifications", ("local-orders", "local-users")),
        PlannedStack("local-orders", environment, "orders"),
        PlannedStack("local-platform", environment, None),
        PlannedStack("local-users", environment, "users"),
    ]
    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    done = local.apply_in_dependency_order(paths, stacks, lambda _: None)
    assert set(done) == {s.name for s in stacks}
    assert started.index("local-notifications") > max(started.index("local-orders"), started.index("local-users"))
    assert local.deployed_stacks(paths)[-1] == "local-notifications"


def test_destroy_runs_in_reverse_dependency_waves(monkeypatch, tmp_path: Path) -> None:
    """A stack is destroyed only after the stacks that depend on it; the apply recorded who needs whom."""
    import subprocess

    destroyed: list[str] = []

    def fake_terraform(paths, name, *args):
        destroyed.append(name)
        return subprocess.CompletedProcess(args, 0, stdout="", stderr="")

    monkeypatch.setattr(local, "_run", lambda paths, name, *args: 0.0)
    monkeypatch.setattr(local, "_terraform", fake_terraform)
    environment = None
    stacks = [
        PlannedStack("local-inventory", environment, "inventory", ("local-orders",)),
        PlannedStack("local-notifications", environment, "notifications", ("local-orders", "local-users")),
        PlannedStack("local-orders", environment, "orders"),
        PlannedStack("local-users", environment, "users"),
    ]
    paths = local.LocalPaths(tmp_path)
    for stack in stacks:
        paths.stack_dir(stack.name).mkdir(parents=True)
    local.apply_in_dependency_order(paths, stacks, lambda _: None)
    local.destroy_in_reverse_dependency_order(paths, local.deployed_stacks(paths), lambda _: None)
    assert sorted(destroyed) == sorted(s.name for s in stacks)
    assert destroyed.index("local-orders") > max(
        destroyed.index("local-inventory"), destroyed.index("local-notifications")
    )
    assert destroyed.index("local-users") > destroyed.index("local-notifications")


def test_domains_that_consume_each_other_get_their_topics_first(monkeypatch, tmp_path: Path) -> None:
    """orders consumes payments' events and payments consumes orders': no order works, so topics come first."""
    import json

    runs: list[tuple[str, tuple[str, ...]]] = []
    monkeypatch.setattr(local, "_run", lambda paths, name, *args: runs.append((name, args)) or 0.0)
    environment = None
    stacks = [
        PlannedStack("local-orders", environment, "orders", ("local-payments",)),
        PlannedStack("local-payments", environment, "payments", ("local-orders",)),
        PlannedStack("local-inventory", environment, "inventory", ("local-orders",)),
    ]
    paths = local.LocalPaths(tmp_path)
    for stack in stacks:
        paths.stack_dir(stack.name).mkdir(parents=True)
        topic = {"resource": {"aws_sns_topic": {f"{stack.domain}_topic": {}}}}
        (paths.stack_dir(stack.name) / "cdk.tf.json").write_text(json.dumps(topic))
    done = local.apply_in_dependency_order(paths, stacks, lambda _: None)
    assert set(done) == {s.name for s in stacks}
    targeted = [(name, args) for name, args in runs if any(a.startswith("-target=") for a in args)]
    assert sorted(targeted) == [
        ("local-orders", ("apply", "-auto-approve", "-target=aws_sns_topic.orders_topic")),
        ("local-payments", ("apply", "-auto-approve", "-target=aws_sns_topic.payments_topic")),
    ]
    full = [name for name, args in runs if len(args) == 2]
    assert runs.index(targeted[0]) < len(targeted) <= runs.index(("local-orders", ("apply", "-auto-approve")))
    assert full.index("local-inventory") > full.index("local-orders")

    import subprocess

    destroyed: list[str] = []

    def fake_terraform(paths, name, *args):
        destroyed.append(name)
        return subprocess.CompletedProcess(args, 0, stdout="", stderr="")

    monkeypatch.setattr(local, "_terraform", fake_terraform)
    local.destroy_in_reverse_dependency_order(paths, local.deployed_stacks(paths), lambda _: None)
    assert sorted(destroyed) == sorted(s.name for s in stacks)  # the cycle does not block the destroy...
    assert destroyed.index("local-inventory") < destroyed.index("local-orders")  # ...nor break the order around it


def test_after_a_failed_stack_nothing_new_starts_and_every_started_stack_is_recorded(monkeypatch, tmp_path) -> None:
    """The journal: a stack is recorded before its apply starts; after the first failure no new stack starts, the
    ones running are waited for, then the failure is raised (and `down` finds every one of them)."""
    import threading
    import time as clock

    started: list[str] = []
    platform_done = threading.Event()

    def fake_run(paths, name, *args):
        started.append(name)
        if name == "local-orders":
            raise local.LocalError("terraform apply failed for local-orders")
        clock.sleep(0.3)  # still running when orders fails
        platform_done.set()
        return 0.3

    monkeypatch.setattr(local, "_run", fake_run)
    stacks = [
        PlannedStack("local-orders", None, "orders"),
        PlannedStack("local-platform", None, None),
        PlannedStack("local-inventory", None, "inventory", ("local-orders", "local-platform")),
    ]
    paths = local.LocalPaths(tmp_path)
    paths.state.mkdir(parents=True)
    with pytest.raises(local.LocalError, match="local-orders"):
        local.apply_in_dependency_order(paths, stacks, lambda _: None)
    assert platform_done.is_set()  # waited for, not abandoned
    assert "local-inventory" not in started
    assert sorted(local.deployed_stacks(paths)) == ["local-orders", "local-platform"]


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
    local._run(paths, "local-platform", "apply", "-auto-approve")
    assert calls == [
        ("apply", "-auto-approve"),
        ("import", "aws_kms_alias.alarm-key_alias_1C2B58D9", "alias/local-platform-alarms"),
        ("apply", "-auto-approve"),
    ]
    assert "imported" in paths.command_log("local-platform", "apply").read_text()


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
