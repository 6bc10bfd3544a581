"""``srkit.train.train``: the library entry point behind ``srkit train``.

Builds the task, data stream, degradation, optimisers, EMA and (under
torchrun) DDP wrappers, restores a run for ``resume``, runs the loop and
draws the loss curve. Everything is set by the recipe; the arguments say
where the data and the run folder are.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from srkit.degrade.crops import check_crop_size
from srkit.degrade.online import RandomDegradation
from srkit.errors import RecipeError, UsageError
from srkit.io.atomic import make_folder
from srkit.nets.compile import compile_if_available
from srkit.nets.ema import EMA
from srkit.recipes import Recipe, recipe_from_mapping
from srkit.train.data import BatchStream, HRCrops, ImageCache, PairedCrops
from srkit.train.distributed import DistContext, setup_distributed
from srkit.train.loop import MessageFn, ProgressFn, Trainer, check_precision
from srkit.train.optim import Updater, build_optimizer, make_grad_scaler
from srkit.train.run_dir import JsonlLog, RunDir
from srkit.train.state_file import load_train_state
from srkit.train.tasks import Task, build_task
from srkit.train.validation import Validator

#: Recipe fields a resumed run may change: how long it runs and how often it logs, validates and saves.
RESUMABLE_FIELDS = frozenset({
    "name", "description", "train.steps", "train.log_every", "train.val_every", "train.ckpt_every",
    "train.val_images", "train.workers", "train.compile", "stage2.steps",
})
#: Sections that only shape inference (validation images), never a training step: free to change on resume.
RESUMABLE_SECTIONS = ("sampler.", "color_fix")


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """Where a run's data and starting weights come from."""

    data: Path | None
    paired: tuple[Path, Path] | None
    val: Path | None
    init: str | Path | None
    stage: int


def check_resumable(stored: Mapping[str, Any], recipe: Recipe) -> None:
    """Refuse to resume a run with a recipe that changes anything but its length, intervals and sampler.

    The stored recipe is read through this srkit's recipe schema first, so a field added
    since the run started counts as its default, not as a change.
    """
    try:
        stored = recipe_from_mapping(stored).to_dict()
    except (RecipeError, UsageError):  # a recipe this srkit cannot read: compare it as stored
        pass
    old, new = _flat(json.loads(json.dumps(stored))), _flat(json.loads(json.dumps(recipe.to_dict())))
    for key in sorted(set(old) | set(new)):
        if key in RESUMABLE_FIELDS or key.startswith(RESUMABLE_SECTIONS):
            continue
        if old.get(key) != new.get(key):
            raise UsageError(f"--resume: the recipe's {key} is {new.get(key)!r} but the run used {old.get(key)!r}; "
                             f"only steps and the log/validation/checkpoint intervals may change")


def _check_inputs(recipe: Recipe, inputs: RunInputs) -> None:
    if (inputs.data is None) == (inputs.paired is None):
        raise UsageError("give the training images with either --data HR_DIR or --paired LR_DIR HR_DIR")
    if recipe.task == "autoencoder" and inputs.paired is not None:
        raise UsageError("the autoencoder trains on HR photos alone: use --data HR_DIR")
    if inputs.stage == 2 and recipe.task == "diffusion" and recipe.stage2 is None:
        raise UsageError(f"recipe '{recipe.name}' has no stage 2 (only CCSR recipes do); drop --stage 2")
    check_crop_size(recipe.data.crop, recipe.scale)
    factor = _latent_factor(recipe)
    if recipe.data.crop % factor:
        raise UsageError(f"--crop {recipe.data.crop} must be a multiple of the autoencoder factor {factor} in latent mode")


def _latent_factor(recipe: Recipe) -> int:
    cfg = recipe.network if recipe.task == "autoencoder" else recipe.autoencoder if recipe.mode == "latent" else None
    return 1 if cfg is None else 2 ** (len(cfg.channel_mult) - 1)


def _crop_source(recipe: Recipe, inputs: RunInputs, run: RunDir, message: MessageFn | None, margin: int = 0) -> HRCrops | PairedCrops:
    """Crops of ``data.crop`` plus ``margin`` pixels of context on every side (the task's ``crop_margin``)."""
    cache, crop = ImageCache(), recipe.data.crop + 2 * margin
    if inputs.paired is not None:
        return PairedCrops(inputs.paired[0], inputs.paired[1], crop, recipe.scale, cache, message)
    assert inputs.data is not None
    return HRCrops(inputs.data, crop, cache, exclude=run.root)  # never its own samples, on --resume too


