"""The training loop shared by every task: steps, accumulation, EMA, logs, validation, checkpoints.

One step = ``grad_accum`` micro-batches (forward under autocast, backward
scaled by ``1 / grad_accum``; DDP synchronises gradients on the last one
only), then one update of every optimiser and of the EMA copies. All random
draws of micro-batch ``d`` come from generators seeded by ``(seed, d, rank)``
(:mod:`srkit.train.seeding`), so a resumed run repeats the uninterrupted one
exactly. Rank 0 alone writes logs, checkpoints and sample grids.

SIGINT/SIGTERM (Ctrl-C) are deferred: the current step finishes, a
checkpoint is saved, then ``KeyboardInterrupt`` is raised. A second Ctrl-C
interrupts at once.
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import torch
from torch import Tensor, nn

from srkit.errors import SettingError, SrkitError
from srkit.recipes import Recipe
from srkit.train.data import BatchStream, TrainBatch
from srkit.train.distributed import DistContext
from srkit.train.optim import Updater
from srkit.train.run_dir import JsonlLog, RunDir
from srkit.train.seeding import Stream, derive_seed, numpy_rng, torch_rng
from srkit.train.state_file import save_train_state
from srkit.train.tasks.base import Task, freeze
from srkit.train.validation import Validator
from srkit.train.weights import save_model

ProgressFn = Callable[[int, int, Mapping[str, float]], None]
MessageFn = Callable[[str], None]
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """fp16 autocast needs CUDA (and its loss scaler); bf16 runs anywhere autocast does."""
    if precision == "fp16" and device.type != "cuda":
        raise SettingError("precision", "fp16 needs CUDA (CPU has no fast fp16 training); use fp32 or bf16")


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed-precision context for the forward passes: bf16/fp16 autocast, or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    check_precision(precision, device)
    return torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[precision])


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """Turn the first SIGINT/SIGTERM into a flag (checked between steps); restores the handlers after."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        flag.set()
        signal.signal(signum, previous[signum])  # a second signal acts at once

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _no_sync(runners: Mapping[str, nn.Module]) -> contextlib.ExitStack:
    """Skip DDP's gradient all-reduce for a micro-batch that is not the last of its step."""
    stack = contextlib.ExitStack()
    for runner in runners.values():
        if isinstance(runner, nn.parallel.DistributedDataParallel):
            stack.enter_context(runner.no_sync())
    return stack


