"""Word lists and sentence templates for the synthetic crawl's harmful and spam pages.

Written for the synthetic crawl (``pages.harmful``), after the page types a Chinese pretraining
team meets in a real Common Crawl slice: adult-video listing titles stacked above a copied
article, gambling promotions (deposit bonuses, free credit, agent recruitment, QQ / WeChat
lines), contact-stuffed service ads, casino link farms, error pages full of gambling links, and
evasive versions of the promotions whose key words are broken up by symbols. Kept apart from
``vocab.general`` so the clean generators' lists stay readable. Every Chinese string encodes in GBK.
Slots in braces are filled by the page builders (``{brand}``, ``{n}``, ``{pct}``, ...).
"""

# fmt: off
ZH_ADULT_WHO = ["人妻", "少妇", "女大学生", "空姐", "护士", "邻家妹妹", "熟女", "女主播", "模特",
                "美女老师", "新婚少妇", "兼职学生妹"]
ZH_ADULT_WHAT = ["偷拍", "自拍偷拍", "制服诱惑", "一夜情实录", "约炮视频", "激情视频", "裸聊录像",
                 "性爱视频", "巨乳写真", "丝袜美腿"]
ZH_ADULT_TAG = ["高清无码", "无码在线播放", "中文字幕", "国产精品", "午夜福利", "成人影片",
                "三级片", "番号合集", "福利视频", "av在线"]
EN_ADULT_WHO = ["MILF", "stepmom", "busty teen", "college girl", "blonde", "amateur couple",
                "hot wife", "camgirl", "redhead", "latina"]
EN_ADULT_WHAT = ["hardcore porn", "sex video", "live sex show", "threesome", "blowjob",
                 "anal scene", "naked webcam", "erotic massage", "sex tape", "fetish clip"]
EN_ADULT_TAG = ["HD porn", "free porn", "xxx videos", "uncensored", "adult video", "nsfw",
                "sex cam", "porn stream"]

ZH_GAMBLING_BRANDS = ["澳门新葡京", "威尼斯人", "太阳城", "金沙", "银河", "皇冠", "亚博", "葡京",
                      "永利", "美高梅", "新濠天地", "博狗"]
# Brands of the evasive pages: names no term list holds (the key words are what they hide).
ZH_EVASIVE_BRANDS = ["鸿运国际", "大发", "万利", "宝马会", "天天乐", "乐动", "星辉", "富贵"]
ZH_GAMES = ["百家乐", "老虎机", "真人视讯", "六合彩", "时时彩", "北京赛车", "捕鱼", "牛牛",
            "炸金花", "德州扑克", "轮盘", "体育投注", "电子游艺", "棋牌"]
ZH_GAMBLING_SENTENCES = [
    "{brand}娱乐城是亚洲最大的线上娱乐平台，新会员首存{n}元即送{m}元彩金。",
    "本平台提供{game}、{game}和{game}等数百款游戏，{brand}官方授权，信誉第一。",
    "每日返水高达{pct}%，无上限，提款{k}分钟到账，大额无忧。",
    "诚招代理，佣金比例最高{pct}%，月入过万不是梦，零门槛加盟。",
    "注册送{m}元体验金，无需存款，打码量仅需{k}倍即可提款。",
    "{game}在线下注，赔率全网最高，{brand}为您的每一笔投注保驾护航。",
    "老会员每周可领取存送优惠，首充{n}元再送{pct}%，洗码返水同时享受。",
    "想赢钱就来{brand}，{game}和{game}的胜率都在这里公开，跟着计划群下注稳赚。",
    "我们的出款速度是行业最快的，{k}分钟内到账，从不拖延，请放心投注。",
    "下载{brand}手机客户端，登录即可领取{m}元彩金，随时随地畅玩{game}。",
    "{brand}拥有菲律宾政府颁发的博彩牌照，资金由第三方担保，存款提款安全可靠。",
    "今日推荐：{game}连开{k}期，庄家大额让利，现在下注还有额外彩金赠送。",
    "真人荷官在线发牌，{game}、{game}全天开放，首存即送{pct}%彩金。",
    "新用户绑定银行卡后可领取{m}元免费彩金，打码{k}倍即可提现，秒到账。",
]
ZH_EVASIVE_SENTENCES = [
    "{brand}娱★乐城是亚洲知名的线上平台，新会员首·存{n}元即送{m}元彩◆金。",
    "本站提供{egame}、{egame}等数百款游·戏，官方授权，信誉第一，欢迎体验。",
    "每日返●水高达{pct}%，无上限，提★款{k}分钟到账，大额无·忧。",
    "诚招代·理，佣金比例最高{pct}%，月入过万不是梦，零门槛加盟。",
    "注·册送{m}元体验·金，无需存·款，打·码量仅需{k}倍即可提·款。",
    "{egame}在线下·注，赔·率全网最高，{brand}为您的每一笔投·注保驾护航。",
    "老会员每周可领取存·送优惠，首·充{n}元再送{pct}%，洗·码返·水同时享受。",
    "我们的出·款速度是行业最快的，{k}分钟内到账，从不拖延，请放心参与。",
    "下载{brand}手机客户端，登录即可领取{m}元彩·金，随时随地畅玩{egame}。",
    "真人荷官在线发牌，{egame}全天开放，首·存即送{pct}%彩◆金。",
    "新用户绑定银行卡后可领取{m}元免费彩·金，打·码{k}倍即可提现，马上到账。",
]
ZH_EVASIVE_GAMES = ["百·家·乐", "老★虎★机", "真·人·视·讯", "六◆合◆彩", "时·时·彩", "捕·鱼",
                    "牛·牛", "炸★金★花", "轮·盘", "体·育·投·注", "电·子·游·艺"]
