"""One worker of a parallel synthesis (:mod:`eventform.synthesis.parallel`): ``python -m
eventform.synthesis.stack_worker FOLDER`` imports the AWS bindings (seconds: started early, it does so while the
caller loads the catalog), waits for ``FOLDER/job.pickle`` (the validated catalog, the planned stacks and the
packages, from the process that started it), synthesizes its stacks into ``FOLDER/out`` and writes
``FOLDER/result.json``: ``{"ok": true}``, or the failure for the caller to raise as its own. A worker whose job never
comes is stopped by the caller (or dies with it)."""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from eventform.synthesis.app import construct
from eventform.synthesis.parallel import JOB_FILE, RESULT_FILE
from eventform.synthesis.toolchain import ensure_jsii_node

JOB_POLL_SECONDS = 0.02


def warm() -> None:
    """Import what :func:`construct` imports (the bindings, which start jsii's Node), before the job is known."""
    ensure_jsii_node()
    import cdktn  # noqa: F401

    import modules.stacks.domain
    import modules.stacks.platform  # noqa: F401


def run(folder: Path) -> dict[str, Any]:
    warm()
    while not (folder / JOB_FILE).exists():  # written by a rename: whole once there
        time.sleep(JOB_POLL_SECONDS)
    job = pickle.loads((folder / JOB_FILE).read_bytes())
    wanted = set(job["stacks"])
    planned = [stack for stack in job["planned"] if stack.name in wanted]  # the caller's (dependency) order
    app = construct(folder / "out", job["catalog"], planned, job["packages"])
    app.synth()
    return {"ok": True}


def main() -> None:
    folder = Path(sys.argv[1])
    try:
        result = run(folder)
    except OSError as error:
        result = {"ok": False, "errno": error.errno, "strerror": error.strerror, "filename": error.filename}
        if error.errno is None:
            result = {"ok": False, "type": type(error).__name__, "message": str(error)}
    except Exception as error:  # reported to the caller, which raises it as the synthesis's failure
        result = {"ok": False, "type": type(error).__name__, "message": str(error)}
    (folder / RESULT_FILE).write_text(json.dumps(result, default=str))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
