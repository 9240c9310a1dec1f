"""The challenge set: utterances written by a different method than train and dev, for measuring only.

    python -m evals.challenge [--out evals/data/intent_challenge.jsonl]

Train and dev are free-written sentences. This set is made from hand-written templates of **style ×
intent**: for every intent label, the same request said tersely, formally, indirectly, naming where the
money comes from, with typos and ASR slips (homophones in Mandarin), code-switched, and in an elderly
person's words, plus out-of-scope requests that look like look-ups ("find instructions on how to play
taboo"). Bill templates run over the bill types in a fixed rotation, so the gold slots come from the
template, not from the slot parser being measured. The output is deterministic; the file is committed.

Never train or tune on it: ``assistant.nlu.data.load_examples`` refuses this file as training data,
and a test checks that no challenge line is in intent_train.jsonl or intent_dev.jsonl.
"""

from __future__ import annotations

import argparse
import json
from itertools import cycle
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "intent_challenge.jsonl"
BILLS = ("electricity", "water", "gas", "phone", "internet", "property", "tv")

# bill names per language: plain, and as a typo / ASR slip would render them
ZH_BILL = {"electricity": "电费", "water": "水费", "gas": "燃气费", "phone": "话费", "internet": "宽带费",
           "property": "物业费", "tv": "有线电视费"}
ZH_BILL_SLIP = {"electricity": "点费", "water": "谁费", "gas": "然气费", "phone": "化费", "internet": "款带费",
                "property": "无业费", "tv": "有限电视费"}
EN_BILL = {"electricity": "electricity bill", "water": "water bill", "gas": "gas bill", "phone": "phone bill",
           "internet": "internet bill", "property": "property fee", "tv": "cable TV bill"}
EN_BILL_SLIP = {"electricity": "electrcity bill", "water": "watter bil", "gas": "gass bill", "phone": "fone bill",
                "internet": "internt bill", "property": "proprety fee", "tv": "cabel tv bill"}

