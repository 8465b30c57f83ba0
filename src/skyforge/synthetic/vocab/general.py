"""Word lists and sentence templates for the synthetic crawl's pages and sites.

Written for this project. Slots in templates are ``{name}`` and are filled independently at every
occurrence, so two articles only share a word 5-gram when a template's fixed words line up with
identical slot draws; templates therefore keep fixed runs short (at most three or four words
between slots) and the slot vocabularies large, which keeps unrelated synthetic articles far
below any near-duplicate threshold. Chinese strings use only characters that GBK can encode
(checked by the unit tests), because a share of Chinese pages is served in GBK.

Data only, and above the ~600-line guide on purpose: the English, Chinese, parallel, other-
language and spam lists are drawn from together by the page builders and the site chrome, so one
module (imported as ``V``) reads better than five that would each hold a slice of one table.
"""

from __future__ import annotations

# Data tables packed by hand for reading; the formatter would put one word per line.
# fmt: off

# ---------------------------------------------------------------------------------------------
# English
# ---------------------------------------------------------------------------------------------

EN_TOPICS: dict[str, list[str]] = {
    "technology": [
        "processor", "smartphone", "data center", "algorithm", "network", "sensor", "battery",
        "database", "browser", "compiler", "chip", "satellite link", "cloud service",
        "operating system", "robot", "drone", "headset", "server", "software update",
        "search engine", "camera module", "fiber cable", "microcontroller", "storage array",
        "language model", "router", "firmware", "display panel", "wearable", "encryption key",
    ],
    "health": [
        "vaccine", "clinic", "hospital", "diet", "nurse", "patient", "therapy", "diagnosis",
        "blood test", "symptom", "sleep pattern", "heart rate", "medicine", "surgeon", "pharmacy",
        "immune response", "screening program", "rehabilitation plan", "allergy", "health record",
        "ambulance", "vitamin", "antibiotic", "fitness routine", "mental health service",
        "care home", "dental check", "trial", "infection", "doctor",
    ],
    "economy": [
        "market", "budget", "interest rate", "inflation figure", "export", "tariff", "supply chain",
        "bond", "currency", "stock index", "pension fund", "startup", "loan", "tax reform",
        "retail sale", "factory order", "wage", "bank", "investor", "trade deficit",
        "housing price", "consumer survey", "central bank", "credit card", "shipping cost",
        "merger", "dividend", "insurance premium", "fiscal plan", "payroll",
    ],
    "environment": [
        "forest", "river", "wetland", "carbon tax", "heat wave", "glacier", "coral reef",
        "recycling scheme", "wind farm", "solar panel", "drought", "flood barrier", "air quality",
        "wildlife corridor", "emission target", "plastic bag", "rainfall", "soil", "ocean current",
        "national park", "compost site", "water table", "biodiversity survey", "storm",
        "clean energy grant", "tree canopy", "climate model", "landfill", "pollinator", "coastline",
    ],
    "education": [
        "school", "teacher", "curriculum", "exam", "classroom", "student", "university",
        "scholarship", "library", "textbook", "lecture", "homework policy", "tutor",
        "reading program", "campus", "degree", "apprenticeship", "kindergarten", "online course",
        "science fair", "school meal", "graduate", "research grant", "admission rule", "dormitory",
        "teaching assistant", "math class", "literacy rate", "language lesson", "principal",
    ],
    "science": [
        "telescope", "particle", "experiment", "molecule", "genome", "fossil", "laboratory",
        "enzyme", "comet", "crystal", "neutrino detector", "microscope", "protein", "black hole",
        "ice core", "magnetic field", "cell culture", "quantum computer", "asteroid",
        "superconductor", "virus sample", "galaxy", "laser", "theory", "measurement", "isotope",
        "catalyst", "rock layer", "research vessel", "spectrometer",
    ],
    "sports": [
        "marathon", "league", "coach", "stadium", "tournament", "referee", "goalkeeper", "season",
        "training camp", "medal", "transfer window", "match", "cyclist", "swimmer", "relay team",
        "championship", "fan club", "sprint", "injury report", "pitch", "tennis final",
        "basketball court", "ski resort", "rowing crew", "derby", "scoreboard", "youth academy",
        "penalty", "world record", "boxing card",
    ],
    "travel": [
        "airport", "hotel", "railway station", "ferry", "passport", "itinerary", "museum", "beach",
        "mountain trail", "night market", "visa rule", "guesthouse", "tour guide", "airline",
        "cruise", "old town", "road trip", "backpacker", "luggage", "festival", "border crossing",
        "travel insurance", "boarding pass", "harbor", "campsite", "city pass", "sleeper train",
        "lighthouse", "island", "castle",
    ],
    "food": [
        "recipe", "bakery", "noodle shop", "harvest", "spice", "restaurant", "kitchen", "chef",
        "tea garden", "farmers market", "dumpling", "olive oil", "street food", "fermentation",
        "menu", "coffee roaster", "cheese", "vineyard", "food truck", "soup", "rice paddy",
        "orchard", "butcher", "cookbook", "dessert", "grain price", "sauce", "fish market",
        "lunch box", "pastry",
    ],
    "culture": [
        "novel", "theater", "orchestra", "film festival", "gallery", "poet", "sculpture", "opera",
        "documentary", "exhibition", "painter", "concert hall", "album", "folk song", "manuscript",
        "dance troupe", "playwright", "photograph", "archive", "translation", "comic", "architect",
        "heritage site", "radio drama", "bookshop", "choir", "mural", "craft fair", "silent film",
        "literary prize",
    ],
    "transport": [
        "bus route", "subway line", "bridge", "highway", "bike lane", "parking garage", "tram",
        "traffic light", "electric car", "freight train", "port", "tunnel", "taxi fleet",
        "charging station", "pedestrian zone", "timetable", "ticket price", "road repair",
        "commuter", "cargo ship", "scooter", "ring road", "airport rail link", "signal system",
        "crosswalk", "delivery van", "car pool", "rail freight", "ferry terminal", "toll booth",
    ],
    "agriculture": [
        "farm", "tractor", "wheat field", "irrigation canal", "greenhouse", "fertilizer",
        "seed bank", "dairy herd", "cooperative", "crop yield", "livestock", "pesticide",
        "grain silo", "orchard", "beekeeper", "soil test", "rice variety", "cattle market",
        "weather station", "harvest festival", "tea plantation", "fish farm", "barn", "milk price",
        "drip system", "farmhand", "cotton crop", "land lease", "plow", "vegetable plot",
    ],
}

