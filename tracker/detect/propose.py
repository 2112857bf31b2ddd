"""Column roles for a new board: which column names the entries (`model`), which one is the metric, its direction."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from ..config.specs import KEY_SOURCE, SLUG
from ..errors import ParseError
from ..normalize import canonical, clean_name, is_missing, parse_number
from .tables import Candidate, Column

MODEL_WORDS = ("model", "name", "system", "method", "models", "submission", "agent", "architecture", "network",
               "entry", "llm", "team")
METRIC_WORDS = ("score", "accuracy", "acc", "elo", "rating", "resolved", "top1", "top-1", "pass@1", "passrate", "f1",
                "em", "bleu", "map", "auc", "rouge", "exact", "win", "winrate", "mean", "average", "avg", "overall")
LOWER_WORDS = ("error", "err", "loss", "rank", "perplexity", "ppl", "wer", "cer", "fid", "latency", "time", "cost",
               "seconds", "ms", "mae", "mse", "rmse")
NOT_METRIC_WORDS = ("rank", "ranking", "votes", "vote", "count", "params", "param", "parameters", "size", "year",
                    "id", "ci", "std", "stderr", "#", "n", "no", "num", "samples", "img", "image", "tokens", "date",
                    "context", "license", "price", "crop", "pct", "version")
# a cell that is a number (what the normalizer reads is laxer: it finds "18" in "resnet18")
NUMBER = re.compile(r"^[~≈<>≤≥]?\s*[-+−–]?\.?\d[\d,.'\u2009\u202f ]*\s*(%|[kmbgt]\b)?\s*(\(.*\)|(±|\+/-|\+-).*)?$",
                    re.IGNORECASE)
KEY_WORDS = ("img_size", "size", "resolution", "version", "setting", "variant", "split", "shots", "date")


@dataclass(frozen=True)
class Profile:
    """What a column holds: numbers or text, how many cells have a value, and whether its values are unique."""

    column: Column
    numeric: bool
    filled: int
    unique: bool
    distinct: int


@dataclass(frozen=True)
class Proposal:
    """A new board: its id, title and url, the table, and the columns chosen for model, metric and key."""

    board_id: str
    title: str
    url: str
    candidate: Candidate
    model: Column
    metric: Column
    higher_is_better: bool
    key_extra: Column | None = None
    render: bool = False  # the page was rendered in headless Chromium: the board renders it on every run

    def with_roles(self, model: Column | None = None, metric: Column | None = None,
                   higher_is_better: bool | None = None, board_id: str | None = None) -> Proposal:
        """The proposal with the given roles changed (and the key re-derived for them)."""
        p = replace(self, model=model or self.model, metric=metric or self.metric,
                    higher_is_better=self.higher_is_better if higher_is_better is None else higher_is_better,
                    board_id=board_id or self.board_id,
                    title=(board_id or self.title) if self.title == self.board_id else self.title)
        return replace(p, key_extra=key_column(p.candidate, p.model, p.metric))


def words(header: str) -> set[str]:
    """The words of a header, lower case, with neighbours also joined ("Top 1" -> top, 1, top1)."""
    parts = re.findall(r"[a-z0-9@#]+", header.lower())
    out = set(parts) | {a + b for a, b in itertools.pairwise(parts)} | set(re.findall(r"[a-z0-9]+", header.lower()))
    out |= {header.lower().strip()}
    return out | {w.replace("-", "") for w in out}


def profile(column: Column) -> Profile:
    """Count a column's values, numbers and distinct values (case-insensitively)."""
    values = [c for c in column.cells if c is not None and not is_missing(c)]
    numbers = sum(bool(NUMBER.match(c.strip())) and parse_number(c) is not None for c in values)
    distinct = len({canonical(clean_name(c)) for c in values})
    return Profile(column, bool(values) and numbers >= 0.8 * len(values), len(values),
                   bool(values) and distinct == len(column.cells), distinct)


def lower_is_better(header: str) -> bool:
    """True when the header names a quantity where less is better (error, loss, rank, perplexity, latency, ...)."""
    w = words(header)
    return any(x in w for x in LOWER_WORDS) and not any(x in w for x in ("accuracy", "acc", "score"))


