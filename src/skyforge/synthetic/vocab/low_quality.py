"""Word lists and sentence templates for the synthetic crawl's low-quality pages (``low_quality``).

Written for the synthetic crawl after the web junk that passes Gopher / C4 /
FineWeb-style rules and that only a quality classifier catches: fluent, punctuated, full of stop
words, no repeated lines, and worthless. Three styles, each in English and Chinese:

* ``listicle``: SEO "best X for Y in 2024" roundups, second person, superlatives, calls to buy;
* ``whatis``: templated "what is X? X is a Y that ..." pages answering their own questions;
* ``spun``: machine-spun articles, a text run through a synonym swapper ("finest", "utilise",
  "individuals"; 极其, 遴选, 人士), which keeps the grammar and loses the sense.

The topics are consumer products, which the clean articles (news on ``vocab.general``'s
topics) never mention. Slots ``{name}`` are filled per occurrence by ``pages.low_quality`` from the
lists here (``{product}``, ``{use}``, ``{brand}``, ``{model}``, ``{buyer}``, ``{part}``, numbers
``{k}``, ``{n}``, ``{i}``, ``{year}``; spun synonyms from ``*_SPIN``; the wording a content farm
rotates, from ``*_SEO``). Fixed runs stay short and pools large so that two pages of one style do
not become near duplicates, even when both carry the site-wide archive menu, whose shingles both
share. Every Chinese string encodes in GBK.
"""

# fmt: off
EN_PRODUCTS = ["air fryer", "standing desk", "robot vacuum", "electric toothbrush", "gaming chair",
               "yoga mat", "coffee grinder", "hiking boot", "baby monitor", "water filter",
               "phone case", "massage gun", "office chair", "rice cooker", "smart watch",
               "wireless earbud", "dash cam", "hair dryer", "space heater", "pressure cooker",
               "blender", "mattress topper", "electric kettle", "laptop stand", "ring light",
               "pet camera", "foam roller", "car vacuum", "label maker", "desk lamp"]
EN_USES = ["small kitchens", "home offices", "beginners", "seniors", "college students",
           "busy moms", "pet owners", "travel", "back pain", "small apartments", "gamers",
           "camping", "new parents", "remote workers", "athletes", "tall people", "kids",
           "daily use", "the money", "families"]
EN_BRANDS = ["Vexon", "Zentrik", "Lumora", "Qubix", "Nordvia", "Kelto", "Averix", "Brivo",
             "Holdena", "Trimax", "Ovanta", "Ziplo", "Marvix", "Culora", "Fendro", "Aquix"]
EN_MODELS = ["Pro", "Max", "Plus", "Lite", "Ultra", "Prime", "Go", "Elite", "Mini", "X"]
EN_BUYERS = ["anyone on a budget", "first-time buyers", "busy people", "serious users",
             "people who want the best", "everyday users", "anyone who hates clutter"]
EN_PARTS = ["power cord", "handle", "lid", "charging cable", "manual", "color", "buttons",
            "packaging", "carry bag", "remote"]

EN_TITLES = {
    "listicle": ["{k} Best {Product}s for {Use} in {year} (Tested and Reviewed)",
                 "Top {k} {Product}s for {Use} {year}: Our Honest Picks",
                 "The {k} Best {Product}s for {Use} You Can Buy in {year}"],
    "whatis": ["What Is a {Product}? Everything You Need to Know ({year} Guide)",
               "{Product}: What Is It, How Does It Work and Why You Need One",
               "What Is the Best {Product} for {Use}? A Complete Guide"],
    "spun": ["The Finest {Product} for {Use}: An Extensive Overview",
             "Excellent Suggestions for Picking a {Product} for {Use}",
             "Significant Elements to Think About Prior to Acquiring a {Product}"],
}

