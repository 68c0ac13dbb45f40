"""The editing verbs: ``insert``, ``remove``, ``replace``, ``apply``, each a pipeline of steps.

Each verb makes its edit (composer, torch-free) and picks the output, then runs the tail they
share, in this order:

1. ``--weights``: the checkpoint read and checked against the base (a bad one stops here, before
   any build), and the path the new checkpoint will take (refused if it exists);
2. the build: probe the strides, fill the resolution args, run and measure (``build/``; without
   a build, the edit's warnings say what only a build can do);
3. ``--weights``: the checked checkpoint carried across the edit (not yet written);
4. the text: the edited YAML, its first line naming the base and the command that made it (the
   provenance line; none with ``provenance=False``);
5. the write: the YAML to its file (never clobbering without ``force``) or stdout, with the
   checkpoint beside it: both written, or neither.

Nothing here prints or renders: a verb returns an :class:`EditOutcome` for the renderers. The
build and the weights are imported only by the steps that run them, so an edit without a build
and without weights imports no torch. Library errors are raised as they are (ComposeError).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..composer.commands import command_line
from ..composer.edit import (
    compose_insert,
    compose_remove,
    compose_replace,
    input_path,
    note_unchecked_replace,
    note_unfilled_resolution,
    output_target,
)
from ..composer.files import emit_output
from ..composer.provenance import base_shown, provenance_line, recipe_command, recipe_ref, with_provenance
from ..composer.recipe import apply_recipe
from ..composer.templates import load_named
from ..errors import ComposeError, Hint, Param
from ..modules import get
from ..modules.registry import identity_init_args

if TYPE_CHECKING:
    from ..build import BuildSummary
    from ..composer.edit import EditResult
    from ..weights.report import Transfer
    from ..weights.transfer import CheckedCheckpoint

#: The image size a build checks when neither the caller nor a recipe names one.
DEFAULT_IMGSZ = 640


@dataclass(frozen=True)
class WriteOptions:
    """Where and how an edit is written: the output, the checkpoint carried, the provenance line.

    `output`: a file name, None for the edit's default name, ``"-"`` for stdout. `weights`: the
    base's checkpoint, carried to ``<output stem>.pt`` (needs an output file).
    """

    output: str | None = None
    force: bool = False
    weights: str | Path | None = None
    trust_checkpoint: bool = False
    provenance: bool = True

    def __post_init__(self) -> None:
        if self.weights is not None and self.output == "-":
            raise ComposeError(
                "the new checkpoint is written beside the YAML as <output stem>.pt, so the output "
                "cannot be stdout", param=Param.weights, hint=Hint.output_file,
            )


@dataclass(frozen=True)
class BuildOptions:
    """Whether and how the edited model is built: `scale` also names the output; `imgsz` None is
    640 (``apply``: the recipe's, else 640)."""

    build: bool = True
    scale: str | None = None
    imgsz: int | None = None
    all_scales: bool = False


@dataclass(frozen=True)
class EditOutcome:
    """What a verb made: the edit, the file written (None: stdout), the build summary (None
    without a build) and the weight transfer (None without ``weights``)."""

    edit: EditResult
    target: Path | None
    summary: BuildSummary | None = None
    transfer: Transfer | None = None


def insert(
    base: str,
    module: str,
    *,
    after: list[str] | None = None,
    before: list[str] | None = None,
    args: list[Any] | None = None,
    zero_init: bool | None = None,
    write: WriteOptions = WriteOptions(),
    build: BuildOptions = BuildOptions(),
) -> EditOutcome:
    """Insert `module` after (or before) layers of `base`, build, write; see the module docstring.

    `zero_init` (default: on with weights) gives the new layers ``zero_init=True`` where the
    module has it, so the carried model starts as the base did.
    """
    row_args = identity_init_args(get(module), args) if _identity(zero_init, write) else args
    edit = compose_insert(base, module, after=after, before=before, args=row_args, scale=build.scale)
    target = _target(edit, write)
    made_by = _edit_command("insert", edit, after=after, before=before, args=row_args)
    return _finish(edit, target, write, build, made_by=made_by)


def remove(base: str, layer: str, *, write: WriteOptions = WriteOptions()) -> EditOutcome:
    """Remove a single-input layer of `base` (its consumers read its input) and write; no build."""
    edit = compose_remove(base, layer)
    target = _target(edit, write)
    return _finish(edit, target, write, BuildOptions(build=False),
                   made_by=_edit_command("remove", edit, target=layer))


def replace(
    base: str,
    layer: str,
    module: str,
    *,
    args: list[Any] | None = None,
    write: WriteOptions = WriteOptions(),
    build: BuildOptions = BuildOptions(),
) -> EditOutcome:
    """Replace a layer of `base` by `module` (same index), build (which checks the channels), write."""
    edit = compose_replace(base, layer, module, args=args, scale=build.scale)
    target = _target(edit, write)
    made_by = _edit_command("replace", edit, target=layer, args=args)
    return _finish(edit, target, write, build, made_by=made_by)


def apply(
    recipe: str,
    *,
    base: str | None = None,
    params: dict[str, str] | None = None,
    templates: list[str] | None = None,
    zero_init: bool | None = None,
    write: WriteOptions = WriteOptions(),
    build: BuildOptions = BuildOptions(),
) -> EditOutcome:
    """Apply a recipe file or template (its `params` filled) to `base` (default: the recipe's).

    The scale and image size default to the recipe's; `zero_init` (default: on with weights)
    gives its inserts ``zero_init=True``. The provenance line names the recipe run.
    """
    loaded = load_named(recipe, templates or [])
    loaded = loaded.with_params(params) if params else loaded
    scale = build.scale or (loaded.scales[0] if loaded.scales else None)
    identity = _identity(zero_init, write)
    edit = apply_recipe(loaded.with_identity_init() if identity else loaded, base, scale=scale)
    target = _target(edit, write)
    ref = loaded.ref if loaded.ref != loaded.path else recipe_ref(loaded.path, target)
    imgsz = build.imgsz or loaded.imgsz or DEFAULT_IMGSZ
    chosen = BuildOptions(build=build.build, scale=scale, imgsz=imgsz, all_scales=build.all_scales)
    return _finish(edit, target, write, chosen, made_by=recipe_command(ref, params or {}, zero_init=identity))


def _identity(zero_init: bool | None, write: WriteOptions) -> bool:
    """Whether new layers start as the identity: as asked, else exactly when weights are carried."""
    return write.weights is not None if zero_init is None else zero_init


def _target(edit: EditResult, write: WriteOptions) -> Path | None:
    """The output file (None: stdout), checked before anything is built."""
    return output_target(write.output, edit.default_output_name, source=input_path(edit), force=write.force)


def _edit_command(action: str, edit: EditResult, *, target: str = "", after: list[str] | None = None,
                  before: list[str] | None = None, args: list[Any] | None = None) -> str:
    """The command a provenance line records for one edit (its module by its catalogue name)."""
    module = edit.module.name if edit.module is not None else ""
    subject = module if action == "insert" else target
    return command_line(action, subject, after=after or (), before=before or (),
                        with_module=module if action == "replace" else None, args=args)


def _finish(
    edit: EditResult,
    target: Path | None,
    write: WriteOptions,
    build: BuildOptions,
    *,
    made_by: str,
) -> EditOutcome:
    """The tail every verb shares: check weights, build, carry weights, provenance, write.

    The build's errors and summary name the file the YAML goes to (stdout: the edit's default name).
    """
    checked, checkpoint = _check_weights(edit, target, write, scale=build.scale)
    summary = _build(edit, build, output_name=None if target is None else str(target))
    transfer = _carry_weights(edit, checked, target)
    text = _yaml_text(edit, target, made_by if write.provenance else None)
    _write_outputs(text, target, transfer, checkpoint, force=write.force)
    return EditOutcome(edit, target, summary, transfer)


def _check_weights(
    edit: EditResult, target: Path | None, write: WriteOptions, *, scale: str | None
) -> tuple[CheckedCheckpoint | None, Path | None]:
    """With weights, before the edited model is built: the checkpoint read and checked against the
    base (a bad one stops here, in one line), and the path the new checkpoint will take."""
    if write.weights is None or target is None:
        return None, None
    from ..weights import check_edit_checkpoint

    return check_edit_checkpoint(edit, write.weights, target, scale=scale,
                                 trust_checkpoint=write.trust_checkpoint, force=write.force)


def _build(edit: EditResult, build: BuildOptions, *, output_name: str | None) -> BuildSummary | None:
    """Build and measure the edited model (None without a build: the edit's warnings then say
    which args keep their defaults and which channel checks wait for a build)."""
    if not build.build:
        note_unfilled_resolution(edit)
        note_unchecked_replace(edit)
        return None
    from ..build import build_and_summarize

    imgsz = DEFAULT_IMGSZ if build.imgsz is None else build.imgsz
    summary: BuildSummary = build_and_summarize(edit, scale=build.scale, imgsz=imgsz,
                                                all_scales=build.all_scales, output_name=output_name)
    return summary


def _carry_weights(
    edit: EditResult, checked: CheckedCheckpoint | None, target: Path | None
) -> Transfer | None:
    """With weights: the checked checkpoint carried across the edit (not yet written)."""
    if checked is None or target is None:
        return None
    from ..weights import transfer_edit_checkpoint

    return transfer_edit_checkpoint(edit, checked, target)


def _yaml_text(edit: EditResult, target: Path | None, made_by: str | None) -> str:
    """The YAML to write: the edited text, its first line naming what made it (`made_by`, the
    command or recipe run; None: no provenance line). An old provenance line is replaced."""
    if made_by is None:
        return edit.dump()
    line = provenance_line(__version__, base_shown(edit.base, target), edit.source_text, made_by)
    return with_provenance(edit.dump(), line)


def _write_outputs(
    text: str, target: Path | None, transfer: Transfer | None, checkpoint: Path | None, *, force: bool
) -> None:
    """The YAML (and the checkpoint, with weights): both written, or neither."""
    if transfer is None:
        emit_output(text, target, force=force)
        return
    from ..weights import write_yaml_and_checkpoint

    write_yaml_and_checkpoint(lambda: emit_output(text, target, force=force), transfer, checkpoint)
