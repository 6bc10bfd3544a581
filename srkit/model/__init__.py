"""The model layer, below training and inference: the trained model as a pipeline of named stages.

``sr_model`` (:class:`SRModel`: preprocess -> condition -> sample -> decode -> colour fix),
``condition`` (the one place ``y`` is made, for training and inference), ``loading``
(checkpoints -> models; released checkpoints -> their pipelines). Anything with the
:class:`~srkit.released.base.ReleasedPipeline` surface runs where an :class:`SRModel` does
(tiled inference, bench); :data:`AnyModel` names the two.
"""

from srkit.model.condition import Preprocessor, condition_image, reference_image, upsample_condition
from srkit.model.loading import (
    MODEL_KIND,
    load_model,
    model_from_modules,
    model_tensors,
    resolve_weights_path,
    split_prefixed,
)
from srkit.model.preprocessors import PREPROCESSORS, build_preprocessor
from srkit.model.sr_model import SRModel, module_device
from srkit.precision import PRECISIONS, check_precision
from srkit.model.surface import AnyModel, is_srkit_model, model_name

__all__ = [
    "MODEL_KIND",
    "PRECISIONS",
    "PREPROCESSORS",
    "AnyModel",
    "Preprocessor",
    "SRModel",
    "build_preprocessor",
    "check_precision",
    "condition_image",
    "is_srkit_model",
    "load_model",
    "model_from_modules",
    "model_name",
    "model_tensors",
    "module_device",
    "reference_image",
    "resolve_weights_path",
    "split_prefixed",
    "upsample_condition",
]
