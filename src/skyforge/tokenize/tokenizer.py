"""Train (or check) the bilingual byte-level BPE tokenizer and measure it on the held-out domains.

Skywork trains a SentencePiece BPE with digits split, byte fallback and reserved special tokens
(docs/recipe.md#tokenizer-and-packing). We train a byte-level BPE with HF ``tokenizers``
(in-process, saving the ``tokenizer.json`` that ``transformers`` loads), which gives the same
properties: the 256 bytes as initial alphabet (no unknown token), digits as single pre-tokens,
and the specials (``<s>``, ``</s>`` = EOD, ``<pad>``, ``<unk>``, the chat roles, reserved
slots) first in the vocabulary, one id each.

GPT-2's pre-tokenizer makes a whole Chinese clause one pre-token (Han ideographs are letters),
which wastes merges and slows training and encoding; word segmentation cannot be written into
``tokenizer.json``. Our split regex therefore cuts Han runs into chunks of at most
``CJK_CHUNK_CHARS`` characters, kept apart from Latin letters. No library draws a
byte-budgeted, mix-weighted sample from Parquet shards or writes the chars/bytes-per-token
table, so those are here too.

See docs/tokenize.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import xxhash
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from skyforge.core.io import atomic_path, atomic_write_text

BOS = "<s>"
EOS = "</s>"  # also the EOD token appended to every document in the packs
PAD = "<pad>"
UNK = "<unk>"
CHAT_ROLES = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
NUM_RESERVED = 8
DEFAULT_SPECIAL_TOKENS = [BOS, EOS, PAD, UNK, *CHAT_ROLES] + [
    f"<|reserved_{i}|>" for i in range(NUM_RESERVED)
]
BYTE_ALPHABET_SIZE = 256

# 4 characters: Chinese words are overwhelmingly 1–4 characters (Skywork's 25,519 added words are
# such words); longer chunks mostly let merges build phrase fragments.
CJK_CHUNK_CHARS = 4

# Held-out statistics read at most this much text per corpus: held-out splits are a few percent
# of a corpus, which is GBs on the cluster, and the ratios settle after a few MB.
STATS_MAX_BYTES_PER_CORPUS = 64 * 2**20

# Parquet rows read per batch when streaming text.
READ_BATCH_ROWS = 1024


def tracked_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config slice the tokenizer is trained from (what its rule tracks and its step reads):
    the ``tokenizer`` section and the stage-1 mix its training sample follows, so budgets and
    schedules never retrain it."""
    return {
        "tokenizer": config["tokenizer"],
        "train": {"stage1": {"mix": config["train"]["stage1"]["mix"]}},
    }


# Written beside tokenizer.json so that ``transformers.AutoTokenizer.from_pretrained(dir)`` gives
# a PreTrainedTokenizerFast with the special-token roles set. No BOS/EOS is added on encode: the
# packs append EOD themselves, and decode must not rewrite spaces (exact round trip).
_ROLE_KEYS = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK}


def _split_regex(split_digits: bool) -> str:
    """The pre-tokenizer regex (Oniguruma syntax, as HF ``tokenizers`` compiles it)."""
    number = r"\p{N}" if split_digits else r" ?\p{N}+"
    return "|".join(
        [
            r"'(?i:[sdmt]|ll|ve|re)",  # English contractions, as GPT-2
            rf" ?\p{{Han}}{{1,{CJK_CHUNK_CHARS}}}",  # Han runs in bounded chunks (docs/tokenize.md)
            r" ?[\p{L}\p{M}&&[^\p{Han}]]+",  # other letters (marks stay with their letter)
            number,
            r" ?[^\s\p{L}\p{M}\p{N}]+",  # punctuation and symbols, emoji included
            r"\s*[\r\n]+",  # line breaks with the blanks before them (code indentation)
            r"\s+(?!\S)",  # blanks, leaving the last one to prefix the next word
            r"\s+",
        ]
    )


def build_pre_tokenizer(split_digits: bool = True) -> pre_tokenizers.PreTokenizer:
    """The pre-tokenizer: our split regex, then GPT-2's byte-to-unicode mapping (no regex)."""
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_split_regex(split_digits)), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False, trim_offsets=False),
        ]
    )


def clean_text(text: str) -> tuple[str, int]:
    """Return ``text`` made encodable as UTF-8 and the number of lone surrogates replaced.

    A Python str can hold surrogate code points (bad JSON, ``surrogateescape`` decoding) that
    UTF-8 cannot encode and the Rust tokenizer rejects. Properly paired surrogates are joined into
    their character; each lone one becomes U+FFFD.
    """
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        pass
    cleaned = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return cleaned, cleaned.count("\ufffd") - text.count("\ufffd")


