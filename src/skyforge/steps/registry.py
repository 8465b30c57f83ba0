"""The one registration protocol of the command glue, and the helpers every step shares.

A step is a function ``func(args, cfg) -> stats`` registered with :func:`step`: its name (the
sub-command), the config sections it reads (validated and passed as ``cfg``), and its arguments.
The CLI gives every step ``--stats`` (the returned statistics as JSON), ``--digests`` (the
SHA-256 digest file of each named output, written after the step; docs/staleness.md) and, when
it reads config sections, ``--configfile``/``--config-json``. Snakemake passes
``--config-json`` with only the sections a rule depends on, so a config change reruns only the
steps that read it.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skyforge import config as C
from skyforge.core.digest import write_digest
from skyforge.core.io import atomic_write_text

log = logging.getLogger("skyforge")

StepFunc = Callable[[argparse.Namespace, dict[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call: its flags and keyword arguments."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """A sub-command: what it is called, what it reads, what it runs."""

    name: str
    func: StepFunc
    help: str
    sections: tuple[str, ...]
    args: tuple[Arg, ...]


REGISTRY: dict[str, Step] = {}
"""Every registered step by name, in registration order (the CLI's order)."""


def arg(*flags: str, **kwargs: Any) -> Arg:
    """An argument of a step, exactly as :meth:`argparse.ArgumentParser.add_argument` takes it."""
    return Arg(flags, kwargs)


def path(name: str, *, many: bool = False, required: bool = True, help: str | None = None) -> Arg:
    """A ``--name`` path argument (``many``: one or more)."""
    kwargs: dict[str, Any] = {"type": Path, "required": required, "help": help}
    if many:
        kwargs["nargs"] = "+"
    return Arg((f"--{name}",), kwargs)


def step(
    name: str, help: str, *, sections: tuple[str, ...] = (), args: tuple[Arg, ...] = ()
) -> Callable[[StepFunc], StepFunc]:
    """Register ``func`` as the sub-command ``name`` (its docstring is the command's description).

    Raises:
        AssertionError: the name is taken (an internal invariant).
    """

    def register(func: StepFunc) -> StepFunc:
        assert name not in REGISTRY, f"step '{name}' registered twice"
        REGISTRY[name] = Step(name, func, help, tuple(sections), tuple(args))
        return func

    return register


def load_sections(args: argparse.Namespace, sections: tuple[str, ...]) -> dict[str, Any]:
    """The validated config of a step: every section of ``--configfile`` files, or the
    ``--config-json`` slice (which must hold exactly the step's sections)."""
    if getattr(args, "configfile", None):
        return C.load_config_files(args.configfile)
    return C.parse_sections_json(args.config_json, sections, what="--config-json")


def run_step(s: Step, args: argparse.Namespace) -> int:
    """Run one step; write its statistics to ``--stats`` and log them on one line, and the
    digest file of every ``--digests`` output."""
    cfg = load_sections(args, s.sections) if s.sections else {}
    stats = s.func(args, cfg)
    for output in getattr(args, "digests", None) or []:
        write_digest(output)
    if stats is not None:
        if args.stats:
            text = json.dumps(stats, indent=1, sort_keys=True, default=str)
            atomic_write_text(args.stats, text + "\n")
        short = {k: v for k, v in stats.items() if isinstance(v, int | float | str)}
        log.info("%s: %s", s.name, json.dumps(short or stats, default=str)[:2000])
    return 0


def parse_pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """``name=value`` arguments as a dict (``what`` names the flag in the error).

    Raises:
        ValueError: an item without a name or a value.
    """
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"--{what} {item!r}: expected name=value")
        out[name] = value
    return out


RUN_SECTIONS = ("monitoring", "checkpoints", "launch")
"""How a training-type job runs (``--run-json``; changing them never makes a target stale)."""

RUN_JSON = arg("--run-json", help="monitoring, checkpoints and launch sections, as JSON")
JOB_FOLDER = path("job-folder", help="submitit logs and pickles")


def run_sections(args: argparse.Namespace) -> dict[str, Any]:
    """The validated ``--run-json`` sections (``{}`` when absent)."""
    return C.parse_sections_json(args.run_json, RUN_SECTIONS, what="--run-json", optional=True)
