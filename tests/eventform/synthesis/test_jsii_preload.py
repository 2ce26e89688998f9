"""eventform's preload for jsii's Node (eventform/synthesis/jsii_preload.js): the AWS bindings' index loads each
submodule on first use. Proven on the index the installed bindings really ship, and by the synthesized JSON, which
must not change by a byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import cdktn_provider_aws

from eventform.synthesis import toolchain
from tests.conftest import copy_second_project

BINDINGS_TARBALLS = sorted((Path(cdktn_provider_aws.__file__).parent / "_jsii").glob("*.jsii.tgz"))


def node() -> str:
    found = toolchain.node22() or shutil.which("node")
    assert found is not None, "no node: run `make setup`"
    return str(found)


def shipped_index() -> str:
    """lib/index.js of the installed AWS bindings, read from the tarball jsii loads (it sits near the front)."""
    assert len(BINDINGS_TARBALLS) == 1, BINDINGS_TARBALLS
    with tarfile.open(BINDINGS_TARBALLS[0]) as archive:
        for member in archive:
            if member.name == "package/lib/index.js":
                handle = archive.extractfile(member)
                assert handle is not None
                return handle.read().decode()
    raise AssertionError("the bindings' tarball has no package/lib/index.js")


def fake_bindings(target: Path) -> Path:
    """The shipped index with one submodule beside it (sqs-queue, recording that it loaded): required eagerly, the
    index fails on the ~2,400 submodules that are not there."""
    package = target / "node_modules" / "@cdktn" / "provider-aws"
    (package / "lib" / "sqs-queue").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@cdktn/provider-aws", "main": "lib/index.js"}))
    (package / "lib" / "index.js").write_text(shipped_index())
    (package / "lib" / "sqs-queue" / "index.js").write_text(
        "globalThis.loaded = (globalThis.loaded || []).concat('sqs-queue');\n"
        "class SqsQueue {}\nexports.SqsQueue = SqsQueue;\n"
    )
    return package


PROBE = """
const bindings = require(process.argv[1]);
const before = (globalThis.loaded || []).slice();
const exported = Object.keys(bindings);
const queue = bindings.sqsQueue.SqsQueue.name;
const again = bindings.sqsQueue === bindings.sqsQueue;
console.log(JSON.stringify({before, exported: exported.length, queue, after: globalThis.loaded, again}));
"""


def test_the_shipped_index_loads_each_submodule_on_first_use(tmp_path: Path) -> None:
    package = fake_bindings(tmp_path)
    options = {"NODE_OPTIONS": toolchain.jsii_node_options()}
    run = subprocess.run(
        [node(), "-e", PROBE, str(package)], capture_output=True, text=True, env={**os.environ, **options}
    )
    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout)
    assert probe["before"] == []  # nothing loaded by requiring the index
    assert probe["exported"] > 2000  # every submodule still exported (and enumerable), by its usual name
    assert probe["queue"] == "SqsQueue" and probe["after"] == ["sqs-queue"] and probe["again"] is True


def test_without_the_preload_the_same_index_requires_every_submodule(tmp_path: Path) -> None:
    """The probe above proves something: as published, that index needs all of its submodules at once."""
    package = fake_bindings(tmp_path)
    environment = {key: value for key, value in os.environ.items() if key != "NODE_OPTIONS"}
    run = subprocess.run([node(), "-e", PROBE, str(package)], capture_output=True, text=True, env=environment)
    assert run.returncode != 0 and "Cannot find module './" in run.stderr


def test_node_options_keep_the_users_and_add_the_preload_once() -> None:
    once = toolchain.jsii_node_options("--max-semi-space-size=32")
    assert once.startswith("--max-semi-space-size=32 --require ") and str(toolchain.JSII_PRELOAD) in once
    assert toolchain.jsii_node_options(once) == once


def test_the_synthesized_json_is_the_same_byte_for_byte(tmp_path: Path) -> None:
    """The bindings loaded lazily and tokens without creation stacks (the default) give the same Terraform JSON as
    neither (the bindings as published, cdktn's own default)."""
    project = copy_second_project(tmp_path / "project")
    outputs = {}
    for setting in ("0", "1"):
        environment = {
            **os.environ,
            "EVENTFORM_SYNTH_CACHE": "0",
            "EVENTFORM_SYNTH_WORKERS": "1",
            toolchain.LAZY_VARIABLE: setting,
            toolchain.CREATION_STACK_VARIABLE: setting,
        }
        environment.pop("NODE_OPTIONS", None)
        out = tmp_path / f"out-{setting}"
        eventform = Path(sys.executable).with_name("eventform")
        run = subprocess.run(
            [str(eventform), "synth", "--root", str(project), "--env", "dev", "--out", str(out)],
            capture_output=True,
            text=True,
            env=environment,
        )
        assert run.returncode == 0, run.stderr
        outputs[setting] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert outputs["0"] == outputs["1"] and len(outputs["1"]) == 3  # two stacks and the manifest
