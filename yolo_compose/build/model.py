"""Building a YAML with ultralytics' own model classes, in restricted mode (step 1 of the package doc)."""

from __future__ import annotations

import contextlib
import copy
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
import yaml

from .. import integration
from ..composer import naming
from ..composer.rules import is_safe_activation
from ..errors import BuildError, exception_line

if TYPE_CHECKING:
    pass

def stdout_to_stderr(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run `func` with stdout sent to stderr: stdout carries the command's result only.

    Ultralytics logs to stdout (its first import even announces a new settings file there) and
    binds its log handler to whatever sys.stdout is when it is imported.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with contextlib.redirect_stdout(sys.stderr):
            return func(*args, **kwargs)

    return wrapper


def _model_class(task: str) -> type:
    """Ultralytics' model class for a task."""
    cls = integration.model_class(task)
    if cls is None:
        supported = ", ".join(integration.TASK_MODEL_CLASSES)
        raise BuildError(f"cannot build a {task!r} model (supported: {supported})")
    return cls


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and message with newlines folded."""
    unknown = integration.unknown_module_name(exc)
    if unknown is not None:
        return f"unknown module {unknown!r}: not an ultralytics module nor registered with yolo-compose"
    return exception_line(exc)


def _check_activation(model: dict[str, Any], source_name: str) -> None:
    """Refuse an `activation:` that restricted mode would not build (see composer.rules)."""
    act = model.get("activation")
    if act is not None and not (isinstance(act, str) and is_safe_activation(act)):
        raise BuildError(
            f"activation {act!r} is not a torch.nn class called with literal args; refusing to eval it",
            path=source_name,
        )


def parse_model_dict(yaml_text: str, *, source_name: str, scale: str | None) -> dict[str, Any]:
    """The YAML as the plain dict ultralytics builds from, with the scale it will use."""
    try:
        model = yaml.load(yaml_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise BuildError(f"not valid YAML: {one_line(exc)}", path=source_name) from None
    if not isinstance(model, dict):
        raise BuildError("not a model YAML (expected a mapping)", path=source_name)
    _check_activation(model, source_name)
    scales = model.get("scales") or {}
    chosen = naming.choose_scale(scales, requested=scale, name=source_name, written=model.get("scale"))
    if scales and chosen not in scales:
        raise BuildError(
            f"scale {chosen!r} is not in the model's scales ({', '.join(scales)})", path=source_name
        )
    model["scale"] = chosen
    model["yaml_file"] = source_name
    return model


def build_from_dict(model_dict: dict[str, Any], *, source_name: str) -> torch.nn.Module:
    """Build a parsed model dict with ultralytics (restricted mode); errors name the layer."""
    integration.register_with_ultralytics()
    task = integration.model_task(model_dict)
    scale = model_dict.get("scale") or ""
    cls = _model_class(task)
    try:
        with restricted(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = cls(copy.deepcopy(model_dict), ch=model_dict.get("channels", 3), verbose=False)
    except BuildError:
        raise
    except Exception as exc:
        layer = integration.failing_layer(exc.__traceback__)
        where = f" (scale {scale})" if scale else ""
        raise BuildError(f"cannot build{where}: {one_line(exc)}", path=source_name, layer=layer) from None
    model.eval()
    model.task_name = task
    model.composed_rows = copy.deepcopy(model_dict["backbone"] + model_dict["head"])  # args as written
    return model


@stdout_to_stderr
def build_model(yaml_text: str, *, source_name: str, scale: str | None) -> torch.nn.Module:
    """Build YAML text with ultralytics for one scale (None: the file name's, else the first).

    Raises BuildError naming the layer that failed. The model is returned in eval mode.
    """
    model_dict = parse_model_dict(yaml_text, source_name=source_name, scale=scale)
    return build_from_dict(model_dict, source_name=source_name)


@contextmanager
def restricted() -> Iterator[None]:
    """Ultralytics' restricted build mode (see the module docstring); a hard guarantee.

    Where the installed ultralytics has no restricted mode, nothing is built: building without
    it would ``eval()`` the YAML's ``activation:``.
    """
    with integration.restricted_mode() as available:
        if not available:
            raise BuildError(
                "the installed ultralytics cannot build in restricted mode (no _SafeLoad); "
                "yolo-compose needs ultralytics>=8.4.126 to build a model safely"
            )
        yield
