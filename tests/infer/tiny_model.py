"""A tiny random SR model for inference tests: tiny UNet, VP process with T=50, DDIM 3 steps.

The UNet's zero-initialised layers (residual outputs, attention projections, the
output conv) are filled with small seeded random values so the untrained
network does not output zeros. Also writes it as an srkit model checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch

from srkit.model import MODEL_KIND, SRModel, model_from_modules, model_tensors
from srkit.recipes import Recipe, load_recipe

TINY_UNET = {
    "base_channels": 16,
    "channel_mult": [1, 2, 2],
    "num_res_blocks": 1,
    "attention_resolutions": [4],
    "num_heads": 2,
    "head_channels": None,
}


def tiny_recipe(base: str = "optimal-bc", **sections: object) -> Recipe:
    """``base`` with the tiny UNet, T=50 and DDIM-3 (mapping sections merge, other values replace)."""
    overrides: dict[str, object] = {"process": {"T": 50}, "sampler": {"kind": "ddim", "steps": 3, "eta": 0.0}, "network": TINY_UNET}
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values} if isinstance(values, dict) else values  # type: ignore[dict-item]
    return load_recipe(base).with_overrides(**overrides)


def randomise_zero_layers(net: torch.nn.Module, seed: int = 1, std: float = 0.05) -> torch.nn.Module:
    """Replace all-zero weight tensors by seeded N(0, std^2) values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            if param.ndim > 1 and not param.any():
                param.copy_(torch.randn(param.shape, generator=generator) * std)
    return net


def tiny_model(recipe: Recipe | None = None, seed: int = 0) -> SRModel:
    """The tiny model in eval mode on CPU."""
    from srkit.nets.build import build_network

    recipe = recipe or tiny_recipe()
    net = randomise_zero_layers(build_network(recipe.network, seed=seed), seed + 1).eval()
    return model_from_modules(recipe, net)


def save_tiny_checkpoint(path: Path, model: SRModel | None = None) -> Path:
    """Write ``model`` (default: :func:`tiny_model`) as an srkit model checkpoint."""
    from srkit.io.checkpoints import save_checkpoint

    model = model or tiny_model()
    save_checkpoint(path, model_tensors(model), {"kind": MODEL_KIND, "recipe": model.recipe.to_dict(), "step": 0, "params": "tiny"})
    return path
