"""The four ``srkit convert --from resshift-*`` families: same networks, two official schedules.

| family | official file | config | steps | min_noise_level |
| --- | --- | --- | --- | --- |
| ``resshift-v1`` | ``resshift_realsrx4_s15_v1.pth`` | ``realsr_swinunet_realesrgan256.yaml`` | 15 | 0.04 |
| ``resshift-v2`` | ``resshift_realsrx4_s15_v2.pth`` | same | 15 | 0.04 |
| ``resshift-v3`` | ``resshift_realsrx4_s4_v3.pth`` | ``realsr_swinunet_realesrgan256_journal.yaml`` | 4 | 0.2 |
| ``resshift-bicsr`` | ``resshift_bicsrx4_s4.pth`` | ``bicx4_swinunet_lpips.yaml`` | 4 | 0.2 |

Each also needs ``autoencoder_vq_f4.pth``. All use kappa 2, power 0.3, sqrt(eta_T) 0.99, x4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from srkit.released.base import ConvertedModel
from srkit.released.resshift.convert import convert_resshift, source_role
from srkit.released.resshift.pipeline import ResShiftPipeline, pipeline_from_converted
from srkit.released.resshift.sampling import OfficialSchedule

LICENCE = "S-Lab License 1.0 (non-commercial)"
RELEASE_URL = "https://github.com/zsyOAOA/ResShift/releases/tag/v2.0"
AUTOENCODER_FILE = "autoencoder_vq_f4.pth"


@dataclass(frozen=True)
class ResShiftFamily:
    """One official ResShift x4 checkpoint: its file and schedule (see the module table)."""

    name: str
    checkpoint_file: str
    schedule: OfficialSchedule
    description: str
    licence: str = LICENCE
    scale: int = 4

    @property
    def files(self) -> tuple[str, ...]:
        """The official files ``srkit convert`` needs for this family."""
        return (self.checkpoint_file, AUTOENCODER_FILE)

    def looks_like(self, keys: set[str]) -> bool:
        """Is this one of the two official ResShift files (Swin-UNet or VQGAN-f4)?"""
        return source_role(keys) is not None

    def source_role(self, keys: set[str]) -> str | None:
        """``"unet"`` or ``"vq"``: the part of the model a source file holds."""
        return source_role(keys)

    def convert(self, state: Mapping[str, Tensor]) -> ConvertedModel:
        """``unet.*``/``vq.*`` official keys -> srkit tensors, with this family's schedule in the config."""
        converted = convert_resshift(state)
        config = {**converted.config, "diffusion": self.schedule.to_dict(), "scale": self.scale}
        return ConvertedModel(tensors=converted.tensors, config=config, ignored=converted.ignored)

    def load(
        self, tensors: Mapping[str, Tensor], config: Mapping[str, Any], *, device: torch.device, precision: str
    ) -> ResShiftPipeline:
        return pipeline_from_converted(tensors, config, device=device, precision=precision, licence=self.licence)


_REALSR_15 = OfficialSchedule(steps=15, min_noise_level=0.04)
_REALSR_4 = OfficialSchedule(steps=4, min_noise_level=0.2)

FAMILIES: tuple[ResShiftFamily, ...] = (
    ResShiftFamily("resshift-v1", "resshift_realsrx4_s15_v1.pth", _REALSR_15,
                   "ResShift real-world x4, 15 steps (conference release, 300k iterations)"),
    ResShiftFamily("resshift-v2", "resshift_realsrx4_s15_v2.pth", _REALSR_15,
                   "ResShift real-world x4, 15 steps (500k iterations)"),
    ResShiftFamily("resshift-v3", "resshift_realsrx4_s4_v3.pth", _REALSR_4,
                   "ResShift real-world x4, 4 steps (journal release)"),
    ResShiftFamily("resshift-bicsr", "resshift_bicsrx4_s4.pth", _REALSR_4,
                   "ResShift bicubic x4, 4 steps"),
)
