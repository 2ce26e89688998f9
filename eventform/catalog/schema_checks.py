"""The metaschema check of event schemas, with a persistent record of the schemas that passed it.

``Draft202012Validator.check_schema`` costs ~3 ms a schema (~3 s for a 1,000-event catalog, on every load). Its
verdict depends only on the schema's content and on the jsonschema package, so a schema that passed once passes
again: :func:`check_schema` records the passing ones in ``<project>/.cache/schema-checks.json`` (one digest per
schema: its canonical JSON, the jsonschema and referencing versions and this module's source) and skips the check
for them. A schema that fails is never recorded, so it is checked, and reported with the same message, every time.
The file is safe to delete (it is rebuilt on the next load); ``EVENTFORM_CHECK_CACHE=0`` turns it off. It is
rewritten (atomically) only when a load met a schema it did not hold, and then holds only the schemas that load
passed, so it never grows beyond one catalog.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

CACHE_VARIABLE = "EVENTFORM_CHECK_CACHE"  # "0": check every schema, read and write nothing
FILE = Path(".cache") / "schema-checks.json"


@cache
def _checker_version() -> str:
    """What the verdict depends on besides the schema: the validator packages and the code calling them."""
    versions = []
    for name in ("jsonschema", "referencing", "jsonschema-specifications"):
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return f"{'; '.join(versions)}; {source}"


def _enabled() -> bool:
    return os.environ.get(CACHE_VARIABLE, "1").strip() not in {"0", "false", "no", "off"}


class PassedSchemas:
    """The digests of schemas that passed the metaschema check, for one project (``root``)."""

    def __init__(self, root: Path) -> None:
        self.path = root / FILE
        self.known = self._read()
        self.used: set[str] = set()
        self.added = False

    def _read(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return set()  # missing or damaged: every schema is checked, and the file rewritten
        if not isinstance(data, dict) or data.get("checker") != _checker_version():
            return set()
        passed = data.get("passed")
        return {item for item in passed if isinstance(item, str)} if isinstance(passed, list) else set()

    def check(self, schema: dict[str, Any]) -> None:
        """``Draft202012Validator.check_schema``, skipped for a schema recorded as passing; raises its SchemaError."""
        digest = hashlib.sha256(json.dumps(schema, sort_keys=True, default=repr).encode()).hexdigest()
        if digest not in self.known:
            Draft202012Validator.check_schema(schema)
            self.known.add(digest)
            self.added = True
        self.used.add(digest)

    def save(self) -> None:
        """Write the schemas this load passed, if any was new; best effort (a read-only project only loses time)."""
        if not self.added:
            return
        text = json.dumps({"checker": _checker_version(), "passed": sorted(self.used)}) + "\n"
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.chmod(temporary, 0o644)
                os.replace(temporary, self.path)
            finally:
                Path(temporary).unlink(missing_ok=True)
        self.added = False


class _Uncached(PassedSchemas):
    def __init__(self) -> None:
        self.known, self.used, self.added = set(), set(), False

    def check(self, schema: dict[str, Any]) -> None:
        Draft202012Validator.check_schema(schema)

    def save(self) -> None:
        return


def passed_schemas(catalog_directory: Path) -> PassedSchemas:
    """The record for the project whose catalog is ``catalog_directory`` (``<project>/catalog``)."""
    return PassedSchemas(catalog_directory.resolve().parent) if _enabled() else _Uncached()


__all__ = ["CACHE_VARIABLE", "PassedSchemas", "passed_schemas"]
