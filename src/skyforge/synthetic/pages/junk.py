"""Pages the rule-based steps must remove, and the non-HTML payloads of the crawl.

* ``spam`` (keyword stuffing and a link farm to blocklisted hosts) and ``boilerplate_only``
  (a login or error message and nothing else): the heuristic rules;
* ``adult``, served from domains on the adult blocklist: the URL filter;
* ``other_lang`` (French, German, Spanish, Japanese): language ID;
* ``mojibake``: an article stored as UTF-8 misread as GBK / Windows-1252 with bytes lost (the
  encoding filter removes it); ``mojibake_fixable``: the lossless kind, which it repairs;
* ``png`` / ``pdf``: payloads of the ``non_html`` records, which extraction skips.

Each is a plausible page of its kind, so a step that passes it is really wrong.
"""

from __future__ import annotations

import random
import struct
import zlib
from datetime import date

from skyforge.data import load_blocklist
from skyforge.synthetic.pages.articles import article_doc
from skyforge.synthetic.pages.sites import Site
from skyforge.synthetic.pages.text import Block, Doc, capitalize, fill
from skyforge.synthetic.vocab import general as V


def spam_doc(rng: random.Random, lang: str) -> Doc:
    targets = sorted(load_blocklist("spam") | load_blocklist("gambling"))
    if lang == "zh":
        kws, caps, sep = V.ZH_SPAM_KEYWORDS, V.ZH_SPAM_CAPS, ""
        city = rng.choice(V.ZH_CITIES)
    else:
        kws, caps, sep = V.EN_SPAM_KEYWORDS, V.EN_SPAM_CAPS, " "
        city = rng.choice(V.EN_CITIES)
    main = rng.sample(kws, 3)
    title = sep.join(main) + (" | " if lang == "en" else "｜") + sep.join(rng.sample(kws, 3))
    blocks = []
    for _ in range(rng.randint(3, 6)):
        stuffed = sep.join(rng.choice(main + kws[:5]) for _ in range(rng.randint(30, 70)))
        blocks.append(Block("p", stuffed))
        blocks.append(Block("caps", rng.choice(caps)))
    phrase = f"{main[0]}{city}{main[1]}" if lang == "zh" else f"best {main[0]} in {city}"
    blocks.append(Block("p", (sep or " ").join([phrase] * rng.randint(8, 20))))
    for _ in range(rng.randint(25, 60)):
        host = rng.choice(targets)
        anchor = sep.join(rng.sample(kws, 2))
        blocks.append(Block("link", anchor, f"https://{host}/{rng.randint(100, 99999)}.html"))
    return Doc(title, "", tuple(blocks))


def adult_doc(rng: random.Random, lang: str, site: Site) -> Doc:
    if lang == "zh":
        kws = V.ZH_ADULT_KEYWORDS
        title = f"{site.name}｜{'｜'.join(rng.sample(kws, 3))}"
        gate = "本站内容仅限18岁以上成年人浏览。未满18岁请立即离开。"
        lines = ["，".join(rng.sample(kws, 5)) + "。" for _ in range(rng.randint(3, 6))]
        enter = ["我已满18岁，进入", "离开"]
    else:
        kws = V.EN_ADULT_KEYWORDS
        title = f"{site.name} - {' - '.join(k.title() for k in rng.sample(kws, 3))}"
        gate = "Adults only. You must be 18 or older to enter this website."
        lines = [", ".join(rng.sample(kws, 5)) + "." for _ in range(rng.randint(3, 6))]
        enter = ["I am 18 or older - Enter", "Leave"]
    blocks = [Block("p", gate)] + [Block("p", line) for line in lines]
    blocks += [Block("link", t, f"/{'enter' if i == 0 else 'exit'}") for i, t in enumerate(enter)]
    return Doc(title, "", tuple(blocks))


def other_lang_doc(rng: random.Random, sub: str, when: date) -> Doc:
    lex = V.OTHER_LANGS[sub]

    def draw(slot: str) -> str:
        return rng.choice(lex[slot])

    sep = "" if sub == "ja" else " "
    paras = [
        sep.join(capitalize(fill(rng.choice(lex["t"]), draw)) for _ in range(rng.randint(3, 5)))
        for _ in range(rng.randint(4, 8))
    ]
    title = capitalize(fill(rng.choice(lex["t"]), draw)).rstrip(".。")
    return Doc(title, when.isoformat(), tuple(Block("p", p) for p in paras))


def boilerplate_doc(rng: random.Random, lang: str) -> Doc:
    msgs = V.ZH_BOILERPLATE_MESSAGES if lang == "zh" else V.EN_BOILERPLATE_MESSAGES
    msg = rng.choice(msgs)
    return Doc("", "", (Block("p", msg),))


def decode_bytewise(raw: bytes, codec: str, errors: str) -> str:
    """``raw`` read as ``codec`` (cp1252: undefined bytes as Latin-1, as MySQL's latin1 does)."""
    if codec != "cp1252":
        return raw.decode(codec, errors)
    out = []
    for b in raw:
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b) if errors == "latin-1" else "?")
    return "".join(out)


def _typeset(rng: random.Random, text: str) -> str:
    """English prose with typographic quotes and dashes (what a CMS makes of it)."""
    words = text.split(" ")
    if len(words) > 8:
        i = rng.randrange(2, len(words) - 4)
        words[i] = "“" + words[i]
        words[i + 2] = words[i + 2] + "”"
        words.insert(rng.randrange(1, len(words) - 1), "—")
    return " ".join(words).replace("'", "’")


def mojibake_doc(rng: random.Random, lang: str, when: date, site: Site, fixable: bool) -> Doc:
    """An article whose paragraphs were stored as UTF-8 misread as another charset.

    Fixable: every paragraph of a random half went through Windows-1252 / Latin-1 (lossless).
    Not fixable: every paragraph went through GBK (Chinese) or Windows-1252 (English) with '?'
    for each byte that did not decode, the damage of the issue's real crawl.
    """
    doc = article_doc(rng, lang, when, site)
    blocks = list(doc.blocks)
    if lang == "en":
        blocks = [b._replace(text=_typeset(rng, b.text)) for b in blocks]
    if fixable:
        chosen = rng.sample(range(len(blocks)), max(1, len(blocks) // 2))
        codec, errors = "cp1252", "latin-1"
    else:
        chosen = list(range(len(blocks)))
        codec, errors = ("gbk" if lang == "zh" else "cp1252"), "replace"
    for i in chosen:
        text = decode_bytewise(blocks[i].text.encode("utf-8"), codec, errors)
        blocks[i] = blocks[i]._replace(text=text.replace("\ufffd", "?"))
    return Doc(doc.title, doc.byline, tuple(blocks))


def png(rng: random.Random) -> bytes:
    w, h = rng.randint(8, 32), rng.randint(8, 32)
    raw = b"".join(b"\x00" + rng.randbytes(3 * w) for _ in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def pdf(rng: random.Random) -> bytes:
    text = f"Annual report {rng.randint(2015, 2023)} - page {rng.randint(1, 40)}"
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
