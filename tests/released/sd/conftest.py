"""Fixture cases converted through the families' own converters (strict loading)."""

from __future__ import annotations

from functools import cache

import torch

from srkit.released.sd import families
from tests.released.sd.fixture_rules import load_case

#: heads per UNet level in the reduced fixture configs (32 channels; LDM head dim 16; CCSR v2 [1, 2, 4, 4])
LDM_HEADS = [2, 2, 2, 2]
V2_HEADS = [1, 2, 4, 4]


@cache
def converted(family_name: str):
    """(case, ConvertedModel) of the family's fixture case, converted with the recorded contexts."""
    if family_name == "ccsr-v2":
        case = load_case("ccsr_v2")
        contexts = [case["in.prompt_embeds"], case["in.negative_prompt_embeds"]]
        return case, families.CCSR_V2.convert(case.group("state."), contexts=contexts, heads=V2_HEADS)
    family = {"dossr": families.DOSSR, "ccsr-v1": families.CCSR_V1}[family_name]
    case = load_case({"dossr": "dossr_controlldm", "ccsr-v1": "ccsr_v1"}[family_name])
    return case, family.convert(case.group("state."), contexts=[case["in.context"]], heads=LDM_HEADS)


def load(family, model, **procedure):
    """The converted model loaded on CPU in fp32, with ``procedure`` settings overridden."""
    config = {**model.config, "procedure": {**model.config["procedure"], **procedure}}
    return family.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")


@cache
def pipeline(family_name: str):
    """(case, ConvertedModel, pipeline) of a family's fixture case, built once per test session."""
    family = {"dossr": families.DOSSR, "ccsr-v1": families.CCSR_V1, "ccsr-v2": families.CCSR_V2}[family_name]
    case, model = converted(family_name)
    return case, model, load(family, model)