def set_num_threads(num_threads: int | None) -> int:
    """Size the Rust thread pool that ``encode_batch`` and the trainer use; return the size.

    ``tokenizers`` runs on rayon's global pool, which reads ``RAYON_NUM_THREADS`` once, at its
    first use in the process; later changes are ignored. ``None`` means the CPUs this process may
    run on (SLURM's and Snakemake's allocation), not the machine's core count.
    ``TOKENIZERS_PARALLELISM`` is set too: environments often export ``false`` to silence the
    library's fork warning, which would make every job single-threaded whatever it was given.
    """
    if num_threads is None:
        num_threads = len(os.sched_getaffinity(0))
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    os.environ["RAYON_NUM_THREADS"] = str(num_threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if num_threads > 1 else "false"
    return num_threads


def iter_texts(files: Iterable[Path], columns: tuple[str, ...] = ("text",)) -> Iterator[dict]:
    """Stream rows (as dicts of ``columns``) from Parquet files, one record batch at a time."""
    for path in files:
        # pyarrow's default pre_buffer would read the column of every row group up front.
        parquet = pq.ParquetFile(path, pre_buffer=False)
        missing = [c for c in columns if c not in parquet.schema_arrow.names]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}")
        for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=list(columns)):
            yield from batch.to_pylist()


def _validate_special_tokens(special_tokens: list[str], key: str) -> None:
    missing = [t for t in _ROLE_KEYS.values() if t not in special_tokens]
    if missing:
        raise ValueError(f"{key}: must contain {missing} (BOS/EOS=EOD/PAD/UNK roles)")
    if len(set(special_tokens)) != len(special_tokens):
        raise ValueError(f"{key}: duplicate special tokens in {special_tokens}")


def _corpus_bytes(files: list[Path]) -> int:
    """UTF-8 size of a corpus from its ``num_bytes`` column (no text is read)."""
    return sum(
        int(pq.read_table(path, columns=["num_bytes"]).column("num_bytes").to_numpy().sum())
        for path in files
    )


def _keep_probability(seed: int, doc_id: str) -> float:
    """Uniform in [0, 1) from (seed, id): the sample does not depend on file or row order."""
    return xxhash.xxh64_intdigest(f"{seed}:{doc_id}".encode()) / 2**64


def _sample_texts(
    files: list[Path], budget_bytes: int, seed: int, counter: dict[str, int]
) -> Iterator[str]:
    """Yield about ``budget_bytes`` of documents drawn uniformly from ``files``, never more.

    Each document is kept with probability budget / corpus size (a hash of seed and id decides),
    so the sample spreads over the whole corpus; the budget is a hard cap (the last document is
    cut at a character boundary).
    """
    total = _corpus_bytes(files)
    keep = min(1.0, budget_bytes / total)
    for row in iter_texts(files, ("id", "text")):
        if counter["bytes"] >= budget_bytes:
            return
        if _keep_probability(seed, row["id"]) >= keep:
            continue
        text, _ = clean_text(row["text"])
        data = text.encode("utf-8")
        room = budget_bytes - counter["bytes"]
        if len(data) > room:
            data = data[:room]
            text = data.decode("utf-8", "ignore")
        counter["bytes"] += len(data)
        counter["docs"] += 1
        yield text


def _mix_budgets(
    train_files: Mapping[str, list[Path]], mix: Mapping[str, float], sample_bytes: int
) -> dict[str, int]:
    """Bytes to sample per corpus: ``sample_bytes`` split by the (normalised) mix shares."""
    if sample_bytes <= 0:
        raise ValueError(f"tokenizer.sample_bytes: must be > 0, got {sample_bytes}")
    if any(share < 0 for share in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"tokenizer.mix: shares must be >= 0 with a positive sum, got {mix}")
    unknown = [c for c, share in mix.items() if share > 0 and c not in train_files]
    if unknown:
        raise ValueError(f"tokenizer.mix: no training files for corpus {unknown}")
    total = sum(mix.values())
    return {c: int(sample_bytes * share / total) for c, share in mix.items() if share > 0}


def _token_counts(tokenizer: Tokenizer, texts: list[str]) -> int:
    return sum(len(e.ids) for e in tokenizer.encode_batch_fast(texts, add_special_tokens=False))


