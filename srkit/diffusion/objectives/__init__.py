"""Training objectives: ``objective(net, process, x0, y, generator) -> (loss, logs)``.

Network calls per training step: regression 1, DREAM 2 (the first without
gradient), CCSR NUTL 3; a sampler roll-out batch 1 plus the sampler calls before the one trained.
"""

from srkit.diffusion.objectives.common import Objective, PerceptualLoss, pixel_loss
from srkit.diffusion.objectives.dream import DreamObjective
from srkit.diffusion.objectives.nutl import NutlObjective
from srkit.diffusion.objectives.regression import RegressionObjective
from srkit.diffusion.objectives.rollout import RolloutObjective

__all__ = ["DreamObjective", "NutlObjective", "Objective", "PerceptualLoss", "RegressionObjective", "RolloutObjective", "pixel_loss"]
