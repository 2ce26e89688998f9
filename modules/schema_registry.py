"""One EventBridge schema registry per environment, with a schema per event version (JSON Schema Draft 4)."""

from __future__ import annotations

from cdktn_provider_aws.schemas_registry import SchemasRegistry
from cdktn_provider_aws.schemas_schema import SchemasSchema
from constructs import Construct

from eventform.catalog import registry
from eventform.catalog.model import Catalog


def schema_name(source: str, event: str, version: int) -> str:
    """``<source>@<detail-type>`` is how the registry's discovery names schemas; the version is appended."""
    return f"{source}@{event}.v{version}"


class SchemaRegistry(Construct):
    def __init__(self, scope: Construct, id: str, *, name: str, catalog: Catalog, tags: dict[str, str]) -> None:
        super().__init__(scope, id)
        self.registry = SchemasRegistry(
            self, "registry", name=name, description="eventform: every event version of the catalog", tags=tags
        )
        self.schemas = {}
        for domain in catalog.domains:
            for event in domain.events:
                for version in event.versions:
                    key = schema_name(domain.source, event.name, version.number)
                    self.schemas[key] = SchemasSchema(
                        self,
                        f"schema-{domain.name}-{event.name.replace('.', '-')}-v{version.number}",
                        name=key,
                        registry_name=self.registry.name,
                        type=registry.SCHEMA_TYPE,
                        description=event.description[:256],
                        content=registry.content(version.schema),
                        tags=tags,
                    )
