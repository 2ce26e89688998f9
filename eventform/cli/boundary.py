"""The command line's error boundary: a known failure becomes one line with the fix and its own exit code.

Every command runs inside :class:`BoundaryGroup`. A failure whose cause is outside eventform (the embedded AWS is
down, a tool is missing, the disk is full, a folder is read-only, another run holds the output, the user pressed
Ctrl-C) is printed as ``eventform <command>: <what happened>; fix: <what to do>`` and exits with the code of
:data:`EXIT_CODES` (the table in the README); anything else is an internal error (70). The traceback is printed only
with ``eventform --debug`` (or ``EVENTFORM_DEBUG=1``).

Signals: :func:`install_signal_handlers` turns SIGINT, SIGTERM and SIGHUP into exceptions, so the ``finally`` blocks
that roll back ``add`` and remove staging folders run; a second signal while those run is ignored (SIGKILL is not).
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

DEBUG_KEY = "eventform.debug"
DEBUG_VARIABLE = "EVENTFORM_DEBUG"

EXIT_CODES = {
    "embedded-aws-down": 69,  # EX_UNAVAILABLE
    "internal": 70,  # EX_SOFTWARE
    "tool-missing": 72,  # EX_OSFILE
    "disk-full": 73,  # EX_CANTCREAT
    "busy": 75,  # EX_TEMPFAIL: another eventform command holds the output's lock
    "permission": 77,  # EX_NOPERM: permission denied or read-only file system
    "SIGHUP": 129,
    "SIGINT": 130,
    "SIGTERM": 143,
}
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
NOT_PERMITTED = {errno.EACCES, errno.EPERM, errno.EROFS}
JSII_PIPE_ERRORS = ("JSIIError", "JSONDecodeError", "BrokenPipeError", "EOFError", "ConnectionResetError")

errors = Console(stderr=True, soft_wrap=True, emoji=False)  # messages verbatim: an ARN's :secret: stays text


class EmbeddedAwsDownError(Exception):
    """`local up` recorded an embedded AWS whose process is gone."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint)
        self.endpoint = endpoint


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that every rollback and cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


RECEIVED: list[int] = []  # signals received by this process, in order


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    RECEIVED.append(signum)
    if len(RECEIVED) > 1:
        return  # the first one is already unwinding: let its rollback finish
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """Process-wide (the console entry point only, never in a test runner). A signal ignored at start stays ignored
    (``nohup`` ignores SIGHUP; a shell without job control starts background commands ignoring SIGINT)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _on_signal)


@dataclass(frozen=True)
class Failure:
    kind: str  # a key of EXIT_CODES
    message: str
    fix: str

    @property
    def code(self) -> int:
        return EXIT_CODES[self.kind]


def _interrupted(error: BaseException) -> Failure:
    signum = error.signum if isinstance(error, Terminated) else (RECEIVED[0] if RECEIVED else signal.SIGINT)
    name = signal.Signals(signum).name
    how = "Ctrl-C" if signum == signal.SIGINT else name
    return Failure(
        name if name in EXIT_CODES else "SIGINT",
        f"interrupted ({how}): stopped before finishing; what it was writing was rolled back or left for the next "
        "run to clean up",
        "run the command again",
    )


def _os_failure(error: OSError) -> Failure | None:
    where = f" {error.filename}" if error.filename else ""
    if error.errno in DISK_FULL:
        return Failure(
            "disk-full",
            f"no space left on the device{' writing' + where if where else ''} (nothing was half-written)",
            "free some space (df -h) and run the command again",
        )
    if error.errno in NOT_PERMITTED and hasattr(error, "fix"):  # eventform's own check, e.g. add's NotWritableError
        return Failure("permission", f"{error.filename} {error.strerror} (nothing was changed)", error.fix)
    if error.errno == errno.EROFS:
        return Failure(
            "permission",
            f"the file system is read-only:{where or ' ' + str(error)} (nothing was changed)",
            "remount it read-write, or write somewhere else (--out, --root)",
        )
    if error.errno in NOT_PERMITTED:
        return Failure(
            "permission",
            f"permission denied:{where or ' ' + str(error)} (nothing was changed)",
            "make it writable for your user (chmod u+w), or run from a checkout you own",
        )
    return None


def _from_text(text: str) -> Failure | None:
    """Node (jsii) reports file-system errors as text: ``Error: ENOSPC: no space left on device, write``."""
    for code in sorted(DISK_FULL | NOT_PERMITTED):
        name = errno.errorcode[code]
        if f"{name}:" in text:
            quoted = re.search(rf"{name}:[^\n']*'([^']+)'", text)  # EACCES: permission denied, open '/x/y'
            return _os_failure(OSError(code, os.strerror(code), quoted.group(1) if quoted else None))
    return None


def _endpoint_down(error: BaseException) -> Failure | None:
    if isinstance(error, EmbeddedAwsDownError):
        return Failure(
            "embedded-aws-down",
            f"the embedded AWS recorded at {error.endpoint} is not running (its server stopped or was killed)",
            "run `eventform local down`, then `eventform local up`",
        )
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - botocore ships with the project
        return None
    if not isinstance(error, BotoConnectionError | HTTPClientError):
        return None
    url = getattr(error, "kwargs", {}).get("endpoint_url", "")
    return Failure(
        "embedded-aws-down",
        f"the embedded AWS does not answer{' at ' + url if url else ''} (its server stopped or was killed)",
        "run `eventform local down`, then `eventform local up`",
    )


def classify(error: BaseException) -> Failure:
    """What went wrong, in the user's terms. Unknown errors are internal errors, shown with their type."""
    if isinstance(error, KeyboardInterrupt) or RECEIVED:
        return _interrupted(error)
    from eventform.synthesis.lock import OutputBusyError
    from eventform.synthesis.toolchain import ToolMissingError

    if isinstance(error, OutputBusyError):
        return Failure("busy", str(error).split("; fix: ")[0], str(error).split("; fix: ")[-1])
    if isinstance(error, ToolMissingError):
        return Failure("tool-missing", error.message, error.fix)
    endpoint = _endpoint_down(error)
    if endpoint is not None:
        return endpoint
    if isinstance(error, FileNotFoundError) and error.filename in ("terraform", "node", "npx"):
        return Failure("tool-missing", f"{error.filename} is not on PATH", f"install {error.filename} (see README)")
    if isinstance(error, OSError):
        known = _os_failure(error)
        if known is not None:
            return known
    if type(error).__name__ == "JSIIError" or type(error) is RuntimeError:  # jsii raises Node's errors as these
        known = _from_text(str(error))
        if known is not None:
            return known
    first = (str(error).strip().splitlines() or [""])[0][:300]
    return Failure(
        "internal",
        f"internal error: {type(error).__name__}{': ' + first if first else ''}",
        f"rerun with `eventform --debug ...` (or {DEBUG_VARIABLE}=1) for the traceback, and report it",
    )


