"""Handler packages for ``eventform add consumer --handler``: rendered from ``eventform/templates/handler/``.

The templates are the only place that knows the handler layout and runtime API, so adapting generated handlers to
the shared runtime in ``handlers/`` means editing that one template folder. The generated test feeds the consumed
events' catalog examples through the handler and passes out of the box.
"""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from eventform.files import Change
from eventform.model import Catalog

TEMPLATE_FOLDER = "handler"
# template file -> path inside the package ({package} is the handler's Python package name)
FILES = {
    "__init__.py.j2": "__init__.py",
    "handler.py.j2": "handler.py",
    "test_handler.py.j2": "test_handler.py",
    "README.md.j2": "README.md",
    "samples.json.j2": "samples.json",
}


def templates() -> Environment:
    return Environment(
        loader=PackageLoader("eventform", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def package_name(handler: str) -> str:
    return handler.replace("-", "_")


def scaffold_handler(
    root: Path, handler: str, catalog: Catalog, events: list[str], domain: str, consumer: str, change: Change
) -> Path | None:
    """Write ``handlers/<package>/`` into ``change``; None when that package already exists (it is reused)."""
    package = root / "handlers" / package_name(handler)
    if package.exists():
        return None
    samples = []
    for qualified in events:
        event = catalog.event(qualified)
        source = catalog.domain(event.domain).source
        samples.append(
            {
                "specversion": "1.0",
                "id": f"evt-{len(samples) + 1}",
                "type": event.name,
                "source": source,
                "dataversion": str(event.latest.number),
                "time": "2025-01-01T00:00:00Z",
                "correlationid": f"corr-{len(samples) + 1}",
                "data": event.latest.examples[0],
            }
        )
    context = {
        "handler": handler,
        "package": package_name(handler),
        "domain": domain,
        "consumer": consumer,
        "events": events,
        "types": sorted({qualified.split("/", 1)[1] for qualified in events}),
        "samples_json": json.dumps(samples, indent=2, sort_keys=True),
    }
    environment = templates()
    for template_name, target in FILES.items():
        text = environment.get_template(f"{TEMPLATE_FOLDER}/{template_name}").render(**context)
        change.write(package / target, text)
    return package


__all__ = ["FILES", "TEMPLATE_FOLDER", "package_name", "scaffold_handler"]