def _load_for_counting(path: Path, key: str) -> Tokenizer:
    if not Path(path).is_file():
        raise ValueError(f"{key}: tokenizer file {path} does not exist")
    tokenizer = Tokenizer.from_file(str(path))
    # Held-out text that spells "</s>" is text, not an end of document.
    tokenizer.encode_special_tokens = True
    return tokenizer


def tokenizer_stats(
    tokenizer_path: Path,
    heldout_files: Mapping[str, list[Path]],
    out_dir: Path,
    *,
    reference: str | None = None,
) -> list[dict[str, Any]]:
    """Write ``stats.csv`` and ``stats.md``: chars and bytes per token per held-out corpus × lang.

    Rows are (corpus, lang) so that Chinese and English inside mixed corpora (STEM, parallel) are
    measured separately. With ``reference`` (a tokenizer.json), its token counts on the same text
    and the ratio ours / reference (< 1: we need fewer tokens) are added as columns.

    Returns:
        The table rows as dicts.
    """
    ours = _load_for_counting(tokenizer_path, "tokenizer.path")
    ref = _load_for_counting(Path(reference), "tokenizer.reference") if reference else None
    vocab_size = ours.get_vocab_size(with_added_tokens=True)
    rows = []
    for corpus in sorted(heldout_files):
        groups: dict[str, dict[str, Any]] = {}
        num_read = 0
        for row in iter_texts(heldout_files[corpus], ("text", "lang")):
            if num_read >= STATS_MAX_BYTES_PER_CORPUS:
                break
            text, _ = clean_text(row["text"])
            group = groups.setdefault(
                row["lang"] or "unknown", {"texts": [], "docs": 0, "chars": 0, "bytes": 0}
            )
            num_bytes = len(text.encode("utf-8"))
            num_read += num_bytes
            group["docs"] += 1
            group["chars"] += len(text)
            group["bytes"] += num_bytes
            group["texts"].append(text)
            if len(group["texts"]) >= READ_BATCH_ROWS:
                _flush_counts(group, ours, ref)
        for lang in sorted(groups):
            group = groups[lang]
            _flush_counts(group, ours, ref)
            rows.append(_stats_row(corpus, lang, group, vocab_size, ref))
    _write_stats(rows, out_dir, vocab_size)
    return rows


def _flush_counts(group: dict[str, Any], ours: Tokenizer, ref: Tokenizer | None) -> None:
    group["tokens"] = group.get("tokens", 0) + _token_counts(ours, group["texts"])
    if ref is not None:
        group["ref_tokens"] = group.get("ref_tokens", 0) + _token_counts(ref, group["texts"])
    group["texts"] = []


def _stats_row(
    corpus: str, lang: str, group: dict[str, Any], vocab_size: int, ref: Tokenizer | None
) -> dict[str, Any]:
    tokens = max(group["tokens"], 1)
    row = {
        "corpus": corpus,
        "lang": lang,
        "vocab_size": vocab_size,
        "docs": group["docs"],
        "chars": group["chars"],
        "bytes": group["bytes"],
        "tokens": group["tokens"],
        "chars_per_token": round(group["chars"] / tokens, 4),
        "bytes_per_token": round(group["bytes"] / tokens, 4),
    }
    if ref is not None:
        ref_tokens = max(group["ref_tokens"], 1)
        row.update(
            ref_vocab_size=ref.get_vocab_size(with_added_tokens=True),
            ref_tokens=group["ref_tokens"],
            ref_chars_per_token=round(group["chars"] / ref_tokens, 4),
            ref_bytes_per_token=round(group["bytes"] / ref_tokens, 4),
            tokens_vs_ref=round(group["tokens"] / ref_tokens, 4),
        )
    return row


