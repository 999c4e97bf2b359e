"""The restore profile as TOML: inferred from the target, overridden by a file.

A profile file holds ``[models."app.model"]`` tables; every key it gives replaces
the inferred one (``fields``, ``foreign_keys`` and ``many_to_many`` per entry).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from domain.errors import ProfileError
from domain.profile import ModelProfile, Profile
from infrastructure.schema import infer_profile

_MERGED = ("fields", "foreign_keys", "many_to_many", "create_values")


def load_profile(engine: Engine, path: Path | None) -> Profile:
    """The inferred profile of the target, with the file's overrides applied."""
    inferred = infer_profile(engine)
    if path is None:
        return inferred
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProfileError(f"profile file {str(path)!r} cannot be read: {error}") from None
    overrides = data.get("models", {})
    if not isinstance(overrides, dict):
        raise ProfileError(f"profile file {str(path)!r}: 'models' must be a table of model labels")
    models = {label: model.to_dict() for label, model in inferred.models.items()}
    for label, override in overrides.items():
        merged = models.get(label, {"label": label, "pk": {"name": "id", "kind": "integer", "nullable": False}})
        try:
            if not isinstance(override, dict):
                raise TypeError(f"expected a table, got {override!r}")
            for key, value in override.items():
                if key in _MERGED and not isinstance(value, dict):
                    raise TypeError(f"{key!r} must be a table, got {value!r}")
                merged[key] = {**merged.get(key, {}), **value} if key in _MERGED else value
            merged["label"] = label
            models[label] = _complete(merged)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ProfileError(
                f"profile file {str(path)!r}: model {label!r} is incomplete or wrong ({error})"
            ) from None
    return Profile({label: ModelProfile.from_dict(model) for label, model in models.items()})


def _complete(model: dict[str, Any]) -> dict[str, Any]:
    for key in ("fields", "foreign_keys", "many_to_many"):
        for name, entry in model.get(key, {}).items():
            entry.setdefault("field" if key != "fields" else "name", name)
    ModelProfile.from_dict(model)
    return model


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(profile: Profile, source: str) -> str:
    """The profile as a TOML document to start a profile file from."""
    lines = [
        f"# Restore profile inferred from {source}",
        "# Keep the models you change; the rest is inferred.",
        "",
    ]
    for label, model in profile.to_dict().items():
        lines.append(f'[models."{label}"]')
        for key in ("table", "pk", "natural_key", "uuid_fields", "policy", "seeded", "missing"):
            lines.append(f"{key} = {_value(model[key])}")
        if model["create_values"]:
            lines.append(f"create_values = {_value(model['create_values'])}")
        if model.get("secret_fields"):
            lines.append(f"secret_fields = {_value(model['secret_fields'])}")
        for key in ("fields", "foreign_keys", "many_to_many"):
            if model[key]:
                lines.append(f'[models."{label}".{key}]')
                lines += [f"{name} = {_value(entry)}" for name, entry in model[key].items()]
        lines.append("")
    return "\n".join(lines)
