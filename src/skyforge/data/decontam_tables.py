"""Word lists of the decontamination matcher (:mod:`skyforge.data.decontam`).

* :data:`TRAD_SIMP` — traditional → simplified Chinese characters. The harmful-content rules'
  table (``skyforge.data.filters.harmful.fold_traditional``) holds only the characters of their
  own terms (about 150); benchmark questions need the common vocabulary of school subjects and
  word problems, so this list (our own, about 900 pairs) covers the frequent characters whose
  traditional form differs, and :mod:`skyforge.data.decontam_text` folds with both. A character
  with two traditional sources (發 and 髮 → 发) appears once per source. Folding only has to be
  consistent on both sides (items and documents go through the same map), so a pair that merges
  two simplified words (乾 → 干) costs nothing here. No converter package is a dependency of the
  project (OpenCC and friends ship C++ libraries or large dictionaries for a job that a
  one-character table does well enough for matching).
* :data:`CAPITAL_STOPWORDS` — English words that start sentences: a capitalised word outside this
  list is taken as a name-like anchor of the cross-lingual fingerprint.
* :data:`LATIN_UNIT_WORDS` — unit abbreviations that Chinese text writes in Latin letters
  (``45km``); they are not name-like anchors (a translation writes 千米 as often as km).
"""

from __future__ import annotations

__all__ = ["TRAD_SIMP", "CAPITAL_STOPWORDS", "LATIN_UNIT_WORDS", "trad_simp_pairs"]