def _write_stats(rows: list[dict[str, Any]], out_dir: Path, vocab_size: int) -> None:
    columns = list(rows[0]) if rows else ["corpus", "lang", "vocab_size"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(out_dir) / "stats.csv", buffer.getvalue())
    lines = [
        f"# Tokenizer: vocabulary {vocab_size:,}",
        "",
        "Characters and UTF-8 bytes per token on each held-out corpus and language "
        "(higher = better compression)"
        + (
            "; `tokens_vs_ref` < 1 means fewer tokens than the reference."
            if "ref_tokens" in columns
            else "."
        ),
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    atomic_write_text(Path(out_dir) / "stats.md", "\n".join(lines) + "\n")


def _write_hf_side_files(out_dir: Path, special_tokens: list[str]) -> None:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` for ``transformers``."""
    additional = [t for t in special_tokens if t not in _ROLE_KEYS.values()]
    special_map = {**_ROLE_KEYS, "additional_special_tokens": additional}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special_map,
        "add_bos_token": False,
        "add_eos_token": False,
        # transformers' default clean-up rewrites " ." to "." on decode; keep decode exact.
        "clean_up_tokenization_spaces": False,
    }
    for name, content in (
        ("tokenizer_config.json", config),
        ("special_tokens_map.json", special_map),
    ):
        atomic_write_text(
            Path(out_dir) / name, json.dumps(content, indent=2, ensure_ascii=False) + "\n"
        )


def train_tokenizer(
    train_files: dict[str, list[Path]],
    heldout_files: dict[str, list[Path]],
    out_dir: Path,
    *,
    vocab_size: int,
    mix: dict[str, float],
    sample_bytes: int,
    split_digits: bool = True,
    byte_fallback: bool = True,
    special_tokens: list[str],
    seed: int = 0,
    reference: str | None = None,
    num_threads: int | None = None,
) -> dict:
    """Train the byte-level BPE on a mix-weighted sample and save it in HF format with stats.

    Args:
        train_files: Corpus name → its training Parquet shards (CORPUS_SCHEMA).
        heldout_files: Corpus name → its held-out shards, measured for ``stats.csv``.
        out_dir: Receives tokenizer.json, tokenizer_config.json, special_tokens_map.json,
            stats.csv and stats.md (each written atomically).
        vocab_size: Total vocabulary including the 256 bytes and the special tokens.
        mix: Corpus → share of the sample (normalised; e.g. the stage-1 blend).
        sample_bytes: UTF-8 bytes of text the trainer sees, split by ``mix``.
        split_digits: One pre-token per digit.
        byte_fallback: Seed the alphabet with all 256 bytes (no ``<unk>`` ever).
        special_tokens: Added first, one id each; must contain ``<s>``, ``</s>``, ``<pad>``,
            ``<unk>``.
        seed: Decides which documents are sampled.
        reference: A tokenizer.json to compare with in the stats, or None.
        num_threads: Rust threads for training and counting (None: the CPUs we may use).

    Returns:
        ``vocab_size``, ``sample_docs``, ``sample_bytes`` (per corpus and total) and ``stats``.

    Raises:
        ValueError: Vocabulary smaller than bytes + specials (``tokenizer.vocab_size``), bad
            specials or mix, or a mixed-in corpus without text (names its files).
    """
    _validate_special_tokens(special_tokens, "tokenizer.special_tokens")
    minimum = BYTE_ALPHABET_SIZE + len(special_tokens)
    if vocab_size < minimum:
        raise ValueError(
            f"tokenizer.vocab_size: {vocab_size} is smaller than the byte alphabet "
            f"({BYTE_ALPHABET_SIZE}) + {len(special_tokens)} special tokens = {minimum}"
        )
    budgets = _mix_budgets(train_files, mix, sample_bytes)
    for corpus in budgets:
        files = [Path(f) for f in train_files[corpus]]
        if not files or _corpus_bytes(files) == 0:
            raise ValueError(
                f"tokenizer.mix: corpus {corpus!r} has a share but no text in its training "
                f"files {[str(f) for f in files]}"
            )
    set_num_threads(num_threads)

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = build_pre_tokenizer(split_digits)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        # A pair seen once in the sample is noise, not a token.
        min_frequency=2,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if byte_fallback else [],
        show_progress=False,
    )
    counters = {c: {"docs": 0, "bytes": 0} for c in budgets}

    def sample() -> Iterator[str]:
        for corpus in sorted(budgets):
            files = [Path(f) for f in train_files[corpus]]
            yield from _sample_texts(files, budgets[corpus], seed, counters[corpus])

    tokenizer.train_from_iterator(sample(), trainer=trainer)
    if not any(c["docs"] for c in counters.values()):
        raise ValueError(
            f"tokenizer.sample_bytes: {sample_bytes} bytes drew no document from "
            f"{sorted(budgets)}; raise it"
        )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "tokenizer.json") as tmp:
        tokenizer.save(str(tmp))
    _write_hf_side_files(out_dir, special_tokens)
    stats = tokenizer_stats(out_dir / "tokenizer.json", heldout_files, out_dir, reference=reference)
    return {
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "sample_docs": sum(c["docs"] for c in counters.values()),
        "sample_bytes": sum(c["bytes"] for c in counters.values()),
        "sample_bytes_per_corpus": {c: counters[c]["bytes"] for c in sorted(counters)},
        "stats": stats,
    }


def check_tokenizer(
    path: Path,
    vocab_size: int,
    special_tokens: list[str],
    out_dir: Path | None = None,
    *,
    heldout_files: Mapping[str, list[Path]] | None = None,
    reference: str | None = None,
) -> dict:
    """Check an existing tokenizer.json (the cluster preset) and copy it into ``out_dir``.

    Checks that it loads, that its vocabulary (added tokens included) is at most ``vocab_size``
    and that every special token is a single id. With ``out_dir`` the file is copied atomically
    and the HF side files and ``stats.csv``/``stats.md`` (on ``heldout_files``; header only
    without them) are written as for a trained tokenizer.

    Returns:
        ``vocab_size``, ``special_ids`` (token → id) and ``stats`` (rows; empty without out_dir).

    Raises:
        ValueError: Naming the file and what is wrong with it.
    """
    path = Path(path)
    _validate_special_tokens(special_tokens, "tokenizer.special_tokens")
    if not path.is_file():
        raise ValueError(f"tokenizer.path: {path} does not exist")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # the Rust side raises a bare Exception on bad JSON
        raise ValueError(
            f"tokenizer.path: {path} is not a loadable tokenizer.json: {error}"
        ) from error
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if size > vocab_size:
        raise ValueError(f"{path}: vocabulary {size} exceeds tokenizer.vocab_size {vocab_size}")
    special_ids = {t: tokenizer.token_to_id(t) for t in special_tokens}
    missing = [t for t, i in special_ids.items() if i is None]
    if missing:
        raise ValueError(f"{path}: special tokens {missing} are not single tokens")
    if out_dir is not None:
        out_dir = Path(out_dir)
        with atomic_path(out_dir / "tokenizer.json") as tmp:
            shutil.copyfile(path, tmp)
        _write_hf_side_files(out_dir, special_tokens)
        stats = tokenizer_stats(
            out_dir / "tokenizer.json", heldout_files or {}, out_dir, reference=reference
        )
    else:
        stats = []
    return {"vocab_size": size, "special_ids": special_ids, "stats": stats}


class SkyforgeTokenizer:
    """The tokenizer as megatron-core's GPTDataset wants it (``vocab_size``, ``eod``, ``pad``,
    ``unique_identifiers``), plus ``tokenize``/``detokenize`` and a batch encode for the packs.

    Text that spells a special token ("</s>" in a web page about HTML) is encoded as text, so that
    EOD only ever comes from the pack writer.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"tokenizer file {self.path} does not exist")
        data = self.path.read_bytes()
        self._tokenizer = Tokenizer.from_str(data.decode("utf-8"))
        self._tokenizer.encode_special_tokens = True
        self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        ids = {t: self._tokenizer.token_to_id(t) for t in (BOS, EOS, PAD, UNK)}
        if ids[EOS] is None:
            raise ValueError(f"{self.path}: no {EOS} token (the EOD of the packs)")
        self.eod = ids[EOS]
        self.bos, self.pad, self.unk = ids[BOS], ids[PAD], ids[UNK]
        # megatron-core hashes these into its dataset cache names: path + content hash.
        self.unique_identifiers: OrderedDict[str, str] = OrderedDict(
            [
                ("class", type(self).__name__),
                ("tokenizer_path", str(self.path)),
                ("sha256", hashlib.sha256(data).hexdigest()),
            ]
        )

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (no BOS/EOS added)."""
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def tokenize_batch(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, encoded in parallel on the Rust thread pool."""
        encodings = self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return [e.ids for e in encodings]

    def detokenize(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; special tokens are kept as their text."""
        return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    @property
    def vocab(self) -> dict[str, int]:
        """Token → id, special tokens included."""
        return self._tokenizer.get_vocab(with_added_tokens=True)


def load_tokenizer(path: str | Path) -> SkyforgeTokenizer:
    """Load a tokenizer.json as the megatron-core-compatible :class:`SkyforgeTokenizer`."""
    return SkyforgeTokenizer(path)


MIX_CORPORA = {"en": "main-en", "zh": "main-zh", "code": "main-code"}
"""Stage-1 mix keys (``train.stage1.mix``) → the corpora the tokenizer's sample is drawn from."""


def files_by_corpus(paths: Iterable[Path]) -> dict[str, list[Path]]:
    """Corpus files grouped by corpus: ``.../corpora/<corpus>/<split>/<shard>.parquet``."""
    grouped: dict[str, list[Path]] = defaultdict(list)
    for p in paths:
        grouped[Path(p).parent.parent.name].append(Path(p))
    return dict(grouped)
