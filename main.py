"""CDK Terrain app (``cdktn synth``): the catalog and environments become one stack per (environment, domain).

Select what to build with EVENTFORM_ENV=dev[,prod] and/or EVENTFORM_STACK=dev-orders[,...]; default: everything.
"""

import sys
from pathlib import Path

from eventform.catalog.errors import CatalogError
from eventform.synthesis.app import build_app, selection_from_environment

if __name__ == "__main__":
    environments, stacks = selection_from_environment()
    try:
        app, _ = build_app(Path(__file__).resolve().parent, None, environments, stacks)
    except CatalogError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    app.synth()