# fmt: off
# Pairs of (traditional, simplified) characters, written one after the other.
TRAD_SIMP = (
    # 言 → 讠
    "語语話话說说讀读認认識识詞词課课試试題题請请謝谢讓让議议論论設设計计記记許许訂订訊讯評评"
    "證证誤误講讲譯译調调談谈該该詳详誰谁護护變变訪访訴诉診诊詩诗誠诚誕诞謀谋謂谓謊谎譜谱"
    "讚赞諾诺誌志託托訓训討讨詢询詐诈誇夸誘诱諸诸謹谨譽誉詮诠誼谊諒谅諧谐諮咨謙谦謠谣諺谚"
    "譏讥訝讶訣诀詠咏誦诵謎谜謬谬譴谴訃讣訕讪訟讼註注詆诋詔诏詛诅詣诣詫诧詭诡詰诘誅诛誑诳"
    "誡诫誣诬諍诤諜谍諦谛諫谏諭谕諱讳諷讽謁谒謄誊謗谤譚谭讖谶訖讫讞谳"
    # 金 → 钅
    "銀银錢钱鐵铁銅铜鋁铝鋼钢鉛铅錫锡針针釘钉鐘钟鍾钟錶表鏡镜鎖锁鏈链銷销錯错鍵键錄录鋪铺"
    "鑰钥鑽钻鑄铸鈣钙鈉钠鉀钾鎂镁鋅锌鈾铀鐳镭鈴铃鉤钩銳锐鋒锋鍋锅鐮镰錦锦鑒鉴鑑鉴鑼锣錘锤"
    "鋸锯鎮镇鏟铲鐲镯鑲镶鈔钞鈍钝鉗钳銜衔鋤锄錨锚鍛锻鎊镑鏽锈鐺铛鑿凿銘铭釣钓鈕钮銬铐鍍镀"
    "鈦钛鉑铂鎳镍鈷钴錳锰鉻铬鋰锂銫铯鈀钯鐘钟鋁铝"
    # 糸 → 纟
    "紅红絲丝線线級级紙纸組组細细終终結结給给統统經经絕绝絡络維维網网綠绿緊紧總总練练績绩"
    "續续織织繼继纏缠縮缩縱纵繪绘約约純纯納纳紛纷紋纹紀纪紮扎緒绪綜综編编緣缘緩缓締缔縣县"
    "縫缝繩绳繳缴纖纤紗纱紹绍絨绒綱纲綢绸綿绵緯纬緞缎縷缕繃绷纜缆紐纽紡纺紳绅絞绞綁绑綻绽"
    "綴缀緝缉縛缚繡绣繭茧繞绕纓缨糾纠紺绀絹绢綫线緻致縝缜"
    # 門 → 门
    "門门問问間间閉闭開开關关閱阅閃闪閒闲閑闲聞闻闊阔闆板闖闯闡阐閣阁閥阀閘闸閩闽闕阙閨闺"
    "闈闱闢辟閻阎閡阂闌阑"
    # 貝 → 贝
    "貝贝財财貨货貧贫責责貴贵買买賣卖費费資资賓宾賞赏賠赔賬账質质賴赖購购贈赠贊赞贏赢負负"
    "貢贡販贩貪贪貫贯貯贮貼贴貸贷貿贸賀贺賄贿賊贼賃赁賈贾賜赐賦赋賭赌賢贤賤贱賺赚賽赛贅赘"
    "贍赡贓赃贖赎贛赣"
    # 見 車 馬 魚 鳥 食 頁 風
    "見见視视規规覺觉親亲觀观覽览覓觅覲觐"
    "車车軍军軌轨轉转輪轮輕轻載载輸输較较輔辅輛辆輩辈輝辉轄辖轎轿轟轰轍辙軟软軸轴輯辑輿舆"
    "馬马駕驾駛驶騎骑驗验驚惊驅驱騙骗驟骤驢驴駐驻駁驳騰腾驕骄驛驿驥骥"
    "魚鱼鮮鲜鯨鲸鯉鲤鱷鳄鯊鲨鰻鳗鯽鲫"
    "鳥鸟雞鸡鴨鸭鵝鹅鴿鸽鷹鹰鶴鹤鵲鹊鸚鹦鵡鹉鷗鸥鳳凤鳴鸣鴉鸦鴻鸿鵬鹏"
    "飯饭飲饮餓饿餅饼館馆飽饱飼饲餘余養养餵喂饒饶饑饥飢饥餃饺饅馒飾饰"
    "頁页頂顶項项順顺須须預预領领頭头題题額额顏颜願愿類类顯显顧顾頻频顆颗頸颈頰颊頒颁頓顿"
    "頗颇頌颂頑顽頹颓顛颠顫颤顱颅"
    "風风颱台飄飘颳刮飛飞"
    # 亻 人 儿 冫 刂 力
    "們们個个來来傳传價价億亿儀仪償偿優优傷伤僅仅備备儲储傘伞偉伟側侧偵侦債债傾倾僑侨僕仆"
    "僱雇儉俭儂侬倆俩們们體体兒儿內内兩两冊册凍冻凱凯劍剑劑剂勁劲勝胜勵励勸劝動动務务勞劳"
    "勢势劃划劇剧創创則则剛刚剝剥剎刹"
    # 匚 十 卩 厂 厶 又 口
    "匯汇匱匮區区協协華华卻却厲厉厭厌參参雙双叢丛發发髮发變变吳吴呂吕啟启喚唤嗚呜噁恶嚴严"
    "嗎吗嚇吓噸吨嘗尝嚐尝嚨咙嚮向響响囑嘱喪丧單单嘆叹嘩哗嘯啸噴喷嘰叽嚕噜啞哑員员圍围園园"
    "圖图團团國国圓圆囪囱"
    # 土 士 夂 夕 大 女 子 宀 寸 尸 山 巛 巾 广 弓 彐 彡 彳
    "場场堅坚塊块壞坏墳坟壇坛壩坝墜坠壘垒壟垄塗涂執执報报堯尧墾垦塵尘墊垫壓压壯壮壺壶壽寿"
    "聲声賣卖夠够夢梦夾夹奪夺奮奋獎奖"
    "媽妈婦妇嬰婴姦奸娛娱嬌娇妝妆婁娄嫻娴孃娘孫孙學学"
    "實实寶宝審审寫写寧宁寢寝寬宽寵宠對对導导尋寻將将專专尷尴"
    "屬属層层屆届屢屡屍尸島岛嶺岭峽峡嶼屿崗岗巖岩巒峦岡冈嶄崭巔巅歲岁"
    "帥帅師师帳账帶带幫帮幣币幟帜幹干幾几"
    "廣广廠厂廢废廟庙廳厅廬庐庫库廁厕廂厢廈厦廚厨"
    "張张彈弹強强彎弯彌弥彙汇彥彦徑径從从復复徵征徹彻後后"
    # 心 戈 戶 手
    "憂忧戀恋態态慣惯憐怜懷怀懶懒應应懼惧慶庆憲宪懇恳懲惩憑凭惡恶悶闷悅悦惱恼慘惨慚惭憤愤"
    "憫悯懸悬恆恒恥耻愛爱愜惬慮虑憶忆懺忏總总戰战戲戏戶户戔戋"
    "掃扫掛挂採采揚扬換换損损搖摇撥拨據据擁拥擔担擇择擠挤擴扩擬拟擺摆攔拦攝摄攜携擾扰舉举"
    "擋挡撲扑撫抚撐撑摟搂攤摊攪搅攬揽拋抛掙挣掄抡揀拣搶抢撈捞撓挠撿捡擰拧擲掷擷撷攏拢攙搀"
    "攢攒攣挛擊击揮挥搗捣摑掴挾挟捨舍"
    # 攴 文 斤 方 日 月 木 欠 止 歹 殳 毋 比 毛 气
    "敗败敵敌數数斂敛斃毙斕斓斷断於于時时晝昼曉晓暈晕暢畅曆历曠旷暫暂曬晒晉晋書书會会朧胧"
    "脈脉脫脱腦脑腫肿膚肤膠胶臉脸臟脏髒脏膽胆腳脚腸肠膩腻膾脍膿脓臍脐臘腊脅胁脹胀腎肾"
    "東东條条傑杰極极構构槍枪樣样標标樓楼樂乐機机權权橋桥檢检櫃柜欄栏棧栈楊杨楓枫槓杠榮荣"
    "樁桩橫横檔档檯台櫥橱欖榄欞棂棲栖椏桠槳桨樸朴樺桦樞枢檻槛柵栅棄弃棗枣業业"
    "歡欢歐欧歷历歸归殘残殯殡殺杀殼壳毀毁氈毡氣气氫氢"
    # 水 火 爪 爿 牛 犬
    "漢汉湯汤測测溫温滅灭滾滚漁渔潔洁潛潜澤泽濕湿灣湾淚泪淺浅濃浓瀏浏灘滩灑洒漲涨濫滥漸渐"
    "滬沪濱滨瀋沈灕漓溝沟滲渗滯滞漿浆潑泼澀涩潤润澗涧濁浊濾滤瀉泻瀰弥沒没決决沖冲況况淨净"
    "涼凉減减湊凑滄沧準准溼湿漬渍滿满濟济澆浇濤涛瀕濒瀾澜洶汹浹浃涇泾淪沦淵渊渦涡湧涌"
    "煙烟燒烧燦灿爐炉爛烂熾炽燭烛燼烬爍烁災灾煉炼熒荧營营燙烫燉炖熱热燈灯煩烦爭争爺爷"
    "為为烏乌無无點点"
    "牆墙牽牵犧牺狀状獨独獲获獸兽獻献猶犹獄狱獵猎狹狭獅狮貓猫豬猪"
    # 玉 瓦 生 田 疒 白 皿 目 石 示 禾 穴 立
    "現现環环瑪玛璽玺瓊琼瓏珑甕瓮產产畫画當当疇畴異异畝亩畢毕疊叠"
    "瘋疯療疗癢痒癥症癡痴瘡疮癱瘫瘧疟瘍疡癒愈皚皑皺皱"
    "盡尽監监盤盘蓋盖盜盗盞盏盧卢睜睁瞞瞒矚瞩眾众衆众睏困"
    "確确礦矿碼码磚砖礎础碩硕礙碍禮礼禍祸禪禅禱祷祿禄"
    "種种稱称穩稳積积穌稣穀谷稅税穎颖穫获禿秃"
    "窮穷窩窝竊窃竄窜窯窑竅窍竇窦競竞"
    # 竹 米 网 羊 羽 耳 聿 肉 臣 自 至 舌 舟 艸
    "筆笔節节範范築筑簡简籃篮籌筹簽签籤签簾帘篩筛籠笼筍笋箏筝"
    "糧粮粵粤糞粪糰团罰罚羅罗罵骂羨羡義义習习翹翘"
    "聖圣聯联聰聪聽听職职聳耸肅肃"
    "臨临與与興兴舊旧辭辞艙舱艦舰艱艰艷艳豔艳"
    "藝艺萬万葉叶蘇苏藥药蘭兰藍蓝蒼苍薦荐薩萨蘋苹莊庄蔔卜蘿萝葦苇蓮莲蔣蒋薑姜薊蓟蕩荡"
    "蔥葱蔭荫蕭萧蘆芦芻刍"
    # 虍 虫 血 行 衣 角 豆 豕 走 足 身 辛 辰 辵
    "處处虛虚號号虧亏虜虏"
    "蟲虫蝦虾蠶蚕蠟蜡蠻蛮蟬蝉蠅蝇螞蚂蟻蚁蠍蝎蝕蚀螢萤"
    "術术衛卫衝冲補补裝装製制複复襯衬褲裤襲袭褻亵襪袜裡里裏里"
    "觸触豐丰豎竖豈岂趕赶趙赵"
    "躍跃蹤踪踐践蹟迹跡迹躊踌躑踯軀躯辦办農农"
    "這这進进遠远運运過过還还邊边達达選选連连遲迟適适遺遗遷迁邁迈遞递遜逊邏逻週周遊游"
    "違违遙遥迴回"
    # 邑 酉 釆 長 阜 隶 隹 雨 青 韋 音 髟 鬥 鹵 鹿 麥 黃 黑 黽 齊 齒 龍 龜
    "鄰邻郵邮鄭郑鄧邓鄉乡醫医醬酱釀酿醜丑醞酝釋释"
    "長长陣阵陰阴陳陈陸陆陽阳際际隨随險险隱隐隊队階阶隸隶"
    "隻只雖虽雜杂離离難难雛雏雲云電电靈灵霧雾靂雳靜静"
    "韓韩韋韦韻韵鬆松鬍胡鬚须鬥斗鬧闹鬱郁"
    "鹹咸鹽盐麗丽麥麦麵面黃黄黨党齊齐齒齿齡龄龍龙龜龟"
    # two-part words of school subjects and word problems
    "乾干蘊蕴滷卤鹼碱礬矾瑣琐璣玑矽硅臺台"
)
# fmt: on


