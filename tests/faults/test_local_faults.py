"""The local rehearsal's commands when what they need is gone: the embedded AWS killed (a closed port behind its
endpoint file) and Terraform missing from PATH. One line with the fix each; `local down` then cleans up."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

from tests.faults.conftest import environment, eventform, one_line_failure


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when the socket is: nothing listens there


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def killed_embedded_aws(root: Path, pid: int) -> Path:
    """What `local up` leaves when its moto server is killed afterwards: the pid and endpoint files, the deployed
    stacks and their state, naming resources that died with the server."""
    state = root / ".eventform/local"
    state.mkdir(parents=True, exist_ok=True)
    (state / "moto.pid").write_text(f"{pid}\n")
    (state / "endpoint").write_text(f"http://127.0.0.1:{closed_port()}\n")
    (state / "deployed.json").write_text(json.dumps(["local-platform", "local-orders"]))
    resource = {"mode": "managed", "type": "aws_sns_topic", "name": "topic", "instances": [{"attributes": {}}]}
    for stack in ("local-platform", "local-orders"):
        (state / f"terraform.{stack}.tfstate").write_text(json.dumps({"version": 4, "resources": [resource] * 3}))
    return state


def test_a_killed_embedded_aws_is_one_line_and_down_cleans_up(project_copy: Path) -> None:
    root = ("--root", str(project_copy))
    # The recorded pid still lives (here: this test) but nothing listens on the port: botocore's connection error.
    killed_embedded_aws(project_copy, os.getpid())
    published = eventform("local", "publish", "--event", "orders/order.created", "--index", "0", *root)
    assert published.returncode == 69, published.stdout + published.stderr
    line = one_line_failure(published.stderr, "local publish")
    assert "the embedded AWS does not answer at http://127.0.0.1:" in line
    assert "fix: run `eventform local down`, then `eventform local up`" in line
    # The recorded server process is gone: every command that needs it says so before trying.
    state = killed_embedded_aws(project_copy, dead_pid())
    for command in (("local", "run"), ("local", "rehearse"), ("dlq", "redrive", "inventory/reserve-stock")):
        result = eventform(*command, *root)
        assert result.returncode == 69, result.stdout + result.stderr
        assert "is not running" in one_line_failure(result.stderr, " ".join(command[:2]))

    status = eventform("local", "status", *root)
    assert status.returncode == 0, status.stderr
    assert "embedded AWS: not running" in status.stdout
    assert "left-over local state of 2 stacks" in status.stdout and "resources" not in status.stdout.split("(")[0]
    down = eventform("local", "down", *root)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not (state / "deployed.json").exists() and not list(state.glob("*.tfstate"))
    assert "deployed stacks: none" in eventform("local", "status", *root).stdout


def without_terraform() -> dict[str, str]:
    folders = os.environ.get("PATH", "").split(os.pathsep)
    kept = [f for f in folders if f and not (Path(f) / "terraform").exists()]
    env = environment(PATH=os.pathsep.join(kept))
    assert shutil.which("terraform", path=env["PATH"]) is None
    return env


def test_terraform_missing_is_one_line_and_starts_nothing(project_copy: Path, tmp_path: Path) -> None:
    env = without_terraform()
    up = eventform("local", "up", "--root", str(project_copy), env=env)
    assert up.returncode == 72, up.stdout + up.stderr
    assert "terraform is not on PATH" in one_line_failure(up.stderr, "local up")
    assert not (project_copy / ".eventform/local/moto.pid").exists(), "no embedded AWS is left running"
    out = tmp_path / "out"
    assert eventform("synth", "--stack", "dev-orders", "--out", str(out), env=env).returncode == 0
    validate = eventform("validate", "--out", str(out), env=env)
    assert validate.returncode == 72, validate.stdout + validate.stderr
    assert "install Terraform >= 1.10" in one_line_failure(validate.stderr, "validate")
    assert eventform("local", "down", "--root", str(project_copy), env=env).returncode == 0
