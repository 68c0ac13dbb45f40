"""A new row's args: checked against the module's catalogue entry, parsed from JSON, and set in place."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...errors import EditError, Param
from ..layout import (
    Patch,
    apply_patches,
    flow_text,
    is_spaced,
)
from ..spec import ModelSpec
from .checks import check_editable

if TYPE_CHECKING:
    from ...modules.registry import ModuleSpec

def set_args(spec: ModelSpec, index: int, values: dict[int, Any]) -> bool:
    """Write args of layer `index` (``{position: value}``) into the spec's text; True if it changed.

    The args list is rewritten in the row's bracket style; missing positions before a given one
    must already be in the row (the caller fills defaults).
    """
    layer = spec.layers[index]
    args = list(layer.args)
    for position, value in sorted(values.items()):
        if position > len(args):
            raise EditError(f"cannot set arg {position} of a row with {len(args)} args", layer=index)
        if position == len(args):
            args.append(value)
        else:
            args[position] = value
    if args == list(layer.args) and all(type(a) is type(b) for a, b in zip(args, layer.args, strict=True)):
        return False
    check_editable(spec)
    node = layer.row_node.value[3]
    start, end = spec.span(node)
    spaced = is_spaced(spec.text[slice(*spec.span(layer.row_node))])
    spec.replace_text(apply_patches(spec.text, [Patch(start, end, flow_text(args, spaced=spaced))]))
    return True


#: Deepest nesting of lists accepted in --args (a module's args are flat or one list deep).
MAX_ARGS_NESTING = 16


def parse_args_json(text: str) -> list[Any]:
    """Parse the `--args` option: a JSON list such as ``[2, 1]``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(f"{text[:80]!r} is not valid JSON: {exc.msg} (a list such as '[2, 1]')",
                        param=Param.args) from None
    except RecursionError:
        value = None
    if value is None or _nesting(value) > MAX_ARGS_NESTING:
        raise EditError(f"lists nest deeper than {MAX_ARGS_NESTING} levels", param=Param.args)
    if not isinstance(value, list):
        raise EditError(f"must be a JSON list such as [2, 1], got {text[:80]!r}", param=Param.args)
    return value


def _nesting(value: Any) -> int:
    """How deep lists and mappings nest in a JSON value (0 for a scalar); stops past the limit."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_ARGS_NESTING:
                break
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def catalogue_entry(module: ModuleSpec | str) -> ModuleSpec:
    """A registry spec from a name (imported here: the registry imports the composer's errors)."""
    if not isinstance(module, str):
        return module
    from ...modules import get

    return get(module)


def checked_args(module: ModuleSpec, args: list[Any] | None) -> list[Any]:
    """The row's args, the user's or the module's defaults, checked against the module's schema.

    The same check `validate` runs (YC032), before anything is built or written.
    """
    row_args = list(module.default_args) if args is None else args
    if not isinstance(row_args, list):
        raise EditError(f"args for {module.name} must be a list, got {row_args!r}")
    problems = module.arg_problems(row_args)
    if problems:
        raise EditError(f"{module.name} {problems[0][1]} (args {_json_text(row_args)})")
    return list(row_args)


def _json_text(value: Any) -> str:
    """A value as the JSON the user typed (NaN stays NaN), for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