EN_GENERAL_NOUNS: list[str] = [
    "approach", "balance", "challenge", "change", "choice", "community", "cost", "debate", "decade",
    "decision", "detail", "effect", "effort", "example", "experience", "factor", "feature", "goal",
    "government", "habit", "idea", "impact", "issue", "lesson", "level", "method", "model",
    "moment", "neighborhood", "opportunity", "outcome", "pattern", "period", "plan", "policy",
    "practice", "pressure", "priority", "problem", "process", "project", "proposal", "quality",
    "question", "rate", "reason", "region", "report", "requirement", "resource", "result", "risk",
    "role", "rule", "scale", "sector", "signal", "situation", "solution", "source", "standard",
    "strategy", "structure", "study", "success", "system", "target", "task", "tension", "trend",
    "value", "version", "view", "volume", "workload",
]

EN_ADJECTIVES: list[str] = [
    "affordable", "ambitious", "annual", "broad", "careful", "central", "cheap", "clear", "common",
    "complex", "costly", "critical", "crowded", "cautious", "detailed", "direct", "distant",
    "diverse", "early", "efficient", "empty", "familiar", "fragile", "frequent", "fresh", "full",
    "gradual", "heavy", "hidden", "historic", "independent", "informal", "initial", "large", "late",
    "limited", "local", "long", "major", "minor", "modest", "national", "new", "noisy", "official",
    "older", "open", "ordinary", "overall", "popular", "practical", "previous", "private", "public",
    "quiet", "rapid", "rare", "recent", "regional", "reliable", "remote", "rural", "seasonal",
    "serious", "sharp", "short", "significant", "simple", "small", "smart", "solid", "special",
    "stable", "steady", "strict", "strong", "sudden", "temporary", "typical", "unusual", "urban",
    "useful", "visible", "weak", "wide", "young",
]

EN_ADVERBS: list[str] = [
    "quickly", "slowly", "quietly", "openly", "carefully", "largely", "partly", "mostly",
    "gradually", "sharply", "steadily", "briefly", "recently", "rarely", "often", "already",
    "nearly", "roughly", "clearly", "publicly", "finally", "suddenly", "increasingly", "reportedly",
    "eventually", "formally", "temporarily", "widely", "directly", "again",
]

# (base, past); the third person singular is derived in ``pages.text``.
EN_VERBS: list[tuple[str, str]] = [
    ("improve", "improved"), ("reduce", "reduced"), ("expand", "expanded"), ("delay", "delayed"),
    ("support", "supported"), ("replace", "replaced"), ("review", "reviewed"), ("test", "tested"),
    ("track", "tracked"), ("measure", "measured"), ("limit", "limited"), ("change", "changed"),
    ("affect", "affected"), ("protect", "protected"), ("fund", "funded"), ("build", "built"),
    ("open", "opened"), ("close", "closed"), ("launch", "launched"), ("approve", "approved"),
    ("reject", "rejected"), ("study", "studied"), ("share", "shared"), ("find", "found"),
    ("show", "showed"), ("raise", "raised"), ("lower", "lowered"), ("cut", "cut"),
    ("double", "doubled"), ("shape", "shaped"), ("link", "linked"), ("require", "required"),
    ("cover", "covered"), ("plan", "planned"), ("welcome", "welcomed"), ("question", "questioned"),
    ("describe", "described"), ("design", "designed"), ("extend", "extended"),
    ("restore", "restored"), ("upgrade", "upgraded"), ("monitor", "monitored"),
    ("simplify", "simplified"), ("move", "moved"), ("connect", "connected"),
    ("prepare", "prepared"), ("compare", "compared"), ("announce", "announced"),
    ("estimate", "estimated"), ("predict", "predicted"), ("explain", "explained"),
    ("reach", "reached"), ("push", "pushed"), ("target", "targeted"), ("slow", "slowed"),
    ("boost", "boosted"), ("strengthen", "strengthened"), ("balance", "balanced"),
    ("streamline", "streamlined"), ("rebuild", "rebuilt"),
]

EN_FIRST_NAMES: list[str] = [
    "Alice", "Amir", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "Dara", "Elena",
    "Emeka", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jade", "James", "Jun",
    "Kai", "Kofi", "Laura", "Leon", "Lina", "Lucas", "Maya", "Mei", "Mohamed", "Nadia", "Nikhil",
    "Nora", "Omar", "Olivia", "Pablo", "Priya", "Quinn", "Rahul", "Rosa", "Sami", "Sara", "Sofia",
    "Tariq", "Tom", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe", "Helen", "Martin", "Ruth",
    "Peter", "Anna", "George", "Irene", "Oscar",
]

EN_LAST_NAMES: list[str] = [
    "Adams", "Bakker", "Banerjee", "Brooks", "Castillo", "Chowdhury", "Cohen", "Dubois", "Evans",
    "Fischer", "Garcia", "Gupta", "Hansen", "Hughes", "Ibrahim", "Ito", "Jensen", "Kim", "Kowalski",
    "Larsen", "Lee", "Lopez", "Mensah", "Moreau", "Murphy", "Nakamura", "Novak", "Okafor", "Olsen",
    "Patel", "Petrov", "Quinn", "Rossi", "Russo", "Santos", "Schmidt", "Silva", "Singh", "Sokolov",
    "Tanaka", "Torres", "Turner", "Vargas", "Wagner", "Walsh", "Wang", "Weber", "Wilson", "Yilmaz",
    "Zhang", "Morgan", "Price", "Reyes", "Shaw", "Stone", "Tran", "Varga", "Webb", "Young", "Ortiz",
]

EN_CITIES: list[str] = [
    "Lisbon", "Nairobi", "Osaka", "Toronto", "Melbourne", "Hamburg", "Lyon", "Seville", "Krakow",
    "Porto", "Denver", "Austin", "Glasgow", "Leeds", "Bristol", "Dublin", "Cork", "Auckland",
    "Perth", "Calgary", "Halifax", "Quebec City", "Cape Town", "Accra", "Lagos", "Casablanca",
    "Tunis", "Istanbul", "Izmir", "Tbilisi", "Almaty", "Mumbai", "Pune", "Chennai", "Dhaka",
    "Colombo", "Bangkok", "Hanoi", "Manila", "Jakarta", "Surabaya", "Busan", "Sapporo", "Kyoto",
    "Taipei", "Singapore", "Santiago", "Lima", "Bogota", "Quito", "Montevideo", "Rosario", "Oslo",
    "Bergen", "Gothenburg", "Tampere", "Tallinn", "Riga", "Vilnius", "Ljubljana", "Zagreb",
    "Valencia", "Bilbao", "Turin", "Bologna",
]

