"""Traditional → simplified characters for the words slot rules look for, one character for one."""

from __future__ import annotations

# Only characters that occur in bill, amount, account and translation phrasings. Length-preserving, so
# a span found in the simplified text is the same span in the original.
_PAIRS = (
    "費费 電电 話话 視视 線线 寬宽 帶带 網网 氣气 業业 繳缴 號号 碼码 帳帐 賬账 戶户 塊块 錢钱 萬万 兩两 "
    "機机 頻频 從从 譯译 語语 說说 麼么 請请 幫帮 這这 個个 為为 裡里 們们 國国 韓韩 漢汉 粵粤 廣广 東东 "
    "臘腊 蘭兰 餘余 額额 單单 務务 燈灯 動动 聯联 訊讯 應应 點点 幾几 圓圆 貳贰 參叁 陸陆 億亿 問问 馬马 "
    "歲岁 條条 張张 筆笔 項项 層层 樓楼 間间 嗎吗 讓让 給给 對对 該该 還还 沒没 腦脑 劇剧 發发 證证 憑凭 "
    "驗验 雙双 費费 絡络 視视 煤煤 戲戏 態态 換换 轉转 變变 寫写 講讲 讀读 達达 麼么 嗎吗 啥啥"
)
_TABLE = str.maketrans({pair[0]: pair[1] for pair in _PAIRS.split() if pair[0] != pair[1]})


def to_simplified(text: str) -> str:
    """Map the traditional characters slot rules care about to simplified ones (same length)."""
    return text.translate(_TABLE)
