"""Learning-rate schedules as pure functions of the step (docs/recipe.md#optimizer-and-schedules).

A schedule maps an optimizer step (0-based, counted within one session) to a learning rate. It
keeps no state, so a run resumed from a checkpoint gets exactly the rates of an uninterrupted run
from the step number alone, and the shape can be unit-tested without a model.

Every schedule warms up linearly from 0 to ``lr_max`` over ``warmup_steps`` (as megatron-core's
``OptimizerParamScheduler``: the peak is reached exactly at the last warmup step). Then:

* ``cosine`` (Skywork-13B: 6e-4 → 6e-5 over the first 2 T tokens): half a cosine down to
  ``lr_min``, 10 % of the peak by default;
* ``constant`` (Skywork's second session, 6e-5): ``lr_max`` throughout;
* ``wsd`` — warmup, stable, decay (MiniCPM; Index-1.9B: peak 5e-4 down to 1 %): constant, then
  the last ``decay_fraction`` of the steps decays (linear, cosine or ``1 − √p``) to ``lr_min``,
  1 % of the peak by default.

``session_lr_fn`` turns a stage-1 session of the config (budgets in tokens) into a step → lr
function; ``schedule_table`` prints a few points of one. See docs/training.md for the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from skyforge.config import SessionConfig

__all__ = [
    "SCHEDULES",
    "DECAY_SHAPES",
    "DEFAULT_LR_MIN_RATIO",
    "lr_at",
    "session_lr_fn",
    "session_schedule",
    "schedule_table",
]

SCHEDULES = ("cosine", "constant", "wsd")
DECAY_SHAPES = ("cosine", "linear", "sqrt")

DEFAULT_LR_MIN_RATIO = {"cosine": 0.10, "wsd": 0.01}
"""lr_min / lr_max when lr_min is not given: Skywork's 6e-4 → 6e-5; Index-1.9B's 5e-4 → 5e-6."""


def _decay_factor(progress: float, shape: str) -> float:
    """``f(p)`` of docs/training.md: 1 at the start of the decay, 0 at its end."""
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0 - math.sqrt(progress)


def _check_args(
    step: int,
    total_steps: int,
    schedule: str,
    lr_max: float,
    lr_min: float,
    warmup_steps: int,
    decay_fraction: float | None,
    decay_shape: str,
) -> None:
    """Raise ValueError naming the first bad argument of ``lr_at``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: {schedule!r} is not one of {', '.join(SCHEDULES)}")
    if decay_shape not in DECAY_SHAPES:
        raise ValueError(f"decay_shape: {decay_shape!r} is not one of {', '.join(DECAY_SHAPES)}")
    if step < 0:
        raise ValueError(f"step: {step} is negative")
    if total_steps < 1:
        raise ValueError(f"total_steps: {total_steps} is not positive")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"warmup_steps: {warmup_steps} must be in [0, total_steps) = [0, {total_steps})"
        )
    if not lr_max > 0:
        raise ValueError(f"lr_max: {lr_max} is not positive")
    if not 0 <= lr_min <= lr_max:
        raise ValueError(f"lr_min: {lr_min} must be in [0, lr_max] = [0, {lr_max}]")
    if schedule == "wsd":
        if decay_fraction is None or not 0 < decay_fraction <= 1:
            raise ValueError(f"decay_fraction: {decay_fraction} must be in (0, 1] for wsd")
    elif decay_fraction is not None:
        # Silently ignoring it would hide a session meant to be wsd but typed as cosine.
        raise ValueError(f"decay_fraction: only wsd takes one, got {decay_fraction} for {schedule}")