# (style, template); {b} a bill name, {s} its slip, {a} an amount
PAY = {
    "zh": [
        ("terse", "{b}，交"), ("terse", "交{b}{a}元"), ("terse", "{b}缴掉"),
        ("formal", "麻烦您替我缴纳本期{b}"), ("formal", "请协助办理{b}缴纳业务"), ("formal", "劳驾，{b}请代为支付"),
        ("indirect", "{b}快到期了，先给交上"), ("indirect", "{b}明天截止，今天就处理掉吧"),
        ("indirect", "{b}拖了好几天了，该结清了"), ("indirect", "{b}不能再欠着了，交了吧"),
        ("source", "用钱包余额支付{b}"), ("source", "从储蓄卡上扣{b}"), ("source", "拿微信钱包付{b}"),
        ("source", "用工资卡把{b}结了"), ("source", "用零钱付一下{b}{a}块"),
        ("slip", "帮我交下{s}"), ("slip", "{s}交一下"), ("slip", "把{s}缴了"),
        ("code-switched", "帮我 pay 一下{b}"), ("code-switched", "{b}帮我 settle 掉"), ("code-switched", "把{b}的 bill 付了"),
        ("elderly", "小助手啊，帮我把{b}交了好不好"), ("elderly", "闺女不在家，你帮我把{b}交一下"),
        ("elderly", "我老了弄不明白，{b}你帮我交了吧"), ("elderly", "孩子，帮奶奶付一下{b}"),
    ],
    "en": [
        ("terse", "{b}, pay"), ("terse", "pay {b} {a}"), ("terse", "{b} payment now"),
        ("formal", "I would like to remit this month's {b}"), ("formal", "Kindly process payment of my {b}"),
        ("formal", "Please arrange settlement of the {b}"),
        ("indirect", "the {b} is due tomorrow, get it done today"), ("indirect", "the {b} can't wait any longer, handle it"),
        ("indirect", "I keep forgetting the {b}, it needs to be paid now"), ("indirect", "the {b} is overdue, let's clear it"),
        ("source", "pay the {b} out of my wallet"), ("source", "take the {b} from my savings account"),
        ("source", "pay the {b} using my bank card"), ("source", "charge my debit card for the {b}"),
        ("source", "use my account balance to pay {a} yuan on the {b}"),
        ("slip", "pya my {s}"), ("slip", "pay teh {s}"), ("slip", "plz pay {s}"),
        ("code-switched", "pay my {b} 谢谢"), ("code-switched", "help me 交 the {b}"), ("code-switched", "pay the {b} 一下"),
        ("elderly", "dear, could you pay the {b} for me, I can't work this phone"),
        ("elderly", "my grandson usually pays the {b}, could you do it"),
        ("elderly", "I'm not good with these things, please pay my {b}"), ("elderly", "would you be so kind as to pay the {b}"),
    ],
}
QUERY = {
    "zh": [
        ("terse", "{b}多少"), ("terse", "{b}账单"), ("terse", "{b}欠多少"),
        ("formal", "请问本期{b}应缴金额是多少"), ("formal", "烦请查询我的{b}账单明细"),
        ("indirect", "{b}什么时候到期来着"), ("indirect", "这个月{b}花得多不多"),
        ("indirect", "我的{b}有多贵"),
        ("slip", "{s}多少钱"), ("slip", "查下{s}账单"), ("slip", "{s}欠了多少"),
        ("code-switched", "查下{b}的 bill"), ("code-switched", "{b}的 amount 是多少"), ("code-switched", "check 一下{b}"),
        ("elderly", "帮我看看{b}要交多少钱，我眼睛不好"), ("elderly", "这个月的{b}是多少啊孩子"),
        ("elderly", "我家{b}是不是还欠着呢，帮我瞧瞧"),
    ],
    "en": [
        ("terse", "{b} amount?"), ("terse", "{b} total"), ("terse", "{b} due date"),
        ("formal", "Could you tell me the outstanding amount on my {b}"), ("formal", "I would like to review my {b}"),
        ("indirect", "when does my {b} fall due"),
        ("indirect", "how pricey was the {b} this month"), ("indirect", "how costly is my {b}"),
        ("slip", "how much is my {s}"), ("slip", "whats my {s}"), ("slip", "show {s}"),
        ("code-switched", "my {b} 多少钱"), ("code-switched", "查一下 my {b}"), ("code-switched", "how much is the {b} 这个月"),
        ("elderly", "dear, how much do I owe on the {b}, my eyes aren't good"),
        ("elderly", "could you read me what the {b} says this month"),
        ("elderly", "is the {b} still unpaid, I can't remember"),
    ],
}
BALANCE = {
    "zh": [
        ("terse", "余额？"), ("terse", "钱包还剩"), ("terse", "查钱"),
        ("formal", "请帮我查询一下账户余额"), ("formal", "烦请告知当前可用余额"), ("formal", "麻烦查询钱包结余"),
        ("indirect", "不知道我钱够不够用"), ("indirect", "我想知道还剩多少能花"), ("indirect", "这个月花了不少，还剩多少了"),
        ("indirect", "我的钱还够交费吗"),
        ("source", "银行卡上还有多少钱"), ("source", "我零钱里剩多少"), ("source", "储蓄卡里还有钱吗"),
        ("source", "账户里剩下的钱有多少"),
        ("slip", "鱼额多少"), ("slip", "于额查一下"), ("slip", "余鹅还有多少"),
        ("code-switched", "我的 balance 还有多少"), ("code-switched", "看下 wallet 里的钱"),
        ("code-switched", "查一下 account 余额"),
        ("elderly", "我这手机里还有多少钱啊"), ("elderly", "帮我瞧瞧我钱包里剩了多少"),
        ("elderly", "孩子给我打的钱还剩多少"), ("elderly", "我的养老钱在这里面还有多少"),
    ],
    "en": [
        ("terse", "balance pls"), ("terse", "funds?"), ("terse", "money left"),
        ("formal", "Could you please tell me my current balance"), ("formal", "I would like to know my available funds"),
        ("formal", "Kindly report the balance of my wallet"),
        ("indirect", "wondering if I can afford anything this week"), ("indirect", "do I still have money to spend"),
        ("indirect", "how much have I got to work with"), ("indirect", "am I running low on money"),
        ("source", "how much is on my bank card"), ("source", "what's sitting in my savings"),
        ("source", "how much is in my checking right now"), ("source", "what's left on my debit card"),
        ("slip", "whats my balanse"), ("slip", "chek balance"), ("slip", "how much mony do I have"),
        ("code-switched", "how much 钱 do I have"), ("code-switched", "show my 余额 please"),
        ("code-switched", "my wallet 还有多少"),
        ("elderly", "dear, how much money is in this phone of mine"), ("elderly", "could you tell me how much I have left"),
        ("elderly", "is my pension money still in there"), ("elderly", "my daughter sent me money, how much is left"),
    ],
}
TRANSLATE = {
    "zh": [
        ("terse", "{t} 英文", "{t}", "en"), ("terse", "翻译：{t}", "{t}", None), ("terse", "{t} 日语", "{t}", "ja"),
        ("formal", "请将“{t}”译成英文", "{t}", "en"), ("formal", "麻烦您把“{t}”翻译为法语", "{t}", "fr"),
        ("indirect", "“{t}”用英语怎么讲", "{t}", "en"), ("indirect", "我想知道“{t}”韩语怎么说", "{t}", "ko"),
        ("slip", "反译一下“{t}”成英文", "{t}", "en"), ("slip", "帮我翻一下{t}成英文", "{t}", "en"),
        ("code-switched", "“{t}”用 English 怎么说", "{t}", "en"), ("code-switched", "translate 一下“{t}”到英文", "{t}", "en"),
        ("elderly", "孙子要我问“{t}”英文咋说", "{t}", "en"), ("elderly", "“{t}”外国话怎么讲，英文的", "{t}", "en"),
    ],
    "en": [
        ("terse", "{t} in Chinese", "{t}", "zh"), ("terse", "translate: {t}", "{t}", None),
        ("terse", "{t} to Japanese", "{t}", "ja"),
        ("formal", "Please render \"{t}\" into Chinese", "{t}", "zh"),
        ("formal", "Could you provide the French translation of \"{t}\"", "{t}", "fr"),
        ("indirect", "what's the Chinese way to say \"{t}\"", "{t}", "zh"),
        ("indirect", "I wonder how you'd say \"{t}\" in Korean", "{t}", "ko"),
        ("slip", "tranlsate \"{t}\" to chinese", "{t}", "zh"), ("slip", "translat {t} into mandarin", "{t}", "zh"),
        ("code-switched", "\"{t}\" 中文怎么说", "{t}", "zh"), ("code-switched", "translate \"{t}\" 成中文", "{t}", "zh"),
        ("elderly", "dear, how would I say \"{t}\" to my Chinese neighbour", "{t}", "zh"),
        ("elderly", "my granddaughter wants to know \"{t}\" in Chinese", "{t}", "zh"),
    ],
}
PHRASES = {"zh": ("谢谢你", "早上好", "多少钱", "医院在哪里", "生日快乐", "请慢一点说", "我迷路了"),
           "en": ("good night", "where is the station", "happy new year", "I am hungry", "see you tomorrow",
                  "how much is this", "thank you very much")}

