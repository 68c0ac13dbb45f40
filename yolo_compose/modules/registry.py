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

import ast
import contextlib
import difflib
import importlib
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import Param, UnknownModuleError

ENTRY_POINT_GROUP = "yolo_compose.modules"

#: How a module's cost grows with the pixels N = H*W of its feature map.
Complexity = Literal["O(N)", "O(N^2)"]
#: What the composer fills an arg from: "w"/"h" the feature map's width/height, "size" one int for
#: a square map, "" nothing (the user's value or the default).
Resolution = Literal["", "w", "h", "size"]


@dataclass(frozen=True)
class ArgSpec:
    """One YAML argument of a module (the args after the injected input channels)."""

    name: str
    type: str  # "int", "float", "bool", "list[int]", ...
    default: Any
    help: str
    #: Non-empty when the composer fills it from imgsz and the stride at the insertion point.
    resolution: Resolution = ""
    #: False for an option a default row leaves out (``zero_init``: written only when it is set,
    #: so a plain insert writes the paper's row, ``[2, 1, 4, 0]``).
    in_default_row: bool = True
    minimum: float | None = None  # smallest value allowed (each item of a list), None = no bound
    maximum: float | None = None  # largest value allowed, None = no bound
    odd: bool = False  # an integer that must be odd (a kernel size)
    choices: tuple[Any, ...] = ()  # the only values allowed, when non-empty

    def problem(self, value: Any, *, symbols: Collection[str] = ()) -> str:
        """Why `value` cannot be this arg ('' when it can).

        A string is read the way ultralytics' ``parse_model`` reads one: a name in `symbols`
        (``nc``) is resolved at build time and not judged here; anything else must be a Python
        literal (``"3"``) of the right type.
        """
        if value is None and self.default is None:
            return ""
        alternatives = self.type.replace(" ", "").split("|")
        if any(alt not in _TYPE_CHECKS for alt in alternatives):
            return ""  # a type this catalogue does not know is accepted rather than guessed at
        shown = value
        if isinstance(value, str) and "str" not in alternatives:
            if value in symbols:
                return ""
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return f"arg {self.name!r} must be {self.type}, got {shown!r}"
        if not any(_TYPE_CHECKS[alt](value) for alt in alternatives):
            return f"arg {self.name!r} must be {self.type}, got {shown!r}"
        return self._bounds_problem(value)

    def _bounds_problem(self, value: Any) -> str:
        """The first bound a well-typed value (or an item of a list value) breaks, else ''."""
        if self.choices and value not in self.choices:
            return f"arg {self.name!r} must be one of {', '.join(map(repr, self.choices))}, got {value!r}"
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            if self.minimum is not None and item < self.minimum:
                return f"arg {self.name!r} must be at least {self.minimum:g}, got {item!r}"
            if self.maximum is not None and item > self.maximum:
                return f"arg {self.name!r} must be at most {self.maximum:g}, got {item!r}"
            if self.odd and item % 2 == 0:
                return f"arg {self.name!r} must be odd, got {item!r}"
        return ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite int or float (NaN and infinity are never a module size or factor)."""
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


#: Checks of the type names ArgSpec.type uses; alternatives are written "int|list[int]".
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "None": lambda v: v is None,
    "list[int]": lambda v: isinstance(v, list) and bool(v) and all(_is_int(x) for x in v),
    "list[float]": lambda v: isinstance(v, list) and bool(v) and all(_is_number(x) for x in v),
}


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
    complexity: Complexity = "O(N)"
    levels: tuple[str, ...] = ("P3", "P4", "P5")  # recommended pyramid levels
    size_constraints: str = "any H, W"
    amp_notes: str = ""
    paper: str = ""
    keeps_channels: bool = True
    #: How often the build puts the input channels in front of the YAML args: 1 = ``Module(c1,
    #: *args)``; 2 = ``Module(c1, c1, *args)`` (a block that takes c1 and c2, kept equal); 0 =
    #: ``Module(*args)`` (a module that never needs them).
    injected_channels: int = 1

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

    def arg_problems(
        self, values: list[Any], *, symbols: Collection[str] = ()
    ) -> list[tuple[int | None, str]]:
        """Every way a row's YAML args break this module's schema: (position or None, why).

        The one argument check of the project: `validate` (YC032) and `insert` both use it,
        before anything is built or written. Position None concerns the whole list (too many).
        """
        problems: list[tuple[int | None, str]] = []
        if len(values) > len(self.args):
            names = ", ".join(arg.name for arg in self.args) or "no args"
            problems.append((None, f"takes at most {len(self.args)} args ({names}), got {len(values)}"))
        for position, (arg, value) in enumerate(zip(self.args, values, strict=False)):
            problem = arg.problem(value, symbols=symbols)
            if problem:
                problems.append((position, problem))
        return problems

    def load_class(self) -> type:
        """Import and return the nn.Module class (this is where torch gets imported)."""
        return import_target(self.target)


def import_target(target: str) -> type:
    """The class a ``"package.module:ClassName"`` target names, imported now.

    Raises ImportError/AttributeError as the import does, TypeError when the name is not a class
    (an entry point naming a function, say): ultralytics can only build a class.
    """
    module_name, _, attr = target.partition(":")
    found = getattr(importlib.import_module(module_name), attr)
    if not isinstance(found, type):
        raise TypeError(f"{target} names a {type(found).__name__}, not a class")
    return found


#: The module option that makes an inserted layer the identity at initialisation.
ZERO_INIT_ARG = "zero_init"


def identity_init_args(module: ModuleSpec, args: list[Any] | None) -> list[Any] | None:
    """The row's args with ``zero_init`` set to True (the inserted layer starts as the identity).

    Args the user gave are kept, and so is a ``zero_init`` they wrote; a module without the
    option gets its args unchanged.
    """
    names = [arg.name for arg in module.args]
    if ZERO_INIT_ARG not in names:
        return args
    position = names.index(ZERO_INIT_ARG)
    if args is not None and len(args) > position:
        return list(args)
    full = list(module.default_args if args is None else args)
    full.extend(arg.default for arg in module.args[len(full) : position + 1])
    full[position] = True
    return full


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
    """Import user modules (the CLI's ``--import my_pkg.my_module``) so that their register() calls run."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UnknownModuleError(f"cannot import {name!r}: {exc}", param=Param.imports) from None


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
