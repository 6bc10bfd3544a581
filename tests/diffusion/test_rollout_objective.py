"""Sampler roll-out training: the state it trains on is the one the sampler feeds that call, and nothing else."""

import pytest
import torch

from srkit.diffusion.build import build_objective, build_sampler
from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.objectives import (
    DreamObjective,
    RegressionObjective,
    RolloutObjective,
)
from srkit.diffusion.objectives.rollout import rollout_input, sampler_calls
from srkit.errors import RecipeError, UsageError
from srkit.recipes import ObjectiveConfig, SamplerConfig

from .helpers import AffineNet, dossr, resshift, vp

SHAPE = (3, 2, 6, 6)


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(SHAPE, generator=gen) * 2 - 1, torch.rand(SHAPE, generator=gen) * 2 - 1


def _full_run_inputs(sampler, process, net, y, seed):
    """Every (x_t, t) the sampler feeds the network in one whole run from ``seed``."""
    seen = []

    def recording(x_in, cond, t):
        seen.append((x_in.clone(), t.clone()))
        return net(x_in, cond, t)

    with torch.no_grad():
        sampler(Denoiser(recording, process, "x0"), process, y, generator=torch.Generator().manual_seed(seed))
    return seen


CASES = [
    ("dossr", lambda: dossr(), SamplerConfig(kind="dos_sde", steps=5, order=1)),
    ("dossr-order3", lambda: dossr(), SamplerConfig(kind="dos_sde", steps=4, order=3)),
    ("resshift", lambda: resshift(), SamplerConfig(kind="resshift", steps=15)),
    ("vp-ddpm", lambda: vp(T=200), SamplerConfig(kind="ddpm", steps=6)),
]


@pytest.mark.parametrize("name, make, cfg", CASES, ids=[c[0] for c in CASES])
def test_rollout_input_is_the_state_the_sampler_feeds_that_call(name, make, cfg):
    process, net = make(), AffineNet()
    sampler = build_sampler(cfg, process)
    _, y = _batch()
    whole = _full_run_inputs(sampler, process, net, y, seed=4)
    assert sampler_calls(sampler, process, y) == len(whole)
    for call in range(len(whole)):
        x_t, t = rollout_input(net, process, "x0", sampler, y, call, torch.Generator().manual_seed(4))
        torch.testing.assert_close(process.scale_model_input(x_t, t), whole[call][0])
        assert torch.equal(t.float(), whole[call][1])
    with pytest.raises(UsageError, match="fewer than call"):
        rollout_input(net, process, "x0", sampler, y, len(whole), torch.Generator().manual_seed(4))


def test_call_zero_is_the_sampler_start_and_counts_follow_the_sampler():
    process = dossr()
    sampler = build_sampler(SamplerConfig(kind="dos_sde", steps=5, order=1), process)
    _, y = _batch()
    x_t, t = rollout_input(AffineNet(), process, "x0", sampler, y, 0, torch.Generator().manual_seed(2))
    noise = torch.randn(y.shape, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(x_t, process.prior_sample(y, noise))
    assert (t == process.start_index).all()
    ccsr = build_sampler(SamplerConfig(kind="ccsr", steps=3), vp(T=300))
    assert sampler_calls(ccsr, vp(T=300), y) == 4  # CCSR: NFE = 1 + steps


def test_rollout_batch_regresses_the_call_output_onto_x0_with_gradient_only_there():
    process, net = dossr(), AffineNet()
    sampler = build_sampler(SamplerConfig(kind="dos_sde", steps=5, order=1), process)
    x0, y = _batch(1)
    objective = RolloutObjective(RegressionObjective("x0", "l2"), sampler, p=1.0, loss="l2")
    loss, logs = objective(net, process, x0, y, torch.Generator().manual_seed(7))
    assert [c["grad"] for c in net.calls][-1] is True and not any(c["grad"] for c in net.calls[:-1])
    # the documented draw order: the p coin, then the call, then the sampler's draws
    gen = torch.Generator().manual_seed(7)
    torch.rand((), generator=gen)
    call = int(torch.randint(0, 5, (1,), generator=gen))
    assert len(net.calls) == call + 1
    reference = AffineNet()
    x_t, t = rollout_input(reference, process, "x0", sampler, y, call, gen)
    manual = (reference(process.scale_model_input(x_t, t), y, t.float()) - x0).square().mean()
    torch.testing.assert_close(loss, manual)
    loss.backward()
    manual.backward()
    torch.testing.assert_close(net.weight.grad, reference.weight.grad)
    assert logs["loss"] == loss.detach()


def test_batches_past_p_use_the_base_objective_with_the_same_generator_afterwards():
    process = dossr()
    sampler = build_sampler(SamplerConfig(kind="dos_sde", steps=5, order=1), process)
    x0, y = _batch(2)
    base = DreamObjective(1.0, "x0", "l1")
    seed = next(s for s in range(100) if torch.rand((), generator=torch.Generator().manual_seed(s)) >= 0.3)
    loss, _ = RolloutObjective(base, sampler, p=0.3, loss="l1")(AffineNet(), process, x0, y, torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed)
    torch.rand((), generator=gen)
    expected, _ = base(AffineNet(), process, x0, y, gen)
    assert torch.equal(loss, expected)


def test_rollout_settings_are_checked():
    process = dossr()
    sampler = build_sampler(SamplerConfig(kind="dos_sde", steps=5), process)
    with pytest.raises(UsageError, match="x0 network"):
        build_objective(ObjectiveConfig(prediction="eps", rollout_p=0.5), process, None, sampler)
    with pytest.raises(UsageError, match="needs the recipe's sampler"):
        build_objective(ObjectiveConfig(prediction="x0", rollout_p=0.5), process)
    with pytest.raises(UsageError, match="not with nutl"):
        build_objective(ObjectiveConfig(prediction="x0", nutl=True, rollout_p=0.5), vp(), None, sampler)
    with pytest.raises(RecipeError, match="rollout_p"):
        ObjectiveConfig(rollout_p=1.5)
    with pytest.raises(UsageError, match="batch fraction"):
        RolloutObjective(RegressionObjective("x0"), sampler, p=0.0)
    built = build_objective(ObjectiveConfig(prediction="x0", dream_p=1.0, rollout_p=0.5), process, None, sampler)
    assert isinstance(built, RolloutObjective) and isinstance(built.base, DreamObjective)
    assert build_objective(ObjectiveConfig(prediction="x0"), process, None, sampler) == RegressionObjective("x0", "l2")
