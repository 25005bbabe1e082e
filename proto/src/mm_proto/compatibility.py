"""Which differences between two schema documents would break a reader or writer of the older one.

Allowed: new message types, new fields with a default, changed docs and defaults. Breaking:
a removed message type or field, a field whose type or constraints changed, a new field without a
default, a field that lost its default, and enum values added or removed (an older reader cannot
decode a value it does not know). A breaking change is a new message type on a new subject instead.
"""

from typing import Any

_IGNORED_KEYS = frozenset({"title", "description", "default"})


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every breaking difference from schema `old` to `new`, as sentences naming type and field."""
    problems: list[str] = []
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for tag, reference in old.get("messages", {}).items():
        name = _def_name(reference)
        if tag not in new.get("messages", {}):
            problems.append(f"message type {name} (tag {tag!r}) was removed")
            continue
        new_name = _def_name(new["messages"][tag])
        _compare_definition(name, old_defs[name], new_defs[new_name], problems)
    message_names = {_def_name(reference) for reference in old.get("messages", {}).values()}
    for name, definition in old_defs.items():
        if name in message_names:
            continue
        if name not in new_defs:
            problems.append(f"type {name} was removed or renamed")
            continue
        _compare_definition(name, definition, new_defs[name], problems)
    return problems


def _def_name(reference: dict[str, Any]) -> str:
    return str(reference["$ref"]).rsplit("/", 1)[-1]


def _compare_definition(
    name: str, old: dict[str, Any], new: dict[str, Any], problems: list[str]
) -> None:
    if "enum" in old:
        _compare_enum(name, old, new, problems)
    elif "properties" in old:
        _compare_object(name, old, new, problems)
    elif _normalized(old) != _normalized(new):
        problems.append(f"type {name} changed: was {_normalized(old)}, now {_normalized(new)}")


def _compare_enum(name: str, old: dict[str, Any], new: dict[str, Any], problems: list[str]) -> None:
    old_values, new_values = set(old["enum"]), set(new.get("enum", []))
    if old_values - new_values:
        problems.append(f"enum {name} lost values {sorted(old_values - new_values)}")
    if new_values - old_values:
        problems.append(
            f"enum {name} gained values {sorted(new_values - old_values)}, "
            "which older readers cannot decode"
        )


def _compare_object(
    name: str, old: dict[str, Any], new: dict[str, Any], problems: list[str]
) -> None:
    old_fields, new_fields = old["properties"], new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for field, old_schema in old_fields.items():
        if field not in new_fields:
            problems.append(f"{name}.{field} was removed")
        elif _normalized(old_schema) != _normalized(new_fields[field]):
            problems.append(
                f"{name}.{field} was retyped: was {_normalized(old_schema)}, "
                f"now {_normalized(new_fields[field])}"
            )
        elif field in new_required and field not in old_required:
            problems.append(f"{name}.{field} lost its default")
    for field in new_fields.keys() - old_fields.keys():
        if field in new_required:
            problems.append(f"{name}.{field} was added without a default")


def _normalized(schema: Any) -> Any:
    """A schema with the parts that do not affect the wire (docs, defaults) removed."""
    if isinstance(schema, dict):
        return {
            key: _normalized(value) for key, value in schema.items() if key not in _IGNORED_KEYS
        }
    if isinstance(schema, list):
        return [_normalized(item) for item in schema]
    return schema
