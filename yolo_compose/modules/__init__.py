"""Attention modules and their registry.

Importing this package imports no torch: the registry holds import paths, and a class is
imported only when a model is built (:meth:`ModuleSpec.load_class`).
"""

from . import builtin as _builtin  # noqa: F401  (registers the built-in specs)
from .registry import ArgSpec, ModuleSpec, all_specs, find, get, import_user_modules, register

__all__ = ["ArgSpec", "ModuleSpec", "all_specs", "find", "get", "import_user_modules", "register"]
