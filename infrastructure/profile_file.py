"""The restore profile as TOML: inferred from the target, overridden by a file.

A profile file holds ``[models."app.model"]`` tables; every key it gives replaces
the inferred one (``fields``, ``foreign_keys`` and ``many_to_many`` per entry).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from domain.errors import ProfileError
from domain.profile import ModelProfile, Profile
from infrastructure.schema import infer_profile

_MERGED = ("fields", "foreign_keys", "many_to_many", "create_values", "generic_foreign_keys", "defaults")


def load_profile(engine: Engine, path: Path | None) -> Profile:
    """The inferred profile of the target, with the file's overrides applied."""
    inferred = infer_profile(engine)
    if path is None:
        return inferred
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProfileError(f"profile file {str(path)!r} cannot be read: {error}") from None
    overrides = data.get("models", {})
    if not isinstance(overrides, dict):
        raise ProfileError(f"profile file {str(path)!r}: 'models' must be a table of model labels")
    models = {label: model.to_dict() for label, model in inferred.models.items()}
    for label, override in overrides.items():
        merged = models.get(label) or _of_table(models, override.get("table"), label)
        for key, value in override.items():
            if key in _MERGED:
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
        merged["label"] = label
        try:
            models[label] = _complete(merged)
        except (KeyError, TypeError, ValueError) as error:
            raise ProfileError(
                f"profile file {str(path)!r}: model {label!r} is incomplete or wrong ({error})"
            ) from None
    return Profile({label: ModelProfile.from_dict(model) for label, model in models.items()})


def _of_table(models: dict[str, dict[str, Any]], table: Any, label: str) -> dict[str, Any]:
    """A label the target does not know, given the table of a label it knows (a proxy model, a custom
    ``db_table``): that model, under this label, as an alias of it."""
    for other, model in models.items():
        if model["table"] == table and not model.get("alias_of"):
            return {**copy.deepcopy(model), "alias_of": other}
    return {"label": label, "pk": {"name": "id", "kind": "integer", "nullable": False}}


def _complete(model: dict[str, Any]) -> dict[str, Any]:
    for key in ("fields", "foreign_keys", "many_to_many", "generic_foreign_keys"):
        for name, entry in model.get(key, {}).items():
            entry.setdefault("field" if key != "fields" else "name", name)
    ModelProfile.from_dict(model)
    return model


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(profile: Profile, source: str, notes: dict[str, list[str]] | None = None) -> str:
    """The profile as a TOML document to start a profile file from; ``notes`` (what was inferred
    from which evidence) become comments under each model."""
    lines = [
        f"# Restore profile inferred from {source}",
        "# Keep the models you change; the rest is inferred.",
        "",
    ]
    for label, model in profile.to_dict().items():
        lines.append(f'[models."{label}"]')
        lines += [f"# {note}" for note in (notes or {}).get(label, [])]
        for key in ("table", "pk", "natural_key", "uuid_fields", "soft_uuids", "policy", "seeded", "missing"):
            lines.append(f"{key} = {_value(model[key])}")
        for key in ("parent", "on_conflict", "alias_of"):
            if model[key]:
                lines.append(f"{key} = {_value(model[key])}")
        if model["create_values"]:
            lines.append(f"create_values = {_value(model['create_values'])}")
        defaults = {name: value for name, value in model["defaults"].items() if value is not None}
        if defaults:
            lines.append(f"defaults = {_value(defaults)}")
        for key in ("fields", "foreign_keys", "many_to_many", "generic_foreign_keys"):
            if model[key]:
                lines.append(f'[models."{label}".{key}]')
                lines += [f"{name} = {_value(entry)}" for name, entry in model[key].items()]
        lines.append("")
    return "\n".join(lines)
