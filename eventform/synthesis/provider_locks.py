"""Provider pinning: one Terraform dependency lock file per environment, copied into each of its stacks.

Every stack of an environment asks for the same providers (hashicorp/aws with the environment's
``provider_version``), so ``environments/<env>.terraform.lock.hcl``, committed beside the environment file, pins the
provider build (version and checksums) for all of them: synthesis copies it into each stack as
``.terraform.lock.hcl``, where ``terraform init`` checks every installed package against it. ``eventform providers
lock --env E`` writes it with ``terraform providers lock``: from the provider mirror when one holds a version the
constraint accepts (reproducible: the same mirror gives the same file), else from the registry for the platforms
asked for. An environment without the file is synthesized as before, and ``eventform deploy`` says that its
providers are not pinned.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from eventform.synthesis.atomic import write_atomic
from eventform.synthesis.toolchain import (
    constraint_accepts,
    find_mirror,
    mirrored_aws_versions,
    require_terraform,
    terraform_environment,
)

LOCK_NAME = ".terraform.lock.hcl"
DEFAULT_PLATFORMS = ("linux_amd64",)


class LockError(Exception):
    """The lock file could not be written; the message says why and what to do."""


def lock_path(root: Path, environment: str) -> Path:
    return root / "environments" / f"{environment}.terraform.lock.hcl"


def place(root: Path, stacks_dir: Path, stacks: dict[str, str]) -> list[str]:
    """Copy each environment's lock file into its stacks (``stacks``: stack -> environment); the stacks left
    without one (their environment has no lock file)."""
    unpinned = []
    for stack, environment in sorted(stacks.items()):
        source = lock_path(root, environment)
        if source.is_file():
            shutil.copyfile(source, stacks_dir / stack / LOCK_NAME)
        else:
            unpinned.append(stack)
    return unpinned


@dataclass(frozen=True)
class Written:
    path: Path
    source: str  # "mirror <path>" or "registry"
    platforms: tuple[str, ...]


def write(root: Path, environment: str, constraint: str, platforms: tuple[str, ...] = ()) -> Written:
    """Run ``terraform providers lock`` for hashicorp/aws ``constraint`` in a scratch folder and move the result to
    :func:`lock_path` (nothing is left half-written)."""
    require_terraform()
    mirror = find_mirror()
    accepted = [v for v in mirrored_aws_versions(mirror) if constraint_accepts(constraint, v)]
    if mirror is not None and accepted:
        available = sorted(p.name for p in (mirror / "registry.terraform.io/hashicorp/aws" / accepted[-1]).iterdir())
        chosen = platforms or tuple(available)
        missing = sorted(set(chosen) - set(available))
        if missing:
            raise LockError(
                f"the provider mirror {mirror} has hashicorp/aws {accepted[-1]} for {', '.join(available)} only, not "
                f"{', '.join(missing)}; fix: leave out --platform (or add those builds to the mirror)"
            )
        flags, source = [f"-fs-mirror={mirror}"], f"mirror {mirror}"
    else:
        chosen, flags, source = platforms or DEFAULT_PLATFORMS, [], "registry"
    config = {"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": constraint}}}}
    target = lock_path(root, environment)
    with tempfile.TemporaryDirectory(prefix="providers-lock-") as scratch:
        (Path(scratch) / "main.tf.json").write_text(json.dumps(config))
        command = ["terraform", f"-chdir={scratch}", "providers", "lock", *flags, *(f"-platform={p}" for p in chosen)]
        done = subprocess.run(command, env=terraform_environment(root), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            why = re.sub(r"\x1b\[[0-9;]*m", "", done.stderr or done.stdout).strip()[-1500:]  # no colour codes
            hint = (
                "no version in the provider mirror satisfies it and the registry could not be reached; run this on "
                "a machine that reaches registry.terraform.io (or add a matching build to the mirror)"
                if source == "registry"
                else "see Terraform's message above"
            )
            raise LockError(f"terraform providers lock for hashicorp/aws {constraint!r} failed:\n{why}\nfix: {hint}")

        write_atomic(target, (Path(scratch) / LOCK_NAME).read_text())
    return Written(target, source, tuple(chosen))
