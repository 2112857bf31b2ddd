"""One [[board]] table -> BoardSpec: fields, format options, schedule, and the url kept as written."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .checks import ENV_REF, check_keys, cron, cron_interval, duration, num, regex, str_list, string
from .semantics import semantics
from .specs import (
    BOARD_KEYS,
    FIELD_KEYS,
    FIELD_TYPES,
    FORMAT_NAMES,
    JMESPATH_FORMATS,
    KEY_SOURCE,
    RENDERERS,
    SLUG,
    BoardSpec,
    FieldSpec,
    ScheduleSettings,
)


def with_written_url(spec: BoardSpec, written: Any, base: Path) -> BoardSpec:
    """Keep the board's url as written (${VAR} unexpanded) for display and storage; fetch the expanded one."""
    if not isinstance(written, str) or not ENV_REF.search(written):
        return spec
    pairs = tuple((os.environ[m.group(1)], m.group(0)) for m in ENV_REF.finditer(written) if os.environ.get(m.group(1)))
    shown = resolve_url(written, f"board {spec.id!r}", base)
    return replace(spec, url=shown, fetch_url=spec.url, secrets=tuple(sorted(set(pairs), key=lambda p: -len(p[0]))))


def resolve_url(url: str, where: str, base: Path) -> str:
    """An http(s) URL as it is, a relative file:// URL made absolute against `base`; else a ConfigError."""
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("file://"):
        p = Path(url[len("file://"):])
        return url if p.is_absolute() else "file://" + str((base / p).resolve())
    raise ConfigError(f"{where}: 'url' must start with http://, https:// or file:// (got {url!r})")


def _field(name: str, raw: Any, where: str, numeric: bool) -> FieldSpec:
    default_type = "number" if numeric else "text"
    if isinstance(raw, str | list):
        return FieldSpec(name, str_list({"from": raw}, "from", f"{where}.fields.{name}", ()), default_type)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}.fields.{name}: must be a string, a list of candidates, or a table "
                          f"{{from = ..., type = ..., regex = ...}}")
    w = f"{where}.fields.{name}"
    check_keys(raw, FIELD_KEYS, w)
    sources = str_list(raw, "from", w, (name,))
    ftype = raw.get("type", default_type)
    if ftype not in FIELD_TYPES:
        raise ConfigError(f"{w}: unknown type {ftype!r} (allowed: {', '.join(FIELD_TYPES)})")
    pattern = regex(raw["regex"], f"{w}.regex") if "regex" in raw else None
    return FieldSpec(name, sources, ftype, pattern)