EN_ORGS: list[str] = [
    "the city council", "the transport authority", "the regional health board",
    "the national statistics office", "a local university", "the chamber of commerce",
    "an independent think tank", "the ministry of education", "the environment agency",
    "a consumer group", "the central bank", "a research institute", "the port authority",
    "a teachers union", "the planning department", "a farmers cooperative",
    "the housing association", "an industry body", "the national weather service",
    "the science academy", "a hospital trust", "the tourism board", "the energy regulator",
    "a charity", "the audit office", "a citizens panel", "the water utility", "the fire service",
    "the public library network", "a trade union",
]

EN_ROLES: list[str] = [
    "an economist", "a researcher", "a spokesperson", "a local resident", "an engineer",
    "a teacher", "a nurse", "a shop owner", "a city planner", "a farmer", "a student",
    "a professor", "an analyst", "a bus driver", "a coach", "a curator", "a historian",
    "a software developer", "a doctor", "a council member", "a volunteer", "a journalist",
    "a data scientist", "a union representative", "a hotel manager", "an architect",
]

EN_TIMES: list[str] = [
    "last week", "on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
    "over the weekend", "earlier this month", "last year", "this spring", "this autumn",
    "in the first quarter", "since January", "during the summer", "in recent months",
    "two years ago", "late last year", "at the start of the decade", "this morning", "overnight",
    "in the past decade", "after the holiday season",
]

EN_CONNECTORS: list[str] = [
    "However,", "Meanwhile,", "In contrast,", "At the same time,", "For now,", "Even so,",
    "In practice,", "Still,", "By comparison,", "As a result,", "On the other hand,",
    "In the meantime,", "Officially,", "Privately,", "So far,", "In theory,", "Until then,",
    "For many,", "Locally,", "Overall,",
]

# Sentence templates. Slots: {n} topic noun, {ns} its plural, {g} general noun, {gs} plural,
# {a} adjective, {adv} adverb, {v} verb 3rd person, {vd} past, {vb} base form, {person},
# {role}, {org}, {city}, {num} small count, {big} large count, {pct} percentage, {year},
# {when}, {conn} sentence-initial connector.
EN_TEMPLATES: list[str] = [
    "{conn} {org} {vd} the {a} {n} {when}.",
    "{person}, {role} in {city}, said the {n} {v} the {g} of {a} {ns}.",
    "The {a} {n} in {city} {vd} {adv} after {org} {vd} its {g}.",
    "Figures from {org} show that {pct} of {ns} {vd} {when}.",
    "{conn} the {g} around {ns} remains {a}, with {num} {a} {gs} still open.",
    "Critics argue that {a} {ns} {vb} the {g} more than {a} {ns} do.",
    "{person} {vd} {num} {ns} in {city} {when} and {vd} the {a} {g}.",
    "In {year}, {org} {vd} a {a} {g} for {ns}, costing about {big} dollars.",
    "Residents of {city} {adv} {vd} the {n}, which {v} {a} {gs}.",
    "{conn} nobody expects the {n} to {vb} the {a} {g} {when}.",
    "According to {person}, {role}, the {g} of the {n} is {a} but {a}.",
    "A {a} {n} {v} roughly {big} {ns} every year in {city}.",
    "The {g} began {when}, when {org} {vd} {num} {a} {ns}.",
    "{conn} {pct} of those asked in {city} said the {n} was {a}.",
    "Some {ns} {vd} {adv}, while others {vd} the {a} {g}.",
    "{person} {adv} {vd} that {ns} need a {a} {g}.",
    "The {n} near {city} {v} {num} {ns} and a {a} {g}.",
    "{conn} the {a} {g} {v} how {ns} {vb} {ns}.",
    "Between {year} and {year}, {ns} in {city} {vd} by {pct}.",
    "For {role} like {person}, the {n} {v} a {a} {g}.",
    "{org} {vd} {when} that the {n} would {vb} {a} {ns}.",
    "Each {n} {v} {num} {a} {gs}, {person} {vd}.",
    "Many {ns} in {city} {adv} {vb} {a} {gs} before {year}.",
    "The {a} {g} {vd} {num} {ns}, {big} {gs} and one {a} {n}.",
    "{conn} {role} {vd} the {n} as {a} and {a}.", "When {org} {vd} the {n}, {ns} {adv} {vd}.",
    "A {a} {g} of {num} {ns} {vd} the {a} {n} in {city}.",
    "{person} {v} that {a} {ns} {vb} {a} {gs}.",
    "Spending on {ns} {vd} to {big} dollars in {year}, {org} {vd}.",
    "Without a {a} {g}, the {n} {v} {adv}.", "{conn} {ns} and {ns} {vd} {when} in {city}.",
    "Officials in {city} {vd} {num} {a} {gs} for the {n}.",
    "The {n} {adv} {v} {ns}, which {vb} the {g}.", "{person} of {org} {vd} the {a} {g} {when}.",
    "Demand for {ns} {vd} {pct} {when}, the {a} {g} {v}.",
    "{conn} a {a} {n} in {city} {v} {num} {gs}.", "Unlike {ns}, the {a} {n} {v} {a} {gs}.",
    "{role} in {city} {vd} the {n} {adv}, {person} {vd}.",
    "Nearly {pct} of {ns} {vb} the {g} {adv}, a {a} {g} {v}.",
    "The {g} was {a}: {num} {ns} and {num} {ns} {vd}.",
    "{org} {v} {big} {ns} across {city} and {city}.",
    "{conn} the {n} {vd} the {a} {g} that {ns} {vd}.",
    "Asked about the {n}, {person} {vd} the {a} {g}.",
    "{ns} {vd} {adv} in {city} {when}, {role} {vd}.", "The {a} {ns} {vb} {a} {gs} and {a} {ns}.",
    "By {year}, {org} {v} {num} {a} {ns} in {city}.", "{conn} {person} {v} {ns} as a {a} {g}.",
    "{num} {a} {ns} {vd} the {g} of {city} {when}.",
    "The {g} of each {n} {v} {a} {gs}, {role} {vd}.", "{org} and {org} {vd} a {a} {g} on {ns}.",
    "The {n} {vd} {big} {gs} and {vd} {pct} of {ns}.",
    "{conn} the {a} {g} {v} the {n} and the {n}.", "In {city}, {ns} {v} {adv} since {year}.",
    "{person} {vd} {num} {ns}, then {vd} the {a} {n}.", "Only {pct} of {ns} {vd} the {a} {g}.",
    "{conn} {ns} {vb} {adv} where {ns} {vb} {a} {gs}.",
    "The {n} {v} the {g}, and {org} {v} the {g}.",
    "A {a} {n} {vd} {when} in {city}, {person} {vd}.", "{gs} around the {n} {vd} {adv} {when}.",
    "{conn} the {n} {v} {a}, {a} and {a}.",
]

