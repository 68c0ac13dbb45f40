"""The ledger of a sweep's finished runs (``train-state.json`` beside the run folders), for resuming.

Every finished run is written to it as soon as it finishes, keyed on the run's name and
:meth:`~.jobs.TrainJob.key` (a hash of the model YAML's text, the data, epochs, image size, train
args and the starting weights). A rerun reuses a run whose name and key match, that succeeded and
whose weights are still there; anything else (new, changed, failed, interrupted) is trained again
from a clean run folder. Its own module so that this rule has one owner, apart from how runs are
launched (:mod:`.child_process`) and which runs a sweep asks for (:mod:`.train`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from .jobs import TrainJob, TrainOutcome

#: The ledger of finished runs, beside the run folders.
LEDGER_NAME = "train-state.json"


@dataclass
class Ledger:
    """Finished runs by name, written atomically after every run (``train-state.json``)."""

    path: Path
    outcomes: dict[str, TrainOutcome] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """The ledger at `path`; an unreadable or missing one is empty (everything trains)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            runs = {name: TrainOutcome.from_dict(row) for name, row in data["runs"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            runs = {}
        return cls(path, runs)

    def reusable(self, job: TrainJob, key: str) -> TrainOutcome | None:
        """The earlier outcome of this very job when it succeeded and its run folder still holds weights."""
        earlier = self.outcomes.get(job.name)
        if earlier is None or not earlier.ok or earlier.key != key:
            return None
        if not (job.run_dir / "weights").is_dir():
            return None
        return replace(earlier, skipped=True)

    def record(self, outcome: TrainOutcome) -> None:
        """Add one outcome and rewrite the file atomically."""
        from ..composer.files import write_output

        self.outcomes[outcome.name] = replace(outcome, skipped=False)
        runs = {name: o.to_dict() for name, o in sorted(self.outcomes.items())}
        for row in runs.values():
            row.pop("skipped")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_output(self.path, json.dumps({"runs": runs}, indent=2) + "\n", force=True)
