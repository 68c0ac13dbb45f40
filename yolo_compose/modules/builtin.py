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
            ArgSpec("block", "int", 2, "query block size b (pixels per side)", minimum=1),
            ArgSpec("halo", "int", 1, "halo h: each block attends a (b + 2h)^2 window", minimum=0),
            ArgSpec("heads", "int", 4, "attention heads; c1 must be divisible by heads when dim_head is 0",
                    minimum=1),
            ArgSpec("dim_head", "int", 0, "channels per head; 0 = c1 // heads (inner width = c1)", minimum=0),
            ArgSpec(
                "zero_init", "bool", False,
                "true: residual, output projection at 0: the identity at init (fine-tuning)",
                in_default_row=False,
            ),
        ),
        complexity="O(N)",
        levels=("P3", "P4", "P5"),
        size_constraints="any H, W (padded to a multiple of block, padding keys masked, output cropped)",
        amp_notes="fp16/bf16 safe: padding is masked with -inf inside SDPA, every query has a valid key",
        paper="Scaling Local Self-Attention for Parameter Efficient Visual Backbones, arXiv:2103.12731",
        # macs: N*C*4I + Np*I*2(w^2 + w + block - 1); I = heads*dim_head, w = block + 2*halo
        # seed_args: [block, halo] as in the seed YAML; heads and dim_head are optional
    )
)

# --- mhsa (BoTNet) ---------------------------------------------------------------------------
MHSA = register(
    ModuleSpec(
        name="mhsa",
        yaml_name="MHSA",
        target="yolo_compose.modules.botnet:MHSA",
        summary="BoTNet global multi-head self-attention with 2-D relative position logits",
        args=(
            ArgSpec("width", "int", 20, "feature-map width at the training image size", "w", minimum=1),
            ArgSpec("height", "int", 20, "feature-map height at the training image size", "h", minimum=1),
            ArgSpec("heads", "int", 4, "attention heads; c1 must be divisible by heads", minimum=1),
            ArgSpec(
                "zero_init", "bool", False,
                "true: residual, value projection at 0: the identity at init (fine-tuning)",
                in_default_row=False,
            ),
        ),
        aliases=("botnet",),
        complexity="O(N^2)",
        levels=("P5",),
        size_constraints="any H, W; position tables trained at width x height, resampled elsewhere",
        amp_notes="fp16/bf16 safe: logits scaled by 1/sqrt(d) before the softmax (the seed had no scaling)",
        paper="Bottleneck Transformers for Visual Recognition, arXiv:2101.11605",
        # macs: 3*N*C^2 + N*C*(H + W) + 2*N^2*C
    )
)
# --- end mhsa --------------------------------------------------------------------------------

# --- cga (EfficientViT) ----------------------------------------------------------------------
CGA = register(
    ModuleSpec(
        name="cga",
        yaml_name="CascadedGroupAttention",
        target="yolo_compose.modules.efficientvit:CascadedGroupAttention",
        summary="EfficientViT cascaded group attention (residual), global or in window tiles",
        args=(
            ArgSpec("key_dim", "int", 16, "channels of q and k per head", minimum=1),
            ArgSpec("heads", "int", 8, "attention heads; c1 divisible by heads (value dim = c1 // heads)",
                    minimum=1),
            ArgSpec(
                "resolution", "int", 20,
                "feature-map side at the training imgsz (imgsz // stride); bias table side = min(it, window)",
                "size", minimum=1,
            ),
            ArgSpec("window", "int", 20, "tile side: attention tiled when H or W exceeds it; 0 = global",
                    minimum=0),
            ArgSpec("kernels", "int|list[int]", 5, "odd depthwise kernel on q: one for all heads or a list",
                    minimum=1, odd=True),
            ArgSpec(
                "zero_init", "bool", False,
                "changes nothing: CGA is residual and the identity at init either way",
                in_default_row=False,
            ),
        ),
        aliases=("efficientvit",),
        yaml_aliases=("LocalWindowAttention",),
        complexity="O(N)",
        levels=("P3", "P4", "P5"),
        size_constraints=(
            "any H, W; global attention (O(N^2)) when H, W <= window, else window x window tiles "
            "(padded, padding keys masked, cropped): O(N * window^2); bias exact up to the trained size"
        ),
        amp_notes="fp16/bf16 safe: logits scaled by 1/sqrt(key_dim); padded keys masked, no empty row",
        paper=(
            "EfficientViT: Memory Efficient Vision Transformer with Cascaded Group Attention, "
            "arXiv:2305.07027"
        ),
        # macs: N*C*(2kd + d) + N*kd*sum(k_i^2) + h*Np*L*(kd + d) + N*C^2; L = tile pixels, Np = padded
        # attention: O(N^2) within one tile: global up to window x window pixels, tiled above
        # residual: x + CGA(x); projection BN weight starts at 0: the layer is the identity at init
        # seed_args: [key_dim, heads, resolution, window, kernels]; seed's dim, attn_ratio implied
    )
)
# --- end cga ---------------------------------------------------------------------------------

