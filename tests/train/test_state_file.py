"""Training state without pickles: nested optimiser/EMA states survive safetensors + JSON exactly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from srkit.errors import WeightsError
from srkit.io.checkpoints import save_checkpoint
from srkit.train.run_dir import JsonlLog, RunDir
from srkit.train.state_file import flatten, load_train_state, save_train_state, unflatten


def test_flatten_round_trips_int_keys_tuples_and_scalars() -> None:
    state = {
        "state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.arange(4.0)}, 7: {"step": torch.tensor(1.0)}},
        "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "params": [0, 7], "foreach": None, "amsgrad": False}],
        "inf": math.inf,
    }
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten(state, tensors)
    assert len(tensors) == 3
    back = unflatten(skeleton, tensors)
    assert set(back["state"]) == {0, 7} and back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert torch.equal(back["state"][0]["exp_avg"], torch.arange(4.0)) and back["inf"] == math.inf


def test_restored_adam_state_continues_with_identical_updates(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    x = torch.randn(5, 3)

    def update(m: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        opt.zero_grad()
        m(x).square().mean().backward()
        opt.step()

    for _ in range(3):
        update(model, optimizer)
    save_train_state(tmp_path / "s.safetensors", {"model": model.state_dict(), "optim": optimizer.state_dict()}, step=3)
    update(model, optimizer)

    state, step = load_train_state(tmp_path / "s.safetensors")
    clone = torch.nn.Linear(3, 2)
    clone.load_state_dict(state["model"])
    clone_opt = torch.optim.AdamW(clone.parameters(), lr=1e-2, weight_decay=0.1)
    clone_opt.load_state_dict(state["optim"])
    update(clone, clone_opt)
    assert step == 3
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), clone.state_dict().values()))


def test_a_model_checkpoint_is_not_a_state_file(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "m.safetensors", {"net.w": torch.ones(2)}, {"kind": "srkit-model"})
    with pytest.raises(WeightsError, match="not an srkit training state"):
        load_train_state(tmp_path / "m.safetensors")


def test_latest_state_is_the_highest_step(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.latest_state() is None
    for step in (2, 10, 9):
        save_train_state(run.state_file(step), {"x": torch.zeros(1)}, step=step)
    assert run.latest_state() == (run.state_file(10), 10)
    assert run.state_file(10).name == "step_0000010.state.safetensors"


def test_log_truncation_drops_records_after_the_resumed_step(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "log.jsonl")
    for step in range(1, 6):
        log.write({"step": step, "loss": 1.0 / step, "nan": float("nan")})
    log.truncate_after(3)
    records = list(log.records())
    assert [r["step"] for r in records] == [1, 2, 3] and records[0]["nan"] is None
