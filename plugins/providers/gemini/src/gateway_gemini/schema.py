"""JSON Schema (what OpenAI tools and ``response_format`` carry) to Gemini's ``Schema`` subset.

Gemini's ``Schema`` object is a subset of OpenAPI 3.0 (https://ai.google.dev/api/caching#Schema):
it refuses fields it does not know (``additionalProperties``, ``$schema``, ``$ref`` ...) with a 400
``INVALID_ARGUMENT``.  So the schema is rewritten here, once per request, into the subset:

* ``$ref`` to local ``$defs`` / ``definitions`` is inlined (recursive schemas cannot be, and are
  refused with a 400 that says so);
* ``type: [X, "null"]`` becomes ``type: X`` + ``nullable: true``; ``oneOf`` becomes ``anyOf``;
* ``const: "x"`` becomes ``enum: ["x"]``; a non-string ``enum`` (Gemini takes strings only) is dropped;
* ``format`` values Gemini does not know are dropped, as are validation keywords it lacks;
* an ``object`` without properties loses its empty ``properties`` (Gemini rejects an empty map),
  and ``required`` keeps only names that are declared properties.
"""

from __future__ import annotations

from typing import Any

from gateway import BadRequestError

#: the ``Schema`` fields Gemini accepts
KEPT_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
#: ``format`` values Gemini accepts, per type
FORMATS = {"string": {"enum", "date-time"}, "integer": {"int32", "int64"}, "number": {"float", "double"}}
#: how deep ``$ref`` inlining may go before a schema counts as recursive
MAX_DEPTH = 32


def to_gemini_schema(schema: dict[str, Any], where: str) -> dict[str, Any]:
    """The Gemini ``Schema`` for a JSON schema; ``where`` names the request field for errors."""
    definitions: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = schema.get(key)
        if isinstance(found, dict):
            definitions.update({f"#/{key}/{name}": value for name, value in found.items()})
    return _convert(schema, definitions, where, 0)


def _convert(schema: Any, definitions: dict[str, Any], where: str, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise BadRequestError(
            f"{where} is recursive (or nested too deeply); Gemini schemas cannot refer to themselves", param=where
        )
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where} must be a JSON schema object, got {type(schema).__name__}", param=where)
    ref = schema.get("$ref")
    if ref is not None:
        target = definitions.get(ref) if isinstance(ref, str) else None
        if target is None:
            raise BadRequestError(f"{where}.$ref {ref!r} does not point into this schema's $defs", param=where)
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _convert(merged, definitions, where, depth + 1)
    if "allOf" in schema:
        parts = schema["allOf"]
        if not (isinstance(parts, list) and len(parts) == 1):
            raise BadRequestError(
                f"{where}.allOf with several schemas cannot be expressed for Gemini; merge them", param=where
            )
        merged = {**parts[0], **{k: v for k, v in schema.items() if k != "allOf"}}
        return _convert(merged, definitions, where, depth + 1)

    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in KEPT_FIELDS and key not in ("type", "properties", "items", "anyOf", "enum", "format", "required"):
            out[key] = value
    _convert_type(schema, out, where)
    variants = schema.get("anyOf", schema.get("oneOf"))
    if variants is not None:
        if not isinstance(variants, list) or not variants:
            raise BadRequestError(f"{where}.anyOf must be a non-empty list of schemas", param=where)
        converted = [
            _convert(v, definitions, f"{where}.anyOf[{i}]", depth + 1)
            for i, v in enumerate(variants)
            if not (isinstance(v, dict) and v.get("type") == "null")
        ]
        if len(converted) < len(variants):
            out["nullable"] = True
        if len(converted) == 1 and "type" not in out:
            out.update(converted[0])
        elif converted:
            out["anyOf"] = converted
    if "const" in schema and isinstance(schema["const"], str):
        out["enum"] = [schema["const"]]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        out["enum"] = enum
        out.setdefault("type", "string")
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in FORMATS.get(str(out.get("type", "")).lower(), ()):
        out["format"] = fmt
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        out["properties"] = {
            name: _convert(sub, definitions, f"{where}.properties.{name}", depth + 1)
            for name, sub in properties.items()
        }
        required = schema.get("required")
        if isinstance(required, list):
            kept = [r for r in required if r in properties]
            if kept:
                out["required"] = kept
    items = schema.get("items")
    if isinstance(items, dict):
        out["items"] = _convert(items, definitions, f"{where}.items", depth + 1)
    elif out.get("type") == "array":
        # Gemini requires ``items`` on arrays; JSON schema's "any item" is the closest we can say
        out["items"] = (
            {"type": "string"} if items is None else _convert(items, definitions, f"{where}.items", depth + 1)
        )
    return out


def _convert_type(schema: dict[str, Any], out: dict[str, Any], where: str) -> None:
    kind = schema.get("type")
    if kind is None:
        return
    kinds = kind if isinstance(kind, list) else [kind]
    if not all(isinstance(k, str) for k in kinds):
        raise BadRequestError(f"{where}.type must be a string or a list of strings", param=where)
    real = [k.lower() for k in kinds if k.lower() != "null"]
    if len(real) < len(kinds):
        out["nullable"] = True
    unknown = [k for k in real if k not in TYPES]
    if unknown:
        raise BadRequestError(f"{where}.type {unknown[0]!r} is not a JSON schema type", param=where)
    if len(real) == 1:
        out["type"] = real[0]
    elif len(real) > 1:
        out["anyOf"] = [{"type": k} for k in real]