ZH_GAMBLING_LINK_SUFFIX = ["官网", "官方网站", "娱乐城", "最新网址", "手机版下载", "开户注册",
                           "在线投注", "真人娱乐", "备用网址", "代理加盟"]

EN_CASINO_BRANDS = ["Lucky Star", "Golden Palace", "Royal Vegas", "Jackpot City", "Red Dragon",
                    "Spin Palace", "Mega Win", "Diamond Club", "Grand Macau", "Crypto Kings"]
EN_GAMES = ["slots", "roulette", "blackjack", "baccarat", "live dealer tables", "sports betting",
            "video poker", "crash games", "jackpot slots", "keno"]
EN_GAMBLING_SENTENCES = [
    "Welcome to {brand} Casino, the best online casino for players in {country}.",
    "New players get a {pct}% deposit bonus up to ${n} plus {k} free spins on our top slots.",
    "Claim your no deposit bonus today: sign up and receive ${m} in free credit instantly.",
    "Play {game}, {game} and {game} with a live dealer, any time of day or night.",
    "Wagering requirements are only {k}x, and every withdrawal is paid out within {k} minutes.",
    "Use bonus code {code} to unlock {k} extra free spins and a {pct}% cashback offer.",
    "Become an agent and earn up to {pct}% commission on every player you refer to {brand}.",
    "Our sportsbook has the best betting odds, so bet now on football, tennis and esports.",
    "The {brand} VIP club gives you weekly cashback, faster payouts and a personal manager.",
    "Deposit with Bitcoin, USDT or a bank card; the crypto casino pays winnings the same day.",
    "Last week a player from {country} hit a ${n} jackpot on our {game} in only {k} spins.",
    "Download the {brand} app and collect ${m} free credit plus {k} free spins on sign-up.",
]
EN_EVASIVE_SENTENCES = [
    "Welcome to {brand} c.a.s.i.n.o, the favourite place to play for people in {country}.",
    "New players get {pct}% extra on their first d.e.p.o.s.i.t, up to ${n}, plus {k} f-r-e-e "
    "s-p-i-n-s.",
    "Sign up today and receive ${m} of free c_r_e_d_i_t in your account, nothing to pay.",
    "Enjoy {egame} and {egame} with real hosts streaming around the clock.",
    "Play-through is only {k}x, and every cash-out reaches your wallet within {k} minutes.",
    "Enter code {code} to unlock {k} extra s.p.i.n.s and {pct}% back on every loss.",
    "Refer friends and earn up to {pct}% of what they put in at {brand}, paid weekly.",
    "Top up with Bitcoin or USDT; winnings are sent back to your wallet the same day.",
    "Last week a member from {country} won ${n} on our {egame} in only {k} rounds.",
    "Get the {brand} app and collect ${m} of bonus cash plus {k} s.p.i.n.s when you join.",
]
EN_EVASIVE_GAMES = ["s.l.o.t.s", "r.o.u.l.e.t.t.e", "b.l.a.c.k.j.a.c.k", "b.a.c.c.a.r.a.t",
                    "p.o.k.e.r", "k.e.n.o"]
