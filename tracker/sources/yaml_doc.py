"""YAML documents: safe loading (plain data only, aliases bounded), then exactly the json format's rules."""

from __future__ import annotations

import re
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, Source, decode, one_line
from .json_api import as_text, document_rows

MAX_ALIAS_NODES = 50_000  # nodes that aliases may add beyond the document's own ("billion laughs" stops here)
MAX_YAML_CHARS = 5_000_000  # the pure-Python parser reads about 0.3 MB/s; a bigger board should use JSON


class _Loader(yaml.SafeLoader):
    """SafeLoader (no python/* tags) whose numbers remember the text written and whose keys are strings.

    `rows` filters and functions see what YAML 1.1 makes of a plain scalar (numbers compare as numbers, `false`
    and `no` are false), as before; a field's value is the text written: `3.10` stays "3.10" where a float would
    say 3.1, `0755` stays "0755" (YAML 1.1: 493), and `1:20` (sexagesimal 80) or `0x1F` are text. Decimal
    numbers are int/float subclasses that carry their text (YamlInt, YamlFloat); timestamps and binaries are
    text; explicit tags (!!int 5) still type a value.
    """

    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping with every key as text (1 -> "1", true -> "true"), as JSON would have it."""
        data = super().construct_mapping(node, deep=deep)
        return {k if isinstance(k, str) else (as_text(k) or "null"): v for k, v in data.items()}


class YamlInt(int):
    """An integer of a YAML document that remembers how it was written (as_text gives that back)."""

    text: str


class YamlFloat(float):
    """A float of a YAML document that remembers how it was written (as_text gives that back)."""

    text: str


# JMESPath's functions (sort_by, max, sum, type, ...) tell types apart by `type(x).__name__`: these are numbers
YamlInt.__name__, YamlFloat.__name__ = "int", "float"


def _scalar_text(loader: _Loader, node: yaml.nodes.Node) -> str:
    """A timestamp or !!binary scalar as the text written (JSON has no dates or bytes)."""
    if not isinstance(node, yaml.nodes.ScalarNode):
        raise yaml.constructor.ConstructorError(None, None, f"{node.tag} must be a scalar", node.start_mark)
    return str(node.value)


def _number(loader: _Loader, node: yaml.nodes.Node) -> Any:
    """A plain decimal number as YamlInt/YamlFloat (its value as YAML reads it, its text as written); an
    explicitly tagged one as YAML reads it."""
    if not isinstance(node, yaml.nodes.ScalarNode):
        raise yaml.constructor.ConstructorError(None, None, f"{node.tag} must be a scalar", node.start_mark)
    value = (yaml.SafeLoader.construct_yaml_int if node.tag.endswith(":int") else
             yaml.SafeLoader.construct_yaml_float)(loader, node)
    if node.style is not None or not isinstance(value, int | float):  # "!!int '5'" or a quoted scalar
        return value
    out = YamlInt(value) if isinstance(value, int) else YamlFloat(value)
    out.text = str(node.value)
    return out


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _scalar_text)
_Loader.add_constructor("tag:yaml.org,2002:binary", _scalar_text)
_Loader.add_constructor("tag:yaml.org,2002:int", _number)
_Loader.add_constructor("tag:yaml.org,2002:float", _number)
_TEXT = (  # plain scalars YAML 1.1 retypes that stay text: sexagesimal, octal, hexadecimal, binary numbers
    re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"), re.compile(r"^[-+]?0[0-7_]+$"),
    re.compile(r"^[-+]?0x[0-9a-fA-F_]+$"), re.compile(r"^[-+]?0b[0-1_]+$"))
_Loader.yaml_implicit_resolvers = {  # the class's own table (PyYAML copies it per class the same way)
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":int", ":float", ":value"))]  # "=": text
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
    r"|[-+]?[0-9][0-9_]*\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


def _children(node: yaml.nodes.Node) -> list[yaml.nodes.Node]:
    if isinstance(node, yaml.nodes.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.nodes.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def expanded_size(root: yaml.nodes.Node, limit: int) -> tuple[int, int] | None:
    """(distinct nodes, nodes once every alias is expanded), counting stops past `limit`; None for a cycle."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.nodes.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        if done:
            open_.discard(id(node))
            size[id(node)] = min(limit + 1, 1 + sum(size[id(c)] for c in _children(node)))
            continue
        if id(node) in size:
            continue
        if id(node) in open_:
            return None  # an alias inside its own anchor: an endless document
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
    return len(size), size[id(root)]


def load_yaml(text: str, spec: BoardSpec, url: str) -> Any:
    """One YAML document as plain data (dicts, lists, text, numbers), or a ParseError naming board, URL and line."""
    if len(text) > MAX_YAML_CHARS:
        raise ParseError(f"{spec.id}: {url} is {len(text):,} characters of YAML, more than the {MAX_YAML_CHARS:,} "
                         f"read; use a JSON export of the same data (format = \"json\")")
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader refuses control characters here
        node = loader.get_single_node()
        if node is None:
            return None
        counted = expanded_size(node, MAX_ALIAS_NODES * 2 + len(text))
        if counted is None:
            raise ParseError(f"{spec.id}: {url} is YAML with an alias inside its own anchor (an endless "
                             f"document); it is not a leaderboard")
        if counted[1] - counted[0] > MAX_ALIAS_NODES:
            raise ParseError(f"{spec.id}: {url} is YAML whose aliases expand to more than {MAX_ALIAS_NODES:,} "
                             f"extra nodes (an alias bomb?); it is not read")
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        hint = ("safe loading reads plain data only: tags such as !!python/object are refused"
                if isinstance(exc, yaml.constructor.ConstructorError) else "fix the document or the board's url")
        problem = ", ".join(filter(None, (exc.context, exc.problem))) or str(exc)
        raise ParseError(f"{spec.id}: {url} is not valid YAML{at}: {one_line(problem, 200)}; {hint}") from None
    except yaml.YAMLError as exc:
        raise ParseError(f"{spec.id}: {url} is not valid YAML: {one_line(str(exc), 200)}") from None
    except RecursionError:
        raise ParseError(f"{spec.id}: {url} is YAML nested too deeply to read; it is not a leaderboard") from None
    finally:
        if loader is not None:
            loader.dispose()


class YamlSource(Source):
    """A YAML file (safe loading: plain data only): `rows` and the fields are JMESPath, as for format "json"."""

    kind = "yaml"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Load the document safely, then select rows and fields exactly as the json format does."""
        text, encoding = decode(page, spec)
        return document_rows(load_yaml(text, spec, page.url), page, spec, encoding)
