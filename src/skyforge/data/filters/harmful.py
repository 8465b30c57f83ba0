"""Content rules for harmful and spam text: adult, gambling, fraud, contact stuffing, link farms.

SkyPile removes pornographic, violent and gambling pages first (docs/recipe.md), and real
Chinese crawls carry them on random domains no blocklist holds, with long lines of Chinese that
every heuristic accepts. One hit of a word (C4's rule) is too blunt for Chinese news, so each
category has a weighted term list (our own; traditional Chinese is folded to simplified) and a
document is removed only when its score AND its score per 1,000 characters pass the language's
thresholds and it holds two distinct weight-3 (promotion or explicit) terms. Reasons:
``harmful:adult``, ``harmful:gambling``, ``harmful:fraud``, ``spam:contact_stuffing`` (messenger
or phone handles repeated over the page), ``spam:link_farm`` (mostly bare domains or URLs).

Matching is one compiled regex per language shaped as the terms' prefix trie (faster here than
``str.count`` or a flat alternation, so no Aho-Corasick dependency). Documents flagged with
``confident_factor`` times the threshold are the harmful classifier's training positives.

See docs/cleaning.md.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from skyforge.config import HarmfulConfig

__all__ = [
    "HarmfulRules",
    "TERMS",
    "CATEGORIES",
    "fold_traditional",
    "to_traditional",
]

CATEGORIES = ("adult", "gambling", "fraud")

# fmt: off
# Term → weight. 3: promotion or explicit vocabulary with no ordinary use; 2: strong but seen in
# ordinary text now and then; 1: topic words news and forums also use.
_ZH_ADULT = {
    "成人视频": 3, "成人影片": 3, "成人电影": 3, "成人网站": 3, "色情": 2, "黄色网站": 3, "黄片": 3,
    "av女优": 3, "女优": 2, "无码": 3, "有码": 3, "自拍偷拍": 3, "偷拍": 2, "三级片": 3,
    "一夜情": 3,
    "裸聊": 3, "援交": 3, "约炮": 3, "制服诱惑": 3, "人妻": 2, "巨乳": 3, "爆乳": 3, "乱伦": 3,
    "性爱视频": 3, "做爱": 2, "淫": 2, "激情视频": 3, "午夜福利": 3, "福利视频": 3,
    "情色": 3, "番号": 1, "高清无码": 3, "中文字幕": 1, "在线播放": 1, "国产精品": 2, "日韩": 1,
    "欧美": 1, "亚洲": 1, "美女裸体": 3, "丝袜美腿": 3, "少妇": 2, "熟女": 3, "吞精": 3,
    "潮吹": 3, "深夜福利": 3, "成人": 1, "18禁": 3, "性感美女": 2, "av在线": 3, "看片": 2,
}
_ZH_GAMBLING = {
    "博彩": 2, "赌场": 2, "娱乐城": 3, "百家乐": 3, "老虎机": 3, "真人视讯": 3, "六合彩": 3,
    "时时彩": 3, "北京赛车": 3, "赌球": 3, "网上赌博": 3, "在线赌场": 3, "网络赌博": 1, "首存": 3,
    "首充": 2, "存送": 3, "送彩金": 3, "彩金": 3, "洗码": 3, "返水": 3, "体验金": 3, "招代理": 3,
    "代理加盟": 3, "注册送": 3, "棋牌": 2, "捕鱼": 1, "电子游艺": 3, "威尼斯人": 2, "葡京": 3,
    "太阳城": 3, "澳门": 1, "彩票": 1, "赌博": 1, "下注": 2, "投注": 2, "赔率": 1, "庄家": 1,
    "开户": 1, "提款": 1, "出款": 3, "存款": 1, "信誉": 1, "大额无忧": 3, "秒到账": 3,
    "日返": 3, "打码量": 3, "流水": 1, "平台": 1, "官网": 1, "网址": 1, "皇冠": 1, "金沙": 1,
    "银河": 1, "一分钟": 1, "牛牛": 3, "炸金花": 3, "德州扑克": 2, "21点": 2, "轮盘": 2,
    "赌": 1, "押注": 1, "亚博": 3, "开元": 1, "彩票网": 3, "计划群": 3, "稳赚": 3,
}
_ZH_FRAUD = {
    "刷单": 3, "日赚": 3, "兼职赚钱": 3, "稳赚不赔": 3, "躺赚": 3, "高额回报": 3, "保本保息": 3,
    "无抵押": 2, "黑户": 3, "套现": 3, "代开发票": 3, "办证": 3, "假证": 3, "信用卡套现": 3,
    "网贷": 1, "贷款": 1, "秒批": 3, "包过": 3, "返利": 2, "拉人头": 3, "带单": 3, "跑分": 3,
    "收益翻倍": 3, "零风险": 2, "月入过万": 3, "宝妈": 1, "在家赚钱": 3, "手机赚钱": 3,
}
_EN_ADULT = {
    "porn": 3, "porno": 3, "xxx": 2, "hardcore": 2, "milf": 3, "nude": 2, "naked": 2,
    "sex video": 3, "sex videos": 3, "sex cam": 3, "live sex": 3, "sex chat": 3, "escort": 2,
    "escorts": 2, "hookup": 2, "horny": 3, "pussy": 3, "blowjob": 3, "anal": 2, "erotic": 2,
    "camgirl": 3, "cam girls": 3, "nsfw": 2, "onlyfans": 2, "adult videos": 3, "adult video": 3,
    "fetish": 2, "bdsm": 3, "threesome": 3, "stepmom": 3, "busty": 3, "teen sex": 3,
    "hot singles": 3,
    "uncensored": 2, "xxx videos": 3, "free porn": 3, "sexy": 1, "adults only": 2, "strip": 1,
}
_EN_GAMBLING = {
    "online casino": 3, "casino bonus": 3, "free spins": 3, "no deposit bonus": 3,
    "deposit bonus": 3, "welcome bonus": 2, "sign-up bonus": 2, "slots": 2, "slot machine": 2,
    "jackpot": 2, "roulette": 2, "blackjack": 2, "baccarat": 3, "sportsbook": 3, "betting": 1,
    "bet now": 3, "wagering": 3, "free credit": 3, "crypto casino": 3, "live dealer": 3,
    "casino": 1, "poker": 1, "gambling": 1, "payout": 1, "withdrawal": 1, "deposit": 1,
    "bonus code": 3, "promo code": 1, "cashback": 1, "vip club": 2, "agent wanted": 3,
    "become an agent": 3, "odds": 1, "jackpots": 2, "spins": 2, "bet": 1,
}
_EN_FRAUD = {
    "guaranteed returns": 3, "double your bitcoin": 3, "risk-free investment": 3,
    "get rich quick": 3, "work from home": 1, "payday loan": 2, "payday loans": 2,
    "no credit check": 3, "western union": 2, "gift card": 1, "fake id": 3, "replica watches": 3,
    "earn money fast": 3, "passive income": 1, "investment plan": 2, "daily profit": 3,
    "100% guaranteed": 2, "wire transfer": 1, "recover your funds": 3, "crypto profit": 3,
}
# fmt: on

TERMS: dict[str, dict[str, dict[str, int]]] = {
    "zh": {"adult": _ZH_ADULT, "gambling": _ZH_GAMBLING, "fraud": _ZH_FRAUD},
    "en": {"adult": _EN_ADULT, "gambling": _EN_GAMBLING, "fraud": _EN_FRAUD},
}
"""Language → category → term → weight. Chinese terms are simplified; see fold_traditional."""

# Traditional → simplified, for the characters of the Chinese terms that differ (hand-written
# from the terms above; a page in traditional script is folded before matching, its text kept).
# Pairs of (traditional, simplified) characters.
_TRAD_SIMP = (
    "亂乱亞亚傳传優优冊册劃划動动區区員员單单國国報报場场娛娱婦妇媽妈寶宝專专帳账帶带幣币愛爱憂忧應应戀恋戲戏戶户時时會会樂乐機机歐欧無无獎奖現现產产發发盤盘碼码穩稳約约紅红級级絲丝網网"
    "線线羣群職职莊庄萬万號号製制襪袜視视計计訊讯註注詐诈誘诱說说證证貸贷費费賠赔質质賬账賭赌賺赚賽赛贏赢車车輪轮輸输遊游過过銀银錄录錢钱鐘钟門门開开陽阳險险電电韓韩頁页頭头頻频額额風风"
    "飛飞騙骗驗验體体麗丽黃黄點点"
)
_FOLD = str.maketrans(dict(zip(_TRAD_SIMP[::2], _TRAD_SIMP[1::2], strict=True)))


# The other way (the first traditional form where two fold to one simplified character), for
# the synthetic crawl's traditional pages.
_UNFOLD = str.maketrans(
    {s: t for t, s in reversed(list(zip(_TRAD_SIMP[::2], _TRAD_SIMP[1::2], strict=True)))}
)


def fold_traditional(text: str) -> str:
    """Map the traditional characters of the term lists to their simplified forms."""
    return text.translate(_FOLD)


def to_traditional(text: str) -> str:
    """Map the simplified characters of the term lists to a traditional form (for test data)."""
    return text.translate(_UNFOLD)


# Contact handles: QQ / WeChat (and its evasive spellings) / Telegram / WhatsApp / Line / Skype
# followed by an id or number; mainland mobile numbers.
# A handle: @name, or a name with a digit in it (so "line: skip it" is not a contact).
_HANDLE = r"(?:@[a-z0-9_\-]{4,}|(?=[a-z_\-]*\d)[a-z0-9_\-]{4,})"
_CONTACT_RE = re.compile(
    # Latin-script app names as whole words, then a separator and a handle, or a number.
    r"(?<![a-z0-9])(?:qq|vx|wx|v信|wechat|weixin|telegram|tg|whatsapp|line|skype|kakao)"
    r"(?:\s*(?:id|号|號))?\s*(?:[:：@]\s*" + _HANDLE + r"|[:：]?\s*\+?\d[\d\s-]{3,}\d)"
    # Chinese names (and evasive spellings) of the apps, then an ASCII handle.
    r"|(?:加微信|微信|威信|薇信|徽信|加微|扣扣|企鹅|飞机|电报)(?:号|號)?\s*[:：]?\s*" + _HANDLE +
    # Mainland mobile numbers; international numbers written with a +.
    r"|(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"
    r"|\+\d{1,3}[\s-]?\d{3,4}[\s-]?\d{3,4}(?:[\s-]?\d{1,4})?(?!\d)"
)  # matched against lower-cased text (re.IGNORECASE is 1.5x slower)
_LINK_LINE_RE = re.compile(
    r"^[\s•·*\-–—>|]*(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*"
    r"\.(?:com|net|org|cn|cc|vip|top|xyz|info|biz|me|tv|co|io|app|club|site|online|bet|win|"
    r"casino|hk|tw|mo|la|in|us)(?::\d+)?(?:/\S*)?[\s/]*$",
    re.IGNORECASE,
)


def _is_running_text(line: str) -> bool:
    # As skyforge.data.filters.text.is_running_text: 3+ words or 5+ CJK characters.
    return len(line.split(None, 3)) >= 3 or len(_CJK_CHAR_RE.findall(line)) >= 5


_CJK_CHAR_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _normalise(text: str, lang: str) -> str:
    """Lower case, and traditional characters folded to simplified ones for Chinese."""
    return (fold_traditional(text) if lang == "zh" else text).lower()


def _trie_regex(words: list[str]) -> str:
    """One regex for ``words`` shaped as their prefix trie.

    A flat alternation ``a|b|c...`` makes ``re`` try every term at every position (slower than
    counting each term with ``str.count``, see benchmarks/harmful.py); the trie shape tries
    one branch per character, and greedy optional tails give the longest term at a position.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def _compile(terms: dict[str, dict[str, int]], ascii_words: bool) -> re.Pattern[str]:
    """The matcher of one language's terms; texts are lower-cased before matching."""
    body = _trie_regex(sorted({t.lower() for cat in terms.values() for t in cat}))
    if ascii_words:
        # Whole words only: "anal" is not in "analysis", "bet" not in "alphabet".
        return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")
    return re.compile(body)