# Title templates use the sentence slots; the result is title-cased.
EN_TITLE_TEMPLATES: list[str] = [
    "how {ns} are changing {city}", "{city} {vd} its {n} plan", "why the {a} {n} matters",
    "the {a} future of {ns}", "{num} things to know about the {n}", "inside the {a} {n} of {city}",
    "what the {n} means for {ns}", "{ns} face a {a} {g}", "a {a} look at {ns} in {city}",
    "the {n} that {vd} {city}", "{city} bets on {a} {ns}", "can {ns} fix the {g}?",
    "{person} on the {a} {g} of {ns}", "after the {g}, {ns} in {city} {vb} again",
]

EN_MONTHS: list[str] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]

EN_SITE_WORDS: list[str] = [
    "Harbor", "Ledger", "Courier", "Lantern", "Compass", "Beacon", "Signal", "Almanac", "Dispatch",
    "Observer", "Chronicle", "Tribune", "Herald", "Gazette", "Journal", "Review", "Notebook",
    "Field", "Atlas", "Quarter", "Bridge", "Circuit", "Garden", "Valley", "Orbit", "Pulse",
    "Meridian", "Summit", "Current", "Harvest",
]

EN_NAV: list[str] = [
    "Home", "News", "World", "Business", "Tech", "Science", "Health", "Sports", "Opinion", "Travel",
    "Food", "Culture", "Video", "Podcasts", "Newsletters", "About", "Contact", "Subscribe",
    "Sign in", "Events", "Jobs", "Archive",
]

EN_COOKIE: list[str] = [
    "We use cookies to improve your experience and to show you relevant content. By "
    "continuing to browse this site you agree to our use of cookies.",
    "This website uses cookies and similar technologies to analyse traffic and personalise "
    "ads. You can change your choices at any time in Privacy Settings.",
    "Our partners and we store and access information on your device to measure audiences "
    "and improve our services. Click Accept to consent.",
]

EN_FOOTER: list[str] = [
    "All rights reserved.", "Privacy Policy", "Terms of Use", "Cookie Settings", "Contact Us",
    "Advertise", "Careers", "Accessibility", "Sitemap", "RSS",
]

EN_BOILERPLATE_MESSAGES: list[str] = [
    "Sorry, the page you are looking for cannot be found.",
    "Please enable JavaScript to view this page.", "Loading...",
    "You must be signed in to read this article.", "This content is no longer available.",
    "Access denied. Please verify that you are not a robot.",
]

# ---------------------------------------------------------------------------------------------
# Chinese (simplified; every character must encode in GBK)
# ---------------------------------------------------------------------------------------------

ZH_TOPICS: dict[str, list[str]] = {
    "科技": [
        "芯片", "智能手机", "数据中心", "算法", "通信网络", "传感器", "动力电池", "数据库",
        "浏览器", "编译器", "卫星", "云服务", "操作系统", "机器人", "无人机", "服务器", "搜索引擎",
        "光纤", "存储设备", "大模型", "路由器", "显示屏", "可穿戴设备", "密钥", "开源社区",
        "工业软件", "5G基站", "量子通信", "自动驾驶", "智能音箱",
    ],
    "健康": [
        "疫苗", "社区医院", "膳食", "护士", "患者", "康复治疗", "诊断", "血常规", "症状", "睡眠",
        "心率", "药品", "外科医生", "药店", "免疫力", "体检项目", "过敏", "健康档案", "急救车",
        "维生素", "抗生素", "健身计划", "心理咨询", "养老院", "牙科检查", "临床试验", "感染",
        "医保", "家庭医生", "中医门诊",
    ],
    "经济": [
        "市场", "财政预算", "利率", "通胀", "出口", "关税", "供应链", "债券", "汇率", "股指",
        "养老基金", "初创企业", "贷款", "税制", "零售额", "工业订单", "工资", "银行", "投资者",
        "贸易顺差", "房价", "消费信心", "央行", "信用卡", "运费", "并购", "分红", "保险", "专项债",
        "就业",
    ],
    "环境": [
        "森林", "河流", "湿地", "碳排放", "高温天气", "冰川", "珊瑚礁", "垃圾分类", "风电场",
        "光伏板", "干旱", "防洪堤", "空气质量", "野生动物", "减排目标", "塑料袋", "降雨", "土壤",
        "洋流", "国家公园", "堆肥", "地下水", "生物多样性", "台风", "绿色补贴", "城市绿地",
        "气候模型", "填埋场", "蜜蜂", "海岸线",
    ],
    "教育": [
        "学校", "教师", "课程", "考试", "教室", "学生", "大学", "奖学金", "图书馆", "教材", "讲座",
        "作业", "辅导", "阅读计划", "校园", "学位", "职业教育", "幼儿园", "网课", "科技节",
        "营养餐", "毕业生", "科研经费", "招生政策", "宿舍", "助教", "数学课", "识字率", "外语课",
        "校长",
    ],
    "科学": [
        "望远镜", "粒子", "实验", "分子", "基因组", "化石", "实验室", "酶", "彗星", "晶体",
        "中微子", "显微镜", "蛋白质", "黑洞", "冰芯", "磁场", "细胞", "量子计算机", "小行星",
        "超导体", "病毒样本", "星系", "激光", "理论", "测量", "同位素", "催化剂", "岩层", "科考船",
        "光谱仪",
    ],
    "体育": [
        "马拉松", "联赛", "教练", "体育场", "锦标赛", "裁判", "守门员", "赛季", "集训", "奖牌",
        "转会", "比赛", "自行车手", "游泳运动员", "接力队", "冠军", "球迷", "短跑", "伤病", "球场",
        "网球决赛", "篮球馆", "滑雪场", "赛艇", "德比", "记分牌", "青训", "点球", "世界纪录",
        "拳击赛",
    ],
    "旅游": [
        "机场", "酒店", "火车站", "渡轮", "护照", "行程", "博物馆", "海滩", "登山步道", "夜市",
        "签证", "民宿", "导游", "航空公司", "邮轮", "古镇", "自驾游", "背包客", "行李", "庙会",
        "口岸", "旅行保险", "登机牌", "港口", "露营地", "景区", "卧铺", "灯塔", "海岛", "城堡",
    ],
    "美食": [
        "菜谱", "面包店", "面馆", "收成", "香料", "餐厅", "厨房", "厨师", "茶园", "农贸市场",
        "饺子", "橄榄油", "小吃", "发酵", "菜单", "咖啡", "奶酪", "葡萄园", "早餐车", "汤", "稻田",
        "果园", "肉铺", "食谱书", "甜点", "粮价", "酱料", "鱼市", "便当", "糕点",
    ],
    "文化": [
        "小说", "剧院", "乐团", "电影节", "美术馆", "诗人", "雕塑", "歌剧", "纪录片", "展览",
        "画家", "音乐厅", "专辑", "民歌", "手稿", "舞蹈团", "剧作家", "摄影", "档案馆", "翻译",
        "漫画", "建筑师", "文化遗产", "广播剧", "书店", "合唱团", "壁画", "手工艺", "默片",
        "文学奖",
    ],
    "交通": [
        "公交线路", "地铁", "大桥", "高速公路", "自行车道", "停车场", "有轨电车", "红绿灯",
        "电动汽车", "货运列车", "港区", "隧道", "出租车", "充电桩", "步行街", "时刻表", "票价",
        "道路维修", "通勤族", "货轮", "电动滑板车", "环路", "机场快线", "信号系统", "斑马线",
        "快递车", "拼车", "铁路货运", "客运码头", "收费站",
    ],
    "农业": [
        "农场", "拖拉机", "麦田", "灌溉渠", "温室", "化肥", "种子库", "奶牛场", "合作社", "产量",
        "畜牧业", "农药", "粮仓", "果树", "养蜂人", "土壤检测", "水稻品种", "牛市场", "气象站",
        "丰收节", "茶叶", "渔场", "谷仓", "奶价", "滴灌", "农民工", "棉花", "土地流转", "犁",
        "菜地",
    ],
}

