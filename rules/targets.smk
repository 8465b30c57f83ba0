"""The DAG's targets: what each stage builds, and ``all_targets`` for ``rule all``."""


def data_outputs():
    """Cleaned corpora, the funnel and (synthetic crawl) the ground-truth scores."""
    outputs = all_corpus_files() + [
        "results/data/funnel/funnel.md",
        "results/data/funnel/funnel.png",
    ]
    outputs += ["results/data/quality_model/metrics.md", "results/data/harmful_model/metrics.md"]
    outputs += ["results/data/audit/audit.md"]
    if config["crawl"]["source"] == "synthetic":
        outputs += ["results/data/scores/scores.md", "results/data/scores/planted.csv"]
    return outputs


def tokenize_outputs():
    """Tokenizer, merged packs and blends."""
    return ["results/tokenizer/stats.md", "results/blends/summary.md"] + blend_files()


def plan_outputs():
    """The compute plan tables."""
    return [
        f"results/plan/{name}" for name in ("summary.csv", "layouts.csv", "reverse.csv", "plan.md")
    ]


def pretrain_outputs():
    """Every stage's manifest, the HF exports and the loss curves."""
    return (
        stage_manifests()
        + hf_exports()
        + ["results/pretrain/report/curves.png", "results/pretrain/report/summary.md"]
    )


def align_outputs():
    """SFT and DPO manifests, their HF exports, curves and sample replies."""
    return (
        align_manifests()
        + [f"results/hf/{v}" for v in sft_variants() + ["dpo"]]
        + ["results/align/report/curves.png", "results/align/report/summary.md"]
        + ["results/align/report/samples.md"]
    )


def eval_outputs():
    """Every eval table."""
    return [
        f"results/eval/{t}/{t}.md"
        for t in ("domain_loss", "benchmarks", "contamination", "layer_cosine")
    ] + ["results/eval/contamination/data_vs_model.md"]


def summary_inputs():
    """Every artifact the summary page reads (all the DAG's targets but the page itself)."""
    return (
        plan_outputs()
        + ["results/crawl/manifest.json"]
        + data_outputs()
        + tokenize_outputs()
        + pretrain_outputs()
        + align_outputs()
        + eval_outputs()
    )


def all_targets():
    """Every artifact the DAG builds."""
    return (
        plan_outputs()
        + crawl_shards()
        + ["results/crawl/manifest.json"]
        + data_outputs()
        + tokenize_outputs()
        + pretrain_outputs()
        + align_outputs()
        + eval_outputs()
        + ["results/summary.md"]
    )


def align_manifests():
    """Manifests of the SFT variants and DPO."""
    return [f"results/align/{v}/manifest.json" for v in sft_variants() + ["dpo"]]


def chat_model_exports():
    """HF folders of every model the report shows replies of: stage finals, SFT, DPO."""
    return hf_exports() + ["results/hf/sft", "results/hf/dpo"]
