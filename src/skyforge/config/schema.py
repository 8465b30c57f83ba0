"""The config schema: load it, validate against it, merge config files, pass slices.

The merged Snakemake config (config.yaml plus any ``--configfile`` overlays) is checked against
``schemas/config.schema.yaml``, the ONLY place defaults live; :mod:`skyforge.config.sections`
turns the result into typed sections and :mod:`skyforge.config.checks` adds the checks that span
sections. A rule passes its step only the keys its target depends on (a *slice*, as JSON), so
that Snakemake's params tracking reruns exactly the steps whose configuration changed; a step
reading a key outside its slice gets an error, never a schema default (:class:`Slice`).

Validation uses ``jsonschema`` (the library under ``snakemake.utils.validate``) directly, for two
reasons: the CLI must validate outside Snakemake too, and a user error must be ONE line naming the
key (``config key 'model.hidden_sise': unknown key ...``), which Snakemake's multi-line
ValidationError dump is not. Defaults declared in the schema are filled in as in Snakemake.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = [
    "SCHEMA_PATH",
    "ConfigError",
    "Slice",
    "load_schema",
    "fill_defaults",
    "merge_configs",
    "parse_sections_json",
    "read_config_files",
    "schema_defaults",
    "section_defaults",
    "section_json",
    "validate_schema",
    "validate_sections",
    "validate_slice",
]

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A user error in the configuration; the message is one line and names the key."""


# ---------------------------------------------------------------------------------------------
# Schema validation
# ---------------------------------------------------------------------------------------------