ZH_GENERAL_NOUNS: list[str] = [
    "方案", "平衡", "挑战", "变化", "选择", "社区", "成本", "争论", "决定", "细节", "效果", "努力",
    "案例", "经验", "因素", "特点", "目标", "政府", "习惯", "想法", "影响", "问题", "教训", "水平",
    "方法", "模式", "时刻", "街道", "机会", "结果", "规律", "阶段", "计划", "政策", "做法", "压力",
    "重点", "流程", "项目", "建议", "质量", "比例", "原因", "地区", "报告", "要求", "资源", "风险",
    "角色", "规则", "规模", "行业", "信号", "局面", "办法", "来源", "标准", "战略", "结构", "研究",
    "成效", "体系", "任务", "趋势", "价值", "版本", "观点", "总量", "负担", "机制",
]

ZH_ADJECTIVES: list[str] = [
    "新的", "大型", "小型", "关键", "重要", "明显", "稳定", "复杂", "简单", "昂贵", "便宜", "传统",
    "现代", "地方性", "全国性", "长期", "短期", "临时", "公开", "内部", "独立", "有效", "可靠",
    "常见", "罕见", "紧张", "宽松", "透明", "灵活", "严格", "绿色", "智能", "高效", "低效", "偏远",
    "拥挤", "安静", "热门", "冷门", "基础", "初步", "全面", "局部", "持续", "突然", "缓慢", "快速",
    "普通", "特殊", "实际",
]

ZH_ADVERBS: list[str] = [
    "明显", "逐步", "迅速", "缓慢", "持续", "大幅", "小幅", "首次", "再次", "正式", "已经", "仍然",
    "普遍", "悄悄", "公开", "集中", "稳步", "意外", "初步", "全面", "基本", "大致", "分别", "共同",
    "陆续",
]

ZH_VERBS: list[str] = [
    "提高", "降低", "扩大", "推迟", "支持", "替换", "审查", "测试", "跟踪", "测量", "限制", "改变",
    "影响", "保护", "资助", "建设", "开放", "关闭", "启动", "批准", "否决", "研究", "分享", "发现",
    "显示", "上调", "下调", "削减", "翻倍", "塑造", "连接", "要求", "覆盖", "规划", "欢迎", "质疑",
    "描述", "设计", "延长", "恢复", "升级", "监测", "简化", "搬迁", "准备", "比较", "宣布", "估算",
    "预测", "解释", "达到", "推动", "放缓", "提振", "加强", "平衡", "优化", "重建", "整合", "调整",
]

ZH_SURNAMES: list[str] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "沈",
]

ZH_GIVEN_NAMES: list[str] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "文博", "子涵", "浩然", "雨欣", "思远", "嘉怡", "宇航",
    "晓东", "建国", "海燕", "志强", "丽华", "俊杰", "欣怡", "梓轩", "一鸣", "晨曦", "佳琪", "天宇",
    "若彤", "振华", "春生", "秋实", "立新", "红梅", "国庆", "玉兰", "晓峰",
]

ZH_CITIES: list[str] = [
    "北京", "上海", "广州", "深圳", "杭州", "南京", "苏州", "成都", "重庆", "武汉", "西安", "天津",
    "长沙", "郑州", "青岛", "济南", "合肥", "福州", "厦门", "昆明", "贵阳", "南宁", "海口", "兰州",
    "西宁", "银川", "乌鲁木齐", "拉萨", "呼和浩特", "太原", "石家庄", "沈阳", "大连", "长春",
    "哈尔滨", "南昌", "宁波", "温州", "无锡", "佛山", "东莞", "珠海", "洛阳", "桂林", "扬州",
    "绍兴", "烟台", "徐州", "泉州", "潍坊",
]

ZH_ORGS: list[str] = [
    "市政府", "交通运输局", "卫生健康委员会", "统计局", "当地一所大学", "商会", "研究院", "教育局",
    "生态环境局", "消费者协会", "人民银行分行", "科研机构", "港务局", "工会", "规划部门",
    "农业合作社", "住建局", "行业协会", "气象台", "科学院", "人民医院", "文旅局", "能源局",
    "慈善基金会", "审计局", "居委会", "自来水公司", "消防救援支队", "图书馆", "街道办事处",
]

ZH_ROLES: list[str] = [
    "经济学家", "研究员", "新闻发言人", "当地居民", "工程师", "教师", "护士", "店主", "规划师",
    "农民", "大学生", "教授", "分析师", "公交司机", "教练员", "策展人", "历史学者", "程序员",
    "医生", "人大代表", "志愿者", "记者", "数据工程师", "工会代表", "酒店经理", "建筑设计师",
]

ZH_TIMES: list[str] = [
    "上周", "周一", "周二", "周三", "周四", "周五", "周末", "本月初", "去年", "今年春天",
    "今年秋季", "一季度", "年初以来", "暑期", "近几个月", "两年前", "去年年底", "十年前",
    "今天上午", "昨晚", "过去十年", "节后",
]

ZH_CONNECTORS: list[str] = [
    "不过，", "与此同时，", "相比之下，", "目前，", "尽管如此，", "实际上，", "然而，", "因此，",
    "另一方面，", "据了解，", "据悉，", "值得注意的是，", "总体来看，", "此外，", "记者注意到，",
    "业内人士认为，", "从数据看，", "截至目前，", "对此，", "事实上，",
]