def model_column(cand: Candidate) -> Column | None:
    """The text column that names the entries: header words first, then unique values, then leftmost."""
    best: tuple[tuple[int, int, int, int], Column] | None = None
    for i, p in enumerate(profile(c) for c in cand.columns):
        if not p.column.selectable or p.numeric or not p.filled:
            continue
        cells = [c for c in p.column.cells if c]
        if cells and sum(c.startswith(("http://", "https://")) for c in cells) > len(cells) / 2:
            continue
        w = words(p.column.name)
        hit = next((len(MODEL_WORDS) - j for j, x in enumerate(MODEL_WORDS) if x in w), 0)
        score = (hit, int(p.unique), p.distinct, -i)
        if best is None or score > best[0]:
            best = (score, p.column)
    return best[1] if best else None


def metric_column(cand: Candidate, model: Column | None = None) -> Column | None:
    """The numeric column to track: metric header words first (score, accuracy, top1, pass@1, ...), then leftmost."""
    best: tuple[tuple[int, int, int, int], Column] | None = None
    for i, p in enumerate(profile(c) for c in cand.columns):
        if not p.column.selectable or not p.numeric or p.column is model or p.column.source == KEY_SOURCE:
            continue
        w = words(p.column.name)
        hit = next((len(METRIC_WORDS) - j for j, x in enumerate(METRIC_WORDS) if x in w), 0)
        penalty = -1 if any(x in w for x in NOT_METRIC_WORDS) and not hit else 0
        score = (penalty, hit, int(not lower_is_better(p.column.name)), -i)
        if best is None or score > best[0]:
            best = (score, p.column)
    return best[1] if best else None


def key_column(cand: Candidate, model: Column, metric: Column) -> Column | None:
    """When model names repeat (one row per model and image size), a column that makes (model, it) unique."""
    if profile(model).unique:
        return None
    names = [canonical(clean_name(c or "")) for c in model.cells]
    best: tuple[tuple[int, int], Column] | None = None
    for c in cand.columns:
        if c is model or c is metric or not c.selectable:
            continue
        hit = any(x in words(c.name) for x in KEY_WORDS)
        if not hit and (profile(c).numeric or any(x in words(c.name) for x in NOT_METRIC_WORDS)):
            continue  # a rank or a score changes between versions: it cannot be part of an entry's identity
        pairs = {(n, canonical(clean_name(v or ""))) for n, v in zip(names, c.cells, strict=True)}
        if len(pairs) != len(names) or any(v is None or is_missing(v) for v in c.cells):
            continue
        score = (int(hit), -profile(c).distinct)
        if best is None or score > best[0]:
            best = (score, c)
    return best[1] if best else None


def slug(target: str) -> str:
    """A board id from a URL or path: the file's name without extension, else the host name."""
    parsed = urlparse(target) if "://" in target else None
    path = unquote(parsed.path) if parsed else target
    stem = PurePosixPath(re.sub(r"\.(gz|zip)$", "", path.replace("\\", "/"), flags=re.IGNORECASE)).stem
    if stem.lower() in ("", "index", "leaderboard", "leaderboards", "data", "results", "api", "default") and parsed:
        host = (parsed.hostname or "").removeprefix("www.")
        stem = f"{host}-{stem}" if stem and host else host or stem
    out = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")
    return out if SLUG.match(out) else "board"


def propose(cand: Candidate, url: str, written_url: str, board_id: str | None = None,
            title: str | None = None) -> Proposal:
    """Model, metric, direction and id for a candidate table; ParseError when no board could read it."""
    model = model_column(cand)
    names = ", ".join(c.name for c in cand.columns) or "(none)"
    if model is None:
        raise ParseError(f"{url}: {cand.label} has no text column to name the entries (columns: {names})")
    metric = metric_column(cand, model)
    if metric is None:
        raise ParseError(f"{url}: {cand.label} has no numeric column to track (columns: {names}); a board needs "
                         f"a metric column of numbers")
    bid = board_id or slug(url)
    return Proposal(bid, title or cand.title or bid, written_url, cand, model, metric, not lower_is_better(metric.name),
                    key_column(cand, model, metric))
