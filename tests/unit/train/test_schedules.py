"""Shape tests of the learning-rate schedules (skyforge.train.schedules)."""

from __future__ import annotations

import math

import pytest

from skyforge.config import SessionConfig
from skyforge.train.schedules import lr_at, schedule_table, session_lr_fn

LR_MAX = 1e-3
TOTAL = 1000
WARMUP = 50
DECAY_SHAPES = ["cosine", "linear", "sqrt"]

# One entry per schedule family (wsd once per decay shape), as lr_at keyword arguments.
SCHEDULE_KWARGS = {
    "cosine": dict(schedule="cosine"),
    "constant": dict(schedule="constant"),
    **{
        f"wsd-{shape}": dict(schedule="wsd", decay_fraction=0.2, decay_shape=shape)
        for shape in DECAY_SHAPES
    },
}


def curve(**kwargs) -> list[float]:
    """Learning rates at steps 0..TOTAL + 20 (past the end, to see what stays)."""
    kwargs = {"total_steps": TOTAL, "lr_max": LR_MAX, "warmup_steps": WARMUP, **kwargs}
    return [lr_at(s, **kwargs) for s in range(TOTAL + 21)]


def is_non_increasing(values: list[float]) -> bool:
    return all(b <= a for a, b in zip(values, values[1:], strict=False))


@pytest.mark.parametrize("name", list(SCHEDULE_KWARGS))
def test_warmup_is_linear_from_zero_and_reaches_peak_exactly(name):
    lrs = curve(**SCHEDULE_KWARGS[name])
    assert lrs[0] == 0.0
    assert lrs[WARMUP] == LR_MAX
    steps = [lrs[s + 1] - lrs[s] for s in range(WARMUP)]
    assert steps == pytest.approx([LR_MAX / WARMUP] * WARMUP)
    assert max(lrs) == LR_MAX


@pytest.mark.parametrize("name", list(SCHEDULE_KWARGS))
def test_no_warmup_starts_at_peak(name):
    assert lr_at(0, total_steps=TOTAL, lr_max=LR_MAX, warmup_steps=0, **SCHEDULE_KWARGS[name]) == (
        LR_MAX
    )


