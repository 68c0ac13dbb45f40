"""Provenance: the first line of a written model YAML says what made it, and `validate` checks it.

Every command that writes a model YAML (``insert``, ``remove``, ``replace``, ``apply``) puts one
comment line first::

    # made by yolo-compose 0.1.0 from yolo11n (sha256:0123456789ab) by insert halo --after 8

the version, the base (its bundled name, or its path from the written file's folder, and the
first 12 hex digits of the SHA-256 of the text that was edited) and what made it: the command with
its SPECs and args, every word quoted for a shell, or the recipe run (``apply recipe.yaml``,
``apply template:NAME --set module=cbam``). An edit of a file that already starts with such a line
replaces that line rather than stacking a second one, so the line always describes the last edit
and hashes its input; every other byte is the edit's. The library's edits (:mod:`.edit`) never
write the line: it belongs to the written output.

YAML, ultralytics, the scale guess (taken from the file name) and our reader all read past a
comment. :func:`provenance_drift` re-runs the recorded command or recipe on the recorded base and
reports a file that it no longer produces (``validate``'s YC070). A base that can no longer be
found (a file since moved, stdin) gives no claim either way.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ComposeError
from .bases import Base, resolve_base
from .edit import EditResult, compose_insert, compose_remove, compose_replace, parse_args_json, set_args
from .files import STDIN_NAME
from .spec import ModelSpec

if TYPE_CHECKING:  # the recipe module is read only to check drift: writing a line needs none of it
    from .recipe import RecipeEdit

HEADER = re.compile(
    r"^# made by yolo-compose (?P<version>\S+) from (?P<base>.+?) \(sha256:(?P<hash>[0-9a-f]{12})\) "
    r"by (?P<by>.+?)\r?$"
)
#: How `apply` records that the recipe's inserts were written with ``zero_init`` (``--weights``).
ZERO_INIT_FLAG = "--zero-init"


def text_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of a text (as UTF-8): a base's short fingerprint."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def provenance_line(version: str, base_shown: str, base_text: str, by: str) -> str:
    """``# made by yolo-compose X from BASE (sha256:...) by BY`` (no line break)."""
    return f"# made by yolo-compose {version} from {base_shown} (sha256:{text_hash(base_text)}) by {by}"


def recipe_command(ref: str, values: dict[str, str], *, zero_init: bool = False) -> str:
    """How the provenance line names a recipe run: ``apply REF [--set k=v ...] [--zero-init]``."""
    sets = [f"--set {shlex.quote(f'{k}={v}')}" for k, v in sorted(values.items())]
    return " ".join(["apply", shlex.quote(ref), *sets, *([ZERO_INIT_FLAG] if zero_init else [])])


def with_provenance(text: str, line: str) -> str:
    """`text` with `line` first (after a byte-order mark); an old provenance line is replaced."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    brk = "\r\n" if "\r\n" in body else "\n"
    first, _, rest = body.partition("\n")
    if HEADER.match(first):
        body = rest
    return f"{bom}{line}{brk}{body}"


def read_header(text: str) -> re.Match[str] | None:
    """The provenance line at the top of `text` (after a byte-order mark), or None."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return HEADER.match(text[len(bom):].partition("\n")[0])


def recipe_ref(recipe_path: str | Path, output: str | Path | None) -> str:
    """A file's path as the written file should name it: relative to the written file's folder."""
    if output is None:
        return str(recipe_path)
    try:
        return os.path.relpath(Path(recipe_path).resolve(), Path(output).resolve().parent)
    except ValueError:  # another drive on Windows
        return str(Path(recipe_path).resolve())


def base_shown(base: Base | None, output: str | Path | None) -> str:
    """How the provenance line names a base: its bundled name, else its path from the file's folder
    (stdin stays ``<stdin>``: there is no file to name)."""
    if base is None:
        return "model"
    if base.bundled:
        return base.name
    return STDIN_NAME if str(base.path) == STDIN_NAME else recipe_ref(base.path, output)


def command_edit(by: str) -> RecipeEdit | None:
    """The edit a provenance line's command names (``insert halo --after 8 --args '[2, 1]'``), or
    None when the words are not a command yolo-compose writes."""
    from .recipe import ACTIONS, RecipeEdit

    try:
        words = shlex.split(by)
    except ValueError:
        return None
    if len(words) < 2 or words[0] not in ACTIONS or len(words) % 2:
        return None
    action, subject = words[0], words[1]
    options: dict[str, list[str]] = {"--after": [], "--before": [], "--with": [], "--args": []}
    for flag, value in zip(words[2::2], words[3::2], strict=True):
        if flag not in options:
            return None
        options[flag].append(value)
    try:
        args = parse_args_json(options["--args"][-1]) if options["--args"] else None
    except ComposeError:
        return None
    if action == "insert":
        return RecipeEdit("insert", 1, module=subject, after=tuple(options["--after"]),
                          before=tuple(options["--before"]), args=args)
    if action == "replace":
        if len(options["--with"]) != 1:
            return None
        return RecipeEdit("replace", 1, target=subject, module=options["--with"][0], args=args)
    return RecipeEdit("remove", 1, target=subject) if len(words) == 2 else None


