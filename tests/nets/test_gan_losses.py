import math

import pytest
import torch

from srkit.errors import UsageError
from srkit.nets.losses import (
    adaptive_adversarial_weight,
    discriminator_loss,
    generator_loss,
    kl_loss,
    reconstruction_loss,
)

REAL = torch.tensor([2.0, 0.5])
FAKE = torch.tensor([-2.0, 0.5])


def test_hinge_losses_match_closed_form():
    # real: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake: relu(1-2)=0, relu(1+0.5)=1.5 -> 0.75
    assert discriminator_loss("hinge", REAL, FAKE).item() == pytest.approx(0.5 * (0.25 + 0.75))
    assert generator_loss("hinge", FAKE).item() == pytest.approx(0.75)


def test_nonsaturating_losses_match_minus_log_sigmoid():
    def nls(v: float) -> float:
        return -math.log(1.0 / (1.0 + math.exp(-v)))

    expected_d = 0.5 * ((nls(2.0) + nls(0.5)) / 2 + (nls(2.0) + nls(-0.5)) / 2)
    assert discriminator_loss("nonsaturating", REAL, FAKE).item() == pytest.approx(expected_d, rel=1e-6)
    assert generator_loss("nonsaturating", FAKE).item() == pytest.approx((nls(-2.0) + nls(0.5)) / 2, rel=1e-6)


def test_unknown_gan_loss_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown GAN loss 'wgan'"):
        generator_loss("wgan", FAKE)  # type: ignore[arg-type]


def test_kl_is_zero_for_the_prior_and_half_mean_squared_otherwise():
    zeros = torch.zeros(2, 4, 3, 3)
    assert kl_loss(zeros, zeros).item() == 0.0
    assert kl_loss(torch.ones_like(zeros), zeros).item() == pytest.approx(0.5)
    # var = e: 0.5 * (e - 1 - 1)
    assert kl_loss(zeros, torch.ones_like(zeros)).item() == pytest.approx(0.5 * (math.e - 2.0))


def test_reconstruction_is_l1_plus_weighted_perceptual_hook():
    x, x_rec = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    assert reconstruction_loss(x_rec, x).item() == pytest.approx(0.5)
    hook = lambda a, b: torch.full((1,), 2.0)
    assert reconstruction_loss(x_rec, x, perceptual=hook, perceptual_weight=0.25).item() == pytest.approx(1.0)


def test_adaptive_weight_is_ratio_of_last_layer_gradient_norms():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = torch.tensor([3.0, 4.0]), torch.tensor([0.6, 0.8])
    weight = adaptive_adversarial_weight((w * a).sum(), (w * b).sum(), w)
    assert weight.item() == pytest.approx(5.0 / (1.0 + 1e-4))
    assert not weight.requires_grad
    capped = adaptive_adversarial_weight((w * a).sum(), (w * b).sum() * 0.0, w, max_weight=10.0)
    assert capped.item() == 10.0