class _RateClock:
    """Training steps per second since the last restart (validation and checkpoints restart it)."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.start, self.steps = time.perf_counter(), 0

    def tick(self) -> None:
        self.steps += 1

    def rate(self) -> float:
        return self.steps / max(time.perf_counter() - self.start, 1e-9)


@dataclass
class LoopResult:
    """Where a run of the loop ended."""

    step: int
    interrupted: bool
    last_logs: dict[str, float] = field(default_factory=dict)
    last_val: dict[str, float] = field(default_factory=dict)
    model_id: str = ""
    train_seconds: float = 0.0
    steps_run: int = 0


class Trainer:
    """Runs a :class:`Task` from a start step to its total, with everything around the loss."""

    def __init__(
        self,
        *,
        task: Task,
        recipe: Recipe,
        stream: BatchStream,
        degrade: Callable[[Tensor, Any], Any] | None,
        updater: Updater,
        emas: Mapping[str, Any],
        dist: DistContext,
        run: RunDir,
        seed: int,
        validator: Validator | None = None,
        progress: ProgressFn | None = None,
        message: MessageFn | None = None,
        should_stop: Callable[[int], bool] | None = None,
        run_info: Mapping[str, Any] | None = None,
    ) -> None:
        self.task, self.recipe, self.stream, self.degrade = task, recipe, stream, degrade
        self.updater, self.emas, self.dist, self.run = updater, dict(emas), dist, run
        self.seed, self.validator = seed, validator
        self.progress, self.message, self.should_stop = progress, message, should_stop
        self.run_info = dict(run_info or {})
        self.cfg = recipe.train
        self.total = task.total_steps()
        self.log = JsonlLog(run.log)
        self.averaged = {name: freeze(copy.deepcopy(task.trainables[name])) for name in task.averaged}
        self._reference: TrainBatch | None = None
        self._last: tuple[int, TrainBatch] | None = None

    # --- one step ---------------------------------------------------------------------
    def micro_batch(self, draw: int) -> TrainBatch:
        """Micro-batch ``draw`` with its LR made on the fly when the task needs one and the data has none.

        With ``task.batch_reuse = R`` draws ``R k .. R k + R - 1`` share data draw ``k``
        (the same crops and degradation, returned as the same object, so the task can keep
        what it derived from it, e.g. a preprocessor's output). Every draw still gets its own
        timesteps and noise. A resumed run rebuilds data draw ``k`` identically.
        """
        draw = draw // self.task.batch_reuse
        if self._last is not None and self._last[0] == draw:
            return self._last[1]
        batch = self.stream.batch(draw)
        if batch.lr is None and self.task.needs_lr:
            pairs = self.degrade(batch.hr, numpy_rng(self.seed, Stream.DEGRADATION, draw, self.dist.rank))
            batch = TrainBatch(hr=pairs.hr, lr=pairs.lr)
        self._last = (draw, batch)
        return batch

    def train_step(self, step: int) -> dict[str, Tensor]:
        """One optimisation step (all micro-batches); returns the step's mean logs as tensors."""
        accum = self.cfg.grad_accum
        sums: dict[str, Tensor] = {}
        for micro in range(accum):
            draw = step * accum + micro
            batch = self.micro_batch(draw)
            torch.manual_seed(derive_seed(self.seed, Stream.GLOBAL, draw, self.dist.rank))
            generator = torch_rng(self.seed, Stream.OBJECTIVE, draw, self.dist.rank, device=self.dist.device)
            with _no_sync(self.task.runners) if micro < accum - 1 else contextlib.nullcontext():
                with autocast(self.cfg.precision, self.dist.device):
                    loss, logs = self.task.loss(batch, step, generator)
                self.updater.backward(loss / accum)
            for name, value in logs.items():
                sums[name] = sums[name] + value.float() if name in sums else value.float()
        norms = self.updater.step(step)
        for name, ema in self.emas.items():
            ema.update(self.task.trainables[name])
        means = {name: value / accum for name, value in sums.items()}
        means.update({f"grad_norm_{name}": norm.detach().float() for name, norm in norms.items()})
        return means

    # --- outputs ----------------------------------------------------------------------
    def _refresh_averaged(self) -> None:
        for name, ema in self.emas.items():
            ema.copy_to(self.averaged[name])

    def reference_batch(self) -> TrainBatch:
        """A fixed training batch (draw 0 of rank 0), e.g. to calibrate the autoencoder's latent scale."""
        if self._reference is None:
            self._reference = self.stream.peek(0)
        return self._reference

    def save(self, step: int, *, final: bool) -> str:
        """Model checkpoint (EMA weights) and state file of ``step``; ``final.safetensors`` too at the end."""
        model_id = ""
        if self.dist.is_main:
            self._refresh_averaged()
            tensors = self.task.checkpoint_tensors(self.averaged, self.reference_batch())
            kind = self.task.checkpoint_kind
            model_id = save_model(self.run.model_checkpoint(step), tensors, self.recipe, kind=kind, step=step)
            if final:
                save_model(self.run.final, tensors, self.recipe, kind=kind, step=step)
            save_train_state(self.run.state_file(step), self.state(), step=step)
        self.dist.barrier()
        return model_id

    def state(self) -> dict[str, Any]:
        """Everything a resumed run needs besides the data (raw weights, optimisers, EMA, loss scaler)."""
        scaler = self.updater.scaler
        return {
            "modules": {name: module.state_dict() for name, module in self.task.trainables.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.updater.optimizers.items()},
            "ema": {name: ema.state_dict() for name, ema in self.emas.items()},
            "scaler": scaler.state_dict() if scaler is not None else None,
            "task": self.task.extra_state(),
            "run": self.run_info,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state` saved (tensors arrive on CPU; each owner moves them to its device)."""
        for name, module in self.task.trainables.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in self.updater.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, ema in self.emas.items():
            ema.load_state_dict(state["ema"][name])
        if self.updater.scaler is not None and state.get("scaler"):
            self.updater.scaler.load_state_dict(state["scaler"])
        self.task.load_extra_state(state.get("task") or {})

    def validate(self, step: int) -> dict[str, float]:
        """Score the EMA model on the validation pairs (rank 0), log the scores, write the sample grid."""
        scores: dict[str, float] = {}
        if self.dist.is_main and self.validator is not None:
            self._refresh_averaged()
            scores = self.validator.run(self.task, self.averaged, self.run.sample_grid(step))
            self.log.write({"step": step, **scores})
            self._say(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        self.dist.barrier()
        return scores

    def _say(self, text: str) -> None:
        if self.message is not None and self.dist.is_main:
            self.message(text)

    def _log_window(self, step: int, window: list[dict[str, Tensor]], rate: float) -> dict[str, float]:
        """Average the window's logs (over steps and processes), write one JSONL record on rank 0."""
        names = list(window[-1])
        means = torch.stack([torch.stack([w[n] for w in window if n in w]).mean() for n in names])
        record = dict(zip(names, self.dist.mean(means).tolist()))
        record.update({"lr": self.updater.current_lr(next(iter(self.updater.optimizers)), step - 1), "it_s": rate})
        if self.dist.is_main:
            self.log.write({"step": step, **record})
        if not all(math.isfinite(v) for v in record.values()):
            raise SrkitError(f"training diverged at step {step} (loss {record.get('loss')}); lower --lr or use --precision fp32")
        return record

    # --- the loop ---------------------------------------------------------------------
    def fit(self, start_step: int) -> LoopResult:
        """Train from ``start_step`` to the task's total; checkpoint on the way, at the end and on a stop."""
        result = LoopResult(step=start_step, interrupted=False)
        if self.dist.is_main and start_step == 0:
            self.log.write({"step": 0, "event": "start", **{k: v for k, v in self.run_info.items() if k != "recipe"}})
        with deferred_interrupt() as interrupt, torch.random.fork_rng(devices=self._cuda_devices()):
            result.interrupted = self._steps(start_step, result, interrupt)
        finished = result.step >= self.total
        if finished and self.validator is not None and result.step % self.cfg.val_every != 0:
            result.last_val = self.validate(result.step)
        if result.step > start_step or finished:
            result.model_id = self.save(result.step, final=finished)
        if interrupt.is_set() and not finished:
            self._say(f"interrupted: checkpoint saved at step {result.step}; continue with the same command and --resume")
            raise KeyboardInterrupt
        return result

    def _steps(self, step: int, result: LoopResult, interrupt: threading.Event) -> bool:
        """Run steps until the total or a stop request (returns True when stopped early)."""
        window: list[dict[str, Tensor]] = []
        clock = _RateClock()
        while step < self.total:
            tic = time.perf_counter()
            window.append(self.train_step(step))
            result.train_seconds += time.perf_counter() - tic
            step = result.step = step + 1
            result.steps_run += 1
            clock.tick()
            if step % self.cfg.log_every == 0 or step == self.total:
                result.last_logs = self._log_window(step, window, clock.rate())
                window = []
            if self.validator is not None and step % self.cfg.val_every == 0:
                result.last_val = self.validate(step)
                clock.restart()
            if step % self.cfg.ckpt_every == 0 and step < self.total:
                result.model_id = self.save(step, final=False)
                clock.restart()
            if self.progress is not None and self.dist.is_main:
                self.progress(step, self.total, {**result.last_logs, "it_s": clock.rate()})
            stop = interrupt.is_set() or (self.should_stop is not None and self.should_stop(step))
            if self.dist.any_flag(stop) and step < self.total:
                if window:
                    result.last_logs = self._log_window(step, window, clock.rate())
                return True
        return False

    def _cuda_devices(self) -> list[int]:
        device = self.dist.device
        return [device.index or 0] if device.type == "cuda" else []
