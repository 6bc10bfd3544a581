"""What every runnable model offers, srkit-trained or released: the ``ReleasedPipeline`` surface.

``scale``, ``latent_factor``, ``device``, ``model_id``, ``start_shape(lr_shape)`` and
``super_resolve(lr, noise=, generator=, callback=) -> (sr in [0, 1], NFE)``, and optionally
``position_keyed`` (:func:`position_keyed`). Only an
:class:`~srkit.model.sr_model.SRModel` also takes a ``sampler`` (a released model samples
as it was released) and a boundary condition.
"""

from __future__ import annotations

from typing import Union

from srkit.errors import UsageError
from srkit.model.sr_model import SRModel
from srkit.released.base import ReleasedPipeline

AnyModel = Union[SRModel, ReleasedPipeline]


def position_keyed(model: AnyModel) -> bool:
    """Whether ``model``'s state grid is its LR grid times ``scale / latent_factor``, so that the start
    and step noise of a tiled run can be cut from one position-keyed field per image (srkit models,
    ResShift, DoSSR). A released model that resizes its input as its script does (the CCSR scripts'
    sizes) says ``position_keyed = False``: its tiles then run one by one, all drawing from one generator per image."""
    return bool(getattr(model, "position_keyed", True))


def is_srkit_model(model: AnyModel) -> bool:
    """Whether ``model`` is an srkit-trained :class:`SRModel` (with a recipe, a sampler and a state space)."""
    return isinstance(model, SRModel)


def model_name(model: AnyModel) -> str:
    """The method name for reports: the recipe's, or a released model's ``name`` (else its id)."""
    if isinstance(model, SRModel):
        return model.recipe.name
    return str(getattr(model, "name", model.model_id))


def require_srkit_model(model: AnyModel, what: str) -> SRModel:
    """``model`` if it is an :class:`SRModel`; a one-line UsageError saying ``what`` a released model does not take."""
    if not isinstance(model, SRModel):
        raise UsageError(f"{what} does not apply to the released model {model_name(model)}: it samples as released")
    return model
