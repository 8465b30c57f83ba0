"""The cleaning DAG on the synthetic crawl: the funnel adds up, every step meets its floor against
the ground truth, and the corpora are what the training stages expect.

Floors (precision P and recall R of removals; "reached" = recall over the records that were not
already removed by an earlier step, i.e. the step's own recall):
  extract, url_filter: P = R = 1 (the synthetic non-HTML, truncated and blocklisted records are
    unambiguous).
  language: P ≥ 0.95, R ≥ 0.95.
  heuristic: P ≥ 0.80, R ≥ 0.90 (rules from the papers, not tuned to the generator).
  exact_dedup: reached recall = 1.0, P = 1.0.
  near_dedup: R ≥ 0.9 at P ≥ 0.95.
  encoding (mojibake removed), encoding_repair (fixable mojibake repaired), harmful (content
    rules), harmful_model (classifier): P ≥ 0.9, R ≥ 0.9 (issue 13; measured 1.0 / 1.0 for all
    but the classifier's recall, 0.976 on the default crawl).
  quality_model (fastText classifier, curated-style positives against the crawl): P ≥ 0.8,
    R ≥ 0.8 on the planted low-quality pages (issue 12; measured P 0.982, R 0.956 on the default
    crawl, P 0.963, R 0.929 on seed 7), and at most 3 % of the clean records (measured 0.11 %).
  all steps together: P ≥ 0.9, R ≥ 0.99.
The heuristic floor stays at P ≥ 0.80 although the crawl now has fewer pages the heuristics
should remove (spam and boilerplate shares went from 0.05 to 0.04 to make room for the harmful
kinds) while its false removals of STEM and code pages stayed: measured P 0.825 (was 0.885);
the low-quality pages (issue 12) add 4 what-is pages that a repetition rule catches first:
measured P 0.807.
The new steps may remove at most 2 % of the clean records (measured: 0).
  decontaminate (issue 21): P ≥ 0.9, R ≥ 0.9, and per planted kind (verbatim, lightly edited,
    embedded, translated zh↔en) recall and item precision ≥ 0.9, no hard negative removed
    (measured: P 1.0, R 0.977; translated recall 0.909, the others 1.0); the content farms
    (bracketed characters, stitched news, mojibake fragments) likewise (measured 1.0 / 1.0).
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from skyforge.config import EncodingConfig
from skyforge.data.corpora import CORPORA, SPLITS
from skyforge.data.filters.encoding import MojibakeRepair
from skyforge.data.scoring import NEW_CONTENT_STEPS, QUALITY_STEP
from skyforge.synthetic.crawl import DROPDOWN_TEXT_EN, DROPDOWN_TEXT_ZH, HARMFUL_KINDS

pytestmark = pytest.mark.workflow

FLOORS = {
    # step: (min precision, min recall, recall column)
    "extract": (1.0, 1.0, "recall"),
    "url_filter": (1.0, 1.0, "recall"),
    "language": (0.95, 0.95, "recall"),
    "heuristic": (0.80, 0.90, "recall"),
    "exact_dedup": (1.0, 1.0, "recall_reached"),
    "near_dedup": (0.95, 0.90, "recall"),
    "encoding": (0.90, 0.90, "recall"),
    "encoding_repair": (0.90, 0.90, "recall"),
    "harmful": (0.90, 0.90, "recall"),
    "harmful_model": (0.90, 0.90, "recall"),
    "quality_model": (0.80, 0.80, "recall"),
    "decontaminate": (0.90, 0.90, "recall"),
    "all": (0.90, 0.99, "recall"),
}


@pytest.fixture(scope="module")
def results(default_dag_run):
    return default_dag_run[0] / "results"


def test_funnel_adds_up_to_the_crawl(results):
    manifest = json.loads((results / "crawl/manifest.json").read_text())
    records = sum(manifest["records_per_shard"])
    funnel = pd.read_csv(results / "data/funnel/funnel.csv")
    reasons = pd.read_csv(results / "data/funnel/funnel_reasons.csv")
    assert funnel.iloc[0].docs_in == records
    corpora_docs = sum(
        pq.ParquetFile(p).metadata.num_rows for p in (results / "corpora").rglob("*.parquet")
    )
    assert funnel.iloc[-1].docs_out == corpora_docs
    assert reasons.docs.sum() + corpora_docs == records
    # Step by step: in − removed = out, and out feeds the next step.
    assert (funnel.docs_in - funnel.docs_removed == funnel.docs_out).all()
    assert (funnel.docs_out.iloc[:-1].to_numpy() == funnel.docs_in.iloc[1:].to_numpy()).all()
    assert (results / "data/funnel/funnel.png").read_bytes()[:4] == b"\x89PNG"
    # Reasons are groupable labels, not one per document.
    assert reasons.groupby("step").size().max() < 40, reasons


@pytest.mark.parametrize("step", list(FLOORS))
def test_removals_meet_the_floors(results, step):
    scores = pd.read_csv(results / "data/scores/scores.csv").set_index("step")
    min_p, min_r, recall_col = FLOORS[step]
    row = scores.loc[step]
    assert row.expected > 0
    assert row.precision >= min_p, scores.to_string()
    assert row[recall_col] >= min_r, scores.to_string()


def test_corpora_and_heldout_split(results):
    train_dates, heldout_dates = {}, {}
    for corpus in CORPORA:
        for split in SPLITS:
            files = sorted((results / "corpora" / corpus / split).glob("*.parquet"))
            assert len(files) == 2  # one per shard, even when empty
            table = pd.concat([pq.read_table(f).to_pandas() for f in files])
            assert (table.corpus == corpus).all()
            (train_dates if split == "train" else heldout_dates)[corpus] = table.crawl_date
    for corpus in ("main-en", "main-zh", "main-code", "stem", "parallel"):
        assert len(train_dates[corpus]) > 10, corpus
        assert len(heldout_dates[corpus]) >= 1, corpus
        # Held-out text is the newest: nothing in train is later than the held-out cutoff.
        assert train_dates[corpus].max() <= heldout_dates[corpus].min(), corpus


def test_repeated_dropdown_text_is_gone(results):
    probes = [DROPDOWN_TEXT_EN[:60], DROPDOWN_TEXT_ZH[:30]]
    before = pq.read_table(results / "data/near/00000.parquet").column("text").to_pylist()
    assert any(p in t for t in before for p in probes), "fixture lacks the drop-down text"
    for path in (results / "corpora").rglob("*.parquet"):
        for text in pq.read_table(path, columns=["text"]).column("text").to_pylist():
            assert not any(p in text for p in probes), path


def test_new_steps_cost_the_clean_corpora_under_two_percent(results):
    scores = pd.read_csv(results / "data/scores/scores.csv").set_index("step")
    lost = scores.loc[list(NEW_CONTENT_STEPS), "clean_removed"].sum()
    assert lost / scores.loc["all", "clean_total"] < 0.02, scores.to_string()


def test_quality_model_costs_the_clean_corpora_a_few_percent(results):
    scores = pd.read_csv(results / "data/scores/scores.csv").set_index("step")
    row = scores.loc[QUALITY_STEP]
    assert row.clean_removed / row.clean_total < 0.03, scores.to_string()
    md = (results / "data/scores/scores.md").read_text()
    assert f"| {QUALITY_STEP} | {int(row.expected)} | {int(row.removed)} |" in md
    assert f"by the quality classifier ({QUALITY_STEP}): {int(row.clean_removed)} of" in md
    # The planted pages that reach the corpora are a few of the ~110, never most of one style.
    gt = pd.read_parquet(results / "crawl/ground_truth.parquet", columns=["record_id", "kind"])
    planted = set(gt.record_id[gt.kind == "low_quality"])
    leaked = sum(
        len(planted & set(pq.read_table(p, columns=["id"]).column("id").to_pylist()))
        for p in (results / "corpora").rglob("*.parquet")
    )
    assert leaked <= 0.2 * len(planted), (leaked, len(planted))


def test_no_harmful_or_mojibake_page_reaches_the_corpora(results):
    gt = pd.read_parquet(results / "crawl/ground_truth.parquet", columns=["record_id", "kind"])
    kind = dict(zip(gt.record_id, gt.kind, strict=True))
    tables = [
        pq.read_table(p, columns=["id", "text"]) for p in (results / "corpora").rglob("*.parquet")
    ]
    corpus = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    corpus["kind"] = corpus.id.map(kind)
    leaked = corpus.kind.value_counts()
    for k in [*HARMFUL_KINDS, "mojibake"]:
        planted = int((gt.kind == k).sum())
        assert planted > 0, k
        # The rules' kinds are caught whole; the evasive ones by the classifier, nearly all.
        allowed = 0.1 * planted if k == "harmful_evasive" else 0
        assert leaked.get(k, 0) <= allowed, (k, leaked.get(k, 0), planted)
    # Fixable mojibake reaches the corpora repaired, and the funnel counts the repairs.
    md = (results / "data/funnel/funnel.md").read_text()
    num_fixable = int((gt.kind == "mojibake_fixable").sum())
    assert f"| encoding | repaired:cp1252 | {num_fixable} |" in md
    repair = MojibakeRepair(EncodingConfig.with_defaults())
    fixed = corpus[corpus.kind == "mojibake_fixable"]
    assert len(fixed) > 10
    for text in fixed.text:
        assert repair.check(text) == (text, None, {}), text[:200]


def test_every_planted_kind_is_scored_and_no_hard_negative_is_removed(results):
    planted = pd.read_csv(results / "data/scores/planted.csv").set_index("kind")
    leaks = ["leak_verbatim", "leak_edited", "leak_embedded", "leak_translated"]
    farms = ["farm_bracketed", "farm_stitched", "farm_mojibake"]
    for kind in leaks + farms:
        row = planted.loc[kind]
        assert row.pages >= 8 and row.recall >= 0.9 and row.precision >= 0.9, planted.to_string()
    for kind in ("leak_negative_template", "leak_negative_topic"):
        assert planted.loc[kind, "removed"] == 0, planted.to_string()
    # No page with a benchmark item reaches the corpora (the ledger names every match).
    found = pd.concat(
        [pd.read_parquet(p) for p in (results / "data/decontam").rglob("*.matches.parquet")]
    )
    assert found["removed"].all() and set(found["method"]) == {"ngram", "crosslingual"}
    corpus_ids = set()
    for p in (results / "corpora").rglob("*.parquet"):
        corpus_ids |= set(pq.read_table(p, columns=["id"]).column("id").to_pylist())
    assert not corpus_ids & set(found["id"])


def test_the_corpus_audit_shows_every_reason_and_the_items_found(results):
    audit = results / "data/audit"
    samples = pd.read_csv(audit / "samples.csv")
    removed = pd.concat(
        [
            pq.read_table(p, columns=["step", "reason"]).to_pandas()
            for p in (results / "data").rglob("*.removed.parquet")
        ]
    )
    reasons = {(s, r.split(":")[0]) for s, r in zip(removed.step, removed.reason, strict=True)}
    shown = {(s, r.split(":")[0]) for s, r in zip(samples.step, samples.reason, strict=True)}
    assert reasons == shown  # every removal reason has samples
    assert samples.groupby(["step", "reason", "lang"]).size().max() <= 3
    texts = samples[samples.step != "extract"].excerpt.fillna("")
    assert (texts.str.len() > 0).all() and (texts.str.len() <= 600).all()
    bench = pd.read_csv(audit / "benchmarks.csv").set_index("benchmark")
    assert set(bench.index) == {"ceval", "cmmlu", "mmlu", "gsm8k"}
    assert (bench.items_found > 0).all() and (bench.pages_removed == bench.pages).all()
    text = (audit / "audit.md").read_text()
    assert "contamination:gsm8k" in text and "| decontaminate |" in text
