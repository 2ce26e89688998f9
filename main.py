"""CDK Terrain app (``cdktn synth``): the catalog and environments become one stack per (environment, domain).

Select what to build with EVENTFORM_ENV=dev[,prod] and/or EVENTFORM_STACK=dev-orders[,...]; default: everything.
Stacks not selected stay in the output (see eventform/cli/cdktn_app.py). EVENTFORM_LOCAL_ENDPOINT points the local
stacks at a running embedded AWS (`eventform local start`).
"""

import sys
from pathlib import Path

from eventform.cli.cdktn_app import run

if __name__ == "__main__":
    sys.exit(run(Path(__file__).resolve().parent))
