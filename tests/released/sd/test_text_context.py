"""Baked prompt contexts: the OpenCLIP penultimate-layer context through transformers' CLIPTextModel equals a direct evaluation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srkit.released.sd import text
from tests.released.sd.official_keys import open_clip_text_keys
from tests.released.sd.synthetic import random_state

WIDTH, LAYERS, HEADS = 64, 3, 1
P = "cond_stage_model.model."


def _open_clip_penultimate(state: dict[str, torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
    """OpenCLIP's text transformer as ``FrozenOpenCLIPEmbedder(layer="penultimate")`` runs it: all blocks but
    the last (pre-norm residual attention with a causal mask, GELU MLP), then ``ln_final``."""
    x = state[P + "token_embedding.weight"][ids] + state[P + "positional_embedding"]
    mask = torch.full((77, 77), float("-inf")).triu(1)
    for i in range(LAYERS - 1):
        b = f"{P}transformer.resblocks.{i}."
        attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
        attn.load_state_dict({"in_proj_weight": state[b + "attn.in_proj_weight"], "in_proj_bias": state[b + "attn.in_proj_bias"],
                              "out_proj.weight": state[b + "attn.out_proj.weight"], "out_proj.bias": state[b + "attn.out_proj.bias"]})
        h = F.layer_norm(x, (WIDTH,), state[b + "ln_1.weight"], state[b + "ln_1.bias"])
        x = x + attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        h = F.layer_norm(x, (WIDTH,), state[b + "ln_2.weight"], state[b + "ln_2.bias"])
        h = F.linear(F.gelu(F.linear(h, state[b + "mlp.c_fc.weight"], state[b + "mlp.c_fc.bias"])), state[b + "mlp.c_proj.weight"], state[b + "mlp.c_proj.bias"])
        x = x + h
    return F.layer_norm(x, (WIDTH,), state[P + "ln_final.weight"], state[P + "ln_final.bias"])


def test_open_clip_context_matches_a_direct_evaluation() -> None:
    state = random_state(open_clip_text_keys(WIDTH, LAYERS), seed=3)
    state[P + "positional_embedding"] = 0.1 * state[P + "positional_embedding"]
    with torch.no_grad():
        expected = _open_clip_penultimate(state, text.token_ids(text.POSITIVE_PROMPT))
    (baked,) = text.open_clip_contexts(state, [text.POSITIVE_PROMPT])
    torch.testing.assert_close(baked, expected, rtol=1e-5, atol=1e-5)


def test_token_ids_are_padded_to_77() -> None:
    ids = text.token_ids("")
    assert ids.shape == (1, 77) and ids[0, :2].tolist() == [49406, 49407] and int(ids[0, 2:].abs().sum()) == 0


def _clip_bpe():
    """OpenAI CLIP's tokenizer module, where the ``openai-clip`` package is installed (it ships the BPE vocabulary)."""
    spec = importlib.util.find_spec("clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "simple_tokenizer.py"
    if not path.exists():
        return None
    loader = importlib.util.spec_from_file_location("_clip_simple_tokenizer", path)
    module = importlib.util.module_from_spec(loader)
    try:
        loader.loader.exec_module(module)
    except ImportError:
        return None
    return module.SimpleTokenizer()


@pytest.mark.parametrize("prompt", sorted(text.TOKEN_IDS))
def test_recorded_token_ids_match_the_clip_bpe(prompt: str) -> None:
    bpe = _clip_bpe()
    if bpe is None:
        pytest.skip("the CLIP BPE vocabulary (openai-clip) is not installed")
    assert text.TOKEN_IDS[prompt] == (49406, *bpe.encode(prompt), 49407)