# --- flatten (FLatten Transformer) -----------------------------------------------------------
FLATTEN = register(
    ModuleSpec(
        name="flatten",
        yaml_name="FocusedLinearAttention",
        target="yolo_compose.modules.flatten:FocusedLinearAttention",
        summary="FLatten focused linear attention: global O(N) attention with a focusing kernel map",
        args=(
            ArgSpec(
                "size", "int", 20,
                "feature-map side at the training imgsz (imgsz // stride): the position grid's side",
                "size", minimum=1,
            ),
            ArgSpec("heads", "int", 8, "attention heads; c1 must be divisible by heads", minimum=1),
            ArgSpec("focusing_factor", "int", 3, "power p of the focusing function ||x|| x^p / ||x^p||",
                    minimum=1),
            ArgSpec("kernel_size", "int", 5, "odd kernel of the rank-restoring depthwise conv on v",
                    minimum=1, odd=True),
            ArgSpec("qkv_bias", "bool", False, "bias in the q, k, v projection"),
            ArgSpec(
                "zero_init", "bool", False,
                "true: residual, output projection at 0: the identity at init (fine-tuning)",
                in_default_row=False,
            ),
        ),
        aliases=("fla",),
        complexity="O(N)",
        levels=("P3", "P4", "P5"),
        size_constraints="any H, W; position grid trained at size x size, bilinearly resized elsewhere",
        amp_notes="fp16/bf16 safe: the focusing powers and the kv/z token sums run in float32 under autocast",
        paper="FLatten Transformer: Vision Transformer using Focused Linear Attention, arXiv:2308.00442",
        # macs: N*(4C^2 + 2C^2/h + C + C*k^2)
        # residual: with zero_init x + FLA(x), the identity at init; else the output replaces x (seed)
        # seed_args: [size, heads, ...]: size is the map side (20), not the seed's num_patches (400)
    )
)
# --- end flatten -----------------------------------------------------------------------------

# --- ultralytics' own blocks that a YAML cannot name -------------------------------------------
# ultralytics.nn.modules ships these, but ultralytics.nn.tasks does not import them, so a YAML row
# naming one fails with KeyError in parse_model. Each keeps its input's channels and takes them as
# its first argument, so the same adapter (Module(c1, *args)) builds them; the built model holds
# ultralytics' own class, and a checkpoint loads without yolo-compose.
CBAM = register(
    ModuleSpec(
        name="cbam",
        yaml_name="CBAM",
        target="ultralytics.nn.modules.conv:CBAM",
        summary="ultralytics' CBAM: channel attention, then spatial attention (a k x k conv on pooled maps)",
        args=(ArgSpec("kernel_size", "int", 7, "kernel of the spatial-attention conv: 3 or 7"),),
        complexity="O(N)",
        size_constraints="any H, W",
        amp_notes="ultralytics' own module",
        paper="CBAM: Convolutional Block Attention Module, arXiv:1807.06521",
        # source: ultralytics.nn.modules.conv.CBAM (not reachable from a plain YAML)
    )
)
CHANNEL_ATTENTION = register(
    ModuleSpec(
        name="channel",
        yaml_name="ChannelAttention",
        target="ultralytics.nn.modules.conv:ChannelAttention",
        summary="ultralytics' channel attention: a sigmoid gate per channel from global average pooling",
        complexity="O(N)",
        size_constraints="any H, W",
        amp_notes="ultralytics' own module",
        paper="CBAM: Convolutional Block Attention Module, arXiv:1807.06521 (its channel branch)",
        # source: ultralytics.nn.modules.conv.ChannelAttention (not reachable from a plain YAML)
    )
)
PSA_BLOCK = register(
    ModuleSpec(
        name="psablock",
        yaml_name="PSABlock",
        target="ultralytics.nn.modules.block:PSABlock",
        summary="ultralytics' PSABlock (the block inside C2PSA): global multi-head attention + a conv FFN",
        args=(
            ArgSpec("attn_ratio", "float", 0.5, "key dimension as a fraction of the head dimension"),
            ArgSpec("num_heads", "int", 4, "attention heads; c1 must be divisible by them"),
            ArgSpec("shortcut", "bool", True, "residual connections around attention and FFN"),
        ),
        complexity="O(N^2)",
        levels=("P5",),
        size_constraints="any H, W",
        amp_notes="ultralytics' own module",
        paper="YOLOv10 / YOLO11 partial self-attention (PSA) block",
        # source: ultralytics.nn.modules.block.PSABlock (not reachable from a plain YAML)
    )
)
# source: ultralytics.nn.modules.conv.SpatialAttention (not reachable from a plain YAML)
SPATIAL_ATTENTION = register(
    ModuleSpec(
        name="spatial",
        yaml_name="SpatialAttention",
        target="ultralytics.nn.modules.conv:SpatialAttention",
        summary="ultralytics' spatial attention: a sigmoid gate per pixel from a k x k conv on mean/max maps",
        args=(ArgSpec("kernel_size", "int", 7, "kernel of the conv on the pooled maps", choices=(3, 7)),),
        complexity="O(N)",
        size_constraints="any H, W",
        amp_notes="ultralytics' own module",
        paper="CBAM: Convolutional Block Attention Module, arXiv:1807.06521 (its spatial branch)",
        injected_channels=0,  # SpatialAttention(kernel_size): it never needs the channel count
    )
)
# source: ultralytics.nn.modules.transformer.TransformerBlock (not reachable from a plain YAML);
# built as TransformerBlock(c1, c1, ...): c2 = c1, so no channel-changing conv
TRANSFORMER_BLOCK = register(
    ModuleSpec(
        name="transformer",
        yaml_name="TransformerBlock",
        target="ultralytics.nn.modules.transformer:TransformerBlock",
        summary="ultralytics' ViT block: a learned position embedding, then global multi-head self-attention",
        args=(
            ArgSpec("num_heads", "int", 4, "attention heads; c1 must be divisible by them", minimum=1),
            ArgSpec("num_layers", "int", 1, "transformer layers in the block", minimum=1),
        ),
        complexity="O(N^2)",
        levels=("P5",),
        size_constraints="any H, W",
        amp_notes="ultralytics' own module",
        paper="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale, arXiv:2010.11929",
        injected_channels=2,
    )
)
# TransformerLayer is not catalogued: it reads a (sequence, batch, channels) tensor, not a
# feature map, so no YAML row can feed it one (TransformerBlock is its feature-map wrapper).
# --- end ultralytics' own blocks ---------------------------------------------------------------