EN_SENTENCES = {
    "listicle": [
        "Looking for the best {product} for {use}? You have come to the right place, because we "
        "compared {k} models so you do not have to.",
        "If you want a {product} that really works, this list is everything you need in {year}.",
        "{i}. The {brand} {model} is our top pick, and it is perfect for {buyer}.",
        "{i}. The {brand} {model} {n} comes in second, and honestly it is a steal at this price.",
        "{i}. If you are on a budget, the {brand} {model} is the one to get right now.",
        "It is super easy to use, it looks amazing, and the price is honestly unbeatable.",
        "Customers love it, and with over {n} five-star reviews it is a total must-have.",
        "Pros: it is affordable, it is light, and it comes with a {k}-year warranty for peace "
        "of mind.",
        "Cons: some buyers say the {part} could be better, but for the price you really cannot "
        "go wrong.",
        "Check the latest price today, because deals like this never last long!",
        "Bottom line: if you are serious about {use}, you need the {brand} {model} in your life.",
        "Before you buy, ask yourself what matters most to you: price, quality, or features.",
        "We hope this list helped you choose the right {product} for {use} in {year}.",
        "Don't forget to share this guide with friends who are shopping for a {product} too!",
        "Trust us, you will thank yourself later for picking the {brand} {model}.",
        "Our experts spent {k} hours testing each {product} so you can buy with confidence.",
        "Hurry, because this {product} sells out fast every single time it goes on sale!",
    ],
    "whatis": [
        "What is a {product}? A {product} is a {handy} device that helps you with {use} in an "
        "{easy} way.",
        "In this article, we will explain everything you need to know about the {product}.",
        "Many {folks} ask: is a {product} worth it? The {simple} answer is yes, it is worth it.",
        "How does a {product} work? It works by making {use} easier, faster and better for "
        "everyone.",
        "Why do you need a {product}? You need one because {use} matters and it makes life "
        "{easy}.",
        "What are the benefits? The benefits include saving time, saving money and enjoying "
        "{use} more.",
        "Who should buy one? Anyone who cares about {use} should buy one today.",
        "How much does it cost? The cost depends on the model, but most {folks} pay "
        "around {n} dollars.",
        "Is it safe? Yes, a good one is safe when you use it the right way.",
        "Where can I buy one? You can buy one online or in many stores near you.",
        "In conclusion, a {product} is a {great} choice, and now you know what it is.",
        "We hope you enjoyed this article and learned something new about the {product}!",
        "If you still have questions, leave a comment below and we will answer as soon as we can.",
        "Do you {really} need a {product}? If you care about {use}, the answer is a big yes.",
        "What should you look for in a {product}? Look for good quality, a fair price and the "
        "features you need.",
        "How long does a {product} last? A good one can last {k} years or longer if you take "
        "care of it.",
        "Is a {product} hard to use? Not at all, it is {easy} to use, even for {buyer}.",
        "What is the best {product} brand? Brands like {brand} and {brand} are {great} choices "
        "that {folks} trust.",
        "Are there different types of {product}? Yes, there are basic models and smart models, "
        "and both have their pros.",
        "Can a {product} save you money? Yes, over time it can save you a lot of money on {use}.",
        "The {product} has become {really} popular in recent years, and it is easy to see why.",
        "How do you clean a {product}? Just wipe it with a soft cloth and it will look like new.",
        "Is a {product} good for {use}? It is {really} good for {use}, and that is why so many "
        "{folks} love it.",
    ],
    "spun": [
        "When it involves {choosing} the {finest} {product}, there are {numerous} {elements} "
        "you {must} take into account.",
        "{Moreover}, {numerous} {individuals} {utilize} a {product} in order to {boost} their "
        "{use} {experience}.",
        "It is {extremely} {vital} to {choose} a {product} that {fits} your {requirements} "
        "and your {spending}.",
        "{Moreover}, a {finest} {product} can {assist} you {conserve} {time} and {cash} every "
        "{single} day.",
        "{Numerous} {specialists} {recommend} that you {examine} the {product} {prior} to you "
        "{acquire} it.",
        "The {finest} {product} for {use} is the one that {fits} your way of life {flawlessly}.",
        "{Moreover}, you {must} {examine} the {testimonials} of other {individuals} {prior} to "
        "making a {choice}.",
        "A {extremely} {excellent} {product} will {last} for {numerous} years if you look after "
        "it {appropriately}.",
        "In {verdict}, {choosing} a {product} for {use} is not {hard} if you {adhere} these "
        "{suggestions}.",
        "{Numerous} {individuals} {discover} that a {product} {makes} {use} a lot more "
        "{pleasurable}.",
        "It is {additionally} {vital} to {consider} the {dimension} and the {weight} of "
        "the thing.",
        "{Ultimately}, the {choice} is {yours}, yet a {finest} one is {constantly} worth "
        "the {cash}.",
    ],
}

