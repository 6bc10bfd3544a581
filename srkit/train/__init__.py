"""Training (``srkit train``): every recipe, from HR photos or existing pairs, on one or many devices.

``from srkit.train import train`` -- see :func:`srkit.train.api.train`.
"""

from srkit.train.api import train

__all__ = ["train"]
