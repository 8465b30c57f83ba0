"""Training objectives: what a stage trains, one module each, behind one interface.

:mod:`~skyforge.train.objectives.pretrain` (language modelling on a blend),
:mod:`~skyforge.train.objectives.sft` (packed conversations mixed with text) and
:mod:`~skyforge.train.objectives.dpo` (preference pairs) each implement
:class:`~skyforge.train.objectives.base.Objective`; the loop takes the one a spec names
(:attr:`skyforge.train.spec.StageSpec.kind`) from :data:`OBJECTIVES` and never branches on it.
"""

from __future__ import annotations

from skyforge.train.objectives.base import Objective
from skyforge.train.objectives.dpo import DPOObjective
from skyforge.train.objectives.pretrain import PretrainObjective
from skyforge.train.objectives.sft import SFTObjective
from skyforge.train.spec import StageSpec

__all__ = ["OBJECTIVES", "Objective", "objective_for"]

OBJECTIVES: dict[str, type] = {
    "pretrain": PretrainObjective,
    "sft": SFTObjective,
    "dpo": DPOObjective,
}
"""``StageSpec.kind`` → its objective class (constructed with the spec and the attention
backend)."""


def objective_for(spec: StageSpec, backend: str) -> Objective:
    """The objective of ``spec``'s kind, for this rank.

    Raises:
        ValueError: an unknown kind (naming it).
    """
    try:
        cls = OBJECTIVES[spec.kind]
    except KeyError:
        raise ValueError(
            f"stage '{spec.stage}': unknown kind '{spec.kind}' (known: {', '.join(OBJECTIVES)})"
        ) from None
    return cls(spec, backend)
