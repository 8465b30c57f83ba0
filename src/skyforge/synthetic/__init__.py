"""Generators of the embedded default's data: everything the DAG makes up instead of downloading.

Only ``skyforge.steps`` (and tests and benchmarks) import this package; the real pipeline in
``skyforge.data`` never does. Each generator is deterministic by seed.

* ``crawl``: the synthetic WARC crawl and its ground truth (``crawl_plan``: who goes where;
  ``sites``: hosts and page chrome; ``pages``: one module per family of page kinds;
  ``vocab``: their word lists);
* ``chat``: the SFT conversations and preference pairs (``chat_prompts``, ``chat_tables``);
* ``benchmarks``: small C-Eval, CMMLU, MMLU and GSM8K sets in the official layouts;
* ``reference``: the quality classifier's stand-in reference set;
* ``planted``: the harmful classifier's planted positives;
* ``fixtures``: a tiny training workspace for tests and benchmarks.
"""
