"""Planning a sweep: which placements of one module to try, each composed into its own variant.

Torch-free: everything here is the composer's work, so a bad module, SPEC, template or base is a
one-line usage error before torch is imported.

Placements:

- by default, one variant **after every layer insert accepts** (every layer whose output is a
  feature map: a placement ``insert`` refuses, such as after ``Detect``, is not generated) and
  one **before the head** (``--before Detect``: one new layer per head input);
- ``--at SPEC`` is a placement *after* SPEC, ``--at before:SPEC`` one *before* it (``after:SPEC``
  is accepted too); SPEC takes every form of ``insert --after`` and a SPEC that selects several
  layers (``C3k2:all``) gives one variant per layer;
- ``--template NAME`` applies a recipe (its ``module`` param set to the swept module; its own
  args kept).

Given ``--at`` or ``--template``, only those placements are swept.

The base is read once; each variant is one insert into a fresh spec of that text. Variant names
are file stems, stable and filename-safe, and keep the scale letter where ultralytics reads it:
``yolo11n-halo-after8``, ``yolo11n-halo-beforeDetect``, ``yolo11n-halo-before5``,
``yolo11n-attention-before-detect`` (a template: apply's name).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..composer.address import resolve_layers
from ..composer.bases import Base
from ..composer.edit import EditResult, insert_layers, load_base, output_name
from ..composer.naming import guess_scale, scaled_name
from ..composer.provenance import base_shown, provenance_line, recipe_command, recipe_ref, with_provenance
from ..composer.recipe import apply_recipe_to
from ..composer.spec import Layer, ModelSpec
from ..errors import ComposeError, EditError
from ..integration.roles import HEAD_MODULES

if TYPE_CHECKING:
    from ..composer.recipe import Recipe
    from ..modules.registry import ModuleSpec

AFTER, BEFORE, TEMPLATE = "after", "before", "template"
_PREFIXES = (f"{AFTER}:", f"{BEFORE}:")


@dataclass(frozen=True)
class Placement:
    """Where one variant puts the module: after or before a layer of the base, or a template."""

    kind: str  # AFTER, BEFORE or TEMPLATE
    target: int | None = None  # the base layer's index (None for a template)
    target_module: str = ""
    template: str = ""  # the recipe's name, for a template

    @property
    def label(self) -> str:
        """The part of the variant's name after the module: ``after8``, ``beforeDetect``, ``before5``."""
        if self.kind == TEMPLATE:
            return self.template
        if self.kind == BEFORE and self.target_module in HEAD_MODULES:
            return f"before{self.target_module}"
        return f"{self.kind}{self.target}"

    @property
    def text(self) -> str:
        """For people: ``after 8 (C3k2)``, ``before 23 (Detect)``, ``template halo-p5``."""
        if self.kind == TEMPLATE:
            return f"template {self.template}"
        return f"{self.kind} {self.target} ({self.target_module})"

    @property
    def order(self) -> tuple[int, int]:
        """Sort key in layer order: before T comes just before after T; templates last."""
        if self.target is None:
            return (1 << 30, 0)
        return (self.target, 0 if self.kind == BEFORE else 1)


@dataclass
class Variant:
    """One placement composed at one scale: the edit, its file name and how to make it again."""

    name: str  # file stem, e.g. yolo11n-halo-after8
    scale: str
    position: int  # 1, 2, ... in placement order (0 is the base)
    placement: Placement
    edit: EditResult
    made_by: str = ""  # the command the provenance line names: `insert halo --after 8`
    recipe: Recipe | None = None  # a template's recipe (the line then names it: `apply REF`)
    recipe_values: dict[str, str] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.name}.yaml"

    def text(self, base: Base, base_text: str, folder: Path) -> str:
        """The variant's YAML as written into `folder`: the provenance line, then the edited text.

        The line `apply` writes, naming the command that makes the file again (`validate`
        re-applies a template's recipe to check such a file, YC070).
        """
        target = folder / self.file_name
        by = self.made_by
        if self.recipe is not None:
            recipe = self.recipe
            ref = recipe.ref if recipe.ref != recipe.path else recipe_ref(recipe.path, target)
            by = recipe_command(ref, self.recipe_values)
        header = provenance_line(__version__, base_shown(base, target), base_text, by)
        return with_provenance(self.edit.dump(), header)


@dataclass
class SweepPlan:
    """Every variant to build: the base (read once), the module, the scales, the placements."""

    module: ModuleSpec
    base: Base
    base_text: str
    base_spec: ModelSpec
    scales: list[str]
    placements: list[Placement]
    variants: list[Variant] = field(default_factory=list)
    args: list[Any] | None = None

    def base_name(self, scale: str) -> str:
        """The base's row name (and file stem in the sweep folder) at `scale`: ``yolo11n``."""
        return _with_scale(self.base.name, scale, len(self.scales))

    def variant_name(self, edit: EditResult, scale: str) -> str:
        """A variant's row name and file stem: the edit's default output name, scale kept."""
        return _with_scale(Path(edit.default_output_name).stem, scale, len(self.scales))

    def variants_at(self, scale: str) -> list[Variant]:
        return [variant for variant in self.variants if variant.scale == scale]


def parse_at(text: str) -> tuple[str, str]:
    """(``after`` or ``before``, SPEC) from an ``--at`` value: ``8``, ``before:Detect``, ``after:SPPF``."""
    stripped = text.strip()
    for prefix in _PREFIXES:
        if stripped.lower().startswith(prefix):
            return prefix[:-1], stripped[len(prefix):].strip()
    return AFTER, stripped


def default_output_folder(base: Base, module: ModuleSpec, scale: str) -> str:
    """``sweep-<base with scale>-<module>``, e.g. sweep-yolo11n-halo."""
    return f"sweep-{scaled_name(base.name, scale)}-{module.name}"


