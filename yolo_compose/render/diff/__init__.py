"""Renderers for `yolo-compose diff`: the text forms (:mod:`.report`), the JSON (:mod:`.document`).

Every renderer reads the same :class:`~yolo_compose.composer.diff.DiffResult`.
"""

from .document import SCHEMA, cost_dict, diff_dict, render_json, rounded_gflops
from .report import github_lines, render_driver, render_github, render_rich, render_stat, stat_line

__all__ = [
    "SCHEMA",
    "cost_dict",
    "diff_dict",
    "github_lines",
    "render_driver",
    "render_github",
    "render_json",
    "render_rich",
    "render_stat",
    "rounded_gflops",
    "stat_line",
]
