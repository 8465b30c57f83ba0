"""STEM pages (kind ``stem_qa``, kept): math, physics and chemistry problems with worked answers.

Each generator draws the numbers first and computes every value of the solution exactly
(``Fraction`` / ``Decimal``), so the arithmetic on the page is right: the corpus it ends up in
teaches correct steps, and the same problems serve the reference set's textbook sections
(``synthetic.reference``). A problem is written in English and Chinese at once (``Problem``);
a page picks one language and two to four problems.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from skyforge.synthetic.pages.text import Block, Doc, en_byline


class Problem(NamedTuple):
    en_q: str
    en_steps: list[str]
    en_answer: str
    zh_q: str
    zh_steps: list[str]
    zh_answer: str


def _num(x: Fraction | int | Decimal) -> str:
    """Exact decimal when it terminates within 4 places, else a reduced fraction."""
    if isinstance(x, Decimal):
        return format(x.normalize(), "f")
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    scaled = x * 10_000
    if scaled.denominator == 1:
        return format((Decimal(scaled.numerator) / Decimal(10_000)).normalize(), "f")
    return f"{x.numerator}/{x.denominator}"


def _signed(c: int, var: str = "") -> str:
    """`` + 3x`` / `` - 3x`` for a term after the first."""
    return f" {'+' if c >= 0 else '-'} {abs(c)}{var}"


def _p_linear(r: random.Random) -> Problem:
    a, x, b = r.randint(2, 12), r.randint(-20, 20), r.choice([i for i in range(-60, 61) if i])
    c = a * x + b
    eq = f"{a}x{_signed(b)} = {c}"
    return Problem(
        f"Solve for x: {eq}.",
        [
            f"Subtract {b} from both sides: {a}x = {c} - ({b}) = {c - b}.",
            f"Divide both sides by {a}: x = {c - b} / {a} = {x}.",
            f"Check: {a} × ({x}){_signed(b)} = {c}.",
        ],
        f"x = {x}",
        f"解方程：{eq}。",
        [
            f"两边同时减去{b}：{a}x = {c} - ({b}) = {c - b}。",
            f"两边同时除以{a}：x = {c - b} ÷ {a} = {x}。",
            f"检验：{a} × ({x}){_signed(b)} = {c}，成立。",
        ],
        f"x = {x}",
    )


def _p_system(r: random.Random) -> Problem:
    while True:
        a1, b1, a2, b2 = (r.choice([i for i in range(-9, 10) if i]) for _ in range(4))
        det = a1 * b2 - a2 * b1
        if det:
            break
    x, y = r.randint(-12, 12), r.randint(-12, 12)
    c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y
    e1, e2 = f"{a1}x{_signed(b1, 'y')} = {c1}", f"{a2}x{_signed(b2, 'y')} = {c2}"
    dx, dy = c1 * b2 - c2 * b1, a1 * c2 - a2 * c1
    assert Fraction(dx, det) == x and Fraction(dy, det) == y
    steps_en = [
        f"Determinant: D = ({a1})({b2}) - ({a2})({b1}) = {det}.",
        f"Dx = ({c1})({b2}) - ({c2})({b1}) = {dx}, so x = {dx} / {det} = {x}.",
        f"Dy = ({a1})({c2}) - ({a2})({c1}) = {dy}, so y = {dy} / {det} = {y}.",
    ]
    steps_zh = [
        f"系数行列式 D = ({a1})({b2}) - ({a2})({b1}) = {det}。",
        f"Dx = ({c1})({b2}) - ({c2})({b1}) = {dx}，所以 x = {dx} ÷ {det} = {x}。",
        f"Dy = ({a1})({c2}) - ({a2})({c1}) = {dy}，所以 y = {dy} ÷ {det} = {y}。",
    ]
    return Problem(
        f"Solve the system of equations: {e1} and {e2}.",
        steps_en,
        f"x = {x}, y = {y}",
        f"解方程组：{e1}，{e2}。",
        steps_zh,
        f"x = {x}，y = {y}",
    )


def _p_quadratic(r: random.Random) -> Problem:
    r1, r2 = r.randint(-12, 12), r.randint(-12, 12)
    s, p = r1 + r2, r1 * r2
    eq = "x²" + (_signed(-s, "x") if s else "") + (_signed(p) if p else "") + " = 0"
    f1 = f"(x{_signed(-r1)})" if r1 else "x"
    f2 = f"(x{_signed(-r2)})" if r2 else "x"
    roots = sorted({r1, r2})
    ans = " or ".join(f"x = {v}" for v in roots)
    zh_ans = " 或 ".join(f"x = {v}" for v in roots)
    return Problem(
        f"Solve the quadratic equation {eq}.",
        [
            f"Find two numbers whose sum is {s} and whose product is {p}: {r1} and {r2}.",
            f"Factor: {f1}{f2} = 0.",
            f"Set each factor to zero: {ans}.",
        ],
        ans,
        f"解一元二次方程 {eq}。",
        [
            f"找两个数，和为{s}，积为{p}：{r1}和{r2}。",
            f"因式分解：{f1}{f2} = 0。",
            f"令每个因式为零：{zh_ans}。",
        ],
        zh_ans,
    )


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def _p_fractions(r: random.Random) -> Problem:
    q, s = r.randint(2, 12), r.randint(2, 12)
    p, t = r.randint(1, q * 2), r.randint(1, s * 2)
    lcm = q * s // math.gcd(q, s)
    total = Fraction(p, q) + Fraction(t, s)
    n1, n2 = p * (lcm // q), t * (lcm // s)
    return Problem(
        f"Compute {p}/{q} + {t}/{s} and simplify.",
        [
            f"The least common denominator of {q} and {s} is {lcm}.",
            f"{p}/{q} = {n1}/{lcm} and {t}/{s} = {n2}/{lcm}.",
            f"Add: ({n1} + {n2})/{lcm} = {n1 + n2}/{lcm} = {_frac(total)}.",
        ],
        _frac(total),
        f"计算 {p}/{q} + {t}/{s}，并化为最简分数。",
        [
            f"{q}和{s}的最小公倍数是{lcm}。",
            f"通分：{p}/{q} = {n1}/{lcm}，{t}/{s} = {n2}/{lcm}。",
            f"相加：({n1} + {n2})/{lcm} = {n1 + n2}/{lcm} = {_frac(total)}。",
        ],
        _frac(total),
    )


def _p_discount(r: random.Random) -> Problem:
    price, pct = r.randint(3, 60) * 20, r.randint(1, 14) * 5
    off = Fraction(price * pct, 100)
    final = price - off
    return Problem(
        f"A jacket costs ${price}. It is sold at {pct}% off. What is the sale price?",
        [
            f"The discount is {pct}% of ${price} = {price} × {pct}/100 = ${_num(off)}.",
            f"Sale price = {price} - {_num(off)} = ${_num(final)}.",
        ],
        f"${_num(final)}",
        f"一件外套原价{price}元，现打{_num(Fraction(100 - pct, 10))}折出售，现价是多少元？",
        [
            f"打{_num(Fraction(100 - pct, 10))}折即按原价的{100 - pct}%出售。",
            f"现价 = {price} × {100 - pct}% = {_num(final)}（元）。",
        ],
        f"{_num(final)}元",
    )


def _p_multiply(r: random.Random) -> Problem:
    a, b = r.randint(101, 999), r.randint(11, 99)
    tens, ones = b // 10 * 10, b % 10
    return Problem(
        f"Compute {a} × {b}.",
        [
            f"Split {b} = {tens} + {ones}.",
            f"{a} × {tens} = {a * tens}.",
            f"{a} × {ones} = {a * ones}.",
            f"Add: {a * tens} + {a * ones} = {a * b}.",
        ],
        str(a * b),
        f"计算 {a} × {b}。",
        [
            f"把{b}拆成{tens} + {ones}。",
            f"{a} × {tens} = {a * tens}。",
            f"{a} × {ones} = {a * ones}。",
            f"相加：{a * tens} + {a * ones} = {a * b}。",
        ],
        str(a * b),
    )


def _p_kinematics(r: random.Random) -> Problem:
    v0, a, t = r.randint(0, 20), r.randint(1, 6), r.randint(2, 12)
    v = v0 + a * t
    s = Fraction(v0 * t) + Fraction(a * t * t, 2)
    return Problem(
        f"A car moving at {v0} m/s accelerates uniformly at {a} m/s² for {t} s. Find its final "
        f"speed and the distance covered.",
        [
            f"v = v0 + a·t = {v0} + {a} × {t} = {v} m/s.",
            f"s = v0·t + a·t²/2 = {v0} × {t} + {a} × {t}²/2 = {_num(s)} m.",
        ],
        f"v = {v} m/s, s = {_num(s)} m",
        f"一辆汽车以{v0} m/s的速度行驶，以{a} m/s²的加速度匀加速运动{t} s，求末速度和位移。",
        [
            f"末速度 v = v0 + at = {v0} + {a} × {t} = {v} m/s。",
            f"位移 s = v0t + at²/2 = {v0} × {t} + {a} × {t}²/2 = {_num(s)} m。",
        ],
        f"v = {v} m/s，s = {_num(s)} m",
    )


def _p_ohm(r: random.Random) -> Problem:
    res, volt = r.choice([2, 4, 5, 8, 10, 20, 25, 40, 50]), r.randint(1, 48)
    cur = Fraction(volt, res)
    return Problem(
        f"A {res} Ω resistor is connected to a {volt} V battery. What current flows through it?",
        ["Ohm's law: I = U / R.", f"I = {volt} V / {res} Ω = {_num(cur)} A."],
        f"I = {_num(cur)} A",
        f"把一个{res} Ω的电阻接在{volt} V的电源上，通过电阻的电流是多少？",
        ["由欧姆定律 I = U / R。", f"I = {volt} V ÷ {res} Ω = {_num(cur)} A。"],
        f"I = {_num(cur)} A",
    )


def _p_energy(r: random.Random) -> Problem:
    m, v = r.randint(1, 80), r.randint(1, 30)
    e = Fraction(m * v * v, 2)
    return Problem(
        f"What is the kinetic energy of a {m} kg object moving at {v} m/s?",
        ["E = m·v²/2.", f"E = {m} × {v}² / 2 = {m} × {v * v} / 2 = {_num(e)} J."],
        f"E = {_num(e)} J",
        f"质量为{m} kg的物体以{v} m/s的速度运动，它的动能是多少？",
        ["动能 E = mv²/2。", f"E = {m} × {v}² ÷ 2 = {m} × {v * v} ÷ 2 = {_num(e)} J。"],
        f"E = {_num(e)} J",
    )


_ATOMIC_MASS = {
    "H": Decimal("1.008"),
    "C": Decimal("12.011"),
    "N": Decimal("14.007"),
    "O": Decimal("15.999"),
    "Na": Decimal("22.990"),
    "Mg": Decimal("24.305"),
    "S": Decimal("32.06"),
    "Cl": Decimal("35.45"),
    "K": Decimal("39.098"),
    "Ca": Decimal("40.078"),
    "Fe": Decimal("55.845"),
}
_COMPOUNDS = [
    ("H2O", "water", "水", {"H": 2, "O": 1}),
    ("CO2", "carbon dioxide", "二氧化碳", {"C": 1, "O": 2}),
    ("NaCl", "sodium chloride", "氯化钠", {"Na": 1, "Cl": 1}),
    ("C6H12O6", "glucose", "葡萄糖", {"C": 6, "H": 12, "O": 6}),
    ("H2SO4", "sulfuric acid", "硫酸", {"H": 2, "S": 1, "O": 4}),
    ("CaCO3", "calcium carbonate", "碳酸钙", {"Ca": 1, "C": 1, "O": 3}),
    ("NH3", "ammonia", "氨", {"N": 1, "H": 3}),
    ("CH4", "methane", "甲烷", {"C": 1, "H": 4}),
    ("NaOH", "sodium hydroxide", "氢氧化钠", {"Na": 1, "O": 1, "H": 1}),
    ("MgO", "magnesium oxide", "氧化镁", {"Mg": 1, "O": 1}),
    ("KCl", "potassium chloride", "氯化钾", {"K": 1, "Cl": 1}),
    ("Fe2O3", "iron(III) oxide", "氧化铁", {"Fe": 2, "O": 3}),
    ("C2H5OH", "ethanol", "乙醇", {"C": 2, "H": 6, "O": 1}),
]


def _p_moles(r: random.Random) -> Problem:
    formula, en_name, zh_name, atoms = r.choice(_COMPOUNDS)
    molar = sum(_ATOMIC_MASS[el] * n for el, n in atoms.items())
    mass = Decimal(r.randint(5, 500))
    moles = (mass / molar).quantize(Decimal("0.001"))
    terms = " + ".join(
        f"{n} × {_ATOMIC_MASS[el]}" if n > 1 else f"{_ATOMIC_MASS[el]}" for el, n in atoms.items()
    )
    return Problem(
        f"How many moles are there in {mass} g of {en_name} ({formula})?",
        [
            f"Molar mass of {formula}: {terms} = {molar} g/mol.",
            f"n = m / M = {mass} g / {molar} g/mol ≈ {moles} mol.",
        ],
        f"n ≈ {moles} mol",
        f"{mass} g {zh_name}（{formula}）的物质的量是多少？",
        [
            f"{formula}的摩尔质量：{terms} = {molar} g/mol。",
            f"n = m / M = {mass} g ÷ {molar} g/mol ≈ {moles} mol。",
        ],
        f"n ≈ {moles} mol",
    )


def _p_dilution(r: random.Random) -> Problem:
    c1, v1 = r.choice([1, 2, 3, 4, 5, 6, 10, 12]), r.randint(1, 20) * 10
    factor = r.choice([2, 4, 5, 8, 10])
    v2 = v1 * factor
    c2 = Fraction(c1 * v1, v2)
    return Problem(
        f"{v1} mL of a {c1} mol/L solution is diluted with water to {v2} mL. What is the new "
        f"concentration?",
        [
            "The amount of solute does not change: c1·V1 = c2·V2.",
            f"c2 = {c1} × {v1} / {v2} = {_num(c2)} mol/L.",
        ],
        f"c2 = {_num(c2)} mol/L",
        f"将{v1} mL浓度为{c1} mol/L的溶液加水稀释到{v2} mL，稀释后的浓度是多少？",
        [
            "稀释前后溶质的物质的量不变：c1V1 = c2V2。",
            f"c2 = {c1} × {v1} ÷ {v2} = {_num(c2)} mol/L。",
        ],
        f"c2 = {_num(c2)} mol/L",
    )


PROBLEMS = (
    ("math", _p_linear),
    ("math", _p_system),
    ("math", _p_quadratic),
    ("math", _p_fractions),
    ("math", _p_discount),
    ("math", _p_multiply),
    ("physics", _p_kinematics),
    ("physics", _p_ohm),
    ("physics", _p_energy),
    ("chemistry", _p_moles),
    ("chemistry", _p_dilution),
)


def stem_doc(rng: random.Random, lang: str, when: date) -> Doc:
    blocks = []
    fields = []
    for i in range(rng.randint(2, 4)):
        fld, make = rng.choice(PROBLEMS)
        fields.append(fld)
        p = make(rng)
        if lang == "zh":
            blocks += [Block("h2", f"第{i + 1}题"), Block("p", p.zh_q), Block("p", "解：")]
            blocks += [Block("p", s) for s in p.zh_steps] + [Block("p", f"答：{p.zh_answer}")]
        else:
            blocks += [
                Block("h2", f"Question {i + 1}"),
                Block("p", p.en_q),
                Block("p", "Solution:"),
            ]
            blocks += [Block("p", s) for s in p.en_steps] + [Block("p", f"Answer: {p.en_answer}")]
    subject = Counter(fields).most_common(1)[0][0]
    if lang == "zh":
        names = {"math": "数学", "physics": "物理", "chemistry": "化学"}
        title = f"{names[subject]}练习题详解（{rng.randint(1, 300)}）"
        byline = (
            f"发布时间：{when.isoformat()}  分类：{names[subject]}  浏览：{rng.randint(50, 9000)}"
        )
    else:
        title = (
            f"{subject.capitalize()} practice problems with worked solutions #{rng.randint(1, 300)}"
        )
        byline = en_byline(rng, when)
    return Doc(title, byline, tuple(blocks))