def plan_sweep(
    module: ModuleSpec,
    base: str | Path,
    *,
    at: Sequence[str] = (),
    templates: Sequence[Recipe] = (),
    scales: Sequence[str] = (),
    args: list[Any] | None = None,
) -> SweepPlan:
    """Read the base once, choose the placements and compose every variant at every scale.

    Raises a ComposeError (usage error) for a bad base, SPEC, scale, args or a placement that
    insert refuses when it was asked for by ``--at``; a default placement insert refuses is left out.
    """
    resolved, spec = load_base(base)
    chosen = _scales(spec, resolved, scales)
    plan = SweepPlan(module, resolved, spec.text, spec, chosen, [], args=args)
    if at:  # asked for: a placement insert refuses is the user's to see (its error, exit 2)
        explicit = [p for text in at for p in _placements_at(spec, text)]
    else:
        explicit = [] if templates else default_placements(spec, module)
    placements = sorted(dict.fromkeys(explicit), key=lambda p: p.order)
    recipes = {recipe.name: recipe for recipe in templates}
    plan.placements = placements + [Placement(TEMPLATE, template=name) for name in recipes]
    for scale in chosen:
        for position, placement in enumerate(plan.placements, start=1):
            recipe = recipes.get(placement.template)
            variant = (_compose(plan, placement, scale) if recipe is None
                       else _compose_template(plan, recipe, scale))
            variant.position = position
            plan.variants.append(variant)
    if not plan.variants:
        raise EditError(f"no placement of {module.name} to sweep in {resolved.name}", path=spec.source)
    names = [variant.name for variant in plan.variants]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice or plan.base_name(chosen[0]) in names:
        clash = ", ".join(twice) or plan.base_name(chosen[0])
        raise EditError(f"two rows of the sweep would be named {clash}; rename a template", path=spec.source)
    return plan


def default_placements(spec: ModelSpec, module: ModuleSpec) -> list[Placement]:
    """After every layer insert accepts, plus before the head (the last layer, when it is a head).

    Insert's own rules decide (each candidate is tried on a fresh copy of the text): a placement
    it refuses, such as after Detect, is left out rather than reported.
    """
    candidates = [_placement(AFTER, layer) for layer in spec.layers]
    head = spec.layers[-1]
    if head.module in HEAD_MODULES:
        candidates.append(_placement(BEFORE, head))
    return [placement for placement in candidates if _insert_accepts(spec, module, placement)]


def _insert_accepts(spec: ModelSpec, module: ModuleSpec, placement: Placement) -> bool:
    """Whether insert takes this placement."""
    target = [str(placement.target)]
    try:
        insert_layers(ModelSpec.from_text(spec.text, spec.source), module,
                      after=target if placement.kind == AFTER else [],
                      before=target if placement.kind == BEFORE else [])
    except EditError:
        return False
    return True


def _placement(kind: str, layer: Layer) -> Placement:
    return Placement(kind, layer.index, layer.module)


def _placements_at(spec: ModelSpec, text: str) -> list[Placement]:
    """The placements one ``--at`` value asks for (one per layer its SPEC selects)."""
    kind, layer_spec = parse_at(text)
    return [_placement(kind, layer) for layer in resolve_layers(spec, layer_spec)]


def _compose(plan: SweepPlan, placement: Placement, scale: str) -> Variant:
    """Insert the module at one placement into a fresh spec of the base's text."""
    spec = ModelSpec.from_text(plan.base_text, plan.base_spec.source)
    targets = [str(placement.target)]
    edit = insert_layers(spec, plan.module, after=targets if placement.kind == AFTER else [],
                         before=targets if placement.kind == BEFORE else [], args=plan.args)
    edit.base = plan.base
    edit.default_output_name = output_name(plan.base.name, f"{plan.module.name}-{placement.label}", scale)
    words = ["insert", plan.module.name, f"--{placement.kind}", str(placement.target)]
    if plan.args is not None:
        words += ["--args", json.dumps(plan.args)]
    made_by = " ".join(shlex.quote(word) for word in words)
    return Variant(plan.variant_name(edit, scale), scale, 0, placement, edit, made_by)


def _compose_template(plan: SweepPlan, recipe: Recipe, scale: str) -> Variant:
    """Apply a template's recipe to a fresh spec of the base's text (its `module` param set)."""
    values = {"module": plan.module.name} if "module" in recipe.params else {}
    loaded = recipe.with_params(values) if values else recipe
    spec = ModelSpec.from_text(plan.base_text, plan.base_spec.source)
    edit = apply_recipe_to(loaded, plan.base, spec, scale=scale)
    placement = Placement(TEMPLATE, template=recipe.name)
    name = plan.variant_name(edit, scale)
    return Variant(name, scale, 0, placement, edit, recipe=loaded, recipe_values=values)


def _scales(spec: ModelSpec, base: Base, asked: Sequence[str]) -> list[str]:
    """The scales to build: those asked for, else the base name's letter, else the first defined."""
    defined = list(spec.scales)
    chosen = list(dict.fromkeys(asked)) or [base.scale or (defined[0] if defined else "")]
    for scale in chosen:
        if defined and scale not in defined:
            raise ComposeError(f"scale {scale!r} is not defined by this model; valid: {', '.join(defined)}",
                               path=spec.source)
    return chosen


def _with_scale(name: str, scale: str, scale_count: int) -> str:
    """`name` with the scale where ultralytics reads it; a name it reads none from gets ``-<scale>``
    when several scales are swept, so that every row's file name differs."""
    scaled = scaled_name(name, scale)
    if scale and scale_count > 1 and guess_scale(scaled) != scale:
        return f"{scaled}-{scale}"
    return scaled
