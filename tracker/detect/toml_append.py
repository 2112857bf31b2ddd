"""A new [[board]] as commented TOML text, appended to a config file that otherwise stays byte-for-byte the same."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..config import Settings
from ..config.specs import KEY_SOURCE
from ..errors import ConfigError
from .propose import Proposal, profile
from .tables import Column

MAX_OTHER = 20  # other columns listed (commented out) in the new [board.fields]
NEW_FILE_HEADER = ('# tracker\'s configuration (README: "Configuration"). `tracker add URL` appends boards; '
                   'edit freely.\n\n')


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group(0)):04x}", out) + '"'


def field_name(header: str, taken: set[str]) -> str:
    """A bare TOML key for a column: lower case, [a-z0-9_] only, not already taken ("pass@1" -> "pass_1")."""
    base = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_") or "value"
    base = base if base[0].isalpha() else f"f_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def board_block(p: Proposal) -> str:
    """The [[board]] and [board.fields] tables for a proposal, with comments; other columns commented out."""
    taken = {"model"}
    metric = field_name(p.metric.name, taken)
    extra = field_name(p.key_extra.name, taken) if p.key_extra else None
    cand = p.candidate
    direction = "higher" if p.higher_is_better else "lower"
    lines = [
        f"# {p.title}: added by `tracker add` from {cand.label} ({cand.rows} rows).",
        f"# Entries are named by {p.model.name!r}; the metric is {p.metric.name!r} ({direction} is better).",
        "[[board]]",
        f"id = {toml_string(p.board_id)}",
        f"title = {toml_string(p.title)}",
        f"url = {toml_string(p.url)}",
        f"format = {toml_string(cand.format)}",
    ]
    by_key = cand.key_rows is not None and any(c is not None and c.source == KEY_SOURCE
                                               for c in (p.model, p.metric, p.key_extra))
    rows = cand.key_rows if by_key else cand.rows_path
    if rows and rows != "@":
        lines.append(f"rows = {toml_string(rows)}{'   # an object keyed by name: $key is the name' if by_key else ''}")
    if cand.selector:
        lines.append(f"selector = {toml_string(cand.selector)}")
    if p.render:
        lines.append('render = "chromium"               # the table is drawn by JavaScript: load the page in Chromium')
        lines.append('wait_for = "table"')
    lines.append(f"metric = {toml_string(metric)}")
    lines.append(f"higher_is_better = {'true' if p.higher_is_better else 'false'}")
    if extra and p.key_extra:
        lines.append(f"key = [\"model\", {toml_string(extra)}]   # {p.model.name!r} repeats; with {extra!r} "
                     f"an entry is unique")
    lines += ["", "[board.fields]", f"model = {toml_string(p.model.source)}",
              f"{metric} = {toml_string(p.metric.source)}"]
    if extra and p.key_extra:
        lines.append(f"{extra} = {toml_string(p.key_extra.source)}")
    ci = interval_column(cand.columns)
    if ci is not None:
        lines.append(f"ci = {toml_string(ci.source)}   # a confidence interval: a lead inside it is a statistical tie")
    others = [c for c in cand.columns if c.selectable and (by_key or c.source != KEY_SOURCE)
              and all(c is not x for x in (p.model, p.metric, p.key_extra, ci))]
    if others:
        lines.append("# other columns: uncomment a line to keep that column too")
        lines += [f"# {_field_line(c, field_name(c.name, taken))}" for c in others[:MAX_OTHER]]
        if len(others) > MAX_OTHER:
            lines.append(f"# ... and {len(others) - MAX_OTHER} more columns")
    return "\n".join(lines) + "\n"


_INTERVAL = re.compile(r"^\s*(?:[+±]\s*\d+(?:\.\d+)?\s*(?:/\s*[-−]\s*\d+(?:\.\d+)?)?|[-−]\s*\d+(?:\.\d+)?\s*/\s*\+"
                       r"\s*\d+(?:\.\d+)?)\s*$")


def interval_column(columns: tuple[Column, ...] | list[Column]) -> Column | None:
    """The column that holds confidence intervals ("+5/-4", "±5"), if one does: most filled cells look like that."""
    for c in columns:
        cells = [x for x in c.cells if x and x.strip()]
        if c.selectable and cells and sum(bool(_INTERVAL.match(x)) for x in cells) >= 0.8 * len(cells):
            return c
    return None


def _field_line(column: Column, name: str) -> str:
    if profile(column).numeric:
        return f"{name} = {{ from = {toml_string(column.source)}, type = \"number\" }}"
    return f"{name} = {toml_string(column.source)}"


@dataclass(frozen=True)
class Appended:
    """A validated addition to a config file: the bytes to append, and the settings the result loads as."""

    path: Path
    suffix: bytes
    settings: Settings

    def write(self) -> None:
        """Append the bytes; the text before them is never rewritten."""
        try:
            with self.path.open("ab") as fh:
                fh.write(self.suffix)
        except OSError as exc:
            raise ConfigError(f"cannot write config file {self.path}: {exc.strerror}; nothing written") from exc


def append_board(path: Path, block: str, board_id: str) -> Appended:
    """Plan appending `block` to the config file (created when missing) and load the result as the config would
    be loaded; ConfigError, with nothing written, when it would not load."""
    try:
        old = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    nl = "\r\n" if b"\r\n" in old else "\n"
    sep = (NEW_FILE_HEADER if not old else "") if not old.strip() else (nl if old.endswith(b"\n") else nl + nl)
    suffix = (sep + block).replace("\r\n", "\n").replace("\n", nl).encode("utf-8")
    try:
        data = tomllib.loads((old + suffix).decode("utf-8"))
        settings = config.parse(data, base=path.resolve().parent, path=path)
        settings.board(board_id)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError) as exc:
        raise ConfigError(f"{path}: with the new board the config would not load ({exc}); nothing written") from exc
    return Appended(path, suffix, settings)