# Slots: {n} topic noun, {g} general noun, {a} adjective, {adv} adverb, {v} verb, {person},
# {role}, {org}, {city}, {num} small count, {big} large count, {pct} percentage, {year},
# {when}, {conn} sentence-initial connector.
ZH_TEMPLATES: list[str] = [
    "{conn}{city}{org}{when}{v}了{a}{n}。", "{city}的{role}{person}表示，{n}{v}了{a}{g}。",
    "{org}发布的数据显示，{when}{n}的{g}{adv}{v}了{pct}。",
    "{conn}围绕{n}的{g}仍然{a}，还有{num}个{g}有待{v}。",
    "{person}认为，{a}{n}比{a}{n}更能{v}{g}。",
    "{when}，{person}在{city}{v}了{num}个{n}，并{v}了{a}{g}。",
    "{year}年，{org}{v}了一项{a}{g}，涉及资金约{big}元。",
    "{city}居民{adv}{v}{n}，认为它{v}了{a}{g}。", "{conn}{org}预计{n}将在{year}年前{v}{a}{g}。",
    "据{role}{person}介绍，{n}的{g}{a}而{a}。", "{city}每年约有{big}个{n}需要{v}。",
    "这项{g}始于{when}，当时{org}{v}了{num}个{a}{n}。",
    "{conn}受访的{city}市民中有{pct}认为{n}{a}。", "一些{n}{adv}{v}，另一些则{v}了{a}{g}。",
    "{person}{adv}强调，{n}需要{a}{g}。", "{city}附近的{n}{v}了{num}个{g}和一个{a}{n}。",
    "{conn}{a}{g}决定了{n}如何{v}{n}。", "{year}年至{year}年间，{city}的{n}{v}了{pct}。",
    "对{person}这样的{role}来说，{n}意味着{a}{g}。", "{org}{when}宣布，{n}将{v}{a}{g}。",
    "{person}说，每个{n}都会{v}{num}项{a}{g}。", "在{year}年之前，{city}的许多{n}都{adv}{v}了{g}。",
    "{a}{g}涉及{num}个{n}、{big}项{g}和一个{a}{n}。", "{conn}{role}普遍认为{n}既{a}又{a}。",
    "{org}{v}{n}之后，{n}{adv}{v}。", "由{num}个{n}组成的{a}{g}{v}了{city}的{n}。",
    "{person}指出，{a}{n}可以{v}{a}{g}。", "{org}表示，{year}年{n}方面的支出{v}到{big}元。",
    "如果缺少{a}{g}，{n}将{adv}{v}。", "{conn}{when}，{city}的{n}和{n}都{v}了。",
    "{city}官员{v}了{num}项关于{n}的{a}{g}。", "{n}{adv}{v}{n}，从而{v}了{g}。",
    "{org}的{person}{when}{v}了{a}{g}。", "{when}，{n}需求{v}了{pct}，{a}{g}随之{v}。",
    "{conn}{city}一个{a}{n}{v}了{num}个{g}。", "与{n}不同，{a}{n}{v}了{a}{g}。",
    "{person}说，{city}的{role}{adv}{v}了{n}。", "近{pct}的{n}{adv}{v}了{g}，这是一个{a}{g}。",
    "{g}很{a}：{num}个{n}和{num}个{n}先后{v}。", "{org}在{city}和{city}{v}了{big}个{n}。",
    "{conn}{n}{v}了{n}此前{v}的{a}{g}。", "谈到{n}时，{person}{v}了{a}{g}。",
    "{role}称，{when}{city}的{n}{adv}{v}。", "{a}{n}{v}了{a}{g}和{a}{n}。",
    "到{year}年，{org}将在{city}{v}{num}个{a}{n}。", "{conn}{person}把{n}看作一项{a}{g}。",
    "{when}，{num}个{a}{n}{v}了{city}的{g}。", "{role}表示，每个{n}的{g}都{v}了{a}{g}。",
    "{org}与{org}就{n}{v}了{a}{g}。", "{n}{v}了{big}项{g}，并{v}了{pct}的{n}。",
    "{conn}{a}{g}同时{v}了{n}和{n}。", "自{year}年以来，{city}的{n}{adv}{v}。",
    "{person}先{v}了{num}个{n}，随后又{v}了{a}{n}。", "只有{pct}的{n}{v}了{a}{g}。",
    "{conn}在{n}{v}{a}{g}的地方，{n}{adv}{v}。", "{n}{v}{g}，{org}则{v}{g}。",
    "{person}透露，{when}{city}{v}了一个{a}{n}。", "{when}，围绕{n}的{g}{adv}{v}。",
    "{conn}{n}显得{a}、{a}而且{a}。",
]

ZH_TITLE_TEMPLATES: list[str] = [
    "{city}{v}{n}：{a}{g}背后的{g}", "{n}如何{v}{city}的{g}", "{a}{n}为何值得关注",
    "{num}个关键词读懂{n}", "走进{city}的{a}{n}", "{org}：{when}{n}{v}{pct}", "{n}面临{a}{g}",
    "{city}押注{a}{n}", "{n}能否{v}{g}？", "{role}眼中的{n}与{g}",
]

ZH_SITE_WORDS: list[str] = [
    "新闻网", "在线", "日报", "晚报", "资讯", "观察", "时报", "头条", "视点", "周刊", "快讯",
    "财经网", "科技网", "生活网", "论坛",
]

ZH_NAV: list[str] = [
    "首页", "新闻", "国内", "国际", "财经", "科技", "体育", "娱乐", "健康", "教育", "汽车", "房产",
    "旅游", "视频", "专题", "评论", "图片", "关于我们", "联系我们", "登录", "注册",
]

ZH_COOKIE: list[str] = [
    "本网站使用Cookie以提升您的浏览体验。继续浏览即表示您同意我们使用Cookie。",
    "为了向您提供更好的服务，我们会使用Cookie等技术收集必要信息，详情请见隐私政策。",
    "我们及合作伙伴使用Cookie分析流量并展示个性化内容，您可以随时在设置中更改选择。",
]

ZH_FOOTER: list[str] = [
    "版权所有", "关于我们", "隐私政策", "用户协议", "广告服务", "联系我们", "招聘信息", "网站地图",
    "违法和不良信息举报", "意见反馈",
]

ZH_BOILERPLATE_MESSAGES: list[str] = [
    "抱歉，您访问的页面不存在或已被删除。", "页面加载中，请稍候……", "请登录后查看全文。",
    "该内容已下线。", "访问过于频繁，请完成验证后继续。",
    "请开启浏览器的JavaScript功能后刷新页面。",
]