def load_schema() -> dict[str, Any]:
    """Return the config JSON schema (from the checkout, or the installed package copy)."""
    if SCHEMA_PATH.exists():
        text = SCHEMA_PATH.read_text(encoding="utf-8")
    else:  # installed without the checkout: fall back to the packaged copy
        text = resources.files("skyforge").joinpath("config.schema.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _extend_with_defaults(validator_class: type) -> type:
    """A validator class that fills ``default`` values in while validating (as Snakemake does)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "<top level>"


def _one_line(error: jsonschema.ValidationError) -> str:
    """Turn a jsonschema error into one line that names the offending key."""
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = f"{key}.{unknown[0]}" if key != "<top level>" else unknown[0]
        return f"config key '{name}': unknown key (allowed here: {', '.join(allowed)})"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        name = f"{key}.{missing}" if key != "<top level>" else missing
        return f"config key '{name}': required key is missing"
    if error.validator == "type" and isinstance(error.instance, str):
        try:
            float(error.instance)
        except ValueError:
            pass
        else:
            if "e" not in error.instance.lower():
                return f"config key '{key}': '{error.instance}' is a string, not a number"
            # PyYAML reads 2.0e12 as a string: YAML 1.1 wants a sign in the exponent.
            return (
                f"config key '{key}': '{error.instance}' is a string, not a number "
                f"(write exponents with a sign, e.g. 2.0e+12)"
            )
    return f"config key '{key}': {error.message}"


def _coerce_scalar(value: str, types: str | list[str]) -> tuple[bool, Any]:
    """Read a string as the scalar type the schema wants, if it unambiguously is one."""
    for t in [types] if isinstance(types, str) else types:
        text = value.strip()
        if t == "integer" and text.lstrip("+-").isdigit():
            return True, int(text)
        if t == "number":
            try:
                number = float(text)
            except ValueError:
                continue
            return True, int(number) if text.lstrip("+-").isdigit() else number
        if t == "boolean" and text.lower() in ("true", "false"):
            return True, text.lower() == "true"
        if t == "null" and text in ("null", "~", ""):
            return True, None
    return False, value


def _coerce_strings(validator: Any, data: dict[str, Any]) -> list[Any]:
    """Validate, turning strings into the numbers/booleans the schema asks for; return errors.

    Two common inputs carry numbers as strings: `snakemake --config key='{nested: 1}'` (Snakemake
    parses nested values with YAML's BaseLoader, so every leaf is a string) and YAML 1.1 floats
    written without an exponent sign (PyYAML reads ``2.0e12`` as a string). Where the schema
    wants a number and the string is one, it is read as one (likewise a boolean, or an enum member
    that is not a string); anything else is still an error.
    """
    for _ in range(1000):  # one coercion per pass; bounded for safety
        errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.path))
        for err in errors:
            if not (isinstance(err.instance, str) and err.absolute_path):
                continue
            if err.validator == "type":
                ok, value = _coerce_scalar(err.instance, err.validator_value)
            elif err.validator == "enum":  # an enum of mixed types: {enabled: true} read as "true"
                ok, value = _coerce_scalar(err.instance, ["boolean", "integer", "number", "null"])
                ok = ok and any(type(v) is type(value) and v == value for v in err.validator_value)
            else:
                ok = False
            if ok:
                parent = data
                *head, last = list(err.absolute_path)
                for part in head:
                    parent = parent[part]
                parent[last] = value
                break
        else:
            return errors
    return errors


def validate_schema(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a merged config dict against the schema (no cross-section checks).

    Returns:
        A deep copy with schema defaults filled in.

    Raises:
        ConfigError: one line naming the first offending key.
    """
    data = json.loads(json.dumps(config))  # deep copy; also rejects non-JSON values early
    schema = load_schema()
    validator_cls = _extend_with_defaults(jsonschema.validators.validator_for(schema))
    errors = _coerce_strings(validator_cls(schema), data)
    if errors:
        raise ConfigError(_one_line(jsonschema.exceptions.best_match(errors)))
    return data


def validate_sections(config: Mapping[str, Any], sections: tuple[str, ...]) -> dict[str, Any]:
    """Validate only the named top-level sections (what a rule passes to one CLI step).

    Raises:
        ConfigError: one line naming the offending key (or a missing section).
    """
    data = json.loads(json.dumps(dict(config)))
    schema = load_schema()
    sub = dict(schema)
    sub["properties"] = {k: v for k, v in schema["properties"].items() if k in sections}
    sub["required"] = list(sections)
    validator_cls = _extend_with_defaults(jsonschema.validators.validator_for(schema))
    errors = _coerce_strings(validator_cls(sub), data)
    if errors:
        raise ConfigError(_one_line(jsonschema.exceptions.best_match(errors)))
    return data


class Slice(dict):
    """A config slice (a section, or part of one) whose missing keys are errors.

    A step receives exactly the keys its rule tracks; reading any other key is a bug in the
    slice function, so it is a :class:`ConfigError` naming the key, never a silent default.
    """

    def __init__(self, data: Any = (), prefix: str = "") -> None:
        items = data.items() if isinstance(data, Mapping) else data  # as dict() takes them
        super().__init__((k, _wrap(v, f"{prefix}{k}")) for k, v in items)
        self._prefix = prefix

    def __missing__(self, key: str) -> Any:
        raise ConfigError(
            f"config key '{self._prefix}{key}': not in this step's config slice "
            f"(the rule's tracked keys must include it)"
        )

    def __deepcopy__(self, memo: dict) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)


def _wrap(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return Slice(value, f"{key}.")
    if isinstance(value, list):
        return [_wrap(v, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def _without_required(schema: Any) -> Any:
    """The schema with every ``required`` and ``default`` dropped (what a slice is checked by)."""
    if isinstance(schema, dict):
        return {
            k: _without_required(v) for k, v in schema.items() if k not in ("required", "default")
        }
    if isinstance(schema, list):
        return [_without_required(v) for v in schema]
    return schema


def validate_slice(config: Mapping[str, Any], sections: tuple[str, ...]) -> Slice:
    """Validate a config slice: the named top-level sections holding only some of their keys.

    What is there is checked against the schema (types, ranges, unknown keys); nothing is filled
    in. Reading a key the slice does not hold raises :class:`ConfigError` (see :class:`Slice`).

    Raises:
        ConfigError: one line naming the offending key (or a missing section).
    """
    data = json.loads(json.dumps(dict(config)))
    schema = _without_required(load_schema())
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k in sections}
    schema["required"] = list(sections)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = _coerce_strings(validator, data)
    if errors:
        raise ConfigError(_one_line(jsonschema.exceptions.best_match(errors)))
    return Slice(data)


def merge_configs(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` over ``base`` key by key, as Snakemake merges ``--configfile``s."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_configs(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error: PyYAML
    keeps the last value silently, so a second ``plan:`` section would drop the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_config_files(paths: list[str | Path]) -> dict[str, Any]:
    """Read YAML files and merge them in order (not validated). A key given twice in one
    mapping is an error naming the file, the line and the key."""
    merged: dict[str, Any] = {}
    for path in paths:
        path = Path(path)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}  # noqa: S506 - a SafeLoader subclass
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}': not found") from None
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            where = f" line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file '{path}'{where}: {exc.problem}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file '{path}'{where}: not valid YAML") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file '{path}': top level must be a mapping")
        merged = merge_configs(merged, data)
    return merged


def section_json(config: Mapping[str, Any], *sections: str) -> str:
    """The named top-level sections as compact JSON (what rules pass to the CLI)."""
    return json.dumps({s: config[s] for s in sections}, sort_keys=True, separators=(",", ":"))


def parse_sections_json(
    text: str | None, sections: tuple[str, ...], *, what: str, optional: bool = False
) -> dict[str, Any]:
    """Parse and validate the config slice passed as JSON on a command line.

    The slice holds only the keys the rule tracks (see :func:`validate_slice`): a key left out
    is an error when the step reads it, not a schema default.

    Args:
        text: the JSON text (``None`` or empty with ``optional``: no sections).
        sections: the top-level sections it must hold.
        what: the flag it came from, for the error (``--config-json``, ``--run-json``).
        optional: an absent or empty object gives ``{}`` instead of a validation error.

    Raises:
        ConfigError: not JSON, or a section fails the schema (one line naming the key).
    """
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what}: not valid JSON ({exc.msg})") from None
    if optional and not data:
        return {}
    return validate_slice(data, sections)


def section_defaults(section: str) -> dict[str, Any]:
    """One top-level section with every key at its schema default (the schema is the only place
    defaults live; a command-line flag left out takes it from here)."""
    return validate_sections({section: {}}, (section,))[section]


def schema_defaults(*path: str) -> dict[str, Any]:
    """The ``default`` of every key of the schema object at ``path`` (e.g. ``("model",)``, or
    ``("train", "stage1", "sessions")`` for a list's items); keys without one are left out."""
    schema = load_schema()
    node = _node(schema, path)
    return {
        k: copy.deepcopy(_resolve(schema, v)["default"])
        for k, v in node.get("properties", {}).items()
        if "default" in _resolve(schema, v)
    }


def fill_defaults(path: tuple[str, ...], d: Mapping[str, Any]) -> dict[str, Any]:
    """``d`` (the schema object at ``path``) with the schema's defaults filled in, nested objects
    and list items too (not validated: for code that builds a section from a few keys)."""
    schema = load_schema()
    return _fill(schema, _node(schema, path), d)


def _fill(schema: dict[str, Any], node: dict[str, Any], d: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(d)
    for key, sub in node.get("properties", {}).items():
        sub = _resolve(schema, sub)
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        value = out.get(key)
        if isinstance(value, Mapping) and "properties" in sub:
            out[key] = _fill(schema, sub, value)
        elif isinstance(value, list) and sub.get("type") == "array" and "items" in sub:
            items = _resolve(schema, sub["items"])
            out[key] = [_fill(schema, items, v) if isinstance(v, Mapping) else v for v in value]
    return out


def _node(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The object schema at ``path`` (a list's item schema where the path names a list)."""
    node = _resolve(schema, schema)
    for part in path:
        node = _resolve(schema, node["properties"][part])
        if node.get("type") == "array":
            node = _resolve(schema, node["items"])
    return node


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``), keeping the referring node's own keys."""
    if "$ref" not in node:
        return node
    target = schema
    for part in node["$ref"].lstrip("#/").split("/"):
        target = target[part]
    return {**_resolve(schema, target), **{k: v for k, v in node.items() if k != "$ref"}}
