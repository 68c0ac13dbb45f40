"""The composer: load a model YAML, address its layers, insert or remove one, renumber everything.

Nothing here imports torch or ultralytics. The main entry points:

- :func:`compose_insert` / :func:`compose_remove`: resolve a base (bundled name or file), load it
  and edit it, returning an :class:`EditResult` (nothing is written);
- :func:`insert_layer` / :func:`remove_layer`: the same edits on a loaded :class:`ModelSpec`;
- :func:`insert_layers`: several targets (``C3k2:all``, ``--before Detect``) as one edit;
- :func:`compose_replace` / :func:`replace_layer`: swap one layer's row for a module's;
- :func:`resolve_layer`: the layer a SPEC (``8``, ``-1``, ``SPPF``, ``C3k2:2``, ``backbone``) names,
  :func:`resolve_layers` the layers one selects (``C3k2:all``, ``head:C3k2:all``);
- :mod:`.recipe` and :mod:`.templates`: recipes of several edits, and the bundled templates.
"""

from ..errors import ComposeError
from .address import SPEC_FORMS, resolve_layer, resolve_layers
from .bases import Base, bundled_names, resolve_base
from .edit import (
    EditResult,
    EditStep,
    Rewire,
    compose_insert,
    compose_remove,
    compose_replace,
    insert_layer,
    insert_layers,
    output_name,
    parse_args_json,
    remove_layer,
    replace_layer,
)
from .naming import choose_scale, guess_scale
from .spec import INPUT, Layer, ModelSpec, absolute_source

__all__ = [
    "INPUT",
    "SPEC_FORMS",
    "Base",
    "ComposeError",
    "EditResult",
    "EditStep",
    "Layer",
    "ModelSpec",
    "Rewire",
    "absolute_source",
    "bundled_names",
    "choose_scale",
    "compose_insert",
    "compose_remove",
    "compose_replace",
    "guess_scale",
    "insert_layer",
    "insert_layers",
    "output_name",
    "parse_args_json",
    "remove_layer",
    "replace_layer",
    "resolve_base",
    "resolve_layer",
    "resolve_layers",
]