# Syllables for made-up host names of Chinese sites.
ZH_PINYIN: list[str] = [
    "jiang", "nan", "hai", "xin", "wen", "bei", "dong", "xi", "hua", "zhong", "tian", "shan", "he",
    "hu", "yun", "feng", "long", "ming", "guang", "da", "xiao", "chun", "qiu", "an", "kang", "le",
    "mei", "jin", "shui", "lin",
]

# ---------------------------------------------------------------------------------------------
# EN-ZH aligned templates and lexicon (parallel pages)
# ---------------------------------------------------------------------------------------------

BI_CITIES: list[tuple[str, str]] = [
    ("Beijing", "北京"), ("Shanghai", "上海"), ("Guangzhou", "广州"), ("Shenzhen", "深圳"),
    ("Hangzhou", "杭州"), ("Nanjing", "南京"), ("Chengdu", "成都"), ("Wuhan", "武汉"),
    ("Xi'an", "西安"), ("Tianjin", "天津"), ("Qingdao", "青岛"), ("Xiamen", "厦门"),
    ("Kunming", "昆明"), ("Harbin", "哈尔滨"), ("Suzhou", "苏州"), ("Chongqing", "重庆"),
    ("London", "伦敦"), ("Paris", "巴黎"), ("Berlin", "柏林"), ("Tokyo", "东京"),
    ("Sydney", "悉尼"), ("Cairo", "开罗"), ("Moscow", "莫斯科"), ("Madrid", "马德里"),
]

BI_NOUNS: list[tuple[str, str]] = [
    ("the water supply", "供水"), ("public transport", "公共交通"), ("air quality", "空气质量"),
    ("the housing market", "住房市场"), ("rural schools", "乡村学校"),
    ("electric vehicles", "电动汽车"), ("the tourism industry", "旅游业"),
    ("small businesses", "小微企业"), ("community clinics", "社区诊所"),
    ("the local economy", "本地经济"), ("green spaces", "绿地"), ("food safety", "食品安全"),
    ("the railway network", "铁路网"), ("online education", "在线教育"),
    ("elderly care", "养老服务"), ("renewable energy", "可再生能源"),
    ("the job market", "就业市场"), ("city libraries", "城市图书馆"), ("waste sorting", "垃圾分类"),
    ("cultural heritage", "文化遗产"), ("scientific research", "科学研究"),
    ("farm incomes", "农民收入"), ("road safety", "道路安全"), ("digital services", "数字服务"),
]

BI_ORGS: list[tuple[str, str]] = [
    ("the city government", "市政府"), ("the statistics bureau", "统计局"),
    ("a research team", "一个研究团队"), ("the education department", "教育部门"),
    ("the health commission", "卫生健康委员会"), ("local officials", "当地官员"),
    ("the transport authority", "交通管理部门"), ("a group of volunteers", "一群志愿者"),
    ("the central bank", "中央银行"), ("several universities", "几所大学"),
]

BI_ADJ: list[tuple[str, str]] = [
    ("new", "新的"), ("ambitious", "雄心勃勃的"), ("detailed", "详细的"), ("five-year", "五年"),
    ("long-term", "长期"), ("pilot", "试点"), ("modest", "温和的"), ("comprehensive", "全面的"),
    ("low-cost", "低成本的"), ("regional", "区域性"),
]

# (English, Chinese) with aligned slots: {city}, {n}, {n2}, {org}, {a}, {num}, {pct}, {year}.
BI_TEMPLATES: list[tuple[str, str]] = [
    (
        "{org} in {city} announced a {a} plan to improve {n} by {year}.",
        "{city}{org}宣布了一项{a}计划，争取在{year}年前改善{n}。",
    ),
    (
        "According to {org}, spending on {n} rose by {pct} last year.",
        "据{org}介绍，去年在{n}方面的支出增长了{pct}。",
    ),
    (
        "Residents of {city} say that {n} has changed a great deal in the past {num} years.",
        "{city}居民表示，过去{num}年里{n}发生了很大变化。",
    ),
    (
        "Experts believe that {n} and {n2} are closely linked.", "专家认为，{n}与{n2}密切相关。",
    ),
    (
        "In {year}, {city} opened {num} new centres for {n}.",
        "{year}年，{city}新开设了{num}个{n}中心。",
    ),
    (
        "The report found that {pct} of households in {city} rely on {n}.",
        "报告发现，{city}有{pct}的家庭依赖{n}。",
    ),
    (
        "{org} will publish a {a} report on {n} next month.",
        "{org}将于下个月发布一份关于{n}的{a}报告。",
    ),
    (
        "Many young people in {city} are paying more attention to {n}.",
        "{city}的许多年轻人越来越关注{n}。",
    ),
    (
        "Officials admitted that {n} still faces serious problems.",
        "官员承认，{n}仍然面临严重的问题。",
    ),
    (
        "A {a} study compared {n} in {city} and {city}.", "一项{a}研究比较了{city}和{city}的{n}。",
    ),
    (
        "The cost of {n} has fallen by {pct} since {year}.",
        "自{year}年以来，{n}的成本下降了{pct}。",
    ),
    (
        "{org} has invested in {n} for more than {num} years.",
        "{org}在{n}方面的投入已超过{num}年。",
    ),
    (
        "Visitors to {city} can now learn about {n} in a free exhibition.",
        "到访{city}的游客现在可以在一个免费展览中了解{n}。",
    ),
    (
        "The government hopes that {n} will create {num} thousand jobs.",
        "政府希望{n}能够创造{num}千个就业岗位。",
    ),
    (
        "Critics argue that the plan for {n} is too expensive.", "批评者认为，{n}的计划成本过高。",
    ),
    (
        "Last week, {org} visited {city} to inspect {n}.", "上周，{org}前往{city}考察{n}。",
    ),
]

BI_TITLES: list[tuple[str, str]] = [
    ("Bilingual reading: {n} in {city}", "双语阅读：{city}的{n}"),
    ("{city} and {n}: a bilingual report", "{city}与{n}（中英对照）"),
    ("Learn English with the news: {n}", "新闻学英语：{n}"),
]

# ---------------------------------------------------------------------------------------------
# Other languages (removed by language ID)
# ---------------------------------------------------------------------------------------------

