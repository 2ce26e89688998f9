"""The CDK Terrain CLI paths the README shows: `cdktn synth` of one environment keeps the others, and `cdktn deploy` /
`cdktn destroy` of local stacks reach the embedded AWS that `eventform local start` runs (EVENTFORM_LOCAL_ENDPOINT)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from eventform.catalog.errors import CatalogError
from eventform.cli import cdktn_app
from eventform.cli.main import app
from eventform.local import embedded as local
from eventform.synthesis import toolchain
from tests.conftest import ROOT, SECOND_DOMAIN, copy_project, copy_second_project, require_terraform

runner = CliRunner()


def cdktn_project(tmp_path: Path, second: bool = False) -> tuple[Path, dict[str, str]]:
    """A copy of the project (``second``: of the second catalog, without its consumers) cdktn can run in (its own
    cdktf.json, main.py and outputs), and the environment."""
    cli = ROOT / "node_modules" / ".bin" / "cdktn"
    node = toolchain.node22(ROOT)
    if not cli.exists() or node is None:
        if os.environ.get("CI"):
            pytest.fail("the cdktn CLI or Node 22 is missing under CI: `make setup` installs them")
        pytest.skip("the cdktn CLI is not installed on this laptop: run `make setup`")
    target = tmp_path / "project"
    project = copy_second_project(target, consumers=False) if second else copy_project(target)
    for name in ("main.py", "cdktf.json"):
        shutil.copy(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / ".cache").mkdir()
    env = {
        **os.environ,
        "PATH": f"{node.parent}{os.pathsep}{cli.parent}{os.pathsep}{os.environ['PATH']}",
        "JSII_NODE": str(node),
        "CHECKPOINT_DISABLE": "1",
        "PYTHONPATH": str(ROOT),
        "TF_CLI_CONFIG_FILE": str(toolchain.write_cli_config(project)),
    }
    return project, env


def cdktn(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cli = str(ROOT / "node_modules" / ".bin" / "cdktn")
    done = subprocess.run([cli, *args], cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done


def test_a_bad_endpoint_is_named_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cdktn_app.ENDPOINT_VARIABLE, "localhost-4566")
    with pytest.raises(CatalogError) as raised:
        cdktn_app.local_endpoint(ROOT)
    assert "at EVENTFORM_LOCAL_ENDPOINT: EVENTFORM_LOCAL_ENDPOINT='localhost-4566' is not an endpoint URL" in str(
        raised.value
    )
    monkeypatch.setenv(cdktn_app.ENDPOINT_VARIABLE, "http://127.0.0.1:4599/")
    assert cdktn_app.local_endpoint(ROOT) == "http://127.0.0.1:4599"
    monkeypatch.delenv(cdktn_app.ENDPOINT_VARIABLE)
    assert cdktn_app.local_endpoint(ROOT) is None


def test_eventform_synth_points_local_stacks_at_the_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_project(tmp_path)
    monkeypatch.setenv(cdktn_app.ENDPOINT_VARIABLE, "http://127.0.0.1:45999")
    result = runner.invoke(app, ["synth", "--stack", "local-platform", "--root", str(project)])
    assert result.exit_code == 0, result.output
    provider = json.loads((project / "cdktf.out/stacks/local-platform/cdk.tf.json").read_text())["provider"]["aws"][0]
    assert set(provider["endpoints"][0].values()) == {"http://127.0.0.1:45999"}


def test_cdktn_synth_of_one_environment_keeps_the_others(tmp_path: Path) -> None:
    project, env = cdktn_project(tmp_path)
    out = project / "cdktf.out"
    cdktn(project, {**env, "EVENTFORM_STACK": "dev-users"}, "synth")
    first = (out / "stacks" / "dev-users" / "cdk.tf.json").read_text()
    cdktn(project, {**env, "EVENTFORM_STACK": "staging-users"}, "synth")
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["dev-users", "staging-users"]
    assert (out / "stacks" / "dev-users" / "cdk.tf.json").read_text() == first
    assert sorted(json.loads((out / "manifest.json").read_text())["stacks"]) == ["dev-users", "staging-users"]


@pytest.mark.terraform
def test_cdktn_deploy_and_destroy_local_stacks_on_the_embedded_aws(tmp_path: Path) -> None:
    """The README's path: `eventform local start`, its export line, `cdktn deploy` then `cdktn destroy` (on the
    second catalog without its consumers: its domain stack, a bus, deploys in seconds)."""
    require_terraform()
    project, env = cdktn_project(tmp_path, second=True)
    started = runner.invoke(app, ["local", "start", "--root", str(project)])
    assert started.exit_code == 0, started.output
    try:
        exports = started.output.strip().splitlines()[-1].removeprefix("export ").split()
        env.update(item.split("=", 1) for item in exports)
        url = env[cdktn_app.ENDPOINT_VARIABLE]
        assert url == local.endpoint(local.LocalPaths(project))
        stacks = ["local-platform", f"local-{SECOND_DOMAIN}"]
        cdktn(project, {**env, "EVENTFORM_ENV": "local"}, "deploy", *stacks, "--auto-approve", "--skip-provider-lock")
        clients = {"endpoint_url": url, "region_name": "us-east-1"}
        keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        sns, events = boto3.client("sns", **clients, **keys), boto3.client("events", **clients, **keys)
        assert "local-platform-alarms" in {t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]}
        assert stacks[1] in {b["Name"] for b in events.list_event_buses()["EventBuses"]}
        cdktn(
            project, {**env, "EVENTFORM_ENV": "local"}, "destroy", *reversed(stacks), "--auto-approve",
            "--skip-provider-lock",
        )  # fmt: skip
        assert sns.list_topics()["Topics"] == []
        assert stacks[1] not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}
    finally:
        local.down(project)