# Wording a content farm rotates through its templates, so that no two of its pages read the same.
EN_SEO = {
    "handy": ["handy", "useful", "practical", "helpful"],
    "easy": ["easy", "simple", "effortless", "hassle-free"],
    "simple": ["simple", "short", "quick", "honest"],
    "folks": ["people", "folks", "users", "buyers", "shoppers"],
    "great": ["great", "smart", "fantastic", "solid", "wonderful"],
    "really": ["really", "truly", "super", "very"],
}

# A synonym swapper's output: each slot is one word of ordinary prose, swapped for a clumsy match.
EN_SPIN = {
    "choosing": ["choosing", "picking", "selecting"],
    "choose": ["choose", "pick", "select"],
    "finest": ["finest", "ideal", "leading", "top-rated"],
    "numerous": ["numerous", "countless", "a plethora of"],
    "Numerous": ["Numerous", "Countless", "Many"],
    "elements": ["elements", "variables", "aspects"],
    "must": ["must", "need to", "ought to"],
    "Moreover": ["Moreover", "Furthermore", "Additionally", "Besides"],
    "individuals": ["individuals", "people", "customers"],
    "utilize": ["utilize", "make use of", "use"],
    "boost": ["boost", "enhance", "improve"],
    "experience": ["experience", "encounter", "journey"],
    "extremely": ["extremely", "exceptionally", "very"],
    "vital": ["vital", "crucial", "essential"],
    "fits": ["fits", "matches", "suits"],
    "requirements": ["requirements", "demands", "needs"],
    "spending": ["spending plan", "budget plan", "finances"],
    "assist": ["assist", "help", "aid"],
    "conserve": ["conserve", "save", "preserve"],
    "time": ["time", "effort"],
    "cash": ["cash", "money", "funds"],
    "single": ["single", "solitary"],
    "specialists": ["specialists", "professionals", "experts"],
    "recommend": ["recommend", "suggest", "advise"],
    "examine": ["examine", "check", "inspect"],
    "prior": ["prior", "before"],
    "acquire": ["acquire", "purchase", "buy"],
    "flawlessly": ["flawlessly", "perfectly", "completely"],
    "testimonials": ["testimonials", "reviews", "evaluations"],
    "choice": ["choice", "decision", "option"],
    "excellent": ["excellent", "outstanding", "superb"],
    "last": ["last", "endure", "persist"],
    "appropriately": ["appropriately", "correctly", "effectively"],
    "verdict": ["verdict", "conclusion", "summary"],
    "hard": ["hard", "difficult", "challenging"],
    "adhere": ["adhere to", "follow", "comply with"],
    "suggestions": ["suggestions", "pointers", "ideas"],
    "discover": ["discover", "find", "uncover"],
    "makes": ["makes", "renders"],
    "pleasurable": ["pleasurable", "enjoyable", "satisfying"],
    "additionally": ["additionally", "also", "in addition"],
    "consider": ["consider", "think about", "take into consideration"],
    "dimension": ["dimension", "size", "measurement"],
    "weight": ["weight", "heaviness"],
    "Ultimately": ["Ultimately", "Eventually", "In the end"],
    "yours": ["yours", "your own"],
    "constantly": ["constantly", "always", "regularly"],
}