EN_COUNTRIES = ["Canada", "Australia", "New Zealand", "India", "Malaysia", "the Philippines",
                "Singapore", "Ireland", "Brazil", "Thailand"]
EN_GAMBLING_LINK_SUFFIX = ["official site", "casino login", "free spins today", "bonus codes",
                           "mobile app download", "no deposit bonus", "live casino", "slots online"]

ZH_SERVICES = ["高价回收二手手机", "专业疏通下水道", "上门开锁换锁", "家电维修", "搬家拉货",
               "代写论文", "装修设计", "二手车收购", "空调清洗", "驾校报名"]
ZH_SERVICE_SENTENCES = [
    "我们是本地{city}最专业的{service}团队，价格公道，服务周到，随叫随到。",
    "{service}全市上门，{k}小时服务，欢迎新老客户来电咨询，我们会尽快安排师傅。",
    "多年经验，正规公司，{service}收费透明，不满意不收钱，已经服务过{n}多位客户。",
    "需要{service}的朋友可以直接联系我们，节假日也有人值班，保证第一时间回复。",
    "我们的师傅都经过培训，持证上岗，{service}一次到位，售后有保障。",
    "在{city}各区都有服务点，距离近，到达快，一般{k}分钟内就能上门。",
    "现在预约{service}可以享受优惠，老客户介绍新客户还有礼品赠送。",
    "如果您对价格有疑问，可以先咨询再决定，我们不会强迫消费，也没有隐藏收费。",
]
ZH_CONTACT_FORMS = ["QQ：{qq}", "微信：{wx}", "加微信{wx}咨询", "电话：{phone}", "客服QQ {qq}",
                    "VX：{wx}（同号）", "手机：{phone}", "企鹅号：{qq}"]
EN_SERVICES = ["same-day loans", "essay writing", "phone unlocking", "moving help",
               "roof repair", "airport transfers", "visa assistance", "car key replacement"]
EN_SERVICE_SENTENCES = [
    "We offer the fastest {service} in {city}, with friendly staff and fair prices.",
    "Our {service} team is available {k} hours a day, and we answer every message quickly.",
    "Thousands of happy customers have used our {service}, and we are ready to help you too.",
    "If you need {service}, just send us a message and we will reply within minutes.",
    "All of our staff are trained and insured, so the job is done right the first time.",
    "We have teams in every part of {city} and can usually be with you in {k} minutes.",
    "Book this week and get a discount, and tell a friend to receive a small gift from us.",
    "Ask us about the price first; there are no hidden fees and you never have to pay upfront.",
]
EN_CONTACT_FORMS = ["WhatsApp: +1 {p3} {p4} {p4}", "Telegram: @{handle}", "Call +44 {p4} {p4}",
                    "Skype: {handle}", "WhatsApp +852 {p4} {p4}", "Telegram @{handle} (24/7)"]

ZH_LINK_FARM_INTROS = [
    "最新备用网址，请收藏本页，防止迷路。以下为今日更新的线路，任选一个即可访问。",
    "由于网络原因，部分地区无法打开主站，请使用下面的地址，每天都会更新一次。",
    "本页面收录了全部可用的入口，如果其中一个打不开，请换一个试试，谢谢支持。",
]
EN_LINK_FARM_INTROS = [
    "Our main address may be blocked in your area. Bookmark this page and use any of the "
    "mirrors below; the list is updated every day.",
    "Here is the full list of working entrances. If one of them does not open, please try "
    "another one from the list, they all lead to the same account.",
]
ZH_ERROR_MESSAGES = [
    "抱歉，您访问的页面不存在或已被删除，请检查网址是否正确。",
    "404错误：该页面已经失效，您可以返回首页或者看看下面的热门推荐。",
]
EN_ERROR_MESSAGES = [
    "Sorry, the page you are looking for does not exist or has been moved. You might be "
    "interested in the following pages instead.",
    "Error 404: this page could not be found. Check the address, or try one of the popular "
    "links below.",
]
# fmt: on