def lr_at(
    step: int,
    *,
    total_steps: int,
    schedule: str,
    lr_max: float,
    lr_min: float | None = None,
    warmup_steps: int = 0,
    decay_fraction: float | None = None,
    decay_shape: str = "cosine",
) -> float:
    """The learning rate at one optimizer step; the formulas are in docs/training.md.

    Args:
        step: 0-based optimizer step within the session; steps past ``total_steps`` keep the
            final rate.
        total_steps: steps in the session (> ``warmup_steps``).
        schedule: ``cosine``, ``constant`` or ``wsd``.
        lr_max: peak learning rate, reached at the end of warmup.
        lr_min: final learning rate of ``cosine`` and ``wsd``; None for the default ratio
            (``DEFAULT_LR_MIN_RATIO``). Ignored by ``constant``.
        warmup_steps: steps of linear warmup from 0 to ``lr_max``.
        decay_fraction: ``wsd`` only, required there: share of ``total_steps`` spent decaying,
            in (0, 1].
        decay_shape: ``wsd`` only: ``cosine``, ``linear`` or ``sqrt`` (1 − √p).

    Returns:
        The learning rate.

    Raises:
        ValueError: naming the offending argument.
    """
    if lr_min is None:
        lr_min = lr_max * DEFAULT_LR_MIN_RATIO.get(schedule, 1.0)
    _check_args(
        step, total_steps, schedule, lr_max, lr_min, warmup_steps, decay_fraction, decay_shape
    )
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    if schedule == "constant":
        return lr_max
    if step >= total_steps:
        # Exactly lr_min, whatever rounding the formula would leave.
        return lr_min
    if schedule == "cosine":
        decay_start, shape = warmup_steps, "cosine"
    else:
        num_decay_steps = max(1, round(decay_fraction * total_steps))
        decay_start, shape = max(warmup_steps, total_steps - num_decay_steps), decay_shape
    if step <= decay_start:
        return lr_max
    progress = (step - decay_start) / (total_steps - decay_start)
    return lr_min + (lr_max - lr_min) * _decay_factor(progress, shape)


def session_schedule(session: SessionConfig, tokens_per_step: int) -> dict:
    """The keyword arguments of :func:`lr_at` (all but ``step``) for one stage-1 session.

    Token budgets become steps rounded up, so a session never trains fewer tokens than asked.

    Raises:
        ValueError: ``tokens_per_step`` is not positive.
    """
    if tokens_per_step < 1:
        raise ValueError(f"tokens_per_step: {tokens_per_step} is not positive")
    return dict(
        total_steps=math.ceil(session.tokens / tokens_per_step),
        schedule=session.schedule,
        lr_max=session.lr_max,
        lr_min=session.lr_min,
        warmup_steps=math.ceil(session.warmup_tokens / tokens_per_step),
        decay_fraction=session.decay_fraction,
    )


def session_lr_fn(session: SessionConfig, tokens_per_step: int) -> Callable[[int], float]:
    """A step → learning-rate function for one stage-1 session of the config.

    Token budgets become steps rounded up, so a session never trains fewer tokens than asked
    (Skywork: 2 T / (4,096 × 4,096) = 119,209.3 → 119,210 steps; warmup 33.55 B → 2,000 steps).

    Args:
        session: the session (``tokens``, ``schedule``, ``lr_max``, ``lr_min``,
            ``warmup_tokens``, ``decay_fraction``).
        tokens_per_step: global batch size × sequence length.

    Returns:
        ``fn(step) -> lr``, steps counted from the start of the session.

    Raises:
        ValueError: naming the session and the offending key.
    """
    kwargs = session_schedule(session, tokens_per_step)
    try:
        lr_at(0, **kwargs)  # validate once, up front, rather than at the first training step
    except ValueError as exc:
        raise ValueError(f"session {session.name!r}: {exc}") from None

    def lr_fn(step: int) -> float:
        return lr_at(step, **kwargs)

    return lr_fn


def schedule_table(lr_fn: Callable[[int], float], total_steps: int, *, num_points: int = 11) -> str:
    """A few evenly spaced (step, lr) rows of a schedule, for logs and quick checks.

    Args:
        lr_fn: step → learning rate (e.g. from ``session_lr_fn``).
        total_steps: last step shown.
        num_points: rows, including step 0 and ``total_steps``.

    Returns:
        A two-column text table.
    """
    num_points = max(2, num_points)
    steps = sorted({round(i * total_steps / (num_points - 1)) for i in range(num_points)})
    rows = [f"{'step':>10}  {'lr':>11}"]
    rows += [f"{s:>10,}  {lr_fn(s):>11.4e}" for s in steps]
    return "\n".join(rows)