def trad_simp_pairs() -> dict[str, str]:
    """:data:`TRAD_SIMP` as a dict; raises if a character is given two different targets."""
    pairs: dict[str, str] = {}
    if len(TRAD_SIMP) % 2:
        raise ValueError("TRAD_SIMP has an odd number of characters")
    for t, s in zip(TRAD_SIMP[::2], TRAD_SIMP[1::2], strict=True):
        if t == s:
            raise ValueError(f"TRAD_SIMP maps {t!r} to itself")
        if pairs.setdefault(t, s) != s:
            raise ValueError(f"TRAD_SIMP maps {t!r} to {pairs[t]!r} and {s!r}")
    return pairs


# English words that begin sentences (and a few that are capitalised for other reasons); a
# capitalised word not listed here is a name-like anchor (a name, a place, a proper noun).
CAPITAL_STOPWORDS = frozenset(
    """
    a an the this that these those there here it its he she they we you i me my mine your his her
    hers their our ours them him us what which who whom whose when where why how whatever
    whichever whoever if then than else so but and or nor yet for because since as although
    though while until unless whether once after before during within without into onto upon
    in on at by to from of off out over under above below between among through throughout
    across along around about against toward towards near beside besides beyond past per via
    up down each every all some any no none not neither either both few many much more most
    less least several other another such same own only just even also still already again
    very too quite rather really almost nearly perhaps maybe now today tomorrow yesterday
    tonight later soon always never often sometimes usually first second third last next
    finally however therefore thus hence moreover furthermore meanwhile instead otherwise
    indeed yes ok okay please note let given suppose assume consider find calculate compute
    determine solve show prove explain describe identify choose select answer question
    questions options option true false correct incorrect statement statements solution step
    steps total example problem exercise part chapter section table figure mr mrs ms dr sir
    madam dear hi hello thanks thank is are was were be been being am do does did done have
    has had can could will would shall should may might must ought need used use using make
    makes made get gets got go goes went take takes took give gives gave see look read write
    say says said tell ask call keep put set come came know think want like one two three
    four five six seven eight nine ten new old good best better great little big small large
    high low long short how's what's it's that's there's let's i'm i've i'd i'll you're
    we're they're don't doesn't didn't isn't aren't wasn't weren't can't won't chinese english
    don isn doesn didn aren wasn weren couldn wouldn
    shouldn haven hasn hadn based according interestingly naturally unfortunately fortunately
    together overall generally currently recently additionally specifically similarly
    """.split()
)

LATIN_UNIT_WORDS = frozenset(
    """
    km kg cm mm nm um ml mg kw kwh mw gw mph kmh ms hz khz mhz ghz kb mb gb tb kpa mpa pa ah mah
    cc lb lbs oz ft yd mi sq min hr hrs sec am pm ok no vs etc
    """.split()
)
