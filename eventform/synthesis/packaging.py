"""Deterministic Lambda packages: the same handler source gives the same zip, byte for byte.

A package holds the shared handler runtime (``RUNTIME_MODULES`` of ``eventform/runtime/``, at the import path
they have in the repository), the handler's package (tests excluded) and the JSON Schemas of the events it consumes
(``handlers/<name>/schemas/<domain>/<event>/v<N>.schema.json``) with each domain's CloudEvents source
(``schemas/<domain>/domain.json``), so the runtime accepts and validates exactly what the catalog it was built from
declares. Entries are sorted, timestamps fixed at 1980-01-01 and permissions normalised: a plan
shows a code change only when the code changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import eventform
from eventform.catalog.model import Catalog, Consumer
from eventform.catalog.pipe_checks import carried_events
from eventform.catalog.pipes import package_key

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
RUNTIME = "eventform/runtime"  # the handler runtime every package carries, at the same import path as here
RUNTIME_MODULES = (
    "handler.py",
    "objects.py",
    "changes.py",
    "tasks.py",
    "declared.py",
    "envelope.py",
    "validation.py",
    "redaction.py",
)
SKIPPED_PARTS = {"tests", "__pycache__"}


@dataclass(frozen=True)
class Package:
    handler: str
    path: Path
    sha256_base64: str  # Terraform's source_code_hash
    entries: tuple[str, ...]


def _files(root: Path, consumer: Consumer, catalog: Catalog, shared: tuple[str, ...]) -> dict[str, bytes]:
    handlers = root / "handlers"
    files = {"handlers/__init__.py": (handlers / "__init__.py").read_bytes()}
    code = Path(eventform.__file__).resolve().parent.parent  # the runtime comes with eventform, not the project
    for name in ("eventform/__init__.py", f"{RUNTIME}/__init__.py", *(f"{RUNTIME}/{module}" for module in shared)):
        files[name] = (code / name).read_bytes()
    package = handlers / (consumer.handler or "")
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not SKIPPED_PARTS & set(relative.parts) and path.suffix in {".py", ".json", ".txt"}:
            files[relative.as_posix()] = path.read_bytes()
    for qualified in consumer.takes:  # topics, buses or a stream: the schemas the runtime validates against
        event = catalog.event(qualified)
        manifest = f"handlers/{consumer.handler}/schemas/{event.domain}/domain.json"
        described = json.loads(files.get(manifest, b'{"pii": {}}'))
        described["source"] = catalog.domain(event.domain).source
        if event.pii:
            described["pii"][event.name] = list(event.pii)  # masked in the handler's logs (runtime/redaction.py)
        files[manifest] = json.dumps(described, sort_keys=True).encode()
        for version in event.versions:
            name = f"handlers/{consumer.handler}/schemas/{event.domain}/{event.name}/v{version.number}.schema.json"
            files[name] = version.schema_path.read_bytes()
    return files


def build(
    root: Path,
    consumer: Consumer,
    catalog: Catalog,
    outdir: Path,
    shared: tuple[str, ...] = RUNTIME_MODULES,
) -> Package:
    """Write ``<outdir>/<handler>-<sha>.zip`` (if not there yet) and return it with its hash. ``shared``: the
    modules of ``eventform/runtime/`` the package needs besides its own (enrichments add ``enrichment.py``)."""
    files = _files(root, consumer, catalog, shared)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    content = buffer.getvalue()
    digest = hashlib.sha256(content).digest()
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{consumer.handler}-{digest.hex()[:16]}.zip"
    if not path.exists():  # concurrent synths may build the same zip: each writes its own temporary file
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=outdir)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return Package(consumer.handler or "", path, base64.b64encode(digest).decode(), tuple(sorted(files)))


def enrichment_packages(root: Path, catalog: Catalog, outdir: Path) -> dict[str, Package]:
    """Deterministic zips of the enrichment handlers: the runtime with its enrichment module, the handler package and
    the schemas of the events the pipe's records carry."""
    packages = {}
    for domain in catalog.domains:
        for pipe in domain.pipes:
            if pipe.enrichment is None:
                continue
            carrier = Consumer(
                domain=domain.name,
                name=pipe.name,
                description=pipe.description,
                events=carried_events(catalog, pipe),
                handler=pipe.enrichment.handler,
            )
            packages[package_key(pipe)] = build(
                root, carrier, catalog, outdir, (*RUNTIME_MODULES, "enrichment.py")
            )
    return packages
