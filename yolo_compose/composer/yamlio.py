"""The one YAML factory of the project: ruamel round-trip, tuned to give ultralytics files back.

Facts (ruamel.yaml 0.19, checked on every model YAML bundled with ultralytics): indent
mapping=2, sequence=4, offset=2 and a wide line reproduce the files byte for byte except that
booleans come back lower-case; :class:`_TitleCaseBoolRepresenter` writes ``True``/``False`` the
way ultralytics writes them. Only objects made here use it; other ``YAML()`` users are untouched.

Loading never constructs Python objects: the round-trip loader keeps an unknown tag as a tagged
value, and :func:`parse_text` then refuses any ``!!python/...`` tag outright, so such a tag can
neither run code here nor be copied into a composed file that a less careful loader reads later.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from ..errors import YamlSyntaxError

#: Files larger than this are refused before parsing (a model YAML is a few KiB).
MAX_YAML_BYTES = 2 * 1024 * 1024


class _TitleCaseBoolRepresenter(RoundTripRepresenter):
    """Round-trip representer that writes booleans as ``True``/``False``, as ultralytics does."""

    def represent_bool(self, data: Any) -> Any:
        return self.represent_scalar("tag:yaml.org,2002:bool", "True" if data else "False")


_TitleCaseBoolRepresenter.add_representer(bool, _TitleCaseBoolRepresenter.represent_bool)


def make_yaml() -> YAML:
    """Return a new round-trip YAML object configured for ultralytics model files."""
    yaml = YAML(typ="rt")
    yaml.Representer = _TitleCaseBoolRepresenter
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


PYTHON_TAG_PREFIXES = ("tag:yaml.org,2002:python/", "!!python/", "!python/")


def _tag_of(node: Any) -> str | None:
    """The explicit tag ruamel kept on a loaded node, if any."""
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", tag)
    return value if isinstance(value, str) else None


def _python_tag_line(node: Any, depth: int = 0) -> tuple[str, int | None] | None:
    """(tag, 1-based line) of the first ``!!python/...`` tag in a loaded document, else None."""
    if depth > 200:
        return None
    tag = _tag_of(node)
    if tag and tag.startswith(PYTHON_TAG_PREFIXES):
        line = getattr(getattr(node, "lc", None), "line", None)
        return tag, (line + 1 if isinstance(line, int) else None)
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found = _python_tag_line(child, depth + 1)
        if found:
            return found
    return None


def reject_python_tags(data: Any, source: str | Path | None = None) -> None:
    """Refuse documents that carry ``!!python/...`` tags (object construction, code execution)."""
    found = _python_tag_line(data)
    if found:
        tag, line = found
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        raise YamlSyntaxError(f"refusing the Python tag {shown}: model YAMLs never need one", path=source,
                              line=line)


def parse_text(text: str, source: str | Path | None = None) -> Any:
    """Parse YAML text with the round-trip loader; syntax errors name file, line and column."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlSyntaxError(
            f"file is {len(text)} bytes; a model YAML is expected under {MAX_YAML_BYTES}",
            path=source,
        )
    try:
        data = make_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = f", column {mark.column + 1}" if mark is not None else ""
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise YamlSyntaxError(f"invalid YAML{col}: {problem}", path=source, line=line) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise YamlSyntaxError(f"invalid YAML: {first}", path=source) from None
    except RecursionError:
        raise YamlSyntaxError("YAML nesting is too deep", path=source) from None
    reject_python_tags(data, source)
    return data


def dump_text(data: Any) -> str:
    """Serialise a round-trip document back to text."""
    stream = io.StringIO()
    make_yaml().dump(data, stream)
    return stream.getvalue()
