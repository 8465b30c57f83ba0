"""Sites and the page chrome the crawl wraps around every document.

``Sites`` makes web sites (unique host names, never one on a blocklist unless asked: news,
code and homework sites, spam, junk and adult hosts) with their navigation, footer, cookie
banner, server and IP address. ``page_html`` wraps a document in that chrome as a real CMS
page: scripts, styles, menus, a sidebar of other headlines, a footer, a cookie banner, a
``<meta>`` charset (UTF-8 or GBK). On a share of pages the article also carries the site-wide
month drop-down (``DROPDOWN_HTML_*``): identical bytes on every page, inside the article
container, which extractors keep and only exact-substring dedup removes (the Index-1.9B
finding).
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass

from skyforge.data import host_in_blocklist, load_blocklist
from skyforge.synthetic.pages.text import Doc, EnDraw, ZhDraw, en_title, zh_title
from skyforge.synthetic.vocab import general as V

__all__ = [
    "DROPDOWN_HTML_EN",
    "DROPDOWN_HTML_ZH",
    "DROPDOWN_TEXT_EN",
    "DROPDOWN_TEXT_ZH",
    "Site",
    "Sites",
    "page_html",
]


@dataclass
class Site:
    host: str
    name: str
    lang: str  # html lang attribute family: en, zh, fr, de, es, ja
    nav: list[str]
    footer: list[str]
    cookie: str
    headlines: list[str]
    server: str
    ip: str


def _dropdown(label: str, prompt: str, months: list[tuple[str, str]]) -> tuple[str, str]:
    # A script-driven menu (opens on hover) whose items are plain text lines inside the article
    # container, as many CMS themes render it. Extractors keep it: nothing in the markup says
    # "boilerplate" (a <select> or a list of links they would drop), which is how such text
    # reaches a corpus thousands of times and why only substring dedup removes it.
    items = "<br>".join(t for _, t in months)
    markup = (
        f'<div class="archive-menu" data-menu="archives" data-months="{len(months)}">'
        f"{label}<br>{prompt}<br>{items}</div>"
    )
    text = "\n".join([label, prompt] + [t for _, t in months])
    return markup, text


_MONTHS = [(y, m) for y in range(2023, 2018, -1) for m in range(12, 0, -1)]  # newest first
DROPDOWN_HTML_EN, DROPDOWN_TEXT_EN = _dropdown(
    "Archives", "Select Month", [(f"{y}/{m:02d}", f"{V.EN_MONTHS[m - 1]} {y}") for y, m in _MONTHS]
)
DROPDOWN_HTML_ZH, DROPDOWN_TEXT_ZH = _dropdown(
    "文章归档", "选择月份", [(f"{y}/{m:02d}", f"{y}年{m}月") for y, m in _MONTHS]
)


_SERVERS = [
    "nginx",
    "nginx/1.18.0",
    "Apache/2.4.41 (Ubuntu)",
    "Apache",
    "cloudflare",
    "Tengine",
    "openresty",
    "Microsoft-IIS/10.0",
    "LiteSpeed",
]
_STYLE = (
    "<style>body{margin:0;font-family:Helvetica,Arial,sans-serif;line-height:1.6}"
    ".site-header{background:#1d2b3a;color:#fff}.nav a{color:#fff;margin:0 .6em}"
    ".layout{display:flex;max-width:1100px;margin:auto}main{flex:3}aside{flex:1}"
    ".cookie-banner{position:fixed;bottom:0;background:#222;color:#eee;padding:1em}"
    "footer{font-size:.85em;color:#666;border-top:1px solid #ddd}</style>"
)


def _ip(rng: random.Random) -> str:
    # Documentation ranges (RFC 5737): never a real host.
    prefix = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{prefix}.{rng.randint(1, 254)}"


class Sites:
    """Makes sites with unique host names (never one on a blocklist unless asked)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.blocked = load_blocklist("adult") | load_blocklist("gambling") | load_blocklist("spam")

    def _unique(self, prefix: str, stem: str, tld: str) -> str:
        n = 0
        while True:
            host = f"{prefix}{stem}{n or ''}.{tld}"
            if host not in self.used and not host_in_blocklist(host, self.blocked):
                self.used.add(host)
                return host
            n += 1

    def make(self, lang: str, flavor: str = "news") -> Site:
        r = self.rng
        if lang == "zh":
            city = r.choice(V.ZH_CITIES)
            word = {"qa": "学习网", "parallel": "双语网"}.get(flavor, r.choice(V.ZH_SITE_WORDS))
            name = city + word
            prefix, stem = "www.", "".join(r.sample(V.ZH_PINYIN, 2))
            tld = r.choice(["cn", "com.cn", "com", "net"])
            nav = ["首页"] + r.sample(V.ZH_NAV[1:], r.randint(7, 12))
            footer, cookie = V.ZH_FOOTER, r.choice(V.ZH_COOKIE)
        elif lang in V.OTHER_LANGS:
            name = r.choice(V.OTHER_LANG_SITE_WORDS[lang])
            # ASCII site names give their own host label; Japanese ones get a made-up one.
            stem = re.sub(r"[^a-z]+", "", name.lower()) or "".join(r.sample(V.ZH_PINYIN, 2))
            prefix = "www."
            tld = "jp" if lang == "ja" else lang
            nav, footer, cookie = r.sample(V.EN_NAV, 8), V.EN_FOOTER, r.choice(V.EN_COOKIE)
        else:
            w1, w2 = r.sample(V.EN_SITE_WORDS, 2)
            name = {"code": f"{w1} Dev Notes", "qa": f"{w1} Homework Help"}.get(
                flavor, f"The {w1} {w2}" if r.random() < 0.5 else f"{r.choice(V.EN_CITIES)} {w1}"
            )
            stem = re.sub(r"[^a-z0-9]+", "", name.lower().removeprefix("the "))
            tlds = ["dev", "io"] if flavor == "code" else ["com", "net", "org", "co.uk", "news"]
            tld = r.choice(tlds)
            prefix = "www." if r.random() < 0.7 else ""
            nav = ["Home"] + r.sample(V.EN_NAV[1:], r.randint(7, 12))
            footer, cookie = V.EN_FOOTER, r.choice(V.EN_COOKIE)
        headline_lang = lang if lang in ("en", "zh") else "en"
        return Site(
            host=self._unique(prefix, stem, tld),
            name=name,
            lang=lang,
            nav=nav,
            footer=footer,
            cookie=cookie,
            headlines=[_headline(r, headline_lang) for _ in range(8)],
            server=r.choice(_SERVERS),
            ip=_ip(r),
        )

    def spam_host(self) -> Site:
        r = self.rng
        kw = r.choice(V.EN_SPAM_KEYWORDS)
        stem = re.sub(r"[^a-z0-9]+", "-", kw.lower()).strip("-")
        tld = r.choice(["top", "xyz", "info", "biz", "club"])
        host = self._unique("", f"{stem}-{r.randint(10, 999)}", tld)
        return Site(
            host,
            kw.title(),
            "en",
            ["Home", "Deals", "Shop", "Contact"],
            V.EN_FOOTER,
            r.choice(V.EN_COOKIE),
            [],
            r.choice(_SERVERS),
            _ip(r),
        )

    def junk_host(self, lang: str) -> Site:
        """A numeric or random domain on no blocklist (``0xxxxx.com``, ``xxxx.cn``)."""
        r = self.rng
        if r.random() < 0.5:
            stem = f"{r.randint(0, 9)}{r.randint(10_000, 999_999)}"
        else:
            stem = "".join(r.choice("abcdefghjkmnpqrstwxyz") for _ in range(r.randint(4, 6)))
        host = self._unique(
            r.choice(["", "www.", "m."]), stem, r.choice(["com", "cn", "net", "cc"])
        )
        nav = (
            ["首页", "最新", "热门", "联系我们"]
            if lang == "zh"
            else ["Home", "New", "Hot", "Contact"]
        )
        return Site(
            host,
            host.split(".")[-2],
            lang,
            nav,
            V.ZH_FOOTER if lang == "zh" else V.EN_FOOTER,
            r.choice(V.ZH_COOKIE if lang == "zh" else V.EN_COOKIE),
            [],
            r.choice(_SERVERS),
            _ip(r),
        )

    def adult_host(self, lang: str) -> Site:
        r = self.rng
        domain = r.choice(sorted(load_blocklist("adult")))
        host = f"{r.choice(['', 'www.', 'm.', 'cn.' if lang == 'zh' else 'en.'])}{domain}"
        name = domain.split(".")[0].replace("-", " ").title()
        return Site(
            host,
            name,
            lang,
            ["Home", "Videos", "Live", "Members", "Login"],
            V.EN_FOOTER,
            r.choice(V.EN_COOKIE),
            [],
            r.choice(_SERVERS),
            _ip(r),
        )


