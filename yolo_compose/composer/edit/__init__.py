"""Insert or remove one layer of a model spec and renumber every reference, losslessly.

The rules, for a new layer at global index ``g``:

- ``--after T`` puts the new layer right after T (``g = T + 1``, in T's section). It reads T
  (``from: -1``), and **every consumer of T now reads the new layer**, so ``--after 16`` in
  yolo11 feeds the attended P3 to both layer 17 and Detect.
- ``--before J`` puts it in front of a single-input layer J (``g = J``): the new layer reads what J
  read, and J reads the new layer.
- ``--before H`` where H reads several layers (Detect, Concat, ...) puts one new layer per input
  in front of H, each reading that input; only H reads them, every other consumer keeps the original.
- Several targets are one edit (:func:`insert_layers`, :func:`insert_many`): every target names a
  layer of the input, so their order does not matter; inserts at one point chain in the order
  given (after T: ``T -> A1 -> A2 -> T's consumers``; rows after T come before rows before T+1).
- ``remove R`` deletes a single-input layer; its consumers then read its input.
- ``replace R`` swaps R's row for a module's row (same index, same ``from``): nothing renumbers.

Every other reference keeps pointing at the same layer it did. A reference keeps its style:
an absolute index stays absolute (and shifts when its layer moves), a relative one stays relative
(and changes only when it crosses the edit point), so ``-1`` stays ``-1`` wherever it still means
the previous layer.

**The document is never re-serialised.** An edit is a short list of text patches at the positions
the reader reports (:class:`~.layout.Patch`): each ``from`` number that changes, the number at the
start of each moved row's index comment (``# 9``, ``# 0-P1/2``, ``# 16 (P3/8-small)``), and one
new line for the new row, written like its neighbours (block ``  - [...]`` or flow ``   [...],``,
the same indent and bracket spacing, its comment ``# 9 HaloAttention (halo)`` at their comment
column). Every other byte (comments, blank and whitespace-only lines, quotes, CRLF, a BOM, a
missing final newline) is the input's byte. In a flow list, a comma or the list's closing bracket
moves where the new row needs it (``[-1, 4, Bottleneck, [1024]]]  # 10`` gets the new row under
it, the ``]`` moving down). ``remove`` undoes each of these layouts exactly, so insert-then-remove
gives back the input byte for byte.

The parts: :mod:`.result` (what an edit reports), :mod:`.insert`, :mod:`.remove` and
:mod:`.replace` (the edits on a loaded spec), :mod:`.compose` (the same from a base name or path),
:mod:`.args`, :mod:`.checks`, :mod:`.refs` and :mod:`.rows` (what the edits share), and
:mod:`.output` (where a result goes).
"""

from __future__ import annotations

from .args import MAX_ARGS_NESTING, parse_args_json, set_args
from .compose import compose_insert, compose_remove, load_base, note_unfilled_resolution
from .insert import Insertion, insert_layer, insert_layers, insert_many
from .output import input_path, output_name, output_target
from .remove import remove_layer
from .replace import compose_replace, note_unchecked_replace, replace_layer
from .result import (
    REASON_CROSSES,
    REASON_READS_INPUT,
    REASON_READS_NEW,
    REASON_SHIFTED,
    ChangeAction,
    EditAction,
    EditResult,
    EditStep,
    InsertPlacement,
    Placement,
    Rewire,
)

__all__ = [
    "MAX_ARGS_NESTING",
    "REASON_CROSSES",
    "REASON_READS_INPUT",
    "REASON_READS_NEW",
    "REASON_SHIFTED",
    "ChangeAction",
    "EditAction",
    "EditResult",
    "EditStep",
    "InsertPlacement",
    "Insertion",
    "Placement",
    "Rewire",
    "compose_insert",
    "compose_remove",
    "compose_replace",
    "input_path",
    "insert_layer",
    "insert_layers",
    "insert_many",
    "load_base",
    "note_unchecked_replace",
    "note_unfilled_resolution",
    "output_name",
    "output_target",
    "parse_args_json",
    "remove_layer",
    "replace_layer",
    "set_args",
]