ZH_PRODUCTS = ["空气炸锅", "升降桌", "扫地机器人", "电动牙刷", "电竞椅", "瑜伽垫", "磨豆机",
               "登山鞋", "婴儿监视器", "净水器", "手机壳", "筋膜枪", "办公椅", "电饭煲",
               "智能手表", "蓝牙耳机", "行车记录仪", "吹风机", "取暖器", "加湿器", "破壁机",
               "乳胶枕", "电热水壶", "笔记本支架", "补光灯", "宠物摄像头", "泡沫轴",
               "车载吸尘器", "标签机", "护眼台灯"]
ZH_USES = ["小户型", "学生党", "上班族", "宝妈", "老人", "新手", "租房党", "宿舍", "出差", "露营",
           "办公室", "新婚家庭", "健身爱好者", "游戏玩家", "送礼"]
ZH_BRANDS = ["维森", "智锐", "露梦", "酷比", "诺维", "凯拓", "艾维", "布里沃", "好得", "拓美",
             "欧万达", "喜乐宝", "马维克", "库罗拉", "芬卓", "水立方"]
ZH_MODELS = ["Pro", "Max", "Plus", "Lite", "青春版", "旗舰版", "标准版", "升级版", "mini", "至尊版"]
ZH_BUYERS = ["预算有限的朋友", "第一次购买的小白", "追求品质的用户", "忙碌的上班族",
             "怕麻烦的懒人", "注重颜值的小姐姐", "精打细算的宝妈"]
ZH_PARTS = ["电源线", "把手", "盖子", "充电线", "说明书", "颜色", "按键", "包装", "收纳袋",
            "遥控器"]

ZH_TITLES = {
    "listicle": ["{year}年最值得买的{k}款{product}推荐，{use}必备！",
                 "{year}年{product}排行榜前{k}名，{use}闭眼入",
                 "{use}用什么{product}好？{year}年{k}款{product}真实测评"],
    "whatis": ["{product}是什么？{product}有什么用？看完这篇你就懂了",
               "{product}怎么选？{year}年最全{product}选购指南",
               "{product}到底值不值得买？一文带你全面了解"],
    "spun": ["如何遴选一款上佳的{product}，{use}人士必看",
             "选取{product}的若干要紧事项综述",
             "对于{use}而言极其优良的{product}挑选攻略"],
}

