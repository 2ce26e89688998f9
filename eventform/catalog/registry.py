"""The catalog's JSON Schemas (2020-12) as the EventBridge schema registry accepts them.

The registry takes ``OpenApi3`` or ``JSONSchemaDraft4`` content (CreateSchema ``Type``), not 2020-12. The keywords
that changed between the dialects are rewritten; anything without a Draft 4 equivalent is refused at load time,
and every catalog example must still validate against the converted schema (proof the meaning survived).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft4Validator, SchemaError

DRAFT4 = "http://json-schema.org/draft-04/schema#"
SCHEMA_TYPE = "JSONSchemaDraft4"
# 2020-12 keywords Draft 4 cannot express; refusing them is better than publishing a looser schema.
UNSUPPORTED = frozenset(
    {
        "if",
        "then",
        "else",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentSchemas",
        "propertyNames",
        "$dynamicRef",
        "$dynamicAnchor",
        "$anchor",
    }
)


class ConversionError(ValueError):
    pass


def to_draft4(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a 2020-12 schema to Draft 4 (``$defs`` -> ``definitions``, ``const``, exclusive bounds, ...)."""
    converted = _convert(schema, root=True)
    converted["$schema"] = DRAFT4
    return converted


def _convert(node: Any, root: bool = False) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    unsupported = sorted(UNSUPPORTED & set(node))
    if unsupported:
        raise ConversionError(f"keyword {unsupported[0]!r} has no JSON Schema Draft 4 equivalent")
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$schema" and root:
            continue
        if key == "$defs":
            result["definitions"] = {name: _convert(sub) for name, sub in value.items()}
        elif key == "$ref" and isinstance(value, str):
            result["$ref"] = value.replace("#/$defs/", "#/definitions/")
        elif key == "const":
            result["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            result[bound] = value
            result[key] = True
        elif key == "dependentRequired":
            result["dependencies"] = value
        elif key in ("properties", "patternProperties", "definitions"):
            result[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in ("examples", "description", "title", "enum", "required", "default", "format", "pattern", "$id"):
            result[key] = value
        else:
            result[key] = _convert(value)
    return result


def conversion_problems(schema: dict[str, Any], examples: tuple[dict[str, Any], ...]) -> list[str]:
    """Messages for a schema the registry could not hold faithfully; [] if it converts."""
    try:
        converted = to_draft4(schema)
        Draft4Validator.check_schema(converted)
    except (ConversionError, SchemaError) as error:
        return [f"cannot publish to the schema registry: {getattr(error, 'message', error)}"]
    validator = Draft4Validator(converted)
    return [
        f"example {index} no longer validates once converted to Draft 4: {error.message}"
        for index, example in enumerate(examples)
        for error in validator.iter_errors(example)
    ]


def content(schema: dict[str, Any]) -> str:
    return json.dumps(to_draft4(schema), sort_keys=True)