OTHER_LANGS: dict[str, dict[str, list[str]]] = {
    "fr": {
        "n": [
            "la ville", "le marché", "la rivière", "le musée", "la gare", "le projet", "l'école",
            "la bibliothèque", "le quartier", "la mairie", "le festival", "la forêt", "le port",
            "la région", "le budget", "l'hôpital",
        ],
        "v": [
            "présente", "prépare", "améliore", "accueille", "finance", "rénove", "ouvre",
            "soutient", "annonce", "étudie",
        ],
        "a": [
            "nouveau", "important", "ancien", "grand", "petit", "régional", "moderne", "populaire",
            "public", "célèbre",
        ],
        "t": [
            "Cette semaine, {n} {v} un projet {a} pour les habitants.",
            "Selon les responsables, {n} {v} {n} depuis plusieurs années.",
            "Le conseil municipal {v} un plan {a} pour {n}.",
            "Les visiteurs découvrent {n} et {n} pendant le week-end.",
            "Un rapport {a} montre que {n} {v} de plus en plus de familles.",
            "Il faut encore du temps avant que {n} {v} {n}.",
        ],
    },
    "de": {
        "n": [
            "die Stadt", "der Markt", "der Fluss", "das Museum", "der Bahnhof", "das Projekt",
            "die Schule", "die Bibliothek", "das Viertel", "das Rathaus", "das Festival",
            "der Wald", "der Hafen", "die Region", "der Haushalt", "das Krankenhaus",
        ],
        "v": [
            "plant", "verbessert", "eröffnet", "fördert", "renoviert", "unterstützt", "untersucht",
            "verkündet", "erweitert", "begrüßt",
        ],
        "a": [
            "neues", "wichtiges", "altes", "großes", "kleines", "regionales", "modernes",
            "beliebtes", "öffentliches", "bekanntes",
        ],
        "t": [
            "In dieser Woche {v} {n} ein {a} Programm für die Bürger.",
            "Nach Angaben der Behörden {v} {n} seit Jahren {n}.",
            "Der Stadtrat {v} ein {a} Konzept für {n}.",
            "Am Wochenende besuchen viele Menschen {n} und {n}.",
            "Ein {a} Gutachten zeigt, dass {n} immer mehr Familien erreicht.",
            "Es dauert noch, bis {n} {n} wirklich {v}.",
        ],
    },
    "es": {
        "n": [
            "la ciudad", "el mercado", "el río", "el museo", "la estación", "el proyecto",
            "la escuela", "la biblioteca", "el barrio", "el ayuntamiento", "el festival",
            "el bosque", "el puerto", "la región", "el presupuesto", "el hospital",
        ],
        "v": [
            "presenta", "prepara", "mejora", "recibe", "financia", "renueva", "abre", "apoya",
            "anuncia", "estudia",
        ],
        "a": [
            "nuevo", "importante", "antiguo", "grande", "pequeño", "regional", "moderno", "popular",
            "público", "famoso",
        ],
        "t": [
            "Esta semana {n} {v} un plan {a} para los vecinos.",
            "Según las autoridades, {n} {v} {n} desde hace años.",
            "El consejo municipal {v} un programa {a} para {n}.",
            "Durante el fin de semana, muchos visitantes recorren {n} y {n}.",
            "Un informe {a} indica que {n} {v} a más familias.",
            "Todavía falta tiempo para que {n} {v} {n}.",
        ],
    },
    "ja": {
        "n": [
            "市役所", "駅前の商店街", "川沿いの公園", "美術館", "新しい図書館", "地域の学校", "港",
            "森林", "病院", "祭り", "観光地", "住宅街", "研究所", "市場",
        ],
        "v": [
            "発表しました", "改善しました", "開きました", "支援しています", "調査しています",
            "計画しています", "再開しました", "紹介しました",
        ],
        "a": ["新しい", "大きな", "小さな", "古い", "有名な", "静かな", "便利な", "人気の"],
        "t": [
            "今週、{n}は{a}取り組みを{v}。", "関係者によると、{n}は数年前から{n}を{v}。",
            "週末には多くの人が{n}と{n}を訪れました。",
            "{a}{n}について、住民の関心が高まっています。",
            "専門家は{n}の将来について{a}見方を示しています。",
            "{n}では{a}イベントが行われ、{n}も{v}。",
        ],
    },
}

OTHER_LANG_SITE_WORDS: dict[str, list[str]] = {
    "fr": ["Le Petit Journal", "Actu Locale", "La Gazette du Sud", "Info Région"],
    "de": ["Stadtanzeiger", "Lokalnachrichten", "Der Kurier", "Regionalblatt"],
    "es": ["Diario Local", "Noticias del Barrio", "El Mirador", "La Crónica"],
    "ja": ["地域ニュース", "まちの情報", "毎朝ウェブ", "街角通信"],
}

# ---------------------------------------------------------------------------------------------
# Spam and adult-site vocabulary (kept mild on purpose)
# ---------------------------------------------------------------------------------------------

EN_SPAM_KEYWORDS: list[str] = [
    "cheap", "best price", "free shipping", "discount", "buy now", "limited offer", "top rated",
    "replica watches", "weight loss pills", "casino bonus", "free spins", "payday loans",
    "crypto profit", "work from home", "earn money fast", "miracle cream", "cheap flights",
    "seo services", "followers", "download free", "coupon code", "sale", "wholesale",
    "no prescription", "lowest price", "100% guaranteed", "click here", "best deal",
    "online pharmacy", "jackpot",
]

EN_SPAM_CAPS: list[str] = [
    "BUY NOW AND SAVE 90%!!!", "LIMITED TIME OFFER - ACT NOW!!!", "FREE FREE FREE",
    "CLICK HERE TO WIN A PRIZE", "100% GUARANTEED RESULTS", "BEST PRICES ON THE INTERNET",
    "DON'T MISS OUT!!!", "EARN $5000 A WEEK FROM HOME",
]

ZH_SPAM_KEYWORDS: list[str] = [
    "免费下载", "最新", "高清", "特价", "包邮", "限时抢购", "正品", "优惠券", "秒杀", "代购",
    "刷单", "兼职赚钱", "日赚千元", "彩票", "娱乐城", "注册送", "返利", "低价", "批发", "排名优化",
    "网站推广", "点击进入", "官方网站", "手机版", "在线观看",
]

ZH_SPAM_CAPS: list[str] = [
    "【限时特惠】全场一折起！！！", "【官方正品】假一赔十！！！", "点击领取红包>>>",
    "注册即送888元！！！", "日赚千元不是梦！！！", "最新最全，免费下载！！！",
]

EN_ADULT_KEYWORDS: list[str] = [
    "adults only", "18+", "xxx", "hot singles", "live cams", "nsfw", "mature content",
    "webcam chat", "dating", "sexy", "erotic stories", "private shows", "uncensored",
    "members area", "adult videos",
]

ZH_ADULT_KEYWORDS: list[str] = [
    "成人", "18禁", "午夜", "激情", "美女直播", "约会", "成人视频", "私密", "福利", "无码",
    "同城交友", "深夜", "会员专区",
]
# fmt: on
