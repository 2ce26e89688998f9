"""CDK Terrain app (``cdktn synth``): the catalog and environments become one stack per (environment, domain).

Select what to build with EVENTFORM_ENV=dev[,prod] and/or EVENTFORM_STACK=dev-orders[,...]; default: everything.
"""

import sys
from pathlib import Path

from eventform.catalog.errors import CatalogError
from eventform.cli.selection import check
from eventform.synthesis.app import ENV_VARIABLE, STACK_VARIABLE, build_app, selection_from_environment

if __name__ == "__main__":
    environments, stacks = selection_from_environment()
    root = Path(__file__).resolve().parent
    try:
        check(root, environments, stacks, env_where=ENV_VARIABLE, stack_where=STACK_VARIABLE)
        app, _ = build_app(root, None, environments, stacks)
    except CatalogError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    app.synth()