def _settle(error: BaseException) -> BaseException:
    """Ctrl-C to the process group kills jsii's Node process too, and the first thing Python sees may be its broken
    pipe rather than the KeyboardInterrupt: give a pending signal the moment it needs to arrive."""
    if type(error).__name__ not in JSII_PIPE_ERRORS and not isinstance(error, json.JSONDecodeError):
        return error
    try:
        time.sleep(0.2)
    except KeyboardInterrupt as interrupt:
        return interrupt
    return error


REPORTED: list[Failure] = []


def report(command: str, failure: Failure) -> None:
    REPORTED.append(failure)
    name = f"eventform {command}" if command else "eventform"
    errors.print(f"{name}: {failure.message}; fix: {failure.fix}", markup=False, highlight=False)


class BoundaryGroup(TyperGroup):
    """The root command group: runs the chosen command and turns what escapes it into a :class:`Failure`."""

    def invoke(self, ctx: Any) -> object:  # typer's own (vendored) click Context, not the click package's
        words = [*getattr(ctx, "_protected_args", []), *ctx.args]  # read before click consumes them
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (typer.TyperException, click.ClickException):  # usage errors (typer's vendored click or click's own)
            raise
        except (Exception, KeyboardInterrupt) as raised:
            try:
                error = _settle(raised)
            except KeyboardInterrupt as interrupt:  # the signal arrived while looking at the error
                error = interrupt
            if debugging(ctx):
                raise
            failure = classify(error)
            report(_command_name(words), failure)
            raise typer.Exit(failure.code) from None


def _command_name(args: list[str]) -> str:
    """``local up --root x`` -> ``local up``: the words of the command, without its options."""
    words = []
    for word in args:
        if word.startswith("-"):
            break
        words.append(word)
    return " ".join(words[:2])


def finish(code: int | str | None) -> None:
    """End the process once the command is over. Later signals are ignored (nothing is left to interrupt); an
    interruption that arrived outside a command (while typer built the commands or click parsed the arguments) is
    reported like the others. After an interruption the process leaves without exit hooks: jsii's would write to the
    Node process the same Ctrl-C killed and print a BrokenPipeError traceback (every clean-up already ran in
    ``finally`` blocks)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    if RECEIVED and not REPORTED and code != 0:
        failure = _interrupted(Terminated(RECEIVED[0]) if RECEIVED[0] != signal.SIGINT else KeyboardInterrupt())
        report("", failure)
        code = failure.code
    if RECEIVED and code in (EXIT_CODES["SIGINT"], EXIT_CODES["SIGTERM"], EXIT_CODES["SIGHUP"]):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    sys.exit(code)


def debugging(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(DEBUG_KEY)) or os.environ.get(DEBUG_VARIABLE, "").lower() in ("1", "true", "yes", "on")


__all__ = [
    "EXIT_CODES",
    "BoundaryGroup",
    "EmbeddedAwsDownError",
    "Failure",
    "Terminated",
    "classify",
    "finish",
    "install_signal_handlers",
]