ZH_SENTENCES = {
    "listicle": [
        "想要找一款适合{use}的{product}？那你来对地方了，{editor}为{all}整理了{year}年的排行榜。",
        "第{i}名：{brand}{model}，这款性价比{super}高，{super}适合{buyer}使用。",
        "第{i}名：{brand}{model}{k}代，{looks}在线，{specs}也很强大，买到就是赚到。",
        "第{i}名：{brand}{model}，预算不多的朋友可以直接冲，绝对不会让你失望。",
        "第{i}名：{brand}{model}，{editor}身边不少{users}都在用，反馈{truly}不错。",
        "很多{users}都说这款{truly}太{handy}了，用过的人都说好，闭眼入就对了。",
        "优点是价格实惠、{looks}好看、操作简单，缺点是{part}稍微有一点小问题。",
        "不过整体来说还是{super}值得购买的，毕竟这个价位很难找到更好的了。",
        "如果你还在纠结{pick}哪款，不妨看看这篇{pick}攻略，相信一定能帮到你。",
        "{now}这款正在做活动，价格{super}给力，喜欢的{all}千万不要错过{ah}！",
        "以上就是{editor}为{all}{tout}的{year}年{use}{product}排行榜，希望对{all}有所帮助。",
        "记得点赞收藏加关注，下次买{product}的时候就不用到处找攻略{ah}！",
        "{editor}自己已经用了{k}个月，真心觉得{handy}，所以才{tout}给{all}。",
        "这款在网上已经卖出了{n}多台，好评率高达百分之九十九，口碑{truly}没得说。",
        "买之前一定要想清楚自己最看重的是价格、质量还是{specs}，这样才不会踩坑。",
        "{product}这几年越来越火，{now}市面上的品牌少说也有{k}个，{pick}起来让人头大。",
        "{editor}花了{k}天时间，把热门的{product}都买回来挨个试了一遍。",
        "有{users}留言问{editor}，{use}到底该{pick}哪一款{product}，今天就统一回复一下。",
        "{mind}，便宜没好货这句话在{product}上{truly}适用，太便宜的千万别买。",
        "这款的{part}做得{super}用心，细节处理比同价位的产品好太多了。",
        "{overall}，{product}还是要根据自己的需求来{pick}，适合自己的才是最好的。",
        "说句实话，这个价格能买到这样的{product}，{editor}觉得{super}{worth}。",
        "有了这款{product}，{use}的日常变得轻松多了，幸福感直接拉满。",
        "双十一和六一八的时候{product}一般会降价，不着急的{all}可以等等再{pick}。",
    ],
    "whatis": [
        "{product}是什么？{product}是一种{super}实用的好东西，可以帮助{all}更好地生活。",
        "很多人都想知道它有什么用，今天{editor}就来给{all}详细介绍一下相关知识。",
        "怎么选？选的时候主要看三个方面：价格、质量和{specs}，这三点{super}重要。",
        "好不好用？答案是肯定的，{super}{handy}，几乎每个{use}都需要一个。",
        "有哪些优点？优点包括省时、省钱、方便，而且使用的时候{super}省心。",
        "{product}多少钱？一般来说价格在{n}元左右，具体要看品牌和型号。",
        "{product}安全吗？只要按照正确的方法使用，正规厂家的产品都是安全的。",
        "在哪里买？{all}可以在网上购买，也可以去附近的商场看一看。",
        "{overall}，它是一个{super}不错的选择，相信看完本文你已经知道{product}是什么了。",
        "如果你还有什么疑问，欢迎在评论区留言，{editor}看到后会第一时间回复{all}。",
        "感谢{all}的阅读，喜欢的话记得分享给身边需要的朋友{ah}。",
        "{product}有什么用？简单来说，它就是让{use}的生活变得更方便的一种工具。",
        "{product}怎么用？使用方法其实很简单，按照说明书一步一步操作就可以了。",
        "{product}有哪些种类？{now}市面上常见的有普通款和智能款两种，各有各的好处。",
        "{product}和普通产品有什么区别？区别主要在于{specs}和使用体验，用过就知道了。",
        "{product}容易坏吗？{mind}，只要平时注意保养，一般用个{k}年都没问题。",
        "{product}哪个牌子好？{brand}、{brand}这些牌子都还不错，{all}可以参考一下。",
        "买{product}要看什么？最重要的是看清楚{part}，其次再看价格和{looks}。",
        "{product}适合什么人？{buyer}都可以考虑，{use}更是离不开它。",
        "为什么{product}这么火？因为它{truly}解决了{all}生活中的很多小麻烦。",
        "{product}值得买吗？{editor}的建议是值得，毕竟花不了多少钱，却能省下不少事。",
        "关于{product}的知识就介绍到这里，更多内容请关注本站的其他文章。",
    ],
    "spun": [
        "在{use}的历程之中，{choose}一款{very}{good}的{product}是{very}{key}的事宜。",
        "{moreover}，{many}{people}{apply}{product}以{raise}自身的生活品质。",
        "{choose}{product}的时候，{people}{should}{consider}价钱、品质以及功能等若干要素。",
        "一款{good}的{product}{can}帮忙{people}{save}时光与金钱，{very}值当。",
        "{many}{expert}{suggest}，在{buy}之前{should}先{check}一下别的{people}的评估。",
        "{moreover}，{product}的尺寸以及重量{also}是{very}{key}的{factor}。",
        "{thus}，{choose}一款适宜自身的{product}{very}{key}，不可以马虎对待。",
        "只要{people}依照上述的{advice}去做，{choose}{product}就不是一件困难的事宜。",
        "{many}{people}{find}，{product}{can}让{use}的日子变得更为愉悦。",
        "总而言之，{choose}权在于{people}自身，不过{good}的{product}始终是值当的。",
        "{people}在{choose}{product}的历程之中，{should}对其各项{factor}加以{consider}。",
        "{many}{people}{apply}{product}之后，{find}自身的生活品质获得了{very}大的{raise}。",
        "{product}的价钱并非{key}的{factor}，{good}的品质才是{people}{should}{consider}的事宜。",
        "{thus}，在{buy}{product}之前，{people}{should}{check}相关的{advice}以及评估。",
        "一款{very}{good}的{product}，{can}在{use}的日子之中给予{people}{many}的便利。",
        "{expert}{suggest}{people}依照自身的须要来{choose}{product}，而并非盲目跟风。",
        "{moreover}，{product}的外观{also}是{many}{people}{very}看重的{factor}之一。",
        "{people}{can}经由{check}{many}{expert}的{advice}，来{choose}一款{good}的{product}。",
    ],
}

