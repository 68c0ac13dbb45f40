"""The attention-module registry: what the composer and the CLI know about each module.

Importing this file imports no torch. Each :class:`ModuleSpec` names its class by import path
(``"yolo_compose.modules.halo:HaloAttention"``); the class is imported only by
:meth:`ModuleSpec.load_class`, when a model is built. Keys are normalised (lower case, no
``-``/``_``), so ``Halo``, ``halo`` and ``HALO`` are one name; aliases point to the same spec.

Third-party modules join in two ways: a package declares an entry point in the group
``yolo_compose.modules`` whose object is a :class:`ModuleSpec` (or a list of them), or a user
module calls :func:`register` and is imported with ``--import my_pkg.my_module``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnknownModuleError

ENTRY_POINT_GROUP = "yolo_compose.modules"


@dataclass(frozen=True)
class ArgSpec:
    """One YAML argument of a module (the args after the injected input channels)."""

    name: str
    type: str  # "int", "float", "bool", "list[int]", ...
    default: Any
    help: str
    #: Non-empty when the composer fills it from imgsz and the stride at the insertion point:
    #: "w" = feature-map width, "h" = feature-map height, "size" = one int for a square map.
    resolution: str = ""
    #: False for an option a default row leaves out (``zero_init``: written only when it is set,
    #: so a plain insert writes the paper's row, ``[2, 1, 4, 0]``).
    in_default_row: bool = True


@dataclass(frozen=True)
class ModuleSpec:
    """Everything the composer, validator and CLI need to know about one attention module."""

    name: str  # short CLI name, e.g. "halo"
    yaml_name: str  # class name written in the YAML row, e.g. "HaloAttention"
    target: str  # "package.module:ClassName" of the nn.Module
    summary: str
    args: tuple[ArgSpec, ...] = ()
    aliases: tuple[str, ...] = ()
    yaml_aliases: tuple[str, ...] = ()  # other YAML class names users write for it
    complexity: str = "O(N)"  # in pixels N = H*W of the feature map: "O(N)" or "O(N^2)"
    levels: tuple[str, ...] = ("P3", "P4", "P5")  # recommended pyramid levels
    size_constraints: str = "any H, W"
    amp_notes: str = ""
    paper: str = ""
    keeps_channels: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def default_args(self) -> list[Any]:
        """The YAML args written when the user gives no --args: every arg up to the first option
        that default rows leave out."""
        args = []
        for arg in self.args:
            if not arg.in_default_row:
                break
            args.append(arg.default)
        return args

    def load_class(self) -> type:
        """Import and return the nn.Module class (this is where torch gets imported)."""
        module_name, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attr)


def normalize(name: str) -> str:
    """Registry key of a name: case- and separator-insensitive."""
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


_SPECS: dict[str, ModuleSpec] = {}  # canonical name -> spec
_KEYS: dict[str, str] = {}  # normalised name, alias or YAML name -> canonical name
_entry_points_loaded = False


def register(spec: ModuleSpec, *, replace: bool = False) -> ModuleSpec:
    """Add a module spec; its name, aliases and YAML names all become lookup keys."""
    keys = {normalize(k) for k in (spec.name, spec.yaml_name, *spec.aliases, *spec.yaml_aliases)}
    taken = {k: _KEYS[k] for k in keys if k in _KEYS and _KEYS[k] != spec.name}
    if taken and not replace:
        clash = ", ".join(f"{k!r} (used by {v!r})" for k, v in sorted(taken.items()))
        raise ValueError(f"cannot register module {spec.name!r}: name already taken: {clash}")
    _SPECS[spec.name] = spec
    for key in keys:
        _KEYS[key] = spec.name
    return spec


def _load_entry_points() -> None:
    """Register specs that installed packages declare under the `yolo_compose.modules` group.

    A spec whose name is taken by one registered before (a built-in, or an ``--import``) is
    skipped, so a name means the same module however early it was looked up.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        for spec in loaded if isinstance(loaded, (list, tuple)) else [loaded]:
            if isinstance(spec, ModuleSpec):
                with contextlib.suppress(ValueError):
                    register(spec)


def import_user_modules(names: list[str] | tuple[str, ...]) -> None:
    """Import user modules (``--import my_pkg.my_module``) so that their register() calls run."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UnknownModuleError(f"--import {name}: {exc}") from None


def all_specs() -> list[ModuleSpec]:
    """Every registered module, built-ins first, in registration order."""
    _load_entry_points()
    return list(_SPECS.values())


def find(name: str) -> ModuleSpec | None:
    """The spec for a short name, alias or YAML class name, or None.

    Installed packages' entry points are read only when the name is not already registered:
    reading them scans every installed distribution (about 15 ms), a third of a static command.
    """
    canonical = _KEYS.get(normalize(name))
    if canonical is None:
        _load_entry_points()
        canonical = _KEYS.get(normalize(name))
    return _SPECS[canonical] if canonical else None


def get(name: str) -> ModuleSpec:
    """The spec for a name; an unknown name raises an error listing the valid ones."""
    spec = find(name)
    if spec is not None:
        return spec
    valid = sorted({s.name for s in _SPECS.values()})
    close = difflib.get_close_matches(normalize(name), list(_KEYS), n=3)
    hint = f" (did you mean {', '.join(sorted({_KEYS[c] for c in close}))}?)" if close else ""
    raise UnknownModuleError(f"unknown module {name!r}{hint}; valid: {', '.join(valid)}")


def yaml_names() -> dict[str, ModuleSpec]:
    """Every YAML class name we provide (including YAML aliases) mapped to its spec."""
    return {n: s for s in all_specs() for n in (s.yaml_name, *s.yaml_aliases)}
