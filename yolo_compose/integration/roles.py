"""What ultralytics' own layer names mean to an edit: its heads and the layers that read several inputs.

These are names of classes in ``ultralytics.nn.modules`` and the roles ``parse_model`` gives them;
a release that adds a head adds it here. Plain constants: the static commands read them.
"""

from __future__ import annotations

#: Head modules: the model's outputs. Nothing may be inserted after one, and none is removed.
HEAD_MODULES = frozenset(
    {
        "Detect",
        "Segment",
        "Segment26",
        "Pose",
        "Pose26",
        "OBB",
        "OBB26",
        "v10Detect",
        "WorldDetect",
        "YOLOEDetect",
        "YOLOESegment",
        "YOLOESegment26",
        "RTDETRDecoder",
        "SemanticSegment",
        "Depth",
        "Classify",
    }
)

#: Modules that take several inputs by design: every head but Classify, plus the fusing layers.
#: Any other module with a list `from` is treated the same way, by its refs, but these are also
#: *expected* to have list inputs.
MULTI_INPUT_MODULES = (HEAD_MODULES - {"Classify"}) | {
    "Concat",
    "ImagePoolingAttn",
    "Index",
    "TorchVision",
    "CBFuse",
    "CBLinear",
}


#: Modules whose `from` must be a list (they read several feature maps).
LIST_INPUT_MODULES = (MULTI_INPUT_MODULES & HEAD_MODULES) | {"Concat", "CBFuse", "ImagePoolingAttn"}


#: Modules whose output reaches the model outside the `from` graph (WorldModel feeds
#: ImagePoolingAttn's output to the head as text features), so "never used" does not apply.
SIDE_OUTPUT_MODULES = frozenset({"ImagePoolingAttn"})
