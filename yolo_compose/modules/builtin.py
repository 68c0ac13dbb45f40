"""Specs of the attention modules shipped with yolo-compose (no torch import here).

The module authors fill in the full argument schema and metadata; each YAML row is
``[from, repeats, YamlName, [args...]]`` and the input channel count is injected at build time.
"""

from __future__ import annotations

from .registry import ArgSpec, ModuleSpec, register

HALO = register(
    ModuleSpec(
        name="halo",
        yaml_name="HaloAttention",
        target="yolo_compose.modules.halo:HaloAttention",
        summary="HaloNet blocked local self-attention with halo windows and relative positions",
        args=(
            ArgSpec("block", "int", 2, "query block size b (pixels per side)"),
            ArgSpec("halo", "int", 1, "halo h: each block attends a (b + 2h)^2 window"),
        ),
        complexity="O(N)",
        levels=("P4", "P5"),
        paper="Scaling Local Self-Attention for Parameter Efficient Visual Backbones, arXiv:2103.12731",
    )
)

# --- mhsa (BoTNet) ---------------------------------------------------------------------------
# --- end mhsa --------------------------------------------------------------------------------

# --- cga (EfficientViT) ----------------------------------------------------------------------
# --- end cga ---------------------------------------------------------------------------------

# --- flatten (FLatten Transformer) -----------------------------------------------------------
# --- end flatten -----------------------------------------------------------------------------