SIMPLE: dict[str, dict[str, list[tuple[str, str]]]] = {
    "lookup_service": {
        "zh": [("terse", "医保电子凭证"), ("terse", "公积金提取"), ("terse", "网上挂号"), ("terse", "电子发票开具"),
               ("formal", "请问如何申领医保电子凭证"), ("formal", "请问个人所得税应如何申报"),
               ("formal", "烦请说明住房公积金提取的办理流程"), ("indirect", "坐公交没带卡，手机上能不能刷"),
               ("indirect", "孩子发烧了想在网上约个医生"), ("indirect", "单位要我交个无犯罪证明，去哪开"),
               ("indirect", "快递寄丢了想查一下到哪了"), ("slip", "公鸡金怎么提取"), ("slip", "义保电子凭证在哪领"),
               ("slip", "电子发漂怎么开"), ("code-switched", "怎么开 e-invoice"), ("code-switched", "身份证的 e-ID 怎么弄"),
               ("code-switched", "ETC 怎么办理"), ("elderly", "我想在手机上挂个号看病，怎么弄啊"),
               ("elderly", "老年人坐公交的码在哪里找"), ("elderly", "我的社保卡丢了，去哪补啊"),
               ("elderly", "医保卡里的钱怎么查，教教我"), ("formal", "请问驾驶证到期如何换领"),
               ("indirect", "想给家里人也开个医保码"), ("terse", "个税申报")],
        "en": [("terse", "medical insurance code"), ("terse", "housing fund withdrawal"), ("terse", "book a doctor"),
               ("terse", "e-invoice"), ("formal", "Could you explain how to apply for the electronic medical insurance code"),
               ("formal", "What is the procedure to file individual income tax"),
               ("formal", "Please outline how to withdraw from my housing provident fund"),
               ("indirect", "I left my bus card at home, can the phone pay the fare"),
               ("indirect", "my kid has a fever and I want to see a doctor tomorrow"),
               ("indirect", "my employer wants a criminal record certificate from me"),
               ("indirect", "my parcel never arrived and I want to see where it is"),
               ("slip", "how do I get an e-invioce"), ("slip", "hosptial registration"), ("slip", "housing fnd balance"),
               ("code-switched", "how do I apply for 医保码"), ("code-switched", "where is the 公交码"),
               ("code-switched", "how do I do 个税 online"),
               ("elderly", "dear, how do I book a hospital appointment on this thing"),
               ("elderly", "where do I find the bus code for seniors"), ("elderly", "I lost my social security card, where do I replace it"),
               ("elderly", "how do I check what's on my medical insurance card"),
               ("formal", "How may I renew my driving licence"), ("indirect", "I want my wife on my medical insurance too"),
               ("terse", "tax filing")],
    },
    "greet": {
        "zh": [("terse", "嗨"), ("formal", "您好，打扰了"), ("slip", "泥好"), ("code-switched", "hello 小助手"),
               ("elderly", "小助手，你在吗"), ("indirect", "有人在吗"), ("formal", "早上好，助手"), ("terse", "哈喽"),
               ("elderly", "喂喂，听得见吗"), ("code-switched", "hi 你好")],
        "en": [("terse", "yo"), ("formal", "Good afternoon"), ("slip", "helo there"), ("code-switched", "hi 你好呀"),
               ("elderly", "hello dear, are you there"), ("indirect", "anybody around"), ("formal", "Good morning, assistant"),
               ("terse", "hiya"), ("elderly", "hello, can you hear me"), ("slip", "hii")],
    },
    "thanks": {
        "zh": [("terse", "谢"), ("formal", "非常感谢您的帮助"), ("slip", "写写"), ("code-switched", "thank you 啊"),
               ("elderly", "好孩子，谢谢你啊"), ("indirect", "辛苦你了"), ("terse", "多谢"), ("formal", "感谢协助"),
               ("elderly", "真是麻烦你了，谢谢"), ("code-switched", "thx 哈")],
        "en": [("terse", "thx"), ("formal", "Thank you kindly for your help"), ("slip", "thnaks"),
               ("code-switched", "谢谢 mate"), ("elderly", "bless you dear, thank you"), ("indirect", "you saved me a trip"),
               ("terse", "ty"), ("formal", "Much appreciated"), ("elderly", "that's very kind of you, thanks"),
               ("slip", "thank yuo")],
    },
    "goodbye": {
        "zh": [("terse", "走了"), ("formal", "今天就到这里，再会"), ("slip", "在见"), ("code-switched", "bye 啦"),
               ("elderly", "好了好了，我不用了，再见啊"), ("indirect", "先这样，回头再聊"), ("terse", "拜"),
               ("formal", "告辞了"), ("elderly", "我要去做饭了，拜拜"), ("code-switched", "see you 哦")],
        "en": [("terse", "cya"), ("formal", "That will be all, goodbye"), ("slip", "by now"), ("code-switched", "拜拜 then"),
               ("elderly", "alright dear, I'll be going now, bye"), ("indirect", "I'm done here, talk later"),
               ("terse", "later"), ("formal", "Farewell for now"), ("elderly", "time for my nap, goodbye"),
               ("slip", "goodbey")],
    },
    "confirm": {
        "zh": [("terse", "嗯"), ("terse", "行"), ("formal", "确认无误，请执行"), ("slip", "却认"), ("slip", "确人"),
               ("code-switched", "OK 的"), ("code-switched", "yes 交吧"), ("elderly", "好好好，就这么办"),
               ("elderly", "对对，你交吧"), ("indirect", "没问题，照这个来"), ("formal", "同意支付"), ("terse", "可以")],
        "en": [("terse", "yep"), ("terse", "go"), ("formal", "I confirm, please proceed"), ("slip", "yse"),
               ("slip", "confrim"), ("code-switched", "yes 确认"), ("code-switched", "好 go ahead"),
               ("elderly", "yes dear, that's right, go on"), ("elderly", "alright then, do it"),
               ("indirect", "looks right to me, carry on"), ("formal", "I approve this payment"), ("terse", "sure")],
    },
    "deny": {
        "zh": [("terse", "不"), ("formal", "信息有误，不是这个"), ("slip", "布对"), ("code-switched", "no 不是这个"),
               ("elderly", "不对不对，不是这个户"), ("indirect", "这个数好像不对"), ("terse", "不是"),
               ("formal", "否"), ("elderly", "哎呀不是这个"), ("code-switched", "wrong 的")],
        "en": [("terse", "nah"), ("formal", "No, that is incorrect"), ("slip", "nope thats wrnog"),
               ("code-switched", "不 that's not it"), ("elderly", "no dear, that's not the right one"),
               ("indirect", "that number doesn't look right"), ("terse", "wrong"), ("formal", "I do not agree"),
               ("elderly", "oh no, not that one"), ("code-switched", "no 不对")],
    },
    "cancel": {
        "zh": [("terse", "不交了"), ("terse", "停"), ("formal", "请撤销本次操作"), ("slip", "去消"), ("slip", "算啦算啦"),
               ("code-switched", "cancel 掉"), ("code-switched", "stop 别弄了"), ("elderly", "哎，先不弄了，下回再说"),
               ("elderly", "不要了不要了，别交了"), ("indirect", "我改主意了，这个不办了"), ("formal", "终止当前操作"),
               ("indirect", "先放着吧，不弄了")],
        "en": [("terse", "abort"), ("terse", "scrap that"), ("formal", "Please cancel this transaction"), ("slip", "cancle it"),
               ("slip", "nevermnd"), ("code-switched", "cancel 吧"), ("code-switched", "算了 forget it"),
               ("elderly", "oh dear, let's not do that after all"), ("elderly", "stop, stop, I don't want it anymore"),
               ("indirect", "I changed my mind about this"), ("formal", "Terminate the current request"),
               ("indirect", "let's drop it for now")],
    },
    "human_handoff": {
        "zh": [("terse", "人工"), ("terse", "找客服"), ("formal", "请为我转接人工服务"), ("slip", "人公客服"),
               ("slip", "转人攻"), ("code-switched", "我要找真人 agent"), ("code-switched", "转 customer service"),
               ("elderly", "我弄不来，让个真人跟我说"), ("elderly", "有没有人能接电话，我要跟人说话"),
               ("indirect", "跟机器说不清楚，换个人吧"), ("formal", "我要投诉，请安排工作人员"),
               ("indirect", "你解决不了，叫你们的人来"), ("terse", "转人工"), ("elderly", "我要找个活人问问")],
        "en": [("terse", "agent"), ("terse", "real person"), ("formal", "Please transfer me to a human representative"),
               ("slip", "humna agent"), ("slip", "costumer service"), ("code-switched", "我要 a real person"),
               ("code-switched", "转 to human please"), ("elderly", "I can't do this, let me talk to a person"),
               ("elderly", "is there a nice person I can speak to"), ("indirect", "this bot isn't getting it, get me someone"),
               ("formal", "I wish to file a complaint with a staff member"), ("indirect", "you can't fix this, find me your staff"),
               ("terse", "operator"), ("elderly", "could a real human help me please")],
    },
    "out_of_scope": {
        "zh": [("lookalike", "帮我查一下怎么包饺子"), ("lookalike", "找找打麻将的规则"), ("lookalike", "查一下怎么玩狼人杀"),
               ("lookalike", "告诉我怎么写简历"), ("lookalike", "帮我搜一下附近的咖啡店"), ("lookalike", "帮我找找怎么养多肉"),
               ("lookalike", "查查周杰伦有什么新歌"), ("lookalike", "教我怎么折纸鹤"), ("lookalike", "帮我查下怎么考驾照科目二"),
               ("lookalike", "告诉我哪里能学游泳"), ("lookalike", "查一下怎么给猫剪指甲"), ("lookalike", "帮我找个红烧鱼的做法"),
               ("lookalike", "查一下去长城怎么走"), ("lookalike", "帮我查查象棋怎么下"), ("lookalike", "找一下怎么修漏水的水龙头"),
               ("lookalike", "帮我看看怎么织毛衣"), ("terse", "讲个笑话"), ("terse", "天气"), ("formal", "请问明天上海的天气如何"),
               ("formal", "请推荐几只值得购买的股票"), ("indirect", "今天心情不太好"), ("indirect", "我家猫不吃饭了"),
               ("slip", "今天天汽怎么样"), ("code-switched", "推荐个 movie 看看"), ("code-switched", "帮我 book 一张电影票"),
               ("elderly", "我孙子最近不爱学习，怎么办啊"), ("elderly", "广场舞的音乐哪里找"), ("hard", "电费怎么这么贵，真气人"),
               ("hard", "余额宝的收益怎么算的"), ("hard", "水是怎么变成冰的"), ("hard", "手机话费套餐哪家划算"),
               ("hard", "翻译这个工作好找吗"), ("hard", "宽带的原理是什么"), ("terse", "唱首歌"), ("indirect", "好无聊啊"),
               ("formal", "请问地球到月球有多远"), ("slip", "帮我定个闹中"), ("code-switched", "给我 play 点音乐"),
               ("elderly", "血压高吃什么好"), ("lookalike", "帮我查查高铁几点发车"), ("lookalike", "查一下世界杯谁赢了"),
               ("lookalike", "告诉我怎么泡茶好喝"), ("lookalike", "帮我查查附近哪有理发店"), ("lookalike", "找一下怎么画水彩"),
               ("lookalike", "帮我查下怎么玩扑克牌"), ("lookalike", "告诉我怎么减肥")],
        "en": [("lookalike", "find instructions on how to play chess"), ("lookalike", "look up how to bake sourdough"),
               ("lookalike", "tell me how to tie a tie"), ("lookalike", "find out how to play poker"),
               ("lookalike", "look up the rules of mahjong"), ("lookalike", "tell me where to buy a used bike"),
               ("lookalike", "find me a good pizza place"), ("lookalike", "look up how to change a car tire"),
               ("lookalike", "tell me how to write a cover letter"), ("lookalike", "find out how tall mount everest is"),
               ("lookalike", "look up guitar chords for wonderwall"), ("lookalike", "tell me how to train my puppy"),
               ("lookalike", "find instructions to assemble an ikea shelf"), ("lookalike", "look up how to knit a scarf"),
               ("lookalike", "tell me where to watch the game tonight"), ("lookalike", "find out how to grow tomatoes"),
               ("terse", "joke"), ("terse", "weather"), ("formal", "What will the weather be in Beijing tomorrow"),
               ("formal", "Please recommend some stocks to buy"), ("indirect", "I'm feeling kind of down today"),
               ("indirect", "my cat stopped eating"), ("slip", "whats the wether like"), ("code-switched", "recommend a 电影 to watch"),
               ("code-switched", "play some 音乐"), ("elderly", "my grandson won't study, what should I do"),
               ("elderly", "what's good for high blood pressure"), ("hard", "why is electricity so expensive these days"),
               ("hard", "how does a water meter work"), ("hard", "which phone plan is the cheapest"),
               ("hard", "is translation a good career"), ("hard", "how does broadband work"), ("terse", "sing a song"),
               ("indirect", "I'm so bored"), ("formal", "How far is the moon from the earth"), ("slip", "set an alrm"),
               ("elderly", "what time does the park open, dear"), ("lookalike", "look up train times to shanghai"),
               ("hard", "who invented the light bulb"), ("lookalike", "find me a recipe for dumplings"),
               ("lookalike", "find out who won the world cup"), ("lookalike", "tell me how to brew good tea"),
               ("lookalike", "look up a barber near me"), ("lookalike", "find instructions for painting with watercolors"),
               ("lookalike", "look up how to play charades"), ("lookalike", "tell me how to lose weight")],
    },
}
AMOUNTS = (50, 100, 120, 200, 88, 300, 66)
# top-ups: (style, template); {p} a mobile number, {a} an amount from the menu
TOPUP = {
    "zh": [
        ("terse", "充话费{a}"), ("terse", "{p}充{a}"), ("formal", "请为手机号{p}充值{a}元"),
        ("formal", "烦请给我的手机充值{a}元话费"), ("indirect", "手机快停机了，充{a}块吧"),
        ("indirect", "我手机没话费了"), ("source", "用余额给{p}充{a}元"), ("slip", "帮我冲{a}块话费"),
        ("slip", "给{p}冲个话费"), ("code-switched", "帮我 top up {a}块话费"),
        ("code-switched", "给手机 recharge 一下，{a}元"), ("elderly", "孩子，我手机里没钱打电话了，帮我充{a}块"),
        ("elderly", "给我这个手机号{p}充点话费，{a}块就行"),
    ],
    "en": [
        ("terse", "top up {a}"), ("terse", "recharge {p} {a}"), ("formal", "Please add {a} yuan of credit to {p}"),
        ("formal", "I would like to recharge my mobile with {a} yuan"), ("indirect", "my phone is about to run out of credit"),
        ("indirect", "I can't make calls, no credit left, put {a} on it"), ("source", "use my wallet to top up {p} with {a}"),
        ("slip", "tpo up my phone {a}"), ("slip", "recharg {p} with {a} yuan"), ("code-switched", "top up 话费 {a}"),
        ("code-switched", "充值 my phone {a} yuan"), ("elderly", "dear, my phone has no money for calls, add {a} please"),
        ("elderly", "could you put {a} yuan on this number for me, {p}"),
    ],
}
PHONES = ("13812345678", "15900001111", "18622223333", "13344445555", "17766667777")
# payment history: (style, template, period slot or None); {b} a bill name, {s} its slip
HISTORY = {
    "zh": [
        ("terse", "{b}交了没", None), ("terse", "上月{b}记录", "last_month"), ("formal", "请查询我上个月的缴费记录", "last_month"),
        ("formal", "烦请列出今年已缴的{b}", "this_year"), ("indirect", "不知道{b}交过没有", None),
        ("indirect", "上个月那笔{b}好像没交上吧", "last_month"), ("slip", "{s}交过了吗", None),
        ("slip", "最近一笔{s}啥时候交的", "recent"), ("code-switched", "上个月交的 bills 有哪些", "last_month"),
        ("code-switched", "{b}的 payment history 看一下", None),
        ("elderly", "我记性不好，{b}到底交没交啊", None), ("elderly", "孩子，我今年都交过哪些钱了", "this_year"),
    ],
    "en": [
        ("terse", "{b} paid?", None), ("terse", "payments last month", "last_month"),
        ("formal", "Could you list the bills I paid this year", "this_year"),
        ("formal", "I would like to see my payment history for the {b}", None),
        ("indirect", "not sure if the {b} went through last month", "last_month"),
        ("indirect", "I think I already paid the {b}, did I", None), ("slip", "did i pay teh {s}", None),
        ("slip", "when did I last pay the {s}", "recent"), ("code-switched", "上个月 what did I pay", "last_month"),
        ("code-switched", "{b} 交过了吗 already", None),
        ("elderly", "dear, I can't remember whether I paid the {b}", None),
        ("elderly", "what have I paid for this year, my memory is not what it was", "this_year"),
    ],
}


