"""Run the real ``eventform`` console entry point with one fault injected: a signal sent to itself at a named step.

    FAULT_AT=add-move FAULT_CALL=2 FAULT_SIGNAL=SIGKILL python -m tests.faults.faulty add consumer ...

The process receives a real signal (SIGINT/SIGTERM through eventform's handlers, SIGKILL through nothing) exactly at
the step, instead of at a moment a timer happens to hit; the tests then run the next normal command on what is left.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

# step name -> (module, attribute path) wrapped; the fault fires at the FAULT_CALL-th call, before the step runs.
STEPS = {
    "add-move": ("eventform.authoring.files", "step"),  # each move of an add into place
    "add-commit": ("eventform.authoring.files", "Change.commit"),  # after every move and the lint
    "synth-place": ("eventform.synthesis.app", "_place"),  # between a stack's two renames
    "synth-install": ("eventform.synthesis.app", "_install"),  # after synthesis, before any move
}


def inject(step: str, call: int, signum: int) -> None:
    module_name, path = STEPS[step]
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    def faulty(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            print(f"fault: {signal.Signals(signum).name} at {step} #{call}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    setattr(owner, name, faulty)


def main() -> None:
    inject(
        os.environ["FAULT_AT"], int(os.environ.get("FAULT_CALL", "1")), getattr(signal, os.environ["FAULT_SIGNAL"])
    )
    from eventform.cli.main import main as eventform

    sys.argv = ["eventform", *sys.argv[1:]]
    eventform()


if __name__ == "__main__":
    main()
