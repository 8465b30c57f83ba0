"""The dedup reduces' partitions in the DAG (dry run, ~4 s): small memory budgets split
`exact_duplicates`, each band's `minhash_buckets` and `minhash_components` into as many jobs as
skyforge.plan.resources.dedup_partitions says, every `exact_dedup` reads every partition's drop
list, every `minhash_components` job reads every band's and partition's pair file, and the one
`minhash_clusters` merge reads every partition's components."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from skyforge.config import load_config_files, validate_config
from skyforge.plan import resources as R

REPO = Path(__file__).resolve().parents[2]
BUDGETS = {"exact": {"memory_budget_gb": 0.0001}, "near": {"memory_budget_gb": 0.0002}}


def test_small_budgets_split_the_reduces_and_the_consumers_read_every_partition(tmp_path):
    overlay = tmp_path / "budgets.yaml"
    overlay.write_text(yaml.safe_dump({"dedup": BUDGETS}))
    cfg = load_config_files([REPO / "config.yaml"])
    cfg["dedup"]["exact"].update(BUDGETS["exact"])
    cfg["dedup"]["near"].update(BUDGETS["near"])
    cfg = validate_config(cfg)
    crawl, _ = R.crawl_bytes(cfg, R.DagShape(0, 0, 0, 0))
    n_exact = R.dedup_partitions("exact_duplicates", cfg, crawl)
    n_near = R.dedup_partitions("minhash_components", cfg, crawl)
    n_bucket = R.dedup_partitions("minhash_buckets", cfg, crawl)
    assert n_exact == 4 and n_near == 2  # 140 B × 3,000 / 107 kB; 500 × 2 × 0.3 × 3,000 > 2 shards
    assert n_bucket == 8  # (48 + 1,600 × 0.3) B × 3,000 / 215 kB
    bands = cfg["dedup"]["near"]["bands"]

    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "-p"]
    cmd += ["results/data/near/00000.parquet", "--cores", "1", "--configfile", str(overlay)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert len(re.findall(r"^rule exact_duplicates:$", text, re.M)) == n_exact, text
    assert len(re.findall(r"^rule minhash_components:$", text, re.M)) == n_near, text
    assert len(re.findall(r"^rule minhash_clusters:$", text, re.M)) == 1, text
    assert len(re.findall(r"^rule minhash_buckets:$", text, re.M)) == bands * n_bucket, text
    pairs = [
        f"results/data/near/pairs/band-{b}-part-{p}-of-{n_bucket}.parquet"
        for b in range(bands)
        for p in range(n_bucket)
    ]
    for pair in pairs:
        b, p = re.match(r".*band-(\d+)-part-(\d+)-of", pair).groups()
        assert f"--band {b} --partition {p} --num-partitions {n_bucket} --signatures" in text
        assert re.search(rf"--out {re.escape(pair)} --digests {re.escape(pair)} ", text), pair
    comps_cmd = [line for line in text.splitlines() if "skyforge.cli minhash-components" in line]
    assert len(comps_cmd) == n_near, comps_cmd
    for line in comps_cmd:
        read = re.search(r"--pairs (.*?) --partition", line).group(1).split()
        assert sorted(read) == sorted(pairs), line  # every band's every partition, once
    drops = [f"results/data/exact/drop/part-{p}-of-{n_exact}.parquet" for p in range(n_exact)]
    comps = [f"results/data/near/components/part-{p}-of-{n_near}.parquet" for p in range(n_near)]
    for p, drop in enumerate(drops):
        assert f"--partition {p} --num-partitions {n_exact} --out {drop}" in text, text
    apply = [line for line in text.splitlines() if "apply-drop --step exact_dedup" in line]
    assert apply and all(f"--drop {' '.join(drops)} --shard" in line for line in apply), apply
    merge = [line for line in text.splitlines() if "skyforge.cli minhash-clusters" in line]
    assert len(merge) == 1 and f"--components {' '.join(comps)} --out" in merge[0], merge
