"""The harmful classifier's planted positives."""

from __future__ import annotations

import pyarrow.parquet as pq

from skyforge.synthetic.pages.harmful import HARMFUL_KINDS
from skyforge.synthetic.planted import synthesize_planted


def test_planted_set_covers_every_kind_and_language(tmp_path):
    assert synthesize_planted(5, 120, tmp_path / "planted.parquet") == 120
    planted = pq.read_table(tmp_path / "planted.parquet").to_pandas()
    assert set(planted.kind) == set(HARMFUL_KINDS)
    assert set(planted.lang) == {"zh", "en"}
    assert planted.text.str.len().min() > 50
    synthesize_planted(5, 120, tmp_path / "again.parquet")
    assert pq.read_table(tmp_path / "again.parquet").equals(
        pq.read_table(tmp_path / "planted.parquet")
    )
