"""The board keys that decide what counts as a change: aliases, renames, duplicates, tolerance, where, published,
and the confidence-interval role fields (ci, or ci_lower + ci_upper)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .checks import num
from .specs import CI_FIELDS, DUPLICATES, FieldSpec


def name_key(name: str) -> str:
    """The form in which names are compared for aliases: NFKC, case-folded, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def aliases(raw: Any, where: str) -> dict[str, str]:
    """An aliases table: other name -> canonical name (case-insensitive on the left)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'aliases' must be a table of \"other name\" = \"canonical name\"")
    out: dict[str, str] = {}
    for other, canonical in raw.items():
        if not isinstance(canonical, str) or not canonical.strip() or not str(other).strip():
            raise ConfigError(f"{where}: alias {other!r} must map to a non-empty name (string)")
        out[name_key(str(other))] = canonical.strip()
    for other, canonical in out.items():
        if name_key(canonical) in out and name_key(canonical) != other:
            raise ConfigError(f"{where}: alias chain: {canonical!r} is itself an alias; map {other!r} to "
                              f"{out[name_key(canonical)]!r} directly")
    return out


def semantics(raw: Mapping[str, Any], w: str, fields: tuple[FieldSpec, ...], metric: str,
              global_aliases: Mapping[str, str]) -> dict[str, Any]:
    """Validate the change-semantics keys of one board; returns BoardSpec keyword arguments."""
    names = {f.name: f for f in fields}
    merged = {**global_aliases, **aliases(raw.get("aliases"), w)}
    renames = raw.get("renames", True)
    if not isinstance(renames, bool):
        raise ConfigError(f"{w}: 'renames' must be true or false")
    duplicates = raw.get("duplicates", "first")
    if duplicates not in DUPLICATES:
        raise ConfigError(f"{w}: 'duplicates' must be one of {', '.join(DUPLICATES)} (got {duplicates!r})")
    tolerance = num(raw, "tolerance", w, 0.0, low=0.0)
    where_raw = raw.get("where", {})
    if not isinstance(where_raw, Mapping):
        raise ConfigError(f"{w}: 'where' must be a table such as {{ extra_data = [\"no\", \"\"] }}")
    where: list[tuple[str, tuple[str, ...]]] = []
    for field, allowed in where_raw.items():
        if field not in names:
            raise ConfigError(f"{w}.where: {field!r} is not a field (fields: {', '.join(names)})")
        values = [allowed] if isinstance(allowed, str) else allowed
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{w}.where.{field}: give a string or a non-empty list of strings")
        where.append((field, tuple(values)))
    published = raw.get("published")
    if published is not None and (published not in names or names[published].type != "date"):
        raise ConfigError(f"{w}: 'published' must name a field of type \"date\" (got {published!r}); e.g. "
                          f"paper_date = {{ from = \"Date\", type = \"date\" }}")
    roles = [r for r in CI_FIELDS if r in names]
    if "ci" in roles and len(roles) > 1:
        raise ConfigError(f"{w}.fields: give 'ci' (\"+5/-4\", \"±5\" or a half-width) or 'ci_lower' and "
                          f"'ci_upper' (absolute bounds), not both")
    if roles and roles != ["ci"] and set(roles) != {"ci_lower", "ci_upper"}:
        raise ConfigError(f"{w}.fields: 'ci_lower' and 'ci_upper' go together")
    for role in ("ci_lower", "ci_upper"):
        if role in names and names[role].type != "number":
            raise ConfigError(f"{w}.fields.{role}: a confidence bound must have type 'number'")
    if roles and metric in CI_FIELDS:
        raise ConfigError(f"{w}: the metric cannot be a confidence-interval field")
    return {"aliases": tuple(sorted(merged.items())), "renames": renames, "duplicates": duplicates,
            "tolerance": tolerance, "where": tuple(where), "published": published}