# Wording a content farm rotates through its templates (see ``EN_SEO``).
ZH_SEO = {
    "editor": ["小编", "笔者", "博主", "我"],
    "all": ["大家", "各位", "朋友们", "小伙伴们", "姐妹们"],
    "super": ["非常", "特别", "超级", "十分", "相当"],
    "truly": ["真的", "确实", "实在", "简直"],
    "handy": ["好用", "实用", "顺手", "方便"],
    "tout": ["推荐", "安利", "种草", "分享"],
    "now": ["目前", "现在", "最近", "眼下"],
    "pick": ["选购", "挑选", "入手", "购买"],
    "worth": ["划算", "值得", "超值", "实惠"],
    "mind": ["要提醒一句", "需要注意的是", "说实在的", "不得不说"],
    "overall": ["总之", "总的来说", "综上所述", "说到底"],
    "ah": ["哦", "呀", "啦", "哈"],
    "users": ["网友", "买家", "用户", "宝妈"],
    "specs": ["功能", "性能", "配置", "做工"],
    "looks": ["颜值", "外观", "设计", "造型"],
}

ZH_SPIN = {
    "choose": ["挑选", "遴选", "选取", "甄选"],
    "very": ["极其", "十分", "相当", "极为"],
    "good": ["优良", "上佳", "良好", "优质"],
    "key": ["要紧", "紧要", "关键性", "首要"],
    "moreover": ["除此之外", "与此同时", "此外", "另外"],
    "many": ["诸多", "不少", "众多", "大量"],
    "people": ["人们", "人士", "大众", "用户们"],
    "apply": ["运用", "应用", "利用", "使用"],
    "raise": ["提升", "晋升", "增进", "加强"],
    "should": ["应当", "理应", "须要", "应该"],
    "consider": ["考量", "思量", "斟酌", "衡量"],
    "can": ["可以", "能够", "足以", "得以"],
    "save": ["节约", "节省", "省下", "俭省"],
    "expert": ["行家", "专家", "专业人士", "业内人士"],
    "suggest": ["倡议", "提议", "建议", "主张"],
    "buy": ["购置", "采购", "购入", "选购"],
    "check": ["查阅", "检视", "审视", "翻看"],
    "also": ["也", "同样", "亦"],
    "factor": ["要素", "因素", "成分", "环节"],
    "thus": ["故而", "因而", "所以说", "因此"],
    "advice": ["提议", "意见", "点子", "方法"],
    "find": ["发觉", "察觉", "发现", "觉察"],
}
# fmt: on
