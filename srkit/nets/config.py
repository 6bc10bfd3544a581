"""Network configurations: frozen dataclasses, validated on construction.

Pure data (no torch import) so the recipe loader can embed them cheaply. Every
range check raises ``RecipeError("network.<field>: <problem>")``. Sequence
fields accept lists (as YAML gives them) and are stored as tuples.

Sizes are easy to state through presets: :func:`unet_preset` ("tiny" 0.3M
parameters for tests, "small" 4.8M for fast CPU models, "base" ~44M ADM-like) and
:func:`autoencoder_preset` ("tiny" for tests, "f4" the default factor-4 model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from srkit.errors import RecipeError

NormKind = Literal["group", "channel"]
DiscriminatorNorm = Literal["batch", "group", "spectral", "none"]


def _fail(field: str, problem: str) -> RecipeError:
    return RecipeError(f"network.{field}: {problem}")


def _as_int_tuple(obj: object, field: str) -> None:
    """Store ``obj.field`` as a tuple of ints (YAML lists arrive as lists)."""
    value = getattr(obj, field)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _fail(field, f"expected a list of integers, got {value!r}")
    items = tuple(value)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise _fail(field, f"expected a list of integers, got {list(items)!r}")
    object.__setattr__(obj, field, items)


def _check_positive(obj: object, *fields: str) -> None:
    for field in fields:
        value = getattr(obj, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _fail(field, f"must be a positive integer, got {value!r}")


def _check_channel_mult(obj: object) -> None:
    _as_int_tuple(obj, "channel_mult")
    mult = obj.channel_mult
    if not mult or min(mult) < 1:
        raise _fail("channel_mult", f"must be a non-empty list of positive integers, got {list(mult)!r}")


def _check_choice(obj: object, field: str, choices: tuple[str, ...]) -> None:
    value = getattr(obj, field)
    if value not in choices:
        raise _fail(field, f"must be one of {', '.join(choices)}; got {value!r}")


# Network settings that change how the weights are used but not which weights exist:
# a fine-tune (``srkit train --init``) may start from a checkpoint that differs in them.
WEIGHT_FREE_SETTINGS = ("dropout", "channels_last", "condition_skip")


@dataclass(frozen=True)
class UNetConfig:
    """Conditional UNet of the SR3/ADM family, called as ``net(x, y, t)``.

    ``attention_resolutions`` are *downsampling factors* (ADM's "attention at
    downsample rate 8" is ``(8,)``): level ``i`` of the UNet works at factor
    ``2**i``, so with 4 levels the valid factors are 1, 2, 4 and 8. Factors make
    the choice independent of the image size, which srkit does not fix.
    ``head_channels`` (channels per head), when set, overrides ``num_heads``.
    ``condition_skip`` adds the condition to the output, ``out = y + body(x, y, t)``
    (a global residual from the upsampled LR image, as in VDSR; meant for x0
    prediction, where the untrained network, its last conv being zero, returns
    exactly the bicubic upsampling ``y``).
    """

    in_channels: int = 3
    cond_channels: int = 3
    out_channels: int = 3
    base_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 4, 8)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (8,)
    mid_attention: bool = True
    num_heads: int = 4
    head_channels: int | None = None
    dropout: float = 0.0
    resblock_updown: bool = False
    use_scale_shift_norm: bool = True
    channels_last: bool = True
    condition_skip: bool = False

    def __post_init__(self) -> None:
        _check_positive(self, "in_channels", "out_channels", "base_channels", "num_res_blocks", "num_heads")
        if self.condition_skip and self.cond_channels != self.out_channels:
            raise _fail(
                "condition_skip",
                f"needs cond_channels == out_channels (got {self.cond_channels} and {self.out_channels})",
            )
        if not isinstance(self.cond_channels, int) or self.cond_channels < 0:
            raise _fail("cond_channels", f"must be an integer >= 0, got {self.cond_channels!r}")
        _check_channel_mult(self)
        _as_int_tuple(self, "attention_resolutions")
        valid = {2**level for level in range(len(self.channel_mult))}
        bad = [f for f in self.attention_resolutions if f not in valid]
        if bad:
            raise _fail(
                "attention_resolutions",
                f"{bad} are not downsampling factors of this UNet; use values from {sorted(valid)}",
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise _fail("dropout", f"must be in [0, 1), got {self.dropout!r}")
        if self.head_channels is not None:
            _check_positive(self, "head_channels")
        for channels in self.attention_channels():
            if self.head_channels is not None and channels % self.head_channels:
                raise _fail("head_channels", f"{self.head_channels} does not divide {channels} attention channels")
            if self.head_channels is None and channels % self.num_heads:
                raise _fail("num_heads", f"{self.num_heads} does not divide {channels} attention channels")

    @property
    def levels(self) -> int:
        return len(self.channel_mult)

    @property
    def pad_multiple(self) -> int:
        """Input sizes are padded to a multiple of ``2**(levels-1)``."""
        return 2 ** (self.levels - 1)

    def attention_channels(self) -> list[int]:
        """Channel counts of every attention layer (levels with attention, plus the middle)."""
        channels = [
            self.base_channels * m for i, m in enumerate(self.channel_mult) if 2**i in self.attention_resolutions
        ]
        if self.mid_attention:
            channels.append(self.base_channels * self.channel_mult[-1])
        return channels

    def heads_for(self, channels: int) -> int:
        return channels // self.head_channels if self.head_channels is not None else self.num_heads


@dataclass(frozen=True)
class AutoencoderConfig:
    """KL-regularised convolutional autoencoder (LDM "AutoencoderKL" layout).

    Downsampling factor ``2**(len(channel_mult)-1)`` (4 by default). ``norm``:
    "channel" normalises each pixel over its channels, so it is local and tiled
    encode/decode equal the untiled result away from tile borders; "group" is the
    GroupNorm of LDM/VQGAN (per-tile statistics make tiles drift slightly).
    ``mid_attention`` adds global self-attention in the bottleneck (off by default:
    it costs memory quadratic in the image area and breaks tiling exactness).
    """

    in_channels: int = 3
    latent_channels: int = 4
    base_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    norm: NormKind = "channel"
    mid_attention: bool = False
    num_heads: int = 1
    scale_factor: float = 1.0

    def __post_init__(self) -> None:
        _check_positive(self, "in_channels", "latent_channels", "base_channels", "num_res_blocks", "num_heads")
        _check_channel_mult(self)
        _check_choice(self, "norm", ("group", "channel"))
        if not float(self.scale_factor) > 0.0:
            raise _fail("scale_factor", f"must be > 0, got {self.scale_factor!r}")
        top = self.base_channels * self.channel_mult[-1]
        if self.mid_attention and top % self.num_heads:
            raise _fail("num_heads", f"{self.num_heads} does not divide {top} bottleneck channels")

    @property
    def factor(self) -> int:
        """Spatial downsampling factor between image and latent."""
        return 2 ** (len(self.channel_mult) - 1)


@dataclass(frozen=True)
class DecoderHeadConfig:
    """Pixel-space CCSR stage-2 decoder: ``x + head(x)``, identity at initialisation.

    ``num_layers`` 3x3 convolutions (SiLU between them) of width ``hidden``.
    """

    channels: int = 3
    hidden: int = 32
    num_layers: int = 3

    def __post_init__(self) -> None:
        _check_positive(self, "channels", "hidden")
        if not isinstance(self.num_layers, int) or self.num_layers < 2:
            raise _fail("num_layers", f"must be an integer >= 2, got {self.num_layers!r}")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """PatchGAN discriminator (pix2pix, Isola et al. 2017; as used by VQGAN).

    ``num_layers`` stride-2 stages; the receptive field is 70x70 for 3 layers.
    """

    in_channels: int = 3
    base_channels: int = 64
    num_layers: int = 3
    norm: DiscriminatorNorm = "batch"

    def __post_init__(self) -> None:
        _check_positive(self, "in_channels", "base_channels", "num_layers")
        _check_choice(self, "norm", ("batch", "group", "spectral", "none"))


NetworkConfig = UNetConfig | AutoencoderConfig | DecoderHeadConfig | DiscriminatorConfig

_UNET_PRESETS: dict[str, dict[str, object]] = {
    "tiny": {
        "base_channels": 16,
        "channel_mult": (1, 2, 2),
        "num_res_blocks": 1,
        "attention_resolutions": (4,),
        "num_heads": 2,
    },
    "small": {
        "base_channels": 32,
        "channel_mult": (1, 2, 2, 4),
        "num_res_blocks": 2,
        "attention_resolutions": (8,),
        "head_channels": 32,
    },
    "base": {
        "base_channels": 96,
        "channel_mult": (1, 2, 2, 4),
        "num_res_blocks": 2,
        "attention_resolutions": (4, 8),
        "head_channels": 64,
    },
}

_AUTOENCODER_PRESETS: dict[str, dict[str, object]] = {
    "tiny": {"base_channels": 8, "channel_mult": (1, 1, 2), "num_res_blocks": 1},
    "f4": {},
}


def _preset(
    table: dict[str, dict[str, object]], kind: str, name: str, overrides: dict[str, object]
) -> dict[str, object]:
    if name not in table:
        raise RecipeError(f"network.preset: unknown {kind} preset {name!r}; choose one of {', '.join(table)}")
    return {**table[name], **overrides}


def unet_preset(name: str, **overrides: object) -> UNetConfig:
    """A named UNet size ("tiny", "small", "base"), with field overrides (e.g. channels)."""
    return UNetConfig(**_preset(_UNET_PRESETS, "unet", name, overrides))  # type: ignore[arg-type]


def autoencoder_preset(name: str, **overrides: object) -> AutoencoderConfig:
    """A named autoencoder size ("tiny", "f4"), with field overrides."""
    return AutoencoderConfig(**_preset(_AUTOENCODER_PRESETS, "autoencoder", name, overrides))  # type: ignore[arg-type]


def unet_presets() -> tuple[str, ...]:
    return tuple(_UNET_PRESETS)


def autoencoder_presets() -> tuple[str, ...]:
    return tuple(_AUTOENCODER_PRESETS)


#: Recipe ``kind`` strings of the network blocks (resolved by srkit.recipes).
NETWORK_CONFIGS: dict[str, type] = {
    "unet": UNetConfig,
    "autoencoder": AutoencoderConfig,
    "residual_head": DecoderHeadConfig,
    "patchgan": DiscriminatorConfig,
}