def _runners(task: Task, dist: DistContext, compile_nets: bool) -> dict[str, torch.nn.Module]:
    """DDP wrappers (several processes) and torch.compile (``train.compile``) around each trainable."""
    runners = {}
    for name, module in task.trainables.items():
        runner = dist.wrap(module)
        runners[name] = compile_if_available(runner, dist.device) if compile_nets else runner
    return runners


def train(
    recipe: Recipe,
    *,
    out: str | Path,
    data: str | Path | None = None,
    paired: tuple[str | Path, str | Path] | None = None,
    val: str | Path | None = None,
    init: str | Path | None = None,
    stage: int = 1,
    resume: bool = False,
    device: str | torch.device = "cpu",
    seed: int | None = None,
    progress: ProgressFn | None = None,
    message: MessageFn | None = None,
    should_stop: Callable[[int], bool] | None = None,
) -> dict[str, Any]:
    """Train ``recipe`` and write the run folder ``out``; returns a summary dict.

    ``data``: folder of HR photos, degraded on the fly with ``recipe.data.degradation``;
    ``paired``: ``(LR_DIR, HR_DIR)`` of existing pairs instead. ``val``: folder of HR
    validation photos (optional). ``init``: a model checkpoint whose ``net.*`` starts
    the network (DoSSR/CCSR from an sr3 prior) or, with ``stage=2``, the frozen CCSR
    stage 1. ``resume`` continues the run in ``out`` from its last checkpoint,
    drawing exactly what the uninterrupted run would have. ``seed`` overrides
    ``recipe.train.seed``. ``progress(step, total, values)`` and ``message(text)``
    are called on rank 0; ``should_stop(step)`` returning True ends the run early
    with a checkpoint (as Ctrl-C does, which then raises ``KeyboardInterrupt``).
    """
    if seed is not None and seed != recipe.train.seed:
        recipe = recipe.with_overrides(train={"seed": seed})
    inputs = RunInputs(
        data=Path(data) if data is not None else None,
        paired=(Path(paired[0]), Path(paired[1])) if paired is not None else None,
        val=Path(val) if val is not None else None,
        init=init,
        stage=stage,
    )
    _check_inputs(recipe, inputs)
    check_precision(recipe.train.precision, torch.device(device))
    dist = setup_distributed(device)
    run = RunDir(Path(out))
    trainer = None
    try:
        if not resume:
            run.check_fresh()
        state, start_step = _restore(run, recipe, inputs) if resume else (None, 0)
        if state is not None and inputs.init is None:
            inputs = dataclasses.replace(inputs, init=state["run"].get("init"))
        dist.barrier()
        trainer = _build_trainer(recipe, inputs, dist, run, progress, message, should_stop)
        if state is not None:
            trainer.load_state(state)
        if dist.is_main:
            _prepare_run_folder(run, recipe, start_step if state is not None else None)
            if message is not None:
                message(_start_message(trainer, dist, start_step, state))
        result = trainer.fit(start_step)
        if dist.is_main:
            plot_losses(run)
        total = trainer.total
        return {
            "run_dir": str(run.root),
            "recipe": recipe.name,
            "task": recipe.task,
            "stage": stage,
            "start_step": start_step,
            "step": result.step,
            "total_steps": total,
            "interrupted": result.interrupted,
            "final": str(run.final) if result.step >= total else None,
            "checkpoint": str(run.model_checkpoint(result.step)),
            "model_id": result.model_id,
            "loss": result.last_logs.get("loss"),
            "validation": result.last_val,
            "it_per_s": result.steps_run / result.train_seconds if result.train_seconds > 0 else None,
            "world_size": dist.world,
            "device": str(dist.device),
        }
    finally:
        if trainer is not None:
            trainer.stream.close()
        dist.close()


