"""The local rehearsal: a moto server on loopback, and real Terraform applying the ``local-*`` stacks to it.

Everything lives under ``.eventform/local/`` (pid file, server log, endpoint, synthesized stacks, state), so a crash
or Ctrl-C leaves nothing that ``eventform local down`` cannot find and clean up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from eventform.local import workflow_runner
from eventform.synthesis import deployment
from eventform.synthesis.app import PlannedStack, synthesize
from eventform.synthesis.toolchain import terraform_environment

LOCAL_ENV = "local"
PARALLELISM = 64  # resource operations in flight per terraform process (mostly SQS propagation waits, not CPU)
STATE_DIR = Path(".eventform") / "local"
# moto accepts any credentials; these are placeholders, not secrets.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


class LocalError(Exception):
    """A local-environment operation could not be done; the message says what to do."""


@dataclass(frozen=True)
class LocalPaths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def pid(self) -> Path:
        return self.state / "moto.pid"

    @property
    def log(self) -> Path:
        return self.state / "moto.log"

    def command_log(self, stack: str, command: str) -> Path:
        return self.state / f"{stack}.{command}.log"

    @property
    def endpoint_file(self) -> Path:
        return self.state / "endpoint"

    @property
    def outdir(self) -> Path:
        return self.state / "cdktf.out"

    @property
    def deployed(self) -> Path:
        return self.state / "deployed.json"  # stacks in apply order, for destroy in reverse

    @property
    def dependencies(self) -> Path:
        return self.state / "dependencies.json"  # stack -> the stacks it needs, for destroy in reverse waves

    @property
    def children(self) -> Path:
        return self.state / "children.json"  # terraform processes running now (pid = process group), for `down`

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def tfstate(self, stack: str) -> Path:
        # The local backend path in the stack is ../../../terraform.<stack>.tfstate, i.e. here:
        return self.state / f"terraform.{stack}.tfstate"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def server_pid(paths: LocalPaths) -> int | None:
    try:
        pid = int(paths.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def endpoint(paths: LocalPaths) -> str | None:
    try:
        return paths.endpoint_file.read_text().strip() or None
    except OSError:
        return None


def _wait_until_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise LocalError(f"the embedded AWS did not answer on {url} within {timeout:.0f}s")


def start_server(paths: LocalPaths) -> str:
    """Start moto in server mode on a free loopback port; refuse if one is already running."""
    running = server_pid(paths)
    if running is not None:
        raise LocalError(
            f"an embedded AWS is already running (pid {running}, {endpoint(paths)}): run `eventform local down` first"
        )
    paths.state.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    moto_server = Path(sys.executable).with_name("moto_server")
    with paths.log.open("ab") as log:
        process = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives our Ctrl-C; `down` stops it through the pid file
            # moto's Step Functions interpreter calls SQS, EventBridge... through its own server at MOTO_PORT
            env={**os.environ, "MOTO_PORT": str(port)},
        )
    paths.pid.write_text(f"{process.pid}\n")
    paths.endpoint_file.write_text(f"{url}\n")
    try:
        _wait_until_ready(url)
        # before any stack is applied: moto keeps the state machines of its interpreter in a backend of their own
        workflow_runner.enable(url)
    except (LocalError, OSError):
        stop_server(paths)
        raise
    return url


def stop_server(paths: LocalPaths) -> bool:
    pid = server_pid(paths)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    for path in (paths.pid, paths.endpoint_file):
        path.unlink(missing_ok=True)
    return pid is not None


_CHILDREN_LOCK = threading.Lock()


def _children(paths: LocalPaths) -> dict[str, str]:
    try:
        return json.loads(paths.children.read_text())
    except (OSError, ValueError):
        return {}


def _record_child(paths: LocalPaths, pid: int, what: str | None) -> None:
    """Add (or with ``what=None`` remove) a running terraform in the children journal."""
    with _CHILDREN_LOCK:
        children = _children(paths)
        if what is None:
            children.pop(str(pid), None)
        else:
            children[str(pid)] = what
        temporary = paths.children.with_suffix(".tmp")
        temporary.write_text(json.dumps(children, indent=2))
        temporary.replace(paths.children)


def stop_children(paths: LocalPaths, grace: float = 10.0) -> list[str]:
    """Stop every terraform this project's `local up`/`down` started and that still runs (its whole process group):
    SIGINT first (terraform then stops cleanly and releases its state lock), SIGKILL after ``grace`` seconds."""
    stopped = []
    for pid_text, what in _children(paths).items():
        pid = int(pid_text)
        if not _alive(pid) or "terraform" not in _command_line(pid):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        stopped.append(what)
    paths.children.unlink(missing_ok=True)
    return stopped


def _command_line(pid: int) -> str:
    """The process's command line; the journal's word when it cannot be read or is empty (no /proc, or the child
    has not exec'd yet), since the pid was recorded by the command that started it."""
    try:
        text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "terraform"
    return text or "terraform"


def local_terraform_environment(root: Path) -> dict[str, str]:
    """Terraform's environment for the embedded AWS: the project's CLI config and the embedded AWS's test
    credentials, and none of the developer's own ``AWS_*`` variables (a profile, a session token, an endpoint or a
    region of a real account must never reach a local apply)."""
    inherited = {k: v for k, v in terraform_environment(root).items() if not k.startswith("AWS_")}
    return {**inherited, **LOCAL_CREDENTIALS}


def _terraform(paths: LocalPaths, stack: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One terraform command in its own process group (so that an interrupt reaches it through
    :func:`stop_children`, and `down` can stop it if eventform itself was killed), recorded while it runs."""
    env = local_terraform_environment(paths.root)
    flags = [] if args[0] == "show" else ["-input=false", "-no-color"]
    if args[0] in ("apply", "destroy", "plan"):  # the provider sleeps ~25 s per SQS queue: let all of them wait
        flags.append(f"-parallelism={PARALLELISM}")  # at once instead of 10 at a time (Terraform's default)
    # Options before the positional arguments (a plan file): Terraform stops reading options at the first one.
    command = ["terraform", f"-chdir={paths.stack_dir(stack)}", args[0], *flags, *args[1:]]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    _record_child(paths, process.pid, f"{stack} {args[0]}")
    try:
        stdout, stderr = process.communicate()
    finally:
        if process.poll() is not None:
            _record_child(paths, process.pid, None)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


# What the AWS SDK's retry of a create whose first request had succeeded answers on a fresh server, per resource
# type: `Error: creating KMS Alias (alias/x): ... AlreadyExistsException ... with aws_kms_alias.<address>,` and
# `Error: creating Lambda Function (name): ... ResourceConflictException: Function already exist ... with
# aws_lambda_function.<address>,` (the provider retries a conflict for its 2-minute propagation timeout first).
# The group in parentheses is the import id.
_CREATED_TWICE = (
    re.compile(r"creating KMS Alias \((alias/[^)]+)\).*AlreadyExistsException.*with (aws_kms_alias\.[\w-]+)", re.S),
    re.compile(
        r"creating Lambda Function \(([^)]+)\).*ResourceConflictException.*already exist.*"
        r"with (aws_lambda_function\.[\w-]+)",
        re.S,
    ),
)


def created_twice(output: str) -> list[tuple[str, str]]:
    """(import id, resource address) of each resource an apply failed to create because the SDK's retry found it
    created by its own first request; each Terraform error block is read on its own."""
    found = []
    for block in output.split("Error: ")[1:]:
        for pattern in _CREATED_TWICE:
            match = pattern.search(block)
            if match:
                found.append((match.group(1), match.group(2)))
    return found


def _run(paths: LocalPaths, stack: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one terraform command; its output is kept in the state folder (``<stack>.<command>.log``).

    One recovery, for applies: the AWS SDK retries a request whose response it did not get (a reset connection or
    an HTTP 5xx from the embedded AWS under load), and when the first create (a KMS alias, a Lambda function) had in
    fact succeeded the retry answers that it exists, on a fresh server where no other stack creates that name. The
    resource is then ours: it is imported into the state and the apply runs again, once, saying so in the log."""
    result = _terraform(paths, stack, *args)
    output = result.stdout + result.stderr
    twice = created_twice(output) if args[0] == "apply" and result.returncode else []
    for identifier, address in twice:
        imported = _terraform(paths, stack, "import", address, identifier)
        output += f"\n--- {address} existed after the SDK's retry: imported ({imported.returncode}) ---\n"
        output += imported.stdout + imported.stderr
    if twice:  # the same apply again (its targets too); a saved plan is spent, so then a fresh one
        again = ("apply", "-auto-approve") if any(a.endswith(".tfplan") for a in args) else args
        result = _terraform(paths, stack, *again)
        output += "\n--- apply again ---\n" + result.stdout + result.stderr
    if args[0] != "show":  # the early, targeted plan and apply (see apply_in_dependency_order) have their own logs
        early = any(a.startswith("-target=") or a.endswith(deployment.FIRST_PLAN_FILE) for a in args)
        paths.command_log(stack, f"{args[0]}-first" if early else args[0]).write_text(output)
    return result


@dataclass(frozen=True)
class UpResult:
    endpoint: str
    order: list[str]  # stacks in the order their apply finished
    seconds: dict[str, float]  # plan and apply time per stack
    outputs: dict[str, dict[str, str]]
    total_seconds: float


Progress = Callable[[str], None]


def apply_in_dependency_order(paths: LocalPaths, stacks: list[PlannedStack], progress: Progress) -> dict[str, float]:
    """``eventform deploy``'s path (:mod:`eventform.synthesis.deployment`) with every plan approved.

    The provider waits ~25 s per SQS queue for attribute propagation, ~55 s for S3 lifecycle rules and ~30 s for a
    Kinesis stream to become active. So the stacks other stacks wait for first create their topics and buses (a
    targeted apply: the only resources a stack refers to in another), and every whole stack starts as soon as the
    topics and buses it needs exist: those waits overlap across all stacks instead of adding up along the chain of
    subscriptions. Every stack is recorded in the journal before its first apply, so `down` finds it whatever
    happens next.
    """
    names = {s.name for s in stacks}
    prerequisites = {s.name: {d for d in s.depends_on if d in names} for s in stacks}
    _write_dependencies(paths, prerequisites)
    journal: list[str] = list(deployed_stacks(paths))

    def started(name: str) -> None:
        if name not in journal:
            journal.append(name)
            _write_deployed(paths, journal)

    results = deployment.Deployment(
        stacks_dir=paths.outdir / "stacks",
        prerequisites=prerequisites,
        terraform=lambda stack_dir, args: _run(paths, stack_dir.name, *args),
        workers=max(1, len(stacks)),
        progress=progress,
        started=started,
        shared_first=True,
        saved_plans=False,
        abort=lambda: stop_children(paths),
    ).run()
    failed = deployment.first_failure(results)
    if failed is not None:
        raise LocalError(f"{failed.stack} failed: {failed.output}")
    return {r.stack: r.seconds for r in results}


class Interrupted(LocalError):
    """SIGTERM (or SIGHUP) arrived: the command stops its children and leaves what `down` needs."""


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread (as Ctrl-C raises KeyboardInterrupt), so
    that the running terraform children are stopped as a group instead of being left as orphans."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: object) -> None:
        raise Interrupted(f"interrupted by signal {signal.Signals(number).name}")

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def up(root: Path, progress: Progress = lambda _: None) -> UpResult:
    with _interruptible():
        return _up(root, progress)


def _up(root: Path, progress: Progress) -> UpResult:
    paths = LocalPaths(root)
    started = time.perf_counter()
    url = start_server(paths)
    progress(f"embedded AWS (moto) listening on {url}")
    try:
        synthesized = synthesize(root, paths.outdir, environments=[LOCAL_ENV], local_endpoint=url)
        names = [s.name for s in synthesized.stacks]
        progress(f"synthesized {len(names)} local stacks")
        _write_deployed(paths, [])
        seconds = apply_in_dependency_order(paths, synthesized.stacks, progress)
        return UpResult(
            endpoint=url,
            order=list(seconds),
            seconds=seconds,
            outputs={name: outputs(paths, name) for name in seconds},
            total_seconds=time.perf_counter() - started,
        )
    except BaseException:
        stopped = stop_children(paths)
        if stopped:
            progress(f"stopped the terraform still running: {', '.join(sorted(stopped))}")
        progress("up failed: run `eventform local down` to clean up (the server and every stack are recorded)")
        raise


def _write_deployed(paths: LocalPaths, applied: list[str]) -> None:
    temporary = paths.deployed.with_suffix(".tmp")
    temporary.write_text(json.dumps(applied, indent=2))
    temporary.replace(paths.deployed)


def _write_dependencies(paths: LocalPaths, prerequisites: dict[str, set[str]]) -> None:
    temporary = paths.dependencies.with_suffix(".tmp")
    temporary.write_text(json.dumps({k: sorted(v) for k, v in sorted(prerequisites.items())}, indent=2))
    temporary.replace(paths.dependencies)


def _read_dependencies(paths: LocalPaths) -> dict[str, set[str]]:
    try:
        return {k: set(v) for k, v in json.loads(paths.dependencies.read_text()).items()}
    except (OSError, ValueError):
        return {}  # unknown: every stack is destroyed independently


def deployed_stacks(paths: LocalPaths) -> list[str]:
    try:
        return json.loads(paths.deployed.read_text())
    except (OSError, ValueError):
        return []


def outputs(paths: LocalPaths, stack: str) -> dict[str, str]:
    try:
        state = json.loads(paths.tfstate(stack).read_text())
    except (OSError, ValueError):
        return {}
    return {name: str(output.get("value")) for name, output in sorted(state.get("outputs", {}).items())}


def resource_count(paths: LocalPaths, stack: str) -> int:
    try:
        state = json.loads(paths.tfstate(stack).read_text())
    except (OSError, ValueError):
        return 0
    return sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")


@dataclass(frozen=True)
class Status:
    pid: int | None
    endpoint: str | None
    stacks: dict[str, int]  # stack -> managed resources in its state


def status(root: Path) -> Status:
    paths = LocalPaths(root)
    pid = server_pid(paths)
    return Status(
        pid=pid,
        endpoint=endpoint(paths) if pid else None,
        stacks={s: resource_count(paths, s) for s in deployed_stacks(paths)},
    )


def _stacks_with_state(paths: LocalPaths) -> list[str]:
    """Stacks that have a local state file, whatever the journal says (an interrupted `up` may not have recorded)."""
    prefix, suffix = "terraform.", ".tfstate"
    return sorted(p.name[len(prefix) : -len(suffix)] for p in paths.state.glob(f"{prefix}*{suffix}"))


def down(root: Path, progress: Progress = lambda _: None) -> bool:
    """Stop what `up` left running and the server, and remove every local state, backup and lock file. Safe to
    run twice.

    Nothing is destroyed first: the embedded AWS keeps every resource in memory, so stopping it removes them all,
    and a `terraform destroy` of each stack would only spend a minute or two (``eventform destroy --env local``
    runs the destroy path against the embedded AWS when that is what is wanted)."""
    with _interruptible():
        return _down(LocalPaths(root), progress)


def _down(paths: LocalPaths, progress: Progress) -> bool:
    did_something = False
    orphans = stop_children(paths)
    if orphans:
        progress(f"stopped terraform left running by an earlier command: {', '.join(sorted(orphans))}")
        did_something = True
    stacks = sorted(set(deployed_stacks(paths)) | set(_stacks_with_state(paths)))
    if stop_server(paths):
        progress(f"embedded AWS stopped, and with it every resource of {', '.join(stacks) or 'no stack'}")
        did_something = True
    # The embedded AWS kept everything in memory: once it is gone, the local state describes nothing.
    leftovers = [
        *paths.state.glob("terraform.*.tfstate*"),
        *paths.state.glob(".terraform.*.lock.info"),
        *paths.state.glob("*.lock.info"),
        *(paths.outdir / "stacks").glob("*/.terraform.tfstate.lock.info"),
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    paths.deployed.unlink(missing_ok=True)
    paths.dependencies.unlink(missing_ok=True)
    return did_something