def provenance_drift(
    text: str, path: str, *, find_template: Callable[[str], Path | None]
) -> tuple[int, str] | None:
    """(line, message) when `text`'s first line names a command or recipe that no longer makes it.

    Re-runs what the line names on the base it names and compares the texts: a hand edit, a
    changed recipe or a changed base all show. A file without the line, or whose base can no
    longer be found (so nothing can be compared), is not judged.
    """
    header = read_header(text)
    if header is None:
        return None
    by, shown = header.group("by"), header.group("base")
    folder = Path(path).parent
    base = _recorded_base(shown, folder)
    if base is None:
        return None
    try:
        result = _reapply(by, base, folder, find_template) if by.startswith("apply ") else _rerun(by, base)
    except _Unrunnable as exc:
        return 1, str(exc)
    except ComposeError as exc:
        return 1, f"the first line names `{by}`, which no longer applies to {shown}: {exc}"
    _keep_filled_args(result, text)
    made_by = header.group("version"), shown
    expected = with_provenance(result.dump(), provenance_line(*made_by, result.source_text, by))
    if expected == text:
        return None
    line = _first_difference(text, expected)
    why = ("the base changed since" if text_hash(result.source_text) != header.group("hash")
           else "hand-edited, or the recipe changed" if by.startswith("apply ") else "hand-edited")
    return line, (f"this file no longer is what `{by}` makes from {shown} "
                  f"(line {line} differs; {why}); make it again or drop the first line")


class _Unrunnable(Exception):
    """The first line names something that cannot be re-run (a recipe that is gone, an unknown command)."""


def _recorded_base(shown: str, folder: Path) -> str | Path | None:
    """The base a provenance line names: a file beside (or relative to) the written file, or a
    bundled name; None when it is neither (moved, deleted, stdin)."""
    local = folder / shown
    if local.is_file():
        return local
    try:
        resolved = resolve_base(shown)
    except ComposeError:
        return None
    return shown if resolved.bundled else None


def _reapply(
    by: str, base: str | Path, folder: Path, find_template: Callable[[str], Path | None]
) -> EditResult:
    """The result of the recipe run ``apply REF [--set k=v ...] [--zero-init]`` on `base`."""
    from .recipe import TEMPLATE_PREFIX, Recipe, apply_recipe, load_recipe

    words = shlex.split(by)[1:]
    ref, rest = words[0], words[1:]
    zero_init = ZERO_INIT_FLAG in rest
    sets = [w for w in rest if w != ZERO_INIT_FLAG]
    values = dict(w.split("=", 1) for w in sets[1::2] if "=" in w)
    is_template = ref.startswith(TEMPLATE_PREFIX)
    recipe_path = find_template(ref[len(TEMPLATE_PREFIX):]) if is_template else folder / ref
    if recipe_path is None or not Path(recipe_path).is_file():
        raise _Unrunnable(f"the first line names recipe {ref!r}, which cannot be found")
    recipe: Recipe = load_recipe(recipe_path, ref=ref).with_params(values)
    return apply_recipe(recipe.with_identity_init() if zero_init else recipe, base)


def _rerun(by: str, base: str | Path) -> EditResult:
    """The result of the command ``insert|remove|replace ...`` on `base`."""
    edit = command_edit(by)
    if edit is None:
        raise _Unrunnable(f"the first line names `{by}`, which is not a yolo-compose edit it can re-run")
    if edit.action == "insert":
        after, before = list(edit.after), list(edit.before)
        return compose_insert(base, edit.module, after=after, before=before, args=edit.args)
    if edit.action == "replace":
        return compose_replace(base, edit.target, edit.module, args=edit.args)
    return compose_remove(base, edit.target)


def _keep_filled_args(result: EditResult, text: str) -> None:
    """Take the resolution args a build wrote into the file (imgsz // stride, see `insert`): a
    static re-run cannot know them, and they follow from the build, not from the edit."""
    try:
        written = ModelSpec.from_text(text)
    except ComposeError:
        return
    for index, module in result.modules_at.items():
        positions = [k for k, arg in enumerate(module.args) if arg.resolution]
        if not positions or index >= len(written.layers) or written.layers[index].module != module.yaml_name:
            continue
        args = written.layers[index].args
        values = {k: args[k] for k in positions if k < len(args)}
        if values:
            current = len(result.spec.layers[index].args)
            filled = {k: module.args[k].default for k in range(current, max(values) + 1)}
            set_args(result.spec, index, {**filled, **values})


def _first_difference(a: str, b: str) -> int:
    """1-based number of the first line where two texts differ."""
    for number, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), start=1):
        if x != y:
            return number
    return min(len(a.splitlines()), len(b.splitlines())) + 1


__all__ = [
    "HEADER",
    "ZERO_INIT_FLAG",
    "base_shown",
    "command_edit",
    "provenance_drift",
    "provenance_line",
    "read_header",
    "recipe_command",
    "recipe_ref",
    "text_hash",
    "with_provenance",
]