@pytest.mark.parametrize("lr_min", [None, 1e-4, 0.0])
def test_cosine_decays_monotonically_to_lr_min_and_stays(lr_min):
    lrs = curve(schedule="cosine", lr_min=lr_min)
    final = 0.1 * LR_MAX if lr_min is None else lr_min  # default: Skywork's 10 %
    assert is_non_increasing(lrs[WARMUP:])
    assert lrs[WARMUP + 1] < LR_MAX
    assert lrs[TOTAL] == final
    assert set(lrs[TOTAL:]) == {final}
    assert lrs[(WARMUP + TOTAL) // 2] == pytest.approx((LR_MAX + final) / 2)  # cosine midpoint


def test_constant_is_flat_after_warmup_and_ignores_lr_min():
    lrs = curve(schedule="constant", lr_min=1e-5)
    assert set(lrs[WARMUP:]) == {LR_MAX}


@pytest.mark.parametrize("shape", DECAY_SHAPES)
@pytest.mark.parametrize("decay_fraction", [0.1, 0.2, 0.5])
def test_wsd_is_flat_then_decays_only_in_the_last_fraction(shape, decay_fraction):
    lrs = curve(schedule="wsd", decay_fraction=decay_fraction, decay_shape=shape)
    decay_start = TOTAL - round(decay_fraction * TOTAL)
    assert set(lrs[WARMUP : decay_start + 1]) == {LR_MAX}
    assert lrs[decay_start + 1] < LR_MAX
    assert is_non_increasing(lrs[WARMUP:])
    decay = lrs[decay_start : TOTAL + 1]
    assert all(b < a for a, b in zip(decay, decay[1:], strict=False))
    assert lrs[TOTAL] == LR_MAX / 100  # default final: 1 % of peak (Index-1.9B)
    assert set(lrs[TOTAL:]) == {LR_MAX / 100}


def test_wsd_linear_decay_midpoint_is_halfway():
    lr_min = 1e-5
    lrs = curve(schedule="wsd", lr_min=lr_min, decay_fraction=0.2, decay_shape="linear")
    assert lrs[900] == pytest.approx((LR_MAX + lr_min) / 2)


def test_wsd_sqrt_decay_is_halfway_after_a_quarter_and_below_linear():
    kwargs = dict(schedule="wsd", lr_min=0.0, decay_fraction=0.4)
    sqrt = curve(decay_shape="sqrt", **kwargs)
    linear = curve(decay_shape="linear", **kwargs)
    decay_start = 600
    assert sqrt[decay_start + 100] == pytest.approx(LR_MAX / 2)  # 1 − √(1/4) = 1/2
    assert sqrt[decay_start + 16] == pytest.approx(LR_MAX * (1 - math.sqrt(16 / 400)))
    inside = slice(decay_start + 1, TOTAL)  # both shapes agree at the ends
    assert all(s < lin for s, lin in zip(sqrt[inside], linear[inside], strict=True))


def test_wsd_decay_longer_than_the_session_starts_after_warmup():
    lrs = curve(schedule="wsd", decay_fraction=1.0, decay_shape="linear", lr_min=0.0)
    assert lrs[WARMUP] == LR_MAX
    assert lrs[WARMUP + 1] < LR_MAX
    assert lrs[TOTAL] == 0.0


def test_skywork_preset_cosine_session():
    # 2 T tokens at 4,096 × 4,096 tokens per step; warmup 2,000 steps; 6e-4 → 6e-5.
    tokens_per_step = 4096 * 4096
    session = SessionConfig.with_defaults(
        name="cosine-2T",
        tokens=2.0e12,
        schedule="cosine",
        lr_max=6e-4,
        lr_min=6e-5,
        warmup_tokens=2000 * tokens_per_step,
    )
    total_steps = math.ceil(2.0e12 / tokens_per_step)
    assert total_steps == 119_210  # 119,209.3 rounded up
    lr = session_lr_fn(session, tokens_per_step)
    assert lr(0) == 0.0
    assert lr(1000) == pytest.approx(3e-4)
    assert lr(2000) == 6e-4
    assert lr(2001) < 6e-4
    assert lr((2000 + total_steps) // 2) == pytest.approx(3.3e-4, rel=1e-4)
    assert lr(total_steps) == 6e-5
    assert lr(total_steps + 10_000) == 6e-5


def test_skywork_constant_session_follows_at_the_cosine_floor():
    session = SessionConfig.with_defaults(
        name="constant-1.1T", tokens=1.1e12, schedule="constant", lr_max=6e-5
    )
    lr = session_lr_fn(session, 4096 * 4096)
    assert {lr(s) for s in (0, 1, 30_000, 65_565)} == {6e-5}


def test_index_1_9b_wsd():
    # Index-1.9B: warmup 100 steps, peak 5e-4, decay to 1 % = 5e-6 (default lr_min).
    kwargs = dict(total_steps=10_000, schedule="wsd", lr_max=5e-4, warmup_steps=100)
    kwargs.update(decay_fraction=0.1, decay_shape="cosine")
    assert lr_at(50, **kwargs) == pytest.approx(2.5e-4)
    assert lr_at(100, **kwargs) == 5e-4
    assert lr_at(9000, **kwargs) == 5e-4
    assert lr_at(9001, **kwargs) < 5e-4
    assert lr_at(10_000, **kwargs) == 5e-6


def test_session_tokens_round_up_to_steps():
    session = SessionConfig.with_defaults(
        name="s", tokens=10_001, schedule="cosine", lr_max=1.0, lr_min=0.0, warmup_tokens=1_001
    )
    lr = session_lr_fn(session, 1_000)
    assert lr(1) == pytest.approx(0.5)  # 2 warmup steps
    assert lr(2) == 1.0
    assert lr(10) > 0.0 and lr(11) == 0.0  # 11 steps


@pytest.mark.parametrize(
    "overrides, argument",
    [
        (dict(warmup_steps=TOTAL), "warmup_steps"),
        (dict(warmup_steps=TOTAL + 5), "warmup_steps"),
        (dict(warmup_steps=-1), "warmup_steps"),
        (dict(total_steps=0, warmup_steps=0), "total_steps"),
        (dict(schedule="wsd", decay_fraction=0.0), "decay_fraction"),
        (dict(schedule="wsd", decay_fraction=1.5), "decay_fraction"),
        (dict(schedule="wsd", decay_fraction=-0.1), "decay_fraction"),
        (dict(schedule="wsd"), "decay_fraction"),
        (dict(schedule="cosine", decay_fraction=0.2), "decay_fraction"),
        (dict(schedule="linear"), "schedule"),
        (dict(schedule="wsd", decay_fraction=0.2, decay_shape="exp"), "decay_shape"),
        (dict(lr_max=0.0), "lr_max"),
        (dict(lr_min=2 * LR_MAX), "lr_min"),
        (dict(step=-1), "step"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(overrides, argument):
    kwargs = dict(step=0, total_steps=TOTAL, schedule="cosine", lr_max=LR_MAX, warmup_steps=WARMUP)
    kwargs.update(overrides)
    step = kwargs.pop("step")
    with pytest.raises(ValueError, match=rf"^{argument}: "):
        lr_at(step, **kwargs)


def test_session_errors_name_the_session():
    session = SessionConfig.with_defaults(name="decay", tokens=1e6, schedule="wsd", lr_max=1e-3)
    with pytest.raises(ValueError, match=r"session 'decay': decay_fraction"):
        session_lr_fn(session, 1024)
    with pytest.raises(ValueError, match=r"tokens_per_step"):
        session_lr_fn(session, 0)


def test_schedule_table_lists_start_and_end():
    lr = session_lr_fn(
        SessionConfig.with_defaults(
            name="c", tokens=1e4, schedule="cosine", lr_max=1e-3, warmup_tokens=1e3
        ),
        100,
    )
    table = schedule_table(lr, 100, num_points=5).splitlines()
    assert len(table) == 6
    assert table[1].split() == ["0", "0.0000e+00"]
    assert table[-1].split() == ["100", "1.0000e-04"]
