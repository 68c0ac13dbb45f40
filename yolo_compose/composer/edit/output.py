"""Where an edit's result goes: its default file name and the checks on an output path.

The default name keeps the scale letter where ultralytics reads it (``yolo11n-halo.yaml``); an
output may never be the input file, a folder, or an existing file unless forced.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import Hint, OutputExistsError
from ..files import output_problem
from ..naming import scaled_name
from ..spec import ModelSpec

if TYPE_CHECKING:
    from .result import EditResult


def output_name(base_name: str, suffix: str, scale: str | None = None) -> str:
    """`<base name with scale>-<suffix>.yaml`; `scale` replaces or adds the letter of a yolo name.

    The scale letter must stay in the file name: ultralytics guesses the scale from it.
    """
    return f"{scaled_name(base_name, scale)}-{suffix}.yaml"


def source_name(spec: ModelSpec) -> str:
    """The stem of the spec's file, for default output names."""
    return Path(spec.source).stem if spec.source else "model"


def output_target(output: str | None, default_name: str, *, source: str | None, force: bool) -> Path | None:
    """Where the YAML goes: None for stdout (``-o -``), else a path that may be written.

    Refuses to overwrite an existing file without `force`, and the input file ever.
    """
    if output == "-":
        return None
    path = Path(output) if output else Path(default_name)
    if source is not None and path.exists() and path.resolve() == Path(source).resolve():
        raise OutputExistsError(f"output {str(path)!r} is the input file", hint=Hint.other_output)
    if path.is_dir():
        raise OutputExistsError(f"output {str(path)!r} is a directory", hint=Hint.output_file)
    if path.exists() and not force:
        raise OutputExistsError(f"output {str(path)!r} exists", hint=Hint.overwrite)
    if not path.parent.is_dir():
        raise OutputExistsError(f"output folder {str(path.parent)!r} does not exist")
    problem = output_problem(path)
    if problem:
        raise OutputExistsError(f"output {str(path)!r} {problem}")
    return path


def input_path(edit: EditResult) -> str | None:
    """The file the edit read (a bundled base's real path), which an output may never overwrite."""
    return str(edit.base.path) if edit.base is not None else edit.spec.source