def _bill_rows(lang: str, intent: str, templates, per_template: int) -> list[dict]:
    rows = []
    bills, amounts = cycle(BILLS), cycle(AMOUNTS)
    names, slips = (ZH_BILL, ZH_BILL_SLIP) if lang == "zh" else (EN_BILL, EN_BILL_SLIP)
    for style, template in templates:
        for _ in range(per_template):
            bill, amount = next(bills), next(amounts)
            text = template.format(b=names[bill], s=slips[bill], a=amount)
            slots: dict[str, object] = {"bill_type": bill}
            if intent == "pay_bill" and "{a}" in template:
                slots["amount"] = amount
            rows.append({"text": text, "lang": lang, "intent": intent, "slots": slots, "style": style})
    return rows


def _topup_rows(lang: str) -> list[dict]:
    rows = []
    phones, amounts = cycle(PHONES), cycle((50, 100, 30, 20, 200))
    for style, template in TOPUP[lang]:
        for _ in range(2):
            phone, amount = next(phones), next(amounts)
            slots: dict[str, object] = {}
            if "{p}" in template:
                slots["phone"] = phone
            if "{a}" in template:
                slots["amount"] = amount
            rows.append({"text": template.format(p=phone, a=amount), "lang": lang, "intent": "top_up_phone",
                         "slots": slots, "style": style})
    return rows


