"""Kept pages: news articles, standard-library code walk-throughs and EN-ZH parallel pages.

These are the pages every step should keep (kinds ``en_article``, ``zh_article``, ``code``,
``parallel``), and the ones exact and near duplicates are copied from. Code pages quote a slice
of the running interpreter's standard library (real, well-formed code with no licence
question), so a different Python version gives different code pages. Parallel pages fill an
English and a Chinese template with the same slot values, sentence by sentence, so both halves
say the same thing as a bilingual site's pages do.
"""

from __future__ import annotations

import os
import random
import re
import sysconfig
from collections import Counter
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path

from skyforge.synthetic.pages.sites import Site
from skyforge.synthetic.pages.text import (
    Block,
    Doc,
    EnDraw,
    ZhDraw,
    capitalize,
    en_byline,
    en_paragraphs,
    en_title,
    fill,
    fix_articles,
    title_case,
    zh_byline,
    zh_paragraphs,
    zh_title,
)
from skyforge.synthetic.vocab import general as V

_SKIP_STDLIB_DIRS = {
    "test",
    "tests",
    "idlelib",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "lib2to3",
    "turtledemo",
    "ensurepip",
    "tkinter",
}
_TOP_LEVEL_DEF = re.compile(r"^(?:async def|def|class) (\w+)")


@lru_cache(maxsize=1)
def _stdlib_files() -> tuple[Path, ...]:
    """Sorted ``.py`` files of the running interpreter's standard library (tests left out)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_STDLIB_DIRS)
        found.extend(Path(dirpath) / f for f in filenames if f.endswith(".py"))
    return tuple(sorted(found))


def _code_slice(rng: random.Random) -> tuple[str, str, str]:
    """(module path, name of the first definition, source slice) from a random stdlib file."""
    files = _stdlib_files()
    if not files:
        raise RuntimeError(f"no Python files under {sysconfig.get_paths()['stdlib']}")
    for _ in range(20):
        path = files[rng.randrange(len(files))]
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        starts = [i for i, line in enumerate(lines) if _TOP_LEVEL_DEF.match(line)]
        if len(lines) < 20 or not starts:
            continue
        start = rng.choice(starts)
        end = min(len(lines), start + rng.randint(30, 110))
        name = _TOP_LEVEL_DEF.match(lines[start]).group(1)
        rel = path.relative_to(Path(sysconfig.get_paths()["stdlib"])).as_posix()
        return rel, name, "\n".join(lines[start:end]).rstrip()
    raise RuntimeError("could not read a standard-library source file")


def article_doc(rng: random.Random, lang: str, when: date, site: Site) -> Doc:
    if lang == "zh":
        draw = ZhDraw(rng, rng.choice(list(V.ZH_TOPICS)))
        title = zh_title(rng, draw)
        byline = zh_byline(rng, when, site.name)
        paras = zh_paragraphs(rng, draw, rng.randint(5, 9))
    else:
        draw = EnDraw(rng, rng.choice(list(V.EN_TOPICS)))
        title = en_title(rng, draw)
        byline = en_byline(rng, when)
        paras = en_paragraphs(rng, draw, rng.randint(5, 9))
    return Doc(title, byline, tuple(Block("p", p) for p in paras))


def code_doc(rng: random.Random, when: date) -> Doc:
    rel, name, code = _code_slice(rng)
    module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    draw = EnDraw(rng, "technology")
    intro = (
        f"This note walks through `{name}` from the standard-library module `{module}` "
        f"({rel}). The listing below is the original source."
    )
    outro = fix_articles(
        " ".join(capitalize(fill(rng.choice(V.EN_TEMPLATES), draw)) for _ in range(2))
    )
    title = f"Reading the source: {module}.{name}"
    return Doc(
        title, en_byline(rng, when), (Block("p", intro), Block("pre", code), Block("p", outro))
    )


def parallel_doc(rng: random.Random, when: date) -> Doc:
    def draw_pair() -> Callable[[str], tuple[str, str]]:
        def draw(slot: str) -> tuple[str, str]:
            match slot:
                case "city":
                    return rng.choice(V.BI_CITIES)
                case "n" | "n2":
                    return rng.choice(V.BI_NOUNS)
                case "org":
                    return rng.choice(V.BI_ORGS)
                case "a":
                    return rng.choice(V.BI_ADJ)
                case "num":
                    v = str(rng.randint(2, 30))
                    return v, v
                case "pct":
                    v = f"{rng.randint(2, 60)}"
                    return f"{v} percent", f"{v}%"
                case "year":
                    v = str(rng.randint(2010, 2024))
                    return v, v
            raise AssertionError(f"unknown bilingual slot {slot!r}")

        return draw

    def fill_pair(en_t: str, zh_t: str) -> tuple[str, str]:
        # Slot values are drawn once per slot occurrence in English order and reused for the
        # Chinese side by position within each slot name, so both sides say the same thing.
        draw = draw_pair()
        values: dict[str, list[tuple[str, str]]] = {}
        en_counts: Counter[str] = Counter()

        def en_draw(slot: str) -> str:
            values.setdefault(slot, []).append(draw(slot))
            en_counts[slot] += 1
            return values[slot][-1][0]

        en = fill(en_t, en_draw)
        zh_counts: Counter[str] = Counter()

        def zh_draw(slot: str) -> str:
            i = zh_counts[slot]
            zh_counts[slot] += 1
            return values[slot][i][1]

        return fix_articles(capitalize(en)), fill(zh_t, zh_draw)

    en_title, zh_title = fill_pair(*rng.choice(V.BI_TITLES))
    blocks = []
    for _ in range(rng.randint(4, 8)):
        pairs = [fill_pair(*rng.choice(V.BI_TEMPLATES)) for _ in range(rng.randint(2, 4))]
        blocks.append(Block("p_en", " ".join(e for e, _ in pairs)))
        blocks.append(Block("p_zh", "".join(z for _, z in pairs)))
    return Doc(
        f"{zh_title} | {title_case(en_title)}", f"发布时间：{when.isoformat()}", tuple(blocks)
    )