def _headline(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        return zh_title(rng, ZhDraw(rng, rng.choice(list(V.ZH_TOPICS))))
    return en_title(rng, EnDraw(rng, rng.choice(list(V.EN_TOPICS))))


def _main_html(doc: Doc, lang: str) -> str:
    esc = html.escape
    out = []
    if doc.title:
        out.append(f'<h1 class="entry-title">{esc(doc.title)}</h1>')
    if doc.byline:
        out.append(f'<p class="byline">{esc(doc.byline)}</p>')
    links: list[str] = []
    for b in doc.blocks:
        if b.tag == "link":
            links.append(f'<li><a href="{esc(b.href)}">{esc(b.text)}</a></li>')
            continue
        if links:
            out.append(f'<ul class="links">{"".join(links)}</ul>')
            links = []
        match b.tag:
            case "p":
                out.append(f"<p>{esc(b.text)}</p>")
            case "h2":
                out.append(f"<h2>{esc(b.text)}</h2>")
            case "plink":
                # One link per paragraph: extractors keep these (a <ul> of links reads as a menu).
                out.append(f'<p><a href="{esc(b.href)}">{esc(b.text)}</a></p>')
            case "pre":
                out.append(f'<pre><code class="language-python">{esc(b.text)}</code></pre>')
            case "caps":
                out.append(f'<p class="promo"><strong>{esc(b.text)}</strong></p>')
            case "p_en" | "p_zh":
                code = b.tag[2:]
                out.append(f'<p class="{code}" lang="{code}">{esc(b.text)}</p>')
            case _:
                raise AssertionError(f"unknown block tag {b.tag!r}")
    if links:
        out.append(f'<ul class="links">{"".join(links)}</ul>')
    return "\n".join(out)


def page_html(
    rng: random.Random,
    site: Site,
    doc: Doc,
    *,
    lang: str,
    encoding: str,
    dropdown: bool,
    year: int,
) -> str:
    """Wrap a document in site chrome; ``rng`` only picks this page's sidebar and ids."""
    esc = html.escape
    zh = lang == "zh"
    if encoding == "gbk":
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'
    else:
        meta = '<meta charset="utf-8">'
    nav = "".join(f'<a href="/{i}/">{esc(n)}</a>' for i, n in enumerate(site.nav))
    side_title = "热门文章" if zh else "Most Read"
    side = "".join(
        f'<li><a href="/p/{rng.randint(1000, 99999)}.html">{esc(h)}</a></li>'
        for h in rng.sample(site.headlines, min(5, len(site.headlines)))
    )
    tags_title = "标签" if zh else "Tags"
    accept = "接受" if zh else "Accept all"
    settings = "设置" if zh else "Manage preferences"
    foot = " | ".join(f'<a href="/about/{i}">{esc(f)}</a>' for i, f in enumerate(site.footer[1:]))
    copyright_ = f"&copy; {year} {esc(site.name)} {esc(site.footer[0])}"
    if zh:
        copyright_ += (
            f' <a href="https://beian.miit.gov.cn/">ICP备{rng.randint(10**7, 10**8 - 1)}号</a>'
        )
    ua = f"UA-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(1, 9)}"
    title = doc.title or site.name
    main = _main_html(doc, lang)
    if dropdown:
        main += "\n" + (DROPDOWN_HTML_ZH if zh else DROPDOWN_HTML_EN)
    html_lang = {"zh": "zh-CN", "ja": "ja"}.get(lang, lang if lang in V.OTHER_LANGS else "en")
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n{meta}\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} - {esc(site.name)}</title>\n{_STYLE}\n"
        f'<script async src="https://www.googletagmanager.com/gtag/js?id={ua}"></script>\n'
        f"<script>window.dataLayer=window.dataLayer||[];"
        f"function gtag(){{dataLayer.push(arguments);}}"
        f"gtag('js',new Date());gtag('config','{ua}');</script>\n</head>\n<body>\n"
        f'<header class="site-header"><a class="logo" href="/">{esc(site.name)}</a>\n'
        f'<nav class="nav">{nav}</nav></header>\n'
        f'<div class="layout">\n<main id="content">\n<article class="post">\n{main}\n'
        f"</article>\n</main>\n"
        f'<aside class="sidebar"><h3>{side_title}</h3><ul>{side}</ul>'
        f"<h3>{tags_title}</h3><p>{' '.join(esc(n) for n in site.nav[1:5])}</p></aside>\n</div>\n"
        f"<footer><p>{copyright_}</p><p>{foot}</p></footer>\n"
        f'<div class="cookie-banner" id="cookie-consent"><p>{esc(site.cookie)}</p>'
        f"<button>{accept}</button> <button>{settings}</button></div>\n"
        f"<script>document.getElementById('cookie-consent').onclick=function(e){{"
        f"if(e.target.tagName==='BUTTON'){{this.style.display='none';}}}};</script>\n"
        f"</body>\n</html>\n"
    )
