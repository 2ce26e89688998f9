"""Shared fixtures: one synthesis of the sample catalog per test run (shared by every pytest-xdist worker), and the
Terraform guard."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventform.synthesis.app import SynthResult, synthesize

ROOT = Path(__file__).resolve().parent.parent
# Every synthesis in the tests really constructs (a test of determinism or of a Ctrl-C mid-synthesis must not be
# answered from .cache/synth), child processes included; the cache's own tests and the shared synthesis opt in.
os.environ["EVENTFORM_SYNTH_CACHE"] = "0"
# Likewise every catalog load really checks each schema against the metaschema and writes no .cache file into the
# project it loads (tests/eventform/catalog/test_schema_checks.py opts in).
os.environ["EVENTFORM_CHECK_CACHE"] = "0"


PROJECT_INPUTS = ("catalog", "environments", "handlers")


@contextlib.contextmanager
def mocked_aws(
    monkeypatch: pytest.MonkeyPatch, region: str = "us-east-1", step_functions: bool = False
) -> Iterator[None]:
    """moto in process, with its placeholder credentials (not secrets) and ``region`` in the environment; with
    ``step_functions``, moto's Step Functions interpreter runs executions (task tokens, SQS and EventBridge calls)."""
    from moto import mock_aws  # here: checkov's venv, which runs tests/policies with this conftest, has no moto

    credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": region}
    for key, value in credentials.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}) if step_functions else mock_aws():
        yield


def copy_project(target: Path) -> Path:
    """The user-written inputs of the repository (catalog, environments, handlers), copied for a test to edit."""
    for folder in PROJECT_INPUTS:
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return target


SECOND_CATALOG = ROOT / "tests" / "eventform" / "local" / "second_catalog" / "catalog"
SECOND_DOMAIN = "warehouse-fulfilment-operation"


def copy_second_project(target: Path, consumers: bool = True) -> Path:
    """The second catalog (one bus-only domain, long names, no handlers) beside the project's environments.

    Without ``consumers``: its domain stack is a bus and its archive, which deploys in seconds where the sample's
    orders stack waits minutes (S3 lifecycle rules, a Kinesis stream, chains of SQS queues), for tests of the
    deploy path itself (order, provider lock, idempotence, destroy); the sample's stacks are all deployed by the
    rehearsal tests."""
    shutil.copytree(SECOND_CATALOG, target / "catalog")
    shutil.copytree(ROOT / "environments", target / "environments")
    (target / "handlers").mkdir()
    shutil.copy(ROOT / "handlers" / "__init__.py", target / "handlers" / "__init__.py")
    if not consumers:  # `consumers:` is the domain file's last section
        domain_file = target / "catalog" / f"{SECOND_DOMAIN}.yaml"
        text = domain_file.read_text()
        domain_file.write_text(text[: text.index("\nconsumers:") + 1])
    return target


def require_terraform() -> str:
    """Terraform is required: fail loudly under CI, skip (saying why) only on a developer laptop."""
    binary = shutil.which("terraform")
    if binary:
        return binary
    if os.environ.get("CI"):
        pytest.fail("terraform is not on PATH under CI: these tests must run, install Terraform >= 1.10")
    pytest.skip("terraform is not on PATH on this laptop: install Terraform >= 1.10 to run the validate tests")
    raise AssertionError  # unreachable


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


def run_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this run sees: pytest-xdist gives each worker its own base temp directory inside the
    run's (``.../pytest-N/popen-gw0``), so the run's is the parent; without xdist it is the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def run_lock(folder: Path, name: str) -> Iterator[None]:
    """Wait for and hold ``folder/.name.lock`` (flock: released by the kernel however the holder dies)."""
    with open(folder / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """Every environment of the sample catalog, synthesized once for the whole run (or taken from the stack cache
    that `make test`'s synth filled): the first worker to get here synthesizes (under a lock), the others read its
    result. Tests only read this output (``project_copy`` and their own ``synthesize`` calls are for writing)."""
    shared = run_temp_dir(tmp_path_factory) / "synth-shared"
    shared.mkdir(exist_ok=True)
    record = shared / "result.pickle"
    with run_lock(shared, "synth"):
        if record.exists():
            result: SynthResult = pickle.loads(record.read_bytes())
            return result
        # From the cache when `make test`'s own synth just built these inputs with this code (a hit is keyed on both).
        result = synthesize(ROOT, shared / "cdktf.out", cache=True)
        record.write_bytes(pickle.dumps(result))
        return result


class StackJson:
    """Read access to one synthesized stack, by resource type (use the binding's TF_RESOURCE_TYPE)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config: dict[str, Any] = json.loads(path.read_text())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.config.get("resource", {}).get(resource_type, {})

    def only(self, resource_type: str, **match: Any) -> dict[str, Any]:
        found = [r for r in self.resources(resource_type).values() if all(r.get(k) == v for k, v in match.items())]
        assert len(found) == 1, f"expected one {resource_type} with {match}, found {len(found)}"
        return found[0]


@pytest.fixture(scope="session")
def stack(synthesized: SynthResult):
    def open_stack(name: str) -> StackJson:
        return StackJson(synthesized.outdir / "stacks" / name / "cdk.tf.json")

    return open_stack


@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    """A throw-away copy of the project inputs (catalog, environments, handlers), for tests that write to them."""
    root = tmp_path / "project"
    root.mkdir()
    return copy_project(root)
