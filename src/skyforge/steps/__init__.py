"""Command glue: one module per ``rules/*.smk`` file, each step a function registered by name.

A reader goes ``rules/dedup.smk`` → ``skyforge/steps/dedup.py`` → ``skyforge/data/dedup/``. A step
parses its arguments and config slice, calls one library function and returns its statistics;
:mod:`skyforge.steps.registry` holds the one registration protocol and :mod:`skyforge.cli` builds
argparse from it. Nothing outside this package and the CLI imports it (see docs/ARCHITECTURE.md).
"""
