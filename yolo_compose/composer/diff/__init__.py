"""A YOLO-aware diff of two model YAMLs: layers aligned, not lines.

Generic YAML diffs compare list items by position, so one inserted layer shifts every later row
and every absolute ``from`` reference, and the report drowns in renamed rows. Here the two layer
lists are *aligned* first (a monotone matching, as in ``diff(1)``), then every difference is said
in layer terms:

- **inserted** / **removed** layers: B rows without an A partner, and A rows without a B partner;
- **changed** layers: an aligned pair whose module, repeats or args differ;
- **rewired** layers: an aligned pair whose inputs now come from a different layer;
- **renumbered** references: a ``from`` number that changed only because rows moved;
- **top-level** changes: ``nc``, ``scales``, ``activation``, ``kpt_shape``, any other key;
- **comments**: only when asked, since they never change the network.

How inputs are compared. A reference is followed through inserted or removed single-input
layers until it reaches an aligned layer (or the image): inserting ``HaloAttention`` between
layer 8 and the SPPF that read it is one insert, not an insert plus a rewire, and removing a
layer hands its readers to its own input. Only what is left after that is a rewire.

How layers are aligned. A Needleman-Wunsch alignment with unit gap cost, where matching two rows
costs 0 when they are equal, 1 when only repeats/args differ, 1.5 when the module differs (a
replaced layer: cheaper than a remove plus an insert), and +1 when the pair's inputs disagree
(a second setting makes changes cost 2 and 2.5, see :func:`align_nodes`).
The input term needs an alignment to be computed, so the alignment is refined a few times,
each round scoring inputs against the previous round; the round whose result is the shortest
edit script wins, and a local search (slide, split, add or shift pairs) then shortens it
further where it can. On equal cost, inserted and removed rows go as late as possible.
The tests rebuild B's graph from A and a result alone (``tests/_diff_checks.py``), which is how
they check that a result is complete.

How that stays near-linear. Run over the whole table, the DP costs O(n*m) time and memory per
round and the local search re-scored the whole table for every candidate (a 262- against a
163-layer model took 28 s; 5,000 layers against themselves plus one insert, 247 s and 1.25 GB).
So, unless both sides have at most ``problem.EXACT_ROWS`` rows (every bundled model; that case runs
exactly as described above), the DP only sees the *gaps* between anchors, found as patience
diff finds them, region by region:

1. the region's equal prefix and suffix are trimmed (a row equal when its content is, and each
   input sits as far back or is an already anchored pair);
2. rows unique to the region on both sides — by content, else by content and input offsets —
   that also come in the same order (a longest increasing subsequence) anchor it, and the
   stretches between them are regions again, where rows repeated elsewhere may be unique;
3. a large region with no unique row at all (repeated blocks) is anchored by a Myers line diff
   of the rows, given up beyond ``anchors._DIFF_EDITS`` edits.

The ``anchors._ANCHOR_PAD`` anchors next to each gap are handed back to the DP, so that it, not the
anchoring, places the gap among equal neighbours. Each gap gets the DP rounds above (a gap
whose wiring did not change since the last round keeps its answer); a gap over ``gaps._GAP_CELLS``
cells is aligned in a band around its diagonal, so a huge gap costs O(n + m) cells, not O(n*m). The
local search then scores a candidate by what it changes — the pairs whose rows move and the
pairs reading those rows — never by re-scoring the table, and, past the exact size, looks only
in windows around the defects (unaligned rows, changed or rewired pairs). Contents are frozen
once per node, and the inner loops compare interned integers. Near-identical models then cost
time and memory linear in their length (the README's "diff alignment" benchmark).

The parts, in the order they run: :mod:`.graph` (a node per layer), :mod:`.problem` (both
sides as integers, the script size), :mod:`.anchors`, :mod:`.gaps` (the DP), :mod:`.search`
(the local search), :mod:`.align` (all of it put together); then :mod:`.compare` builds the
:mod:`.result` from an alignment and the file-level changes; :mod:`.sides` loads the two sides
and :mod:`.costs` pairs ``--build``'s measurements. This package never imports torch or
ultralytics.
"""

from __future__ import annotations

from .align import align_nodes
from .compare import comment_changes, diff_nodes, diff_specs, line_comment, top_level_changes
from .costs import LayerCost, ScaleCost, compare_costs
from .graph import Node, freeze, same_graph, spec_nodes, to_plain
from .problem import Alignment, script_size
from .result import (
    ChangedLayer,
    CommentChange,
    DiffResult,
    DiffSide,
    EntryChangeKind,
    FieldChange,
    InsertedLayer,
    LayerChangeKind,
    LayerLabel,
    RemovedLayer,
    RenumberedRef,
    RewiredLayer,
    RowField,
    TopLevelChange,
)
from .sides import STDIN, LoadedModel, load_model

__all__ = [
    "STDIN",
    "Alignment",
    "ChangedLayer",
    "CommentChange",
    "DiffResult",
    "DiffSide",
    "EntryChangeKind",
    "FieldChange",
    "InsertedLayer",
    "LayerChangeKind",
    "LayerCost",
    "LayerLabel",
    "LoadedModel",
    "Node",
    "RemovedLayer",
    "RenumberedRef",
    "RewiredLayer",
    "RowField",
    "ScaleCost",
    "TopLevelChange",
    "align_nodes",
    "comment_changes",
    "compare_costs",
    "diff_nodes",
    "diff_specs",
    "freeze",
    "line_comment",
    "load_model",
    "same_graph",
    "script_size",
    "spec_nodes",
    "to_plain",
    "top_level_changes",
]
