"""Recipes: several edits of a model in one small YAML file, applied in order as one change.

A recipe (read with the project's one reader, :mod:`.reader`)::

    name: halo-p5                        # names the output: <base>-halo-p5.yaml
    description: HaloAttention after SPPF, at P5 ...
    base: yolo11n                        # optional; --base overrides it
    bases: [yolo11, yolov8]              # optional: the families it is made for (templates)
    where: P5, after SPPF                # optional: one line for `templates`
    scales: [n]                          # optional: the scales to build (the first is built)
    imgsz: 640                           # optional: the image size to build at
    params: {module: halo}               # optional: {module} below takes --set module=...
    edits:
      - insert: "{module}"
        after: SPPF                      # a SPEC or a list of them; or before: ...
        args: [2, 1]                     # optional
      - replace: C2PSA
        with: halo
      - remove: 9

Each edit is the command of the same name, with the same SPEC forms and args; it addresses the
model as the edits before it left it. The whole recipe is one change: one index_map from the
base's layers to the result's, every written row marked.

A written file names the recipe that made it in its first line (:mod:`.provenance`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ComposeError, Hint, Location
from .bases import Base
from .commands import command_line
from .edit import (
    REASON_CROSSES,
    REASON_READS_INPUT,
    REASON_READS_NEW,
    REASON_SHIFTED,
    EditAction,
    EditResult,
    EditStep,
    Rewire,
    insert_layers,
    load_base,
    output_name,
    remove_layer,
    replace_layer,
)
from .files import read_input
from .reader import MappingNodes, mapping_nodes, read_document
from .spec import Layer, ModelSpec

ACTIONS: tuple[EditAction, ...] = ("insert", "remove", "replace")
_KEYS = {"name", "description", "base", "bases", "where", "scales", "imgsz", "params", "edits"}
_EDIT_KEYS = {"insert": {"after", "before", "args"}, "replace": {"with", "args"}, "remove": set()}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
TEMPLATE_PREFIX = "template:"


class RecipeError(ComposeError):
    """A recipe that cannot be read, or that does not fit the base it is applied to."""


@dataclass(frozen=True)
class RecipeEdit:
    """One edit of a recipe, as written (placeholders filled in), with its line in the recipe."""

    action: EditAction
    line: int
    target: str = ""  # remove/replace: the SPEC
    module: str = ""  # insert/replace: the module
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    args: list[Any] | None = None

    def described(self) -> str:
        """The edit in words, for messages: ``insert halo after SPPF``, ``replace C3k2 with cbam``."""
        if self.action == "remove":
            return f"remove {self.target}"
        if self.action == "replace":
            return f"replace {self.target} with {self.module}"
        places = [f"after {t}" for t in self.after] + [f"before {t}" for t in self.before]
        return f"insert {self.module} {', '.join(places)}"

    def command_line(self) -> str:
        """The edit as a command that makes it again (the provenance line's form, see
        :func:`.commands.command_line`)."""
        subject = self.module if self.action == "insert" else self.target
        with_module = self.module if self.action == "replace" else None
        return command_line(self.action, subject, after=self.after, before=self.before,
                            with_module=with_module, args=self.args)


@dataclass(frozen=True)
class Recipe:
    """A read recipe: what it is for and its edits."""

    path: str  # as shown in messages
    name: str
    description: str = ""
    base: str | None = None
    bases: tuple[str, ...] = ()
    where: str = ""
    scales: tuple[str, ...] = ()
    imgsz: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    edits: tuple[RecipeEdit, ...] = ()
    text: str = ""
    ref: str = ""  # how the provenance line names it: a path or template:NAME

    def with_params(self, values: dict[str, str]) -> Recipe:
        """The recipe with `values` for its params (unknown names refused), placeholders filled."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise RecipeError(f"recipe {self.name!r} has no param {', '.join(unknown)} (its params: {known})",
                              path=self.path)
        return load_recipe_text(self.text, self.path, ref=self.ref, params={**self.params, **values})

    def with_identity_init(self) -> Recipe:
        """The recipe with every insert's module starting as the identity (``zero_init``, where the
        module has the option): what ``apply --weights`` writes, so fine-tuning starts at the base."""
        from ..modules import find
        from ..modules.registry import identity_init_args

        def identity(edit: RecipeEdit) -> RecipeEdit:
            module = find(edit.module) if edit.action == "insert" else None
            # an unknown module is left for apply_recipe, which names the recipe's line
            return edit if module is None else replace(edit, args=identity_init_args(module, edit.args))

        return replace(self, edits=tuple(identity(edit) for edit in self.edits))


