"""Checks of the ``filters`` section that the schema does not state.

The filters read :class:`skyforge.config.FiltersConfig` itself: its keys, their meaning and
their defaults live only in ``schemas/config.schema.yaml``. What the schema leaves open (shares
in [0, 1], three and six n-gram limits, URL patterns that compile) is checked here, once, when
a filter is built, so a bad value fails before the first document with the key's name.
"""

from __future__ import annotations

import re

from skyforge.config import FiltersConfig

__all__ = ["check_filters"]

_SHARES = (
    "min_lang_score",
    "max_symbol_word_ratio",
    "max_ellipsis_lines",
    "max_bullet_lines",
    "min_alpha_words",
    "max_caps_lines",
    "max_dup_lines",
    "max_dup_paragraphs",
    "max_dup_line_chars",
    "max_dup_paragraph_chars",
    "min_code_score",
    "max_stuffing_frac",
    "farm_max_bracketed_share",
    "farm_max_isolated_share",
)


def check_filters(cfg: FiltersConfig) -> None:
    """Raise a ValueError naming ``filters.<key>`` for a value the filters cannot use."""
    for name in _SHARES:
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"config key 'filters.{name}': must be in [0, 1], got {value}")
    if len(cfg.max_top_ngram_frac) != 3:
        raise ValueError("config key 'filters.max_top_ngram_frac': needs 3 values (n=2,3,4)")
    if len(cfg.max_dup_ngram_frac) != 6:
        raise ValueError("config key 'filters.max_dup_ngram_frac': needs 6 values (n=5..10)")
    for i, pattern in enumerate(cfg.url_patterns):
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(
                f"config key 'filters.url_patterns[{i}]': bad regex {pattern!r}: {err}"
            ) from None
