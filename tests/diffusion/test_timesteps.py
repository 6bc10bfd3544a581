import itertools

import numpy as np
import pytest

from srkit.diffusion.samplers.timesteps import (
    fraction_to_index,
    log_snr,
    log_snr_timesteps,
    spaced_timesteps,
    trailing_timesteps,
    uniform_timesteps,
)
from srkit.errors import UsageError

from .helpers import vp


def test_uniform_steps_span_the_whole_chain_with_both_ends():
    assert uniform_timesteps(1000, 1000) == list(range(999, -1, -1))
    assert uniform_timesteps(1000, 5) == [999, 749, 500, 250, 0]
    assert uniform_timesteps(1000, 1) == [999]


def test_sectioned_respacing_keeps_the_requested_count_per_section():
    kept = spaced_timesteps(1000, "45,20,15,10,10")
    assert len(set(kept)) == 100 and kept == sorted(kept, reverse=True)
    counts = [sum(200 * i <= t < 200 * (i + 1) for t in kept) for i in range(5)]
    assert counts == [45, 20, 15, 10, 10]
    assert {0, 199, 200, 999} <= set(kept)
    assert spaced_timesteps(10, "2,1") == [9, 4, 0]  # a single-step section keeps its last index


def test_trailing_steps_end_at_clean_data_evenly_in_paper_time():
    assert trailing_timesteps(498, 5) == [498, 398, 298, 199, 99]
    assert trailing_timesteps(9, 10) == list(range(9, -1, -1))
    assert trailing_timesteps(498, 1) == [498]


def test_log_snr_steps_are_distinct_and_evenly_spaced_in_lambda():
    process = vp()
    lam = np.array([log_snr(process.coef(t)) for t in range(process.T)])
    assert log_snr_timesteps(lam, 1000) == list(range(999, -1, -1))
    steps = log_snr_timesteps(lam, 20)
    assert steps[0] == 999 and steps[-1] == 0 and all(a > b for a, b in itertools.pairwise(steps))
    gaps = np.diff(lam[steps])
    assert gaps.max() < 1.5 * gaps.mean()


def test_fractions_of_T_map_to_paper_steps():
    assert fraction_to_index(2 / 3, 1000) == 666 and fraction_to_index(1 / 3, 1000) == 332
    assert fraction_to_index(1.0, 45) == 44 and fraction_to_index(1e-6, 45) == 0


@pytest.mark.parametrize("call", [
    lambda: uniform_timesteps(10, 11),
    lambda: spaced_timesteps(10, "a,b"),
    lambda: spaced_timesteps(10, "6,1"),
    lambda: trailing_timesteps(4, 6),
])
def test_impossible_step_plans_raise_usage_errors(call):
    with pytest.raises(UsageError):
        call()