def _history_rows(lang: str) -> list[dict]:
    rows = []
    bills = cycle(BILLS)
    names, slips = (ZH_BILL, ZH_BILL_SLIP) if lang == "zh" else (EN_BILL, EN_BILL_SLIP)
    for style, template, period in HISTORY[lang]:
        for _ in range(2 if "{b}" in template or "{s}" in template else 1):
            bill = next(bills)
            slots: dict[str, object] = {"bill_type": bill} if ("{b}" in template or "{s}" in template) else {}
            if period:
                slots["period"] = period
            rows.append({"text": template.format(b=names[bill], s=slips[bill]), "lang": lang,
                         "intent": "payment_history", "slots": slots, "style": style})
    return rows


def build(exclude: set[str] = frozenset()) -> list[dict]:
    """The challenge rows, without any whose text (casefolded) is in ``exclude`` (train and dev)."""
    rows: list[dict] = []
    for lang in ("zh", "en"):
        rows += _bill_rows(lang, "pay_bill", PAY[lang], 3)
        rows += _bill_rows(lang, "query_bill", QUERY[lang], 3)
        rows += [{"text": t, "lang": lang, "intent": "check_balance", "slots": {}, "style": s} for s, t in BALANCE[lang]]
        rows += _topup_rows(lang)
        rows += _history_rows(lang)
        phrases = cycle(PHRASES[lang])
        for style, template, text_field, target in TRANSLATE[lang]:
            for _ in range(2):
                phrase = next(phrases)
                slots = {"text": text_field.format(t=phrase)} | ({"target_lang": target} if target else {})
                rows.append({"text": template.format(t=phrase), "lang": lang, "intent": "translate", "slots": slots,
                             "style": style})
        for intent, by_lang in SIMPLE.items():
            rows += [{"text": t, "lang": lang, "intent": intent, "slots": {}, "style": s} for s, t in by_lang[lang]]
    seen = {text.strip().casefold() for text in exclude}
    unique = []
    for row in rows:
        key = row["text"].strip().casefold()
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def written_texts() -> set[str]:
    """The texts of the train and dev files: a challenge line never repeats one."""
    data = OUT.parent
    return {json.loads(line)["text"] for name in ("intent_train.jsonl", "intent_dev.jsonl")
            for line in (data / name).read_text(encoding="utf-8").splitlines() if line.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.challenge", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = build(written_texts())
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts = {lang: sum(r["lang"] == lang for r in rows) for lang in ("zh", "en")}
    print(f"{args.out}: {len(rows)} utterances {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