def load_recipe(path: str | Path, *, ref: str | None = None) -> Recipe:
    """Read a recipe file; every problem is one line naming the file and line."""
    return load_recipe_text(read_input(path)[0], str(path), ref=ref)


def load_recipe_text(
    text: str, path: str, *, ref: str | None = None, params: dict[str, str] | None = None
) -> Recipe:
    """Read a recipe from its text (`path` is what messages name)."""
    document = read_document(text, path)
    data, nodes = document.data, mapping_nodes(document.root)
    if not isinstance(data, dict) or "edits" not in data:
        raise RecipeError("not a recipe: expected a mapping with an `edits:` list", path=path)
    unknown = sorted(str(key) for key in data if key not in _KEYS)
    if unknown:
        raise RecipeError(f"unknown key {unknown[0]!r}; a recipe has {', '.join(sorted(_KEYS))}", path=path,
                          line=nodes[unknown[0]][0].start_mark.line + 1)
    declared = {str(k): str(v) for k, v in (data.get("params") or {}).items()}
    values = {**declared, **(params or {})}
    edits_node = nodes["edits"][1]
    if not isinstance(data["edits"], list) or not data["edits"]:
        raise RecipeError("`edits:` must be a non-empty list", path=path, line=edits_node.start_mark.line + 1)
    edits = tuple(
        _read_edit(item, node.start_mark.line + 1, path, values)
        for item, node in zip(data["edits"], edits_node.value, strict=True)
    )
    return Recipe(
        path=path,
        name=str(data.get("name") or Path(path).stem),
        description=" ".join(str(data.get("description") or "").split()),
        base=None if data.get("base") is None else str(data["base"]),
        bases=tuple(str(b) for b in _as_list(data.get("bases"))),
        where=str(data.get("where") or ""),
        scales=tuple(str(s) for s in _as_list(data.get("scales"))),
        imgsz=_imgsz(data.get("imgsz"), path, nodes),
        params=values,
        edits=edits,
        text=text,
        ref=ref if ref is not None else path,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _imgsz(value: Any, path: str, nodes: MappingNodes) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 32 or value % 32:
        raise RecipeError(f"imgsz must be a positive multiple of 32, got {value!r}", path=path,
                          line=nodes["imgsz"][0].start_mark.line + 1)
    return value


def _fill(value: Any, values: dict[str, str], path: str, line: int) -> Any:
    """`value` with each ``{param}`` in its strings replaced by the param's value."""
    if isinstance(value, list):
        return [_fill(item, values, path, line) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            problem = f"{{{match.group(1)}}} is not a param of this recipe; declare it under `params:`"
            raise RecipeError(problem, path=path, line=line)
        return values[match.group(1)]

    return _PLACEHOLDER.sub(one, value)


def _read_edit(item: Any, line: int, path: str, values: dict[str, str]) -> RecipeEdit:
    """One item of `edits:`, checked: exactly one action, only the keys that action takes."""
    where: Location = {"path": path, "line": line}
    if not isinstance(item, dict):
        raise RecipeError(f"an edit is a mapping such as {{insert: halo, after: SPPF}}, got {item!r}",
                          **where)
    actions = [key for key in ACTIONS if key in item]
    if len(actions) != 1:
        raise RecipeError(f"an edit names exactly one of {', '.join(ACTIONS)}, got {sorted(map(str, item))}",
                          **where)
    action = actions[0]
    extra = sorted(str(key) for key in item if key != action and key not in _EDIT_KEYS[action])
    if extra:
        raise RecipeError(f"{action} takes {', '.join(sorted(_EDIT_KEYS[action])) or 'no options'}, "
                          f"not {', '.join(extra)}", **where)
    item = {key: _fill(value, values, path, line) for key, value in item.items()}
    args = item.get("args")
    if args is not None and not isinstance(args, list):
        raise RecipeError(f"args must be a list, got {args!r}", **where)
    if action == "insert":
        after = tuple(str(t) for t in _as_list(item.get("after")))
        before = tuple(str(t) for t in _as_list(item.get("before")))
        if not after and not before:
            raise RecipeError("insert needs after: or before: (a SPEC or a list of them)", **where)
        return RecipeEdit("insert", line, module=str(item["insert"]), after=after, before=before, args=args)
    if action == "replace":
        if "with" not in item:
            raise RecipeError("replace needs with: MODULE", **where)
        return RecipeEdit("replace", line, target=str(item["replace"]), module=str(item["with"]), args=args)
    return RecipeEdit("remove", line, target=str(item["remove"]))


# --- applying ---------------------------------------------------------------------------------------


def apply_recipe(recipe: Recipe, base: str | Path | None = None, *, scale: str | None = None) -> EditResult:
    """Apply every edit of `recipe` to `base` (or the recipe's own base): one combined EditResult.

    An edit that does not fit gets one line naming the recipe file, the edit's line, the edit
    and the base. Nothing is written.
    """
    chosen = base if base is not None else recipe.base
    if chosen is None:
        raise RecipeError(f"recipe {recipe.name!r} names no base", path=recipe.path, hint=Hint.give_base)
    resolved, spec = load_base(chosen)
    return apply_recipe_to(recipe, resolved, spec, scale=scale)


def apply_recipe_to(
    recipe: Recipe, resolved: Base, spec: ModelSpec, *, scale: str | None = None
) -> EditResult:
    """Apply every edit of `recipe` to an already loaded base `spec` (edited in place); see apply_recipe."""
    input_text = spec.text
    results = []
    for number, edit in enumerate(recipe.edits, start=1):
        try:
            results.append(_apply_edit(spec, edit))
        except ComposeError as exc:
            raise RecipeError(
                f"edit {number} `{edit.described()}` does not fit base {resolved.name}: {exc}",
                path=recipe.path, line=edit.line,
            ) from None
    result = combine(spec, results, input_text)
    result.base = resolved
    result.default_output_name = output_name(resolved.name, recipe.name, scale)
    return result


def _apply_edit(spec: ModelSpec, edit: RecipeEdit) -> EditResult:
    if edit.action == "insert":
        return insert_layers(spec, edit.module, after=edit.after, before=edit.before, args=edit.args)
    if edit.action == "replace":
        return replace_layer(spec, edit.target, edit.module, args=edit.args)
    return remove_layer(spec, edit.target)


def _through(index: int | None, maps: list[dict[int, int]]) -> int | None:
    """An index carried through several index maps (None once a map drops it)."""
    for index_map in maps:
        if index is None:
            return None
        index = index_map.get(index)
    return index


def combine(spec: ModelSpec, results: list[EditResult], input_text: str) -> EditResult:
    """Several edits of one spec, made one after another, as one change from `input_text`."""
    maps = [r.index_map for r in results]
    base_layers = ModelSpec.from_text(input_text, spec.source).layers
    index_map = {
        layer.index: new for layer in base_layers if (new := _through(layer.index, maps)) is not None
    }
    steps: list[EditStep] = []
    written: dict[int, Any] = {}
    inserted: set[int] = set()
    replaced: set[int] = set()
    for k, result in enumerate(results):
        later = maps[k + 1 :]
        for step in result.steps:
            indices = tuple(i for i in (_through(i, later) for i in step.new_indices) if i is not None)
            steps.append(replace(step, new_indices=indices))
        for old, module in result.modules_at.items():
            new = _through(old, later)
            if new is not None:
                written[new] = module
        inserted |= {i for i in (_through(i, later) for i in result.inserted) if i is not None}
        replaced |= {i for i in (_through(i, later) for i in result.replaced) if i is not None}
    replaced -= inserted
    first = results[0]
    return EditResult(
        spec=spec,
        action=first.action if len(results) == 1 else "apply",
        target=first.target,
        target_module=first.target_module,
        placement=first.placement,
        module=first.module,
        new_index=_through(first.new_index, maps[1:]) if first.new_index is not None else None,
        removed_index=first.removed_index,
        row=first.row,
        index_map=index_map,
        rewired=_rewired_between(base_layers, spec, index_map, inserted),
        inserted=sorted(inserted),
        comments_renumbered=sum(r.comments_renumbered for r in results),
        steps=steps,
        modules_at=written,
        replaced=sorted(replaced),
        source_text=input_text,
    )


def _rewired_between(
    base_layers: list[Layer], spec: ModelSpec, index_map: dict[int, int], inserted: set[int]
) -> list[Rewire]:
    """Every `from` of a kept layer whose text or layer changed between the base and the result."""
    changes = []
    for layer in base_layers:
        new = index_map.get(layer.index)
        if new is None:
            continue
        now = spec.layers[new]
        pairs = zip(layer.refs, layer.sources, now.refs, now.sources, strict=False)
        for ref, source, new_ref, new_source in pairs:
            expected = source if source < 0 else index_map.get(source)
            if new_source == expected and new_ref == ref:
                continue
            if new_source == expected:
                why = REASON_SHIFTED if ref >= 0 else REASON_CROSSES
            else:
                why = REASON_READS_NEW if new_source in inserted else REASON_READS_INPUT
            changes.append(Rewire(new, layer.index, now.module, ref, new_ref, why))
    return changes


__all__ = [
    "Recipe",
    "RecipeEdit",
    "RecipeError",
    "apply_recipe",
    "apply_recipe_to",
    "combine",
    "load_recipe",
]