def board(raw: Any, index: int, base: Path, sched: ScheduleSettings | None = None,
          global_aliases: Mapping[str, str] | None = None) -> BoardSpec:
    """Validate one [[board]] table (after ${VAR} expansion) into a BoardSpec."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"board #{index + 1}: must be a table")
    bid = raw.get("id")
    if not isinstance(bid, str) or not SLUG.match(bid):
        raise ConfigError(f"board #{index + 1}: 'id' must be a slug (lowercase letters, digits, '.', '_', '-'), "
                          f"got {bid!r}")
    w = f"board {bid!r}"
    check_keys(raw, BOARD_KEYS, w)
    fmt = raw.get("format")
    if fmt not in FORMAT_NAMES:
        raise ConfigError(f"{w}: unknown format {fmt!r} (allowed: {', '.join(FORMAT_NAMES)})")
    fields_raw = raw.get("fields")
    if not isinstance(fields_raw, Mapping) or not fields_raw:
        raise ConfigError(f"{w}: needs a [board.fields] table mapping normalized fields to source columns")
    metric = string(raw, "metric", w)
    metrics = str_list(raw, "metrics", w, ())
    key = str_list(raw, "key", w, ("model",))
    names = list(fields_raw)
    for what, items in (("metric", (metric,)), ("key", key), ("metrics", metrics)):
        for item in items:
            if item not in fields_raw:
                raise ConfigError(f"{w}: '{what}' names {item!r}, which is not a field "
                                  f"(fields: {', '.join(names)})")
    fields = tuple(_field(n, r, w, n in (metric, *metrics, "ci_lower", "ci_upper")) for n, r in fields_raw.items())
    for f in fields:
        if f.name in (metric, *metrics) and f.type != "number":
            raise ConfigError(f"{w}.fields.{f.name}: a metric must have type 'number'")
    hib = raw.get("higher_is_better", True)
    if not isinstance(hib, bool):
        raise ConfigError(f"{w}: 'higher_is_better' must be true or false")
    mr = raw.get("metric_range")
    metric_range = None
    if mr is not None:
        if (not isinstance(mr, list) or len(mr) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in mr) or mr[0] > mr[1]):
            raise ConfigError(f"{w}: 'metric_range' must be [low, high] with low <= high")
        metric_range = (float(mr[0]), float(mr[1]))
    selector = raw.get("selector")
    if selector is not None:
        if fmt != "html":
            raise ConfigError(f"{w}: 'selector' applies to format 'html' only")
        import cssselect  # loaded only for a configuration with a selector (issue 10: start-up)

        try:
            cssselect.GenericTranslator().css_to_xpath(selector)
        except (cssselect.SelectorError, TypeError) as exc:
            raise ConfigError(f"{w}: bad CSS selector {selector!r}: {exc}") from exc
    rows = raw.get("rows")
    if rows is not None and fmt not in JMESPATH_FORMATS:
        raise ConfigError(f"{w}: 'rows' (a JMESPath) applies to formats 'json' and 'yaml' only")
    keyed = [f.name for f in fields if KEY_SOURCE in f.sources]
    if keyed and fmt not in JMESPATH_FORMATS:
        raise ConfigError(f"{w}.fields.{keyed[0]}: \"{KEY_SOURCE}\" (the member name of an object keyed by name) "
                          f"applies to formats 'json' and 'yaml' only")
    member = raw.get("member")
    if member is not None and (not isinstance(member, str) or not member):
        raise ConfigError(f"{w}: 'member' must be the name (or a glob such as \"*.csv\") of the zip member to read")
    if fmt in JMESPATH_FORMATS:
        import jmespath.exceptions  # loaded only for a configuration with a JSON or YAML board

        for expr, where in [(rows, f"{w}.rows")] + [(s, f"{w}.fields.{f.name}") for f in fields for s in f.sources]:
            if expr is None or (expr == KEY_SOURCE and where != f"{w}.rows"):
                continue
            try:
                jmespath.compile(expr)
            except jmespath.exceptions.JMESPathError as exc:
                pos = getattr(exc, "lex_position", None)
                what = "incomplete expression" if isinstance(exc, jmespath.exceptions.IncompleteExpressionError) \
                    else str(getattr(exc, "msg", "") or exc).split("\n", 1)[0]
                at = f" at character {pos + 1}" if isinstance(pos, int) else ""
                raise ConfigError(f"{where}: bad JMESPath {expr!r}: {what}{at}; see https://jmespath.org") from exc
    dataset = raw.get("dataset")
    if fmt == "pwc" and not isinstance(dataset, str):
        raise ConfigError(f"{w}: format 'pwc' needs 'dataset' (the dataset name in the task JSON, e.g. \"SQuAD2.0\")")
    if dataset is not None and fmt != "pwc":
        raise ConfigError(f"{w}: 'dataset' applies to format 'pwc' only")
    exclude = tuple(regex(p, f"{w}.exclude") for p in str_list(raw, "exclude", w, ()))
    encoding = raw.get("encoding")
    if encoding is not None:
        if not isinstance(encoding, str):
            raise ConfigError(f"{w}: 'encoding' must be a string such as \"utf-8\"")
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError(f"{w}: unknown encoding {encoding!r}; use a Python codec name such as \"utf-8\", "
                              f"\"latin-1\" or \"cp1252\"") from None
    sched = sched or ScheduleSettings()
    crontab = raw.get("schedule")
    every = duration(raw["every"], f"{w}.every") if "every" in raw else None
    if crontab is not None and every is not None:
        raise ConfigError(f"{w}: give 'schedule' (cron) or 'every' (interval), not both")
    if crontab is not None:
        if not isinstance(crontab, str):
            raise ConfigError(f"{w}: 'schedule' must be a cron expression string")
        cron(crontab, f"{w}.schedule", sched.timezone)
    interval = every or cron_interval(crontab or sched.default, sched.timezone)
    stale_after = duration(raw["stale_after"], f"{w}.stale_after") if "stale_after" in raw else 3 * interval
    rules = semantics(raw, w, fields, metric, global_aliases or {})
    render, wait_for = _render(raw, w, fmt)
    parse_keys = ("format", "metric", "metrics", "key", "metric_range", "selector", "rows", "dataset", "fields",
                  "exclude", "encoding", "higher_is_better", "duplicates", "where")
    parse_hash = hashlib.sha256(json.dumps({**{k: raw.get(k) for k in parse_keys}, "aliases": rules["aliases"],
                                            **({"member": member} if member is not None else {})},
                                           sort_keys=True, default=str).encode()).hexdigest()[:16]
    return BoardSpec(
        id=bid,
        title=string(raw, "title", w, bid),
        url=resolve_url(string(raw, "url", w), w, base),
        format=fmt,
        metric=metric,
        fields=fields,
        higher_is_better=hib,
        key=key,
        metrics=metrics,
        metric_range=metric_range,
        min_rows=int(num(raw, "min_rows", w, 1, low=0)),
        max_drop=num(raw, "max_drop", w, 0.5, low=0.0, high=1.0),
        selector=selector,
        rows=rows,
        member=member,
        dataset=dataset,
        exclude=exclude,
        encoding=encoding,
        parse_hash=parse_hash,
        schedule=crontab,
        every=every,
        interval=interval,
        stale_after=stale_after,
        render=render,
        wait_for=wait_for,
        max_bytes=int(num(raw, "max_bytes", w, 0, low=1)) if "max_bytes" in raw else None,
        **rules,
    )


def _render(raw: Mapping[str, Any], w: str, fmt: str) -> tuple[str | None, str | None]:
    """`render` (only "chromium", html boards only) and its `wait_for` CSS selector."""
    render, wait_for = raw.get("render"), raw.get("wait_for")
    if render is not None:
        if render not in RENDERERS:
            raise ConfigError(f"{w}: 'render' must be one of {', '.join(map(repr, RENDERERS))} (got {render!r})")
        if fmt != "html":
            raise ConfigError(f"{w}: 'render' applies to format 'html' only (a rendered page is HTML)")
    if wait_for is not None:
        if render is None:
            raise ConfigError(f"{w}: 'wait_for' needs render = \"chromium\"")
        import cssselect

        try:
            cssselect.GenericTranslator().css_to_xpath(wait_for)
        except (cssselect.SelectorError, TypeError) as exc:
            raise ConfigError(f"{w}: bad CSS selector in wait_for {wait_for!r}: {exc}") from exc
    return render, wait_for

