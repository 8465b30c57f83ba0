"""The fastText quality classifier: Chinese-aware tokens, training with validation metrics,
determinism for a seed, separation of clean prose from junk on held-out data, and the per-language
threshold filter."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from skyforge.data.classifiers import quality as Q
from skyforge.data.docs import read_docs, read_removed, write_docs, write_table

# Held-out F1 floor for "clean prose vs junk" on this synthetic set. The two classes differ in
# vocabulary and word order, so a working classifier is near 1.0; 0.9 leaves room for seeds.
MIN_HELD_OUT_F1 = 0.9
# Small model for fast tests: 20,000 buckets × 16 dims ≈ 1.3 MB.
FAST = {"dim": 16, "bucket": 20_000, "epochs": 10, "lr": 0.5, "wordNgrams": 2}

EN_SUBJECTS = [
    "The council",
    "A local farmer",
    "The new museum",
    "Our teacher",
    "The river",
    "A young engineer",
    "The hospital",
    "The city library",
    "My neighbour",
    "The research team",
    "The old bridge",
    "A small bakery",
]
EN_VERBS = [
    "opened",
    "described",
    "repaired",
    "studied",
    "welcomed",
    "explained",
    "planned",
    "measured",
    "improved",
    "visited",
]
EN_OBJECTS = [
    "the west wing of the building",
    "a careful plan for the winter",
    "the results of the survey",
    "a quiet place to read",
    "the cost of the repairs",
    "the history of the valley",
    "a path along the water",
    "the rules of the game",
    "a report on air quality",
    "the students in the morning",
]
EN_TAILS = [
    "after a long debate.",
    "before the end of the year.",
    "with help from volunteers.",
    "because residents had asked for it.",
    "and the work went well.",
    "although the budget was small.",
    "for the first time in decades.",
]
ZH_SUBJECTS = [
    "市议会",
    "一位农民",
    "新博物馆",
    "我们的老师",
    "这条河",
    "年轻的工程师",
    "医院",
    "城市图书馆",
    "我的邻居",
    "研究团队",
    "老桥",
    "一家面包店",
]
ZH_VERBS = [
    "开放了",
    "介绍了",
    "修复了",
    "研究了",
    "欢迎了",
    "解释了",
    "规划了",
    "测量了",
    "改善了",
    "参观了",
]
ZH_OBJECTS = [
    "大楼的西侧",
    "一份过冬的详细计划",
    "调查的结果",
    "一个安静的阅读空间",
    "维修的费用",
    "山谷的历史",
    "一条沿河的小路",
    "比赛的规则",
    "一份空气质量报告",
    "早上的学生们",
]
ZH_TAILS = [
    "经过了长时间的讨论。",
    "在年底之前完成。",
    "得到了志愿者的帮助。",
    "因为居民们一直有这样的要求。",
    "工作进展得很顺利。",
    "尽管预算并不多。",
    "这是几十年来的第一次。",
]
JUNK_EN = [
    "cheap",
    "best price",
    "click here",
    "free shipping",
    "buy now",
    "casino bonus",
    "Home",
    "Login",
    "Sign up",
    "Privacy Policy",
    "Terms of Use",
    "Next page",
    "replica watches",
    "download free",
    "100% guaranteed",
    "hot deals",
    "Menu",
    "Share",
    "Tweet",
    "Subscribe",
    "Related posts",
    "Read more",
    "jackpot",
]
JUNK_ZH = [
    "免费下载",
    "高清",
    "特价",
    "包邮",
    "点击进入",
    "首页",
    "登录",
    "注册",
    "隐私政策",
    "下一页",
    "彩票",
    "娱乐城",
    "注册送",
    "返利",
    "低价",
    "批发",
    "网站推广",
    "在线观看",
    "分享到",
    "更多",
    "热门推荐",
    "返回顶部",
]


def clean_doc(rng: random.Random, lang: str) -> str:
    paras = []
    for _ in range(rng.randint(2, 4)):
        if lang == "zh":
            sents = [
                rng.choice(ZH_SUBJECTS)
                + rng.choice(ZH_VERBS)
                + rng.choice(ZH_OBJECTS)
                + "，"
                + rng.choice(ZH_TAILS)
                for _ in range(rng.randint(3, 5))
            ]
            paras.append("".join(sents))
        else:
            sents = [
                f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERBS)} "
                f"{rng.choice(EN_OBJECTS)} {rng.choice(EN_TAILS)}"
                for _ in range(rng.randint(3, 5))
            ]
            paras.append(" ".join(sents))
    return "\n\n".join(paras)


def junk_doc(rng: random.Random, lang: str) -> str:
    kind = rng.choice(["spam", "nav", "salad"])
    if kind == "salad":
        # Clean vocabulary in random order: only word order (n-grams) tells it apart.
        words = (clean_doc(rng, lang)).replace("\n", " ")
        units = list(words) if lang == "zh" else words.split()
        rng.shuffle(units)
        return ("" if lang == "zh" else " ").join(units)
    pool = JUNK_ZH if lang == "zh" else JUNK_EN
    sep = {"spam": "" if lang == "zh" else " ", "nav": " | "}[kind]
    lines = [
        sep.join(rng.choice(pool) for _ in range(rng.randint(5, 25)))
        for _ in range(rng.randint(2, 6))
    ]
    return "\n".join(lines)


def write_sets(root: Path, seed: int, num: int) -> tuple[Path, Path]:
    """Positives (text, lang) and one negatives shard in the document schema."""
    rng = random.Random(seed)
    pos = [
        {"text": clean_doc(rng, lang), "lang": lang} for lang in ("en", "zh") for _ in range(num)
    ]
    negs = [
        {
            "id": f"<urn:uuid:{seed}-{lang}-{i}>",
            "url": f"https://junk.example/{lang}/{i}",
            "domain": "junk.example",
            "title": None,
            "text": junk_doc(rng, lang),
            "crawl_date": "2024-01-01",
            "encoding": "utf-8",
            "lang": lang,
            "lang_score": 1.0,
            "shard": 0,
        }
        for lang in ("en", "zh")
        for i in range(num)
    ]
    root.mkdir(parents=True, exist_ok=True)
    pos_path, neg_path = root / "positives.parquet", root / "negatives.parquet"
    schema = pa.schema([("text", pa.string()), ("lang", pa.string())])
    write_table(pos_path, pos, schema)
    write_docs(neg_path, negs)
    return pos_path, neg_path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    pos, neg = write_sets(root / "train", seed=1, num=300)
    summary = Q.train_quality_model(pos, [neg], root / "model", seed=5, **FAST)
    return root, pos, neg, summary


def test_tokens_are_chinese_aware():
    assert Q.fasttext_tokens("Hello, World! 2024年的ＡＩ大会。") == "hello world 0 年 的 ai 大 会"
    assert "\n" not in Q.fasttext_tokens("line one\nline two")


def test_training_writes_model_and_metrics(trained):
    root, _, _, summary = trained
    files = sorted(p.name for p in (root / "model").iterdir())
    assert files == ["metrics.csv", "metrics.md", "model.bin"]  # temp training file removed
    metrics = pd.read_csv(root / "model" / "metrics.csv").set_index("lang")
    assert list(metrics.index) == ["en", "zh", "all"]
    assert metrics.at["all", "num_train_pos"] == metrics.at["all", "num_train_neg"] == 540
    assert metrics.at["en", "num_val_pos"] == 30
    assert (metrics["f1"] >= MIN_HELD_OUT_F1).all(), metrics
    assert "| lang |" in (root / "model" / "metrics.md").read_text()
    assert summary["langs"] == ["en", "zh"] and summary["num_val"] == 120


def test_separates_clean_prose_from_junk_on_held_out_data(trained, tmp_path):
    root = trained[0]
    model = Q.load_quality_model(root / "model")
    rng = random.Random(99)  # not the training seed: unseen documents
    for lang in ("en", "zh"):
        clean = Q.predict_hq(model, [clean_doc(rng, lang) for _ in range(100)])
        junk = Q.predict_hq(model, [junk_doc(rng, lang) for _ in range(100)])
        tp = sum(p >= 0.5 for p in clean)
        fp = sum(p >= 0.5 for p in junk)
        precision, recall = tp / max(1, tp + fp), tp / len(clean)
        f1 = 2 * precision * recall / (precision + recall)
        print(f"{lang}: held-out precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}")
        assert f1 >= MIN_HELD_OUT_F1


def test_same_seed_same_model(trained, tmp_path):
    root, pos, neg, summary = trained
    again = Q.train_quality_model(pos, [neg], tmp_path / "again", seed=5, **FAST)
    assert again["metrics"] == summary["metrics"]

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert digest(tmp_path / "again" / "model.bin") == digest(root / "model" / "model.bin")


def test_apply_quality_thresholds_per_language(trained, tmp_path):
    root = trained[0]
    rng = random.Random(7)
    docs = []
    for i in range(20):
        lang = ("en", "zh")[i % 2]
        text = clean_doc(rng, lang) if i < 10 else junk_doc(rng, lang)
        docs.append(
            {
                "id": f"d{i}",
                "url": f"https://x.example/{i}",
                "domain": "x.example",
                "title": None,
                "text": text,
                "crawl_date": None,
                "encoding": "utf-8",
                "lang": lang,
                "lang_score": 1.0,
                "shard": 0,
            }
        )
    docs.append({**docs[-1], "id": "code", "lang": "code"})  # no threshold: kept as is
    src = tmp_path / "docs.parquet"
    write_docs(src, docs)
    stats = Q.apply_quality(
        src,
        4,
        root / "model",
        tmp_path / "k.parquet",
        tmp_path / "r.parquet",
        {"en": 0.5, "zh": 0.5},
    )
    kept = read_docs(tmp_path / "k.parquet").to_pandas()
    removed = read_removed(tmp_path / "r.parquet").to_pandas()
    assert sorted([*kept["id"], *removed["id"]]) == sorted(d["id"] for d in docs)
    assert set(removed["step"]) == {"quality_model"}
    assert removed["reason"].str.fullmatch(r"low_quality:0\.\d\d").all()
    assert {f"d{i}" for i in range(10)} <= set(kept["id"]) and "code" in set(kept["id"])
    assert len(removed) >= 9  # of the 10 junk documents
    assert stats["num_scored"] == 20 and stats["num_kept"] + stats["num_removed"] == 21
    assert (kept["shard"] == 4).all()
    # Documents the caller's predicate skips (the pipeline: a harmful signal) are kept unscored.
    skipped = Q.apply_quality(
        src,
        4,
        root / "model",
        tmp_path / "k2.parquet",
        tmp_path / "r2.parquet",
        {"en": 0.5, "zh": 0.5},
        skip=lambda text, lang: lang == "en",
    )
    assert skipped["num_skipped"] == 10 and skipped["num_scored"] == 10
    assert set(read_removed(tmp_path / "r2.parquet").to_pandas()["id"]) == {
        i for i in removed["id"] if int(i[1:]) % 2 == 1
    }
    with pytest.raises(ValueError, match="quality.thresholds.en"):
        Q.apply_quality(src, 0, root / "model", tmp_path / "k", tmp_path / "r", {"en": 2.0})


def test_bad_inputs_name_the_file_or_key(trained, tmp_path):
    _, pos, neg, _ = trained
    bad = tmp_path / "bad.parquet"
    write_table(bad, [{"body": "x"}], pa.schema([("body", pa.string())]))
    with pytest.raises(ValueError, match=r"quality positives .*bad\.parquet.*text, lang"):
        Q.train_quality_model(bad, [neg], tmp_path / "m")
    with pytest.raises(ValueError, match="quality.wordNgrams"):
        Q.train_quality_model(pos, [neg], tmp_path / "m", wordNgrams=0)
    with pytest.raises(ValueError, match="quality model .*model.bin"):
        Q.load_quality_model(tmp_path / "nowhere")


def test_reservoir_keeps_everything_under_its_cap_and_a_uniform_sample_above():
    """Training pools are reservoirs: under the cap they are the plain list (and draw nothing,
    so the classifiers' samples are those of a full read); above it every item is kept with
    probability cap / n, so memory follows the cap, not the crawl."""
    import random

    from skyforge.data.classifiers.quality import Reservoir

    rng = random.Random(3)
    state = rng.getstate()
    pool = Reservoir(10, rng)
    for i in range(10):
        pool.offer(i)
    assert list(pool) == list(range(10)) and rng.getstate() == state
    kept = [0] * 20
    for trial in range(3000):
        pool = Reservoir(5, random.Random(trial))
        for i in range(20):
            pool.offer(i)
        assert len(pool) == 5 and len(set(pool)) == 5
        for i in pool:
            kept[i] += 1
    assert all(abs(k / 3000 - 0.25) < 0.04 for k in kept), kept
