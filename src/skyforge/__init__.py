"""Skyforge: every artifact of a bilingual LLM pretraining run as one Snakemake DAG."""

__version__ = "0.1.0"
