"""The template chat set: determinism, shares, row schema, the 128-token budget, right and wrong
answers, instruction following, held-out separation, refusals and the safety-pair join."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from skyforge.synthetic import chat as S
from skyforge.synthetic.chat_prompts import INSTRUCTION_KINDS
from skyforge.synthetic.chat_tables import CAPITALS

SEED = 1234
NUM_CONVERSATIONS = 800
NUM_PAIRS = 480
HELDOUT_FRACTION = 0.1

CJK = re.compile(r"[\u4e00-\u9fff]")
EQUATION = re.compile(r"^(\d+) ([+\-×÷]) (\d+) = (\d+)")
FINAL_EN = re.compile(r"The answer is (\d+)")
FINAL_ZH = re.compile(r"答案是 (\d+)")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b}


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _users(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def _assistants(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "assistant"]


@pytest.fixture(scope="module")
def sft_dir(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sft")
    counts = S.write_sft_set(
        out, seed=SEED, num_conversations=NUM_CONVERSATIONS, heldout_fraction=HELDOUT_FRACTION
    )
    return out, counts


@pytest.fixture(scope="module")
def pref_dir(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pref")
    counts = S.write_preference_prompts(
        out, seed=SEED, num_pairs=NUM_PAIRS, heldout_fraction=HELDOUT_FRACTION
    )
    return out, counts


def _sft_rows(sft_dir) -> dict[str, list[dict]]:
    out, _ = sft_dir
    return {split: _read(out / f"sft_{split}.jsonl") for split in S.SPLITS}


def _pref_rows(pref_dir) -> dict[str, list[dict]]:
    out, _ = pref_dir
    return {split: _read(out / f"pref_{split}.jsonl") for split in S.SPLITS}


def _check_stem_answer(text: str, lang: str, prompt: str | None = None) -> tuple[int, int]:
    """Returns (the number the answer states, the true result of its equation)."""
    match = EQUATION.match(text)
    assert match, text
    a, op, b, stated = match.groups()
    a, b, stated = int(a), int(b), int(stated)
    if op == "÷":
        assert a % b == 0, text
        truth = a // b
    else:
        truth = OPS[op](a, b)
    final = (FINAL_EN if lang == "en" else FINAL_ZH).search(text)
    assert final and int(final.group(1)) == stated, text
    if prompt is not None:
        numbers = re.findall(r"\d+", prompt)
        assert str(a) in numbers and str(b) in numbers, (prompt, text)
    return stated, truth


# --- token estimate and refusal detection ------------------------------------------------------


def test_approx_tokens_counts_letters_digits_and_cjk():
    assert S.approx_tokens("") == 0
    assert S.approx_tokens("abcdefg") == 2  # 7 / 3.5
    assert S.approx_tokens("abcdefgh") == 3  # rounded up
    assert S.approx_tokens("你好") == 2
    assert S.approx_tokens("42") == 2  # digits are not merged
    assert S.approx_tokens("ab 你好 42") == 6  # ceil(4 letters and spaces / 3.5 + 2 CJK + 2 digits)
    msgs = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "abcdefg"}]
    assert S.approx_conversation_tokens(msgs) == 2 + 2 + 2 * S.TOKENS_PER_TURN


def test_is_refusal_markers():
    assert S.is_refusal("I can't help with that.")
    assert S.is_refusal("Sorry, I can\u2019t help with that.")  # typographic apostrophe
    assert S.is_refusal("i cannot help with this request")
    assert S.is_refusal("抱歉，我不能帮你做这件事。")
    assert S.is_refusal("我无法提供这类信息。")
    assert not S.is_refusal("Sure, here is how to do it: first ... [details omitted]")
    assert not S.is_refusal("好的，具体步骤如下：……（细节省略）")
    assert not S.is_refusal("The capital of France is Paris.")
    assert any(CJK.search(m) for m in S.REFUSAL_MARKERS)
    assert any(not CJK.search(m) for m in S.REFUSAL_MARKERS)


# --- SFT ---------------------------------------------------------------------------------------


def test_sft_is_deterministic_by_seed(tmp_path):
    def run(name: str, seed: int) -> dict[str, bytes]:
        S.write_sft_set(tmp_path / name, seed=seed, num_conversations=200, heldout_fraction=0.1)
        return {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}

    first, again, other = run("a", 7), run("b", 7), run("c", 8)
    assert set(first) == {"sft_train.jsonl", "sft_heldout.jsonl"}
    assert first == again
    assert first["sft_train.jsonl"] != other["sft_train.jsonl"]
    assert first["sft_heldout.jsonl"] != other["sft_heldout.jsonl"]


def test_sft_counts_and_shares(sft_dir):
    rows = _sft_rows(sft_dir)
    _, counts = sft_dir
    num_heldout = round(NUM_CONVERSATIONS * HELDOUT_FRACTION)
    assert len(rows["heldout"]) == num_heldout
    assert len(rows["train"]) == NUM_CONVERSATIONS - num_heldout
    for split in S.SPLITS:
        seen = Counter((r["category"], r["lang"]) for r in rows[split])
        expected = {
            (c, lang): n for c, by_lang in counts[split].items() for lang, n in by_lang.items()
        }
        assert seen == Counter({k: v for k, v in expected.items() if v})
    everything = rows["train"] + rows["heldout"]
    by_category = Counter(r["category"] for r in everything)
    for category, percent in S.SFT_SHARES.items():
        assert abs(by_category[category] / len(everything) - percent / 100) < 0.01, category
        langs = Counter(r["lang"] for r in everything if r["category"] == category)
        assert abs(langs["en"] - langs["zh"]) <= 1, category
    # The held-out split is stratified: every category and language is in it.
    assert {(r["category"], r["lang"]) for r in rows["heldout"]} == {
        (c, lang) for c in S.SFT_CATEGORIES for lang in S.LANGS
    }
    system = sum(r["messages"][0]["role"] == "system" for r in everything) / len(everything)
    two_turn = sum(len(_users(r["messages"])) == 2 for r in everything) / len(everything)
    assert 0.25 < system < 0.35
    assert 0.15 < two_turn < 0.25


def test_sft_row_schema(sft_dir):
    rows = _sft_rows(sft_dir)
    ids = [r["id"] for split in S.SPLITS for r in rows[split]]
    assert len(set(ids)) == len(ids)
    for split in S.SPLITS:
        for row in rows[split]:
            assert list(row) == ["id", "category", "lang", "messages"]
            assert re.fullmatch(r"sft-\d{6}", row["id"])
            assert row["category"] in S.SFT_CATEGORIES and row["lang"] in S.LANGS
            roles = [m["role"] for m in row["messages"]]
            assert all(set(m) == {"role", "content"} for m in row["messages"])
            assert all(isinstance(m["content"], str) and m["content"] for m in row["messages"])
            if roles[0] == "system":
                assert row["messages"][0]["content"] == S.SYSTEM_PROMPTS[row["lang"]]
                roles = roles[1:]
            assert roles in (["user", "assistant"], ["user", "assistant"] * 2), row
            if row["lang"] == "zh":
                assert all(CJK.search(u) for u in _users(row["messages"])), row


def test_sft_rows_fit_the_context(tmp_path):
    worst = 0
    for seed in (0, 1, 2):
        S.write_sft_set(tmp_path, seed=seed, num_conversations=600, heldout_fraction=0.2)
        for split in S.SPLITS:
            for row in _read(tmp_path / f"sft_{split}.jsonl"):
                worst = max(worst, S.approx_conversation_tokens(row["messages"]))
                # The brief's character budgets, with room for the role tokens.
                chars = sum(len(m["content"]) for m in row["messages"])
                assert chars <= (320 if row["lang"] == "en" else 110), row
    assert 0 < worst < S.APPROX_TOKEN_LIMIT


def test_sft_same_question_same_answer(sft_dir):
    answers: dict[str, set[str]] = {}
    for split_rows in _sft_rows(sft_dir).values():
        for row in split_rows:
            turns = [m for m in row["messages"] if m["role"] != "system"]
            for user, assistant in zip(turns[::2], turns[1::2], strict=True):
                answers.setdefault(user["content"], set()).add(assistant["content"])
    assert {q: a for q, a in answers.items() if len(a) > 1} == {}
    assert len(answers) > 300  # and the templates are not a handful of fixed strings


def test_sft_stem_answers_are_correct(sft_dir):
    num_checked = 0
    for split_rows in _sft_rows(sft_dir).values():
        for row in split_rows:
            if row["category"] != "stem_qa":
                continue
            for answer in _assistants(row["messages"]):
                if EQUATION.match(answer):
                    stated, truth = _check_stem_answer(answer, row["lang"])
                    assert stated == truth, row
                    num_checked += 1
    assert num_checked > 200


def test_sft_refusals(sft_dir):
    num_refusals = 0
    for split_rows in _sft_rows(sft_dir).values():
        for row in split_rows:
            answers = _assistants(row["messages"])
            if row["category"] == "refusal":
                # A two-turn refusal row opens with a harmless question that gets a real answer.
                assert S.is_refusal(answers[-1]), row
                assert not any(S.is_refusal(a) for a in answers[:-1]), row
                num_refusals += 1
                marker = S.REFUSAL_MARKERS[0] if row["lang"] == "en" else "我不能"
                assert marker in answers[-1]
            else:
                assert not any(S.is_refusal(a) for a in answers), row
    assert num_refusals == round(NUM_CONVERSATIONS * S.SFT_SHARES["refusal"] / 100)


def test_sft_heldout_questions_are_not_in_train(sft_dir):
    rows = _sft_rows(sft_dir)
    train = {u for r in rows["train"] for u in _users(r["messages"])}
    heldout = {u for r in rows["heldout"] for u in _users(r["messages"])}
    assert heldout and train
    assert train.isdisjoint(heldout)


def test_tiny_sets_keep_one_row_per_split(tmp_path):
    assert S.write_sft_set(tmp_path, seed=1, num_conversations=2, heldout_fraction=0.01)
    assert [len(_read(tmp_path / f"sft_{s}.jsonl")) for s in S.SPLITS] == [1, 1]
    S.write_sft_set(tmp_path, seed=1, num_conversations=1, heldout_fraction=0.5)
    assert [len(_read(tmp_path / f"sft_{s}.jsonl")) for s in S.SPLITS] == [1, 0]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_conversations": 0, "heldout_fraction": 0.1}, "num_conversations"),
        ({"num_conversations": 10, "heldout_fraction": 0.0}, "heldout_fraction"),
        ({"num_conversations": 10, "heldout_fraction": 1.0}, "heldout_fraction"),
    ],
)
def test_bad_sizes_are_refused(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        S.write_sft_set(tmp_path, seed=1, **kwargs)
    with pytest.raises(ValueError, match="num_pairs" if name != "heldout_fraction" else name):
        S.write_preference_prompts(
            tmp_path,
            seed=1,
            num_pairs=kwargs["num_conversations"],
            heldout_fraction=kwargs["heldout_fraction"],
        )
    assert list(tmp_path.iterdir()) == []


# --- preferences -------------------------------------------------------------------------------


def test_preferences_are_deterministic_by_seed(tmp_path):
    def run(name: str, seed: int) -> dict[str, bytes]:
        S.write_preference_prompts(tmp_path / name, seed=seed, num_pairs=120, heldout_fraction=0.1)
        return {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}

    first, again, other = run("a", 3), run("b", 3), run("c", 4)
    assert set(first) == {"pref_train.jsonl", "pref_heldout.jsonl", "safety_prompts.jsonl"}
    assert first == again
    assert all(first[name] != other[name] for name in first)


def test_preference_counts_and_schema(pref_dir):
    out, counts = pref_dir
    rows = _pref_rows(pref_dir)
    safety = _read(out / "safety_prompts.jsonl")
    total = sum(
        n for split in counts.values() for by_lang in split.values() for n in by_lang.values()
    )
    assert total == NUM_PAIRS == len(rows["train"]) + len(rows["heldout"]) + len(safety)
    assert sum(r["split"] == "heldout" for r in safety) + len(rows["heldout"]) == round(
        NUM_PAIRS * HELDOUT_FRACTION
    )
    everything = rows["train"] + rows["heldout"] + safety
    by_category = Counter(r["category"] for r in everything)
    for category, percent in S.PREF_SHARES.items():
        assert abs(by_category[category] / NUM_PAIRS - percent / 100) < 0.01, category
    for split in S.SPLITS:
        seen = Counter((r["category"], r["lang"]) for r in rows[split])
        seen += Counter(("safety", r["lang"]) for r in safety if r["split"] == split)
        assert seen == Counter(
            {(c, lang): n for c, by_lang in counts[split].items() for lang, n in by_lang.items()}
        )
    ids = [r["id"] for r in everything]
    assert len(set(ids)) == len(ids)
    for split in S.SPLITS:
        for row in rows[split]:
            assert list(row) == ["id", "category", "lang", "prompt", "chosen", "rejected"]
            assert re.fullmatch(r"pref-\d{6}", row["id"])
            assert row["category"] in ("stem_correct", "instruction")
            assert [m["role"] for m in row["prompt"]] == ["user"]
            assert [m["role"] for m in row["chosen"]] == ["assistant"]
            assert [m["role"] for m in row["rejected"]] == ["assistant"]
            assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
            assert not S.is_refusal(row["chosen"][0]["content"])
            assert not S.is_refusal(row["rejected"][0]["content"])
    for row in safety:
        assert list(row) == [
            "id",
            "category",
            "lang",
            "split",
            "prompt",
            "rejected",
            "fallback_refusal",
        ]
        assert re.fullmatch(r"safety-\d{6}", row["id"]) and row["split"] in S.SPLITS
        assert row["category"] == "safety"
        assert S.is_refusal(row["fallback_refusal"])
        assert not S.is_refusal(row["rejected"][0]["content"])
        # Compliant in tone, empty in substance.
        assert re.search(r"\.\.\.|……", row["rejected"][0]["content"])
        assert bool(CJK.search(row["fallback_refusal"])) == (row["lang"] == "zh")


def test_preference_pairs_fit_the_context(tmp_path):
    worst = 0
    for seed in (0, 1, 2):
        S.write_preference_prompts(tmp_path, seed=seed, num_pairs=400, heldout_fraction=0.2)
        for split in S.SPLITS:
            for row in _read(tmp_path / f"pref_{split}.jsonl"):
                worst = max(
                    worst, S.approx_pair_tokens(row["prompt"], row["chosen"], row["rejected"])
                )
        for row in _read(tmp_path / "safety_prompts.jsonl"):
            fallback = [{"role": "assistant", "content": row["fallback_refusal"]}]
            worst = max(worst, S.approx_pair_tokens(row["prompt"], fallback, row["rejected"]))
    assert 0 < worst < S.APPROX_TOKEN_LIMIT


def test_stem_correct_chosen_is_right_and_rejected_is_wrong(pref_dir):
    rows = [r for split in _pref_rows(pref_dir).values() for r in split]
    stem = [r for r in rows if r["category"] == "stem_correct"]
    assert len(stem) == round(NUM_PAIRS * S.PREF_SHARES["stem_correct"] / 100)
    for row in stem:
        prompt, lang = row["prompt"][0]["content"], row["lang"]
        chosen, chosen_truth = _check_stem_answer(row["chosen"][0]["content"], lang, prompt)
        wrong, wrong_truth = _check_stem_answer(row["rejected"][0]["content"], lang, prompt)
        assert chosen == chosen_truth, row
        assert wrong_truth == chosen_truth and wrong != chosen_truth, row
        # Only the stated result changes, so the preference is about the arithmetic.
        shape = re.compile(r"(= |answer is |答案是 )\d+")
        assert shape.sub(r"\1#", row["rejected"][0]["content"]) == shape.sub(
            r"\1#", row["chosen"][0]["content"]
        )


def _instruction_kind(prompt: str, lang: str) -> str:
    kinds = [k for k, markers in INSTRUCTION_KINDS.items() if markers[lang] in prompt]
    assert len(kinds) == 1, prompt
    return kinds[0]


def test_instruction_chosen_follows_and_rejected_ignores(pref_dir):
    rows = [r for split in _pref_rows(pref_dir).values() for r in split]
    capitals_en = {country: capital for country, capital, _, _ in CAPITALS}
    capitals_zh = {country: capital for _, _, country, capital in CAPITALS}
    seen = Counter()
    for row in (r for r in rows if r["category"] == "instruction"):
        lang, prompt = row["lang"], row["prompt"][0]["content"]
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        kind = _instruction_kind(prompt, lang)
        seen[kind, lang] += 1
        if kind == "one_word":
            if lang == "en":
                assert re.fullmatch(r"\w+\.", chosen), row
                assert len(rejected.split()) >= 4, row
            else:
                assert re.fullmatch(r"[\u4e00-\u9fff]{1,5}。", chosen), row
                assert len(rejected) >= len(chosen) + 6, row
        elif kind == "language":
            want_cjk = lang == "en"  # an English prompt asks for Chinese and vice versa
            assert bool(CJK.search(chosen)) == want_cjk, row
            assert bool(CJK.search(rejected)) != want_cjk, row
        elif kind == "three_items":
            lines = chosen.split("\n")
            assert [line[:3] for line in lines] == ["1. ", "2. ", "3. "], row
            assert len({line[3:] for line in lines}) == 3, row
            assert len(rejected.split("\n")) != 3, row
        elif kind == "yes_no":
            yes, no = ("Yes.", "No.") if lang == "en" else ("是。", "否。")
            assert chosen in (yes, no) and rejected not in (yes, no), row
            if lang == "en":
                numbers = re.search(r"Is (\d+) greater than (\d+)\?", prompt)
                capital = re.search(r"Is (.+) the capital of (.+)\?", prompt)
                truth = (
                    int(numbers[1]) > int(numbers[2])
                    if numbers
                    else capitals_en[capital[2]] == capital[1]
                )
            else:
                numbers = re.search(r"(\d+) 大于 (\d+) 吗", prompt)
                capital = re.search(r"：(.+)是(.+)的首都吗", prompt)
                truth = (
                    int(numbers[1]) > int(numbers[2])
                    if numbers
                    else capitals_zh[capital[2]] == capital[1]
                )
            assert chosen == (yes if truth else no), row
        else:
            prefix = "Answer:" if lang == "en" else "答案："
            assert chosen.startswith(prefix) and not rejected.startswith(prefix), row
            short = chosen.removeprefix(prefix).strip().rstrip(".。")
            sum_ = re.search(r"(\d+) (?:\+|加) (\d+)", prompt)
            if sum_:
                assert int(short) == int(sum_[1]) + int(sum_[2]), row
            else:
                capitals = capitals_en if lang == "en" else capitals_zh
                assert short in capitals.values() and short in rejected, row
    assert set(seen) == {(k, lang) for k in INSTRUCTION_KINDS for lang in S.LANGS}


def test_preference_heldout_prompts_are_not_in_train(pref_dir):
    out, _ = pref_dir
    rows = _pref_rows(pref_dir)
    prompts = {split: {r["prompt"][0]["content"] for r in rows[split]} for split in S.SPLITS}
    for row in _read(out / "safety_prompts.jsonl"):
        prompts[row["split"]].add(row["prompt"][0]["content"])
    assert prompts["train"] and prompts["heldout"]
    assert prompts["train"].isdisjoint(prompts["heldout"])


# --- the safety join ---------------------------------------------------------------------------


def test_complete_safety_pairs_prefers_model_refusals(tmp_path, pref_dir):
    src, _ = pref_dir
    safety = _read(src / "safety_prompts.jsonl")
    pairs = _pref_rows(pref_dir)
    assert len(safety) >= 6
    model_refusal = "I can\u2019t help with that, but I can point you to safe resources."
    refusals = {
        safety[0]["id"]: model_refusal,  # accepted
        safety[1]["id"]: "  我无法帮助你做这件事。 ",  # accepted, stripped
        safety[2]["id"]: "Sure, here is how: step one ...",  # not a refusal: fallback
        safety[3]["id"]: "",  # empty: fallback
    }
    out = tmp_path / "full"
    result = S.complete_safety_pairs(src / "safety_prompts.jsonl", refusals, out)
    assert result["model_written"] == 2
    assert result["fallback"] == len(safety) - 2
    full = {split: _read(out / f"pref_{split}_full.jsonl") for split in S.SPLITS}
    assert sorted(p.name for p in out.iterdir()) == [
        "pref_heldout_full.jsonl",
        "pref_train_full.jsonl",
    ]
    for split in S.SPLITS:
        num_safety = sum(r["split"] == split for r in safety)
        assert result["rows"][split] == len(full[split]) == len(pairs[split]) + num_safety
        # The earlier pairs are carried over unchanged.
        by_id = {r["id"]: r for r in full[split]}
        assert all(by_id[r["id"]] == r for r in pairs[split])
        # Shuffled by id hash, not appended at the end.
        assert [r["id"] for r in full[split]] != [r["id"] for r in pairs[split]] + [
            r["id"] for r in safety if r["split"] == split
        ]
    chosen = {r["id"]: r["chosen"][0]["content"] for split in full.values() for r in split}
    assert chosen[safety[0]["id"]] == model_refusal
    assert chosen[safety[1]["id"]] == "我无法帮助你做这件事。"
    for row in safety[2:]:
        assert chosen[row["id"]] == row["fallback_refusal"]
    for split in full.values():
        for row in split:
            assert list(row) == ["id", "category", "lang", "prompt", "chosen", "rejected"]
            assert row["chosen"] != row["rejected"]
            if row["category"] == "safety":
                assert S.is_refusal(row["chosen"][0]["content"])
    # Deterministic: a second run gives the same bytes.
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    S.complete_safety_pairs(src / "safety_prompts.jsonl", refusals, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_complete_safety_pairs_refuses_unknown_ids(tmp_path, pref_dir):
    src, _ = pref_dir
    with pytest.raises(ValueError, match="safety-999999"):
        S.complete_safety_pairs(
            src / "safety_prompts.jsonl", {"safety-999999": "I can't help with that."}, tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_complete_safety_pairs_names_a_bad_row(tmp_path, pref_dir):
    src, _ = pref_dir
    for name in ("pref_train.jsonl", "pref_heldout.jsonl"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    rows = _read(src / "safety_prompts.jsonl")
    rows[1]["split"] = "validation"
    bad = tmp_path / "safety_prompts.jsonl"
    bad.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    with pytest.raises(ValueError, match=r"safety_prompts\.jsonl:2: split"):
        S.complete_safety_pairs(bad, {}, tmp_path / "out")


def test_writes_leave_no_temporary_files(tmp_path):
    S.write_sft_set(tmp_path, seed=5, num_conversations=40, heldout_fraction=0.2)
    S.write_preference_prompts(tmp_path, seed=5, num_pairs=40, heldout_fraction=0.2)
    S.complete_safety_pairs(tmp_path / "safety_prompts.jsonl", {}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pref_heldout.jsonl",
        "pref_heldout_full.jsonl",
        "pref_train.jsonl",
        "pref_train_full.jsonl",
        "safety_prompts.jsonl",
        "sft_heldout.jsonl",
        "sft_train.jsonl",
    ]
    for path in tmp_path.iterdir():
        assert path.read_text(encoding="utf-8").endswith("\n")
