"""What a build reports: each layer's measure, the model's, filled args, one scale's result, the summary.

Typed fields only; the JSON summary is built by :mod:`yolo_compose.render.summary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..composer import naming
from ..composer.naming import guess_scale


@dataclass
class LayerMeasure:
    """One built layer: what the YAML says, what was built and what it costs at imgsz."""

    index: int
    from_: Any
    repeats: int  # as built (ultralytics scales repeats by depth)
    module: str  # the YAML name
    type: str  # the class path ultralytics prints
    args: list[Any]  # the YAML args
    in_channels: int | None  # injected input channels (our modules only)
    params: int
    gflops: float
    out_shape: list[int]  # C, H, W at imgsz (without the batch)
    in_shape: list[int]
    stride: int | None  # imgsz / output height, for feature maps


@dataclass
class ModelMeasure:
    """A built model's layers and totals at one scale and imgsz."""

    source_name: str
    scale: str
    task: str
    imgsz: int
    sizes: list[tuple[int, int]]  # every (h, w) a forward pass ran at
    layers: list[LayerMeasure]
    params: int
    gflops: float  # counted exactly at imgsz
    ultralytics_gflops: float  # ultralytics' own figure (thop, extrapolated); 0.0 = it gave none


@dataclass
class FilledArg:
    """A resolution arg written into a row: its value came from imgsz and the layer's stride."""

    layer: int
    name: str
    value: int
    stride: int


@dataclass
class ScaleResult:
    """One scale built and run (``--all-scales``)."""

    scale: str
    params: int
    gflops: float


@dataclass
class BuildSummary:
    """Everything the summary shows: the measured model, what the edit changed, deltas and notes."""

    model: ModelMeasure
    inserted: list[int]
    rewired: dict[int, list[str]]  # layer -> why its `from` changed
    base_name: str
    base_params: int
    base_gflops: float
    base_derived: bool  # True: base totals = model totals minus the inserted, shape-preserving layers
    filled: list[FilledArg] = field(default_factory=list)
    scales: list[ScaleResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: True when the warnings were already reported while building (on_warning), before the
    #: forward passes they warn about; renderers then need not repeat them.
    warnings_reported: bool = False
    output_path: str = ""  # the file the CLI writes (its default name unless told otherwise)
    replaced: list[int] = field(default_factory=list)  # layers whose row a replace swapped
    first_scale: str = ""  # the first of `scales:`: what ultralytics builds from a name with no letter
    scale_requested: bool = False  # the scale was asked for (--scale), not taken from the base's name

    @property
    def file_scale(self) -> str:
        """The scale ultralytics will take from output_path's name ('' when it has none)."""
        return guess_scale(self.output_path) if self.output_path else ""

    def scale_built_from(self, name: str) -> str:
        """The scale ultralytics builds for a file of this name: its letter, else the first scale."""
        return naming.choose_scale([self.first_scale] if self.first_scale else [], name=Path(name).name)

    @property
    def delta_params(self) -> int:
        return self.model.params - self.base_params

    @property
    def delta_gflops(self) -> float:
        return self.model.gflops - self.base_gflops
