import pytest
import torch
from torch import nn

from srkit.errors import WeightsError
from srkit.nets.ema import EMA


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("count", torch.zeros(()))


class Wrapper(nn.Module):
    """Mimics torch.compile's OptimizedModule: the real model under ``_orig_mod``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._orig_mod = model


def set_all(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)


def test_ema_update_is_decay_times_ema_plus_one_minus_decay_times_param():
    model = Tiny()
    set_all(model, 1.0)
    ema = EMA(model, decay=0.9, warmup=False)
    set_all(model, 3.0)
    ema.update(model)  # 0.9 * 1 + 0.1 * 3 = 1.2
    ema.update(model)  # 0.9 * 1.2 + 0.1 * 3 = 1.38
    for tensor in (ema.shadow["lin.weight"], ema.shadow["lin.bias"]):
        torch.testing.assert_close(tensor, torch.full_like(tensor, 1.38))


def test_ema_warmup_decay_is_one_plus_n_over_ten_plus_n_capped_at_decay():
    ema = EMA(Tiny(), decay=0.5, warmup=True)
    model = Tiny()
    seen = []
    for _ in range(12):
        seen.append(ema.current_decay())
        ema.update(model)
    expected = [min(0.5, (1 + n) / (10 + n)) for n in range(12)]
    assert seen == pytest.approx(expected)
    assert ema.num_updates == 12


def test_ema_copies_buffers_instead_of_averaging_them():
    model = Tiny()
    ema = EMA(model, decay=0.99, warmup=False)
    model.count.fill_(5.0)
    ema.update(model)
    assert ema.shadow["count"].item() == 5.0


def test_ema_copy_to_writes_the_average_into_the_model():
    model = Tiny()
    set_all(model, 0.0)
    ema = EMA(model, decay=0.5, warmup=False)
    set_all(model, 4.0)
    ema.update(model)
    ema.copy_to(model)
    assert all(torch.all(p == 2.0) for p in model.parameters())


def test_ema_keeps_a_float32_shadow_for_a_bf16_model():
    model = Tiny().to(torch.bfloat16)
    ema = EMA(model, decay=0.999, warmup=False)
    assert ema.shadow["lin.weight"].dtype == torch.float32
    before = ema.shadow["lin.weight"].double()
    with torch.no_grad():
        model.lin.weight.add_(1.0)
    ema.update(model)  # a 1e-3 step: below bf16 resolution near 0.5, exact in float32
    expected = 0.999 * before + 0.001 * model.lin.weight.double()
    torch.testing.assert_close(ema.shadow["lin.weight"].double(), expected, rtol=0, atol=1e-6)


def test_ema_updates_through_a_compile_wrapper_by_stripped_names():
    model = Tiny()
    set_all(model, 0.0)
    ema = EMA(Wrapper(model), decay=0.5, warmup=False)
    assert "lin.weight" in ema.shadow
    set_all(model, 2.0)
    ema.update(Wrapper(model))
    assert torch.all(ema.shadow["lin.bias"] == 1.0)


def test_ema_state_dict_round_trip_restores_shadow_and_counter():
    model = Tiny()
    ema = EMA(model, decay=0.9)
    set_all(model, 1.0)
    ema.update(model)
    other = EMA(Tiny(), decay=0.1, warmup=False)
    other.load_state_dict(ema.state_dict())
    assert (other.decay, other.warmup, other.num_updates) == (0.9, True, 1)
    assert all(torch.equal(other.shadow[k], v) for k, v in ema.shadow.items())


def test_ema_refuses_state_of_another_network():
    with pytest.raises(WeightsError):
        EMA(Tiny()).load_state_dict({"decay": 0.9, "warmup": True, "num_updates": 0, "shadow": {"x": torch.zeros(1)}})