@dataclass(frozen=True)
class Verdict:
    """The rules' judgement of one document."""

    reason: str | None  # removal reason, or None to keep
    scores: dict[str, float]  # category → weighted term count
    confidence: float  # how many times its thresholds the deciding signal is (0 if kept)


class HarmfulRules:
    """Scores a document per category and decides (see the module docstring)."""

    step = "harmful"

    def __init__(self, params: HarmfulConfig):
        for key in ("min_score", "min_density"):
            missing = [lang for lang in params.langs if lang not in getattr(params, key)]
            if missing:
                raise ValueError(f"config key 'harmful.{key}': no value for {missing[0]}")
        unknown = [lang for lang in params.langs if lang not in TERMS]
        if unknown:
            raise ValueError(
                f"config key 'harmful.langs': no term lists for '{unknown[0]}' "
                f"(lists: {', '.join(TERMS)})"
            )
        self.p = params
        self._patterns = {
            lang: _compile(TERMS[lang], ascii_words=lang == "en") for lang in params.langs
        }
        self._weights = {
            lang: {
                t.lower(): (cat, w) for cat, terms in TERMS[lang].items() for t, w in terms.items()
            }
            for lang in params.langs
        }

    def scores(self, text: str, lang: str) -> Counter[str]:
        """Category → weighted term hits; Chinese pages are also matched against the English
        lists (gambling pages mix in "casino", "VIP"), never the other way round."""
        return self._match(_normalise(text, lang), lang)[0]

    def _match(self, folded: str, lang: str) -> tuple[Counter[str], dict[str, set[str]]]:
        """(category → weighted hits, category → distinct weight-3 terms seen) in a text
        normalised by ``_normalise``."""
        out: Counter[str] = Counter()
        strong: dict[str, set[str]] = {}
        if lang not in self._patterns:
            return out, strong
        langs = [lang] + (["en"] if lang == "zh" and "en" in self._patterns else [])
        for lg in langs:
            weights = self._weights[lg]
            for m in self._patterns[lg].finditer(folded):
                term = m.group(0)
                cat, w = weights[term]
                out[cat] += w
                if w >= 3:
                    strong.setdefault(cat, set()).add(term)
        return out, strong

    def has_signal(self, text: str, lang: str | None) -> bool:
        """Any listed term of weight 2 or more, or any contact handle: a page the rules let
        through but cannot call clean (the classifier leaves such pages out of its negatives)."""
        if lang not in self._patterns or not text:
            return False
        folded = _normalise(text, lang)
        for lg in [lang] + (["en"] if lang == "zh" and "en" in self._patterns else []):
            weights = self._weights[lg]
            if any(weights[m.group(0)][1] >= 2 for m in self._patterns[lg].finditer(folded)):
                return True
        return _CONTACT_RE.search(folded) is not None

    def judge(self, text: str, lang: str | None) -> Verdict:
        """Decide one document of language ``lang``."""
        p = self.p
        if lang not in self._patterns or not text:
            return Verdict(None, {}, 0.0)
        chars = max(1, len("".join(text.split())))
        per_k = 1000.0 / chars
        folded = _normalise(text, lang)
        scores, strong = self._match(folded, lang)
        best: tuple[float, str] | None = None
        for cat in CATEGORIES:
            if len(strong.get(cat, ())) < p.min_strong_terms:
                continue
            s = scores.get(cat, 0)
            conf = min(s / p.min_score[lang], s * per_k / p.min_density[lang])
            if conf >= 1.0 and (best is None or conf > best[0]):
                best = (conf, f"harmful:{cat}")
        if best is None:
            contacts = len(_CONTACT_RE.findall(folded))
            conf = min(contacts / p.min_contacts, contacts * per_k / p.min_contact_density)
            if conf >= 1.0:
                best = (conf, "spam:contact_stuffing")
        if best is None:
            # Share among link lines and running-text lines: short menu items (a month list,
            # navigation) count for neither side.
            links = running = 0
            for line in text.split("\n"):
                if _LINK_LINE_RE.match(line):
                    links += 1
                elif _is_running_text(line.strip()):
                    running += 1
            share = links / max(1, links + running)
            conf = min(links / p.min_link_lines, share / p.min_link_line_share)
            if conf >= 1.0:
                best = (conf, "spam:link_farm")
        if best is None:
            return Verdict(None, dict(scores), 0.0)
        return Verdict(best[1], dict(scores), round(best[0], 3))
