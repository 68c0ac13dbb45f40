"""The composer: load a model YAML, address its layers, insert or remove one, renumber everything.

Nothing here imports torch or ultralytics. The main entry points:

- :func:`compose_insert` / :func:`compose_remove`: resolve a base (bundled name or file), load it
  and edit it, returning an :class:`EditResult` (nothing is written);
- :func:`insert_layer` / :func:`remove_layer`: the same edits on a loaded :class:`ModelSpec`;
- :func:`resolve_layer`: the layer a SPEC (``8``, ``-1``, ``SPPF``, ``C3k2:2``, ``backbone``) names.
"""

from ..errors import ComposeError
from .address import SPEC_FORMS, resolve_layer
from .bases import Base, bundled_models, bundled_names, guess_scale, resolve_base, ultralytics_root
from .edit import (
    EditResult,
    Rewire,
    compose_insert,
    compose_remove,
    insert_layer,
    output_name,
    parse_args_json,
    remove_layer,
)
from .spec import HEAD_MODULES, INPUT, MULTI_INPUT_MODULES, Layer, ModelSpec, absolute_source

__all__ = [
    "HEAD_MODULES",
    "INPUT",
    "MULTI_INPUT_MODULES",
    "SPEC_FORMS",
    "Base",
    "ComposeError",
    "EditResult",
    "Layer",
    "ModelSpec",
    "Rewire",
    "absolute_source",
    "bundled_models",
    "bundled_names",
    "compose_insert",
    "compose_remove",
    "guess_scale",
    "insert_layer",
    "output_name",
    "parse_args_json",
    "remove_layer",
    "resolve_base",
    "resolve_layer",
    "ultralytics_root",
]
