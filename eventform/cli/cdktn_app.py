"""The CDK Terrain app behind ``cdktn synth`` / ``diff`` / ``deploy`` (``cdktf.json`` runs ``main.py``, which calls
:func:`run`).

It synthesizes through :func:`eventform.synthesis.app.synthesize`, like ``eventform synth``: into a staging folder,
then each selected stack moved into ``CDKTF_OUTDIR`` with the manifest merged. cdktn deletes every stack folder its
manifest does not list after the app ran, so the merged manifest is what keeps the other environments' stacks when
``EVENTFORM_ENV`` or ``EVENTFORM_STACK`` selects some. Selection names are checked first (named as the variables
they came from), and ``EVENTFORM_LOCAL_ENDPOINT`` points the local stacks at a running embedded AWS.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from eventform.catalog.errors import CatalogError, Problem
from eventform.cli.selection import check
from eventform.synthesis.app import ENV_VARIABLE, STACK_VARIABLE, selection_from_environment, synthesize

OUTDIR_VARIABLE = "CDKTF_OUTDIR"  # set by the cdktn CLI (its --output, default cdktf.out)
ENDPOINT_VARIABLE = "EVENTFORM_LOCAL_ENDPOINT"
ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+:\d{1,5}/?$")


def local_endpoint(root: Path) -> str | None:
    """The embedded AWS the local stacks should talk to, from ``EVENTFORM_LOCAL_ENDPOINT`` (None: the endpoint of
    environments/local.yaml). Never read implicitly from a running server: the same inputs give the same JSON."""
    value = os.environ.get(ENDPOINT_VARIABLE, "").strip()
    if not value:
        return None
    if not ENDPOINT.match(value):
        raise CatalogError(
            [
                Problem(
                    root / "environments" / "local.yaml",
                    ENDPOINT_VARIABLE,
                    f"{ENDPOINT_VARIABLE}={value!r} is not an endpoint URL",
                    "use http://<host>:<port>, e.g. the one `eventform local start` prints "
                    "(or unset it to use environments/local.yaml's endpoint)",
                )
            ]
        )
    return value.rstrip("/")


def run(root: Path) -> int:
    """Synthesize what the environment variables select; 1 with the problems on stderr when the input is bad."""
    environments, stacks = selection_from_environment()
    outdir = os.environ.get(OUTDIR_VARIABLE)
    try:
        check(root, environments, stacks, env_where=ENV_VARIABLE, stack_where=STACK_VARIABLE)
        synthesize(root, Path(outdir) if outdir else None, environments, stacks, local_endpoint(root))
    except CatalogError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


__all__ = ["ENDPOINT_VARIABLE", "local_endpoint", "run"]
