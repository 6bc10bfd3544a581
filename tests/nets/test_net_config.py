import subprocess
import sys
from pathlib import Path

import pytest
import torch

from srkit.errors import RecipeError
from srkit.nets.config import (
    AutoencoderConfig,
    DecoderHeadConfig,
    DiscriminatorConfig,
    UNetConfig,
    autoencoder_preset,
    unet_preset,
)
from srkit.nets.measure import param_count
from srkit.nets.unet import ConditionalUNet


def test_config_error_names_the_recipe_field():
    with pytest.raises(RecipeError, match=r"^network\.dropout: must be in \[0, 1\)"):
        UNetConfig(dropout=1.5)


def test_unet_config_rejects_attention_factor_the_unet_never_reaches():
    with pytest.raises(RecipeError, match="network.attention_resolutions"):
        UNetConfig(channel_mult=(1, 2, 2), attention_resolutions=(8,))


def test_unet_config_rejects_heads_that_do_not_divide_channels():
    with pytest.raises(RecipeError, match="network.head_channels"):
        UNetConfig(base_channels=48, channel_mult=(1, 2), attention_resolutions=(2,), head_channels=64)


def test_config_stores_yaml_lists_as_tuples():
    cfg = UNetConfig(channel_mult=[1, 2], attention_resolutions=[2])
    assert cfg.channel_mult == (1, 2) and cfg.attention_resolutions == (2,)
    assert hash(cfg) == hash(UNetConfig(channel_mult=(1, 2), attention_resolutions=(2,)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: UNetConfig(channel_mult=()),
        lambda: UNetConfig(base_channels=0),
        lambda: UNetConfig(channel_mult=(1, "2")),
        lambda: AutoencoderConfig(norm="batch"),
        lambda: AutoencoderConfig(scale_factor=0.0),
        lambda: DecoderHeadConfig(num_layers=1),
        lambda: DiscriminatorConfig(norm="instance"),
    ],
)
def test_invalid_network_values_raise_recipe_error(make):
    with pytest.raises(RecipeError, match=r"^network\."):
        make()


def test_unknown_preset_raises_recipe_error():
    with pytest.raises(RecipeError, match="unknown unet preset 'huge'"):
        unet_preset("huge")


@pytest.mark.parametrize("name,low,high", [("tiny", 0, 1e6), ("small", 2e6, 6e6), ("base", 35e6, 50e6)])
def test_unet_presets_have_their_stated_sizes(name, low, high):
    with torch.device("meta"):
        net = ConditionalUNet(unet_preset(name))
    assert low < param_count(net) < high


def test_autoencoder_default_downsamples_by_four_with_four_latent_channels():
    cfg = autoencoder_preset("f4")
    assert cfg.factor == 4 and cfg.latent_channels == 4


def test_importing_nets_configs_does_not_import_torch():
    code = "import sys, srkit.nets; srkit.nets.UNetConfig(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
