"""Bake the fixed prompts' text contexts at conversion, so inference needs no text tower.

The official models always use the same prompts (DoSSR and CCSR v2: "clean,
high-resolution, 8k"; CCSR v1: ""; CCSR v2's negative prompt), and their text towers
are frozen, so each context is a constant 1 x 77 x C tensor.

- DoSSR / CCSR v1: OpenCLIP ViT-H-14's text transformer up to its penultimate block,
  then ``ln_final`` (``FrozenOpenCLIPEmbedder(layer="penultimate")``). That is exactly a
  ``transformers.CLIPTextModel`` with one block fewer (SD-2.1's HF text encoder); the
  weights are renamed by diffusers' ``convert_open_clip_checkpoint``.
- CCSR v2: SD-2.1-base's ``CLIPTextModel`` folder (``text_encoder.*``), last hidden state.

Token ids: the BPE of OpenAI CLIP (shared by OpenCLIP and SD-2.1's tokenizer), start
49406, end 49407, padded with 0 to 77. The ids of the fixed prompts are constants below
(computed with the CLIP BPE vocabulary ``bpe_simple_vocab_16e6``), so srkit needs no tokenizer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint
from torch import Tensor
from transformers import CLIPTextConfig, CLIPTextModel

from srkit.errors import WeightsError

CONTEXT_LENGTH = 77
PAD_ID = 0
POSITIVE_PROMPT = "clean, high-resolution, 8k"
CCSR_V2_NEGATIVE_PROMPT = "blurry, dotted, noise, raster lines, unclear, lowres, over-smoothed"
#: ``[start] + BPE(prompt) + [end]`` for the prompts the official scripts use.
TOKEN_IDS: dict[str, tuple[int, ...]] = {
    POSITIVE_PROMPT: (49406, 3772, 267, 1400, 268, 9977, 267, 279, 330, 49407),
    "": (49406, 49407),
    CCSR_V2_NEGATIVE_PROMPT: (
        49406, 21977, 267, 47950, 267, 9307, 267, 559, 881, 3418, 267, 32955, 267, 1049, 934, 267, 962, 268, 10958, 538, 49407,
    ),
}
OPEN_CLIP_PREFIX = "cond_stage_model.model."


def token_ids(prompt: str) -> Tensor:
    """The 1 x 77 token ids of one of the fixed prompts."""
    if prompt not in TOKEN_IDS:
        raise WeightsError(f"no token ids recorded for the prompt {prompt!r}")
    ids = list(TOKEN_IDS[prompt]) + [PAD_ID] * (CONTEXT_LENGTH - len(TOKEN_IDS[prompt]))
    return torch.tensor([ids], dtype=torch.long)


def _load_text_model(config: CLIPTextConfig, weights: Mapping[str, Tensor], what: str) -> CLIPTextModel:
    """A ``CLIPTextModel`` holding ``weights`` (HF names, with or without the ``text_model.`` level), every weight filled."""
    model = CLIPTextModel(config).eval()
    own = model.state_dict()
    nested = any(k.startswith("text_model.") for k in own)
    renamed = {(k if nested else k.removeprefix("text_model.")): v.float() for k, v in weights.items()}
    renamed = {k: v for k, v in renamed.items() if not k.endswith("position_ids")}
    missing = sorted(k for k in own if k not in renamed and not k.endswith("position_ids"))
    extra = sorted(k for k in renamed if k not in own)
    if missing or extra:
        first = missing[0] if missing else extra[0]
        raise WeightsError(f"{what}: {'no weight for' if missing else 'unexpected weight'} {first!r}")
    model.load_state_dict(renamed, strict=False)
    return model


def _encode(model: CLIPTextModel, prompts: Sequence[str]) -> list[Tensor]:
    with torch.no_grad():
        return [model(input_ids=token_ids(p)).last_hidden_state.float().clone() for p in prompts]


def open_clip_contexts(state: Mapping[str, Tensor], prompts: Sequence[str]) -> list[Tensor]:
    """Contexts of ``prompts`` from an LDM checkpoint's OpenCLIP text tower (penultimate layer, ``ln_final``)."""
    blocks = {int(k.split(".")[4]) for k in state if k.startswith(OPEN_CLIP_PREFIX + "transformer.resblocks.")}
    if not blocks or OPEN_CLIP_PREFIX + "token_embedding.weight" not in state:
        raise WeightsError("the checkpoint has no OpenCLIP text tower (cond_stage_model.model.*) to bake the prompt context from")
    vocab, width = state[OPEN_CLIP_PREFIX + "token_embedding.weight"].shape
    config = CLIPTextConfig(
        vocab_size=vocab, hidden_size=width, intermediate_size=state[OPEN_CLIP_PREFIX + "transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        num_hidden_layers=len(blocks) - 1, num_attention_heads=width // 64, max_position_embeddings=CONTEXT_LENGTH,
        hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=width, bos_token_id=49406, eos_token_id=49407, pad_token_id=PAD_ID,
    )
    last = max(blocks)
    kept = {k: v for k, v in state.items() if k.startswith(OPEN_CLIP_PREFIX) and f"resblocks.{last}." not in k}
    converted = convert_open_clip_checkpoint(CLIPTextModel(config), kept, prefix=OPEN_CLIP_PREFIX)
    converted = {k: v for k, v in converted.items() if k != "text_projection.weight"}  # the context is taken before it
    return _encode(_load_text_model(config, converted, "OpenCLIP text tower"), prompts)


def clip_text_contexts(state: Mapping[str, Tensor], prompts: Sequence[str], prefix: str = "text_encoder.") -> list[Tensor]:
    """Contexts of ``prompts`` from a diffusers ``text_encoder`` folder (``CLIPTextModel``), last hidden state."""
    own = {"text_model." + k[len(prefix):].removeprefix("text_model."): v for k, v in state.items() if k.startswith(prefix)}
    if "text_model.embeddings.token_embedding.weight" not in own:
        raise WeightsError("no text_encoder weights to bake the prompt context from; give SD-2.1-base's text_encoder folder")
    vocab, width = own["text_model.embeddings.token_embedding.weight"].shape
    layers = len({k.split(".")[3] for k in own if k.startswith("text_model.encoder.layers.")})
    config = CLIPTextConfig(
        vocab_size=vocab, hidden_size=width, intermediate_size=own["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0],
        num_hidden_layers=layers, num_attention_heads=width // 64, max_position_embeddings=own["text_model.embeddings.position_embedding.weight"].shape[0],
        hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=width, bos_token_id=49406, eos_token_id=49407, pad_token_id=PAD_ID,
    )
    return _encode(_load_text_model(config, own, "text_encoder"), prompts)
