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


def load_profile(engine: Engine, path: Path | None, package: str | None = None) -> Profile:
    """The inferred profile of the target, with the backup package's profile (``package``, its
    TOML text) and then the file's overrides applied.

    The package knows its models exactly: for each model it describes, its ``fields``,
    ``foreign_keys`` and ``many_to_many`` replace the inferred ones whole, and inference
    fills only the keys it does not give. A file's entries are merged one by one.
    """
    inferred = infer_profile(engine)
    models = {label: model.to_dict() for label, model in inferred.models.items()}
    if package is not None:
        described = _parse(package, "the backup's profile.toml")
        tables = {str(entry.get("table")) for entry in described.values() if not entry.get("alias_of")}
        for label in [label for label, model in models.items() if label not in described and model["table"] in tables]:
            del models[label]  # a table inference labelled otherwise: the package names its model
        _apply(models, described, "the backup's profile.toml", merge=False)
    if path is None:
        if package is None:
            return inferred
        _share_symmetry(models)
        return Profile({label: ModelProfile.from_dict(model) for label, model in models.items()}, inferred.known_labels)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(f"profile file {str(path)!r} cannot be read: {error}") from None
    _apply(models, _parse(text, f"profile file {str(path)!r}"), f"profile file {str(path)!r}", merge=True)
    _share_symmetry(models)
    return Profile({label: ModelProfile.from_dict(model) for label, model in models.items()}, inferred.known_labels)


def _share_symmetry(models: dict[str, dict[str, Any]]) -> None:
    """A proxy's self relation is its concrete model's: what a profile says of that one's symmetry holds
    for the proxy's records too (a package lists a proxy without its many-to-many relations)."""
    for model in models.values():
        concrete = models.get(model.get("alias_of") or "")
        if concrete is None:
            continue
        for name, m2m in model.get("many_to_many", {}).items():
            said = concrete.get("many_to_many", {}).get(name, {}).get("symmetrical")
            if m2m.get("symmetrical") is None and said is not None:
                m2m["symmetrical"] = said


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{where} cannot be read: {error}") from None
    overrides = data.get("models", {})
    if not isinstance(overrides, dict):
        raise ProfileError(f"{where}: 'models' must be a table of model labels")
    return overrides


def _apply(models: dict[str, dict[str, Any]], overrides: dict[str, Any], where: str, merge: bool) -> None:
    for label, override in overrides.items():
        merged = models.get(label) or _of_table(
            models, override.get("table") if isinstance(override, dict) else None, label
        )
        try:
            if not isinstance(override, dict):
                raise TypeError(f"expected a table, got {override!r}")
            for key, value in override.items():
                if key in _MERGED and not isinstance(value, dict):
                    raise TypeError(f"{key!r} must be a table, got {value!r}")
                merged[key] = {**merged.get(key, {}), **value} if key in _MERGED and merge else value
            merged["label"] = label
            models[label] = _complete(merged)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ProfileError(f"{where}: model {label!r} is incomplete or wrong ({error})") from None


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
    # a foreign key given for a column inference took as a plain field (db_constraint=False): the key replaces it
    columns = {entry.get("column") for entry in model.get("foreign_keys", {}).values()}
    plain = [name for name, entry in model.get("fields", {}).items() if entry.get("name") in columns]
    for name in plain:
        del model["fields"][name]
        model.get("defaults", {}).pop(name, None)
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
            if key == "pk" and model.get("composite"):
                lines.append(f"composite = {_value(model['composite'])}")
        for key in ("parent", "on_conflict", "alias_of"):
            if model[key]:
                lines.append(f"{key} = {_value(model[key])}")
        if model["create_values"]:
            lines.append(f"create_values = {_value(model['create_values'])}")
        if model.get("secret_fields"):
            lines.append(f"secret_fields = {_value(model['secret_fields'])}")
        defaults = {name: value for name, value in model["defaults"].items() if value is not None}
        if defaults:
            lines.append(f"defaults = {_value(defaults)}")
        for key in ("fields", "foreign_keys", "many_to_many", "generic_foreign_keys"):
            if model[key]:
                lines.append(f'[models."{label}".{key}]')
                lines += [f"{name} = {_value(entry)}" for name, entry in model[key].items()]
        lines.append("")
    return "\n".join(lines)