def _restore(run: RunDir, recipe: Recipe, inputs: RunInputs) -> tuple[dict[str, Any], int]:
    """The last training state of the run in ``run``, checked against this recipe and stage."""
    latest = run.latest_state()
    if latest is None:
        raise UsageError(f"--resume: {run.checkpoints} holds no checkpoint; start the run without --resume")
    state, step = load_train_state(latest[0])
    check_resumable(state["run"]["recipe"], recipe)
    if int(state["run"].get("stage", 1)) != inputs.stage:
        raise UsageError(f"--resume: the run in {run.root} is stage {state['run']['stage']}, not {inputs.stage}")
    return state, step


def _build_trainer(recipe: Recipe, inputs: RunInputs, dist: DistContext, run: RunDir, progress: ProgressFn | None,
                   message: MessageFn | None, should_stop: Callable[[int], bool] | None) -> Trainer:
    """Task, data stream, degradation, optimisers, EMA and DDP/compile wrappers, assembled into a Trainer."""
    cfg, seed = recipe.train, recipe.train.seed
    task = build_task(recipe, stage=inputs.stage, init=inputs.init, device=dist.device, seed=seed)
    source = _crop_source(recipe, inputs, run, message if dist.is_main else None, task.crop_margin)
    stream = BatchStream(source, batch_size=cfg.batch_size, seed=seed, rank=dist.rank, world=dist.world,
                         flips=recipe.data.flips, rotations=recipe.data.rotations, device=dist.device,
                         workers=cfg.workers)
    degrade = None
    if task.needs_lr and inputs.paired is None:
        degrade = RandomDegradation(recipe.data.degradation, recipe.scale, dist.device)
    base_lrs = task.learning_rates()
    optimizers = {name: build_optimizer(module.parameters(), cfg, base_lrs[name]) for name, module in task.trainables.items()}
    updater = Updater(optimizers, base_lrs, cfg.grad_clip, cfg.warmup_steps, make_grad_scaler(cfg.precision, dist.device))
    emas = {name: EMA(task.trainables[name], decay=cfg.ema_decay) for name in task.averaged}
    task.set_runners(_runners(task, dist, cfg.compile))
    validator = Validator(inputs.val, recipe, seed=seed, device=dist.device) if inputs.val is not None else None
    run_info = {
        "recipe": recipe.to_dict(), "stage": inputs.stage, "seed": seed, "world_size": dist.world, "task": recipe.task,
        "data": str(inputs.data) if inputs.data else None, "paired": [str(p) for p in inputs.paired] if inputs.paired else None,
        "init": str(inputs.init) if inputs.init is not None else None,
    }
    return Trainer(task=task, recipe=recipe, stream=stream, degrade=degrade, updater=updater, emas=emas, dist=dist,
                   run=run, seed=seed, validator=validator, progress=progress, message=message,
                   should_stop=should_stop, run_info=run_info)


def _prepare_run_folder(run: RunDir, recipe: Recipe, resumed_step: int | None) -> None:
    """Write the resolved recipe; on resume, drop log records of steps the run will repeat."""
    make_folder(run.root)
    run.write_recipe(recipe.to_dict())
    if resumed_step is not None:
        JsonlLog(run.log).truncate_after(resumed_step)


def _start_message(trainer: Trainer, dist: DistContext, start_step: int, state: Mapping[str, Any] | None) -> str:
    task, recipe = trainer.task, trainer.recipe
    params = sum(p.numel() for m in task.trainables.values() for p in m.parameters())
    text = (f"training {recipe.name} ({task.label}) on {dist.device} x{dist.world}: {params / 1e6:.2f}M trainable parameters, "
            f"{len(trainer.stream.source)} images, steps {start_step} -> {trainer.total}")
    if state is not None and int(state["run"].get("world_size", 1)) != dist.world:
        text += f" (resumed with {dist.world} processes where the run used {state['run']['world_size']}: the data order differs)"
    return text


def plot_losses(run: RunDir) -> Path | None:
    """Draw ``loss.png`` from the run's log (log-scaled when every loss is positive); None without losses."""
    from srkit.plotting import line_plot

    points = [(r["step"], r["loss"]) for r in JsonlLog(run.log).records() if isinstance(r.get("loss"), (int, float))]
    if not points:
        return None
    steps, losses = zip(*points)
    return line_plot(run.loss_plot, {"loss": (steps, losses)}, title=f"training loss ({run.root.name})",
                     xlabel="step", ylabel="loss", log_y=min(losses) > 0)
