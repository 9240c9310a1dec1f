"""Everything the assistant says, in Mandarin and English, standard and elder wording.

One short sentence per answer. Elder mode uses plainer, shorter wording and spells amounts out
("一百二十元"). Templates take ``str.format`` fields; :func:`money` and :func:`bill_name` render
the common ones so every path says them the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from assistant.spell import say_amount

BILL_NAMES = {
    "electricity": ("电费", "electricity"),
    "water": ("水费", "water"),
    "gas": ("燃气费", "gas"),
    "phone": ("话费", "phone"),
    "internet": ("宽带费", "internet"),
    "property": ("物业费", "property"),
    "tv": ("有线电视费", "TV"),
}

# bills lui does not pay (assistant/nlu/unsupported_bills.py), named in a sentence
UNSUPPORTED_BILL_NAMES = {
    "car_loan": ("车贷", "car loans"),
    "credit_card": ("信用卡还款", "credit card bills"),
    "insurance": ("保险费", "insurance premiums"),
    "medical_insurance": ("医保费", "medical insurance"),
    "social_insurance": ("社保费", "social insurance"),
    "subscription": ("会员订阅费", "subscriptions"),
    "rent": ("房租", "rent"),
    "tuition": ("学费", "school fees"),
}

# key: (zh, en[, zh_elder, en_elder])
MESSAGES: dict[str, tuple[str, ...]] = {
    "greet": ("您好！我可以帮您交费、查账单、查余额、找服务。", "Hello! I can pay or check bills, show your balance and find services."),
    "thanks": ("不客气，还有什么可以帮您？", "You're welcome. Anything else?"),
    "goodbye": ("再见，祝您生活愉快！", "Goodbye, have a nice day!"),
    "handoff": ("正在为您转人工客服，也可以拨打客服电话 95188。", "I'm connecting you to a person; you can also call 95188.",
                "马上帮您找人工客服，也可以打 95188。", "I'll get you a person. You can also call 95188."),
    "out_of_scope": ("抱歉，这个我还帮不了您。我可以帮您交费、查账单、查余额、翻译和找服务。",
                     "Sorry, I can't help with that. I can pay or check bills, show your balance, translate and find services.",
                     "抱歉，这个我办不了。我能帮您交费、查账单、查余额。",
                     "Sorry, I can't do that. I can pay bills, check bills and your balance."),
    # the same, for a spoken request: far more often misheard than really out of scope, so it says both
    "out_of_scope_heard": ("抱歉，我没听明白，或者这个我还帮不了您。我可以帮您交费、查账单、查余额、翻译和找服务。",
                           "Sorry, I didn't catch that, or it's something I can't help with. I can pay or check bills, "
                           "show your balance, translate and find services.",
                           "抱歉，我没听明白，或者这个我办不了。我能帮您交费、查账单、查余额。",
                           "Sorry, I didn't catch that, or I can't do it. I can pay bills, check bills and your balance."),
    "clarify": ("我没太听明白，您是想：", "I'm not sure I understood. Did you mean:"),
    "ask_bill_type_pay": ("您要交哪种费用？", "Which bill would you like to pay?"),
    "ask_bill_type_query": ("您要查哪种账单？", "Which bill would you like to check?"),
    "ask_amount": ("这个金额我没法确定，您要交多少元？", "I can't be sure of that amount. How many yuan would you like to pay?",
                   "金额没听准，您要交多少钱？", "I didn't get the amount. How much would you like to pay?"),
    "ask_account": ("您有{count}个{bill}户号：{options}，交哪一个？", "You have {count} {bill} accounts: {options}. Which one?"),
    "pay_from_wallet": ("（我只能从钱包余额里付款。）", "(I can only pay from your wallet balance.)"),
    "no_unpaid": ("您的{bill}目前没有待缴账单。", "You have no unpaid {bill} bill."),
    "no_unpaid_any": ("您目前没有待缴的账单。", "You have no unpaid bills."),
    "bill_line": ("{bill}{account}：{amount}，{due}前缴清", "{bill} {account}: {amount}, due {due}"),
    "bills_summary": ("您有{count}笔待缴账单：{lines}。", "You have {count} unpaid bills: {lines}.",
                      "您有{count}笔账单没交：{lines}。", "You have {count} unpaid bills: {lines}."),
    "one_bill": ("{line}。", "{line}."),
    "balance": ("您的余额是{amount}。", "Your balance is {amount}.", "您还有{amount}。", "You have {amount}."),
    "confirm_pay": ("请确认：给{payee}交{bill}{amount}，户号{account}。确认吗？",
                    "Please confirm: pay {amount} to {payee} for {bill}, account {account}?",
                    "要给{payee}交{bill}{amount}，户号{account}。您确认吗？",
                    "Pay {amount} for {bill}, account {account}. Shall I go ahead?"),
    "paid": ("已缴费{amount}，余额还有{balance}。", "Paid {amount}. Your balance is now {balance}.",
             "交好了，交了{amount}，还剩{balance}。", "Done. Paid {amount}. You have {balance} left."),
    "already_paid": ("这笔已经缴过了，不会重复扣款。", "That payment is already done; you were not charged twice."),
    "payment_cancelled": ("好的，已取消这笔缴费，没有扣款。", "OK, the payment is cancelled. Nothing was charged.",
                          "好的，不交了，没扣钱。", "OK, cancelled. No money was taken."),
    "nothing_pending": ("现在没有需要确认的事项。", "There is nothing waiting for your confirmation."),
    "nothing_to_cancel": ("好的。还有什么可以帮您？", "OK. Anything else?"),
    "cancelled": ("好的，已取消。", "OK, cancelled."),
    "still_pending": ("您还有一笔{bill}{amount}等待确认，请说“确认”或“取消”。",
                      "A {bill} payment of {amount} is waiting: say yes or cancel."),
    "ask_consent": ("{bill}{amount}要交的话请说“确认”，不交请说“取消”。",
                    "To pay the {bill} bill of {amount}, say \"confirm\"; to leave it, say \"cancel\".",
                    "要交{bill}{amount}，就说“确认”；不交，就说“取消”。",
                    "To pay {bill}, {amount}, say confirm. To stop, say cancel."),
    # a second spoken answer in a row that was not a clear yes or no: the buttons never mishear
    "ask_consent_tap": ("还是没听清。{bill}{amount}要交的话，请点“确认”按钮，或再说一遍“确认”；不交请点“取消”。",
                        "Sorry, I still didn't catch that. To pay the {bill} bill of {amount}, tap Confirm or say "
                        "\"confirm\" again; to leave it, tap Cancel.",
                        # the elder page's buttons read 确认付款 / Confirm payment (assistant/web/static/elder.js)
                        "还是没听清。要交{bill}{amount}，请点“确认付款”，或者再说一遍“确认”。不交，就点“取消”。",
                        "I still didn't catch that. To pay {bill}, {amount}, tap Confirm payment or say confirm. "
                        "To stop, tap Cancel."),
    "refused_insufficient": ("余额不足：需要{amount}，您只有{balance}。", "Not enough balance: {amount} needed, you have {balance}."),
    "refused_expired": ("确认已超时，这笔没有扣款，请重新发起。", "The confirmation expired and nothing was charged; please start again."),
    "refused_amount": ("金额和账单不符，这张账单应缴{amount}。", "That amount does not match the bill; it is {amount}."),
    "offer_amount": ("这张账单应缴{amount}，要交{amount}吗？", "That amount does not match the bill, which is {amount}. Pay {amount}?",
                     "这张账单要交{amount}，交{amount}行吗？", "The bill is {amount}. Shall I pay {amount}?"),
    "offer_amount_partial": ("这张账单应缴{amount}，可以分次交：交{amount}，还是先交一部分？",
                             "That amount does not match the bill, which is {amount}; it can be paid in part. "
                             "Pay {amount}, or how much for now?",
                             "这张账单要交{amount}，也可以先交一部分。交多少？",
                             "The bill is {amount}. You can pay part of it. How much?"),
    "refused_paid": ("这张账单已经缴清了。", "That bill is already paid."),
    "refused_other": ("这笔缴费没有办成，没有扣款。", "The payment did not go through; nothing was charged."),
    "refused_busy": ("系统正忙，这次没有扣款，请再说一次“确认”。", "We were busy and nothing was charged; please confirm again."),
    "refused_not_found": ("没有找到这笔待确认的缴费，没有扣款。", "I couldn't find that payment to confirm; nothing was charged."),
    "refused_no_bill": ("没有找到这张账单，没有扣款。", "I couldn't find that bill; nothing was charged."),
    "refused_cancelled": ("这笔缴费已经取消了，没有扣款；要交的话请重新发起。",
                          "That payment was cancelled and nothing was charged; start again to pay."),
    "refused_invalid": ("这个金额不能交，没有扣款。", "That amount can't be paid; nothing was charged."),
    "tool_failed": ("抱歉，系统暂时出了点问题，请稍后再试。", "Sorry, something went wrong on our side. Please try again shortly."),
    "translate_needs_llm": ("这句话需要接入大模型才能翻译。目前我能翻译中英文的单词、短语和常用的应用用语。",
                            "Translating this needs the language model, which is not configured. On my own I can "
                            "translate Chinese and English words, short phrases and common app terms."),
    "translated": ("“{text}”翻译成{lang_name}是：{result}", "\"{text}\" in {lang_name} is: {result}"),
    "ask_translate_text": ("您想翻译哪句话？", "What would you like me to translate?"),
    "service_found": ("{title}：{summary}入口：{link}", "{title}: {summary} Open: {link}",
                      "{title}：点这里打开 {link}", "{title}: open {link}"),
    "service_none": ("抱歉，没找到相关的服务，您可以换个说法，或说“人工客服”。",
                     "Sorry, I couldn't find a matching service. Try other words, or ask for a person."),
    "bill_unsupported": ("{bill}我这里办不了。我能交的是{supported}。",
                         "I can't pay {bill} here. The bills I can pay are {supported}.",
                         "{bill}我办不了。我能交{supported}。",
                         "I can't pay {bill}. I can pay {supported}."),
    "bill_unsupported_service": ("{bill}我这里办不了，可以在“{title}”里办理：{link}。我能交的是{supported}。",
                                 "I can't pay {bill} here, but you can in \"{title}\": {link}. "
                                 "The bills I can pay are {supported}.",
                                 "{bill}我办不了，点这里去办：{link}。我能交{supported}。",
                                 "I can't pay {bill}. Open {link} for it. I can pay {supported}."),
    # phone top-up (top_up_phone)
    "ask_phone": ("给哪个手机号充话费？请说11位号码。", "Which mobile number should I top up? Please give the 11 digits."),
    "invalid_phone": ("{digits}不是有效的手机号，请说11位、以1开头的号码。",
                      "{digits} is not a valid mobile number; please give the 11 digits, starting with 1.",
                      "这个号码不对，手机号是11位数，请再说一遍。",
                      "That number isn't right. A mobile number has 11 digits. Please say it again."),
    "no_contact": ("没有找到{who}的号码，请告诉我要充值的手机号。",
                   "I have no number saved for {who}. Which mobile number should I top up?"),
    "ask_topup_amount": ("充多少？可以充{menu}元。", "How much? You can top up {menu} yuan."),
    "topup_not_in_menu": ("话费只能充{menu}元，要充{nearest}吗？", "Top-ups come in {menu} yuan. Top up {nearest} instead?"),
    "confirm_topup": ("请确认：给{who}{phone}（{carrier}）充值话费{amount}。确认吗？",
                      "Please confirm: top up {who}{phone} ({carrier}) with {amount}?",
                      "号码是{phone}，{carrier}。给{who}这个号充{amount}话费，您确认吗？",
                      "The number is {phone}, {carrier}. Top up {who}this number with {amount}. Shall I go ahead?"),
    "topped_up": ("已给{phone}充值{amount}，余额还有{balance}。", "Topped up {phone} with {amount}. Your balance is now {balance}.",
                  "充好了，给{phone}充了{amount}，还剩{balance}。", "Done. {phone} got {amount}. You have {balance} left."),
    "topup_noun": ("话费充值", "phone top-up"),
    # payment history (payment_history); {period} is a phrase such as "上个月" / "last month"
    "history_paid_when": ("{period}{bill}已经交过了，{when}交的，{amount}。", "Yes, you paid {bill} {period}: {amount} on {when}.",
                          "{period}{bill}交过了，{when}交的，交了{amount}。", "Yes, {bill} is paid: {amount} on {when}."),
    "history_last": ("最近一笔{bill}是{when}交的，{amount}。", "Your last {bill} payment was {amount} on {when}.",
                     "上次交{bill}是{when}，交了{amount}。", "You last paid {bill} on {when}: {amount}."),
    "history_summary": ("{period}您交了{count}笔，共{total}：{names}。",
                        "{period_cap} you made {count} payment{s}, {total} in all: {names}.",
                        "{period}您一共交了{count}笔，{total}：{names}。",
                        "{period_cap} you paid {count} time{s}, {total} in all: {names}."),
    "history_none": ("{period}没有{bill}的缴费记录。", "No {bill} payments {period}.",
                     "{period}没有交过{bill}。", "You paid no {bill} {period}."),
    "history_unpaid": ("{bill}还没交：{amount}，{due}前缴清。", "Your {bill} bill is not paid yet: {amount}, due {due}.",
                       "{bill}还没交，要交{amount}，{due}前交。", "{bill} is not paid yet: {amount}, due {due}."),
    "history_noun": ("账单", "bill"),
    # reminders and next steps (assistant/suggest.py)
    "reminder": ("您有{count}笔账单快到期了：{items}。", "You have {count} bill(s) due soon: {items}.",
                 "有{count}笔费快到期了：{items}。", "{count} bill(s) due soon: {items}."),
    "reminder_item": ("{bill}{amount}（{due}前）", "{bill} {amount} (due {due})"),
    "nothing_due": ("最近{days}天没有要交的账单。", "No bills are due in the next {days} days.",
                    "这几天没有要交的费。", "Nothing to pay in the next {days} days."),
    "nothing_due_month": ("这个月没有要交的账单。", "No bills are due this month.",
                          "这个月没有要交的费。", "Nothing to pay this month."),
    "next_due": ("{bill}也快到期了（{due}前，{amount}），要一起交吗？", "Your {bill} bill is due soon too ({amount}, {due}). Pay it now?",
                 "{bill}也快到期了，{amount}，要一起交吗？", "{bill} is due soon too: {amount}. Pay it now?"),
    "next_unpaid": ("{home}的{bill}还没交（{amount}），要一起交吗？", "The {bill} bill for {home} is unpaid too ({amount}). Pay it now?",
                    "{bill}还没交，{amount}，要一起交吗？", "{bill} is not paid yet: {amount}. Pay it now?"),
    "offer_save_number": ("要把{phone}存为常用号码吗？下次说名字就能充。", "Save {phone} so you can top it up by name next time?"),
    "ask_contact_name": ("存成谁的号码？比如“妈妈”。", "Whose number is it? For example \"mom\"."),
    "contact_saved": ("记住了：{who} {phone}，下次说“给{who}充话费”就行。", "Saved: {who}, {phone}. Next time say \"top up {who}\"."),
    "contact_not_saved": ("好的，不存了。", "OK, not saved."),
    "service_unavailable": ("服务查询暂时不可用，请稍后再试。", "Service search is unavailable right now. Please try again later."),
}


_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


def sentence_case(text: str) -> str:
    """English sentences start with a capital, whatever a template put first ("electricity is not paid yet"
    after "Paid ¥210.30."). Chinese text has no case and comes back as it was."""
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)


@dataclass(frozen=True)
class ReplyVoice:
    """How to speak in one session: language and elder wording."""

    lang: str = "zh"
    elder: bool = False

    def say(self, key: str, **fields: object) -> str:
        variants = MESSAGES[key]
        index = (0 if self.lang == "zh" else 1) + (2 if self.elder and len(variants) == 4 else 0)
        return variants[index].format(**fields)

    def money(self, fen: int) -> str:
        return say_amount(fen, self.lang, self.elder)

    def bill_name(self, bill_type: str | None) -> str:
        names = BILL_NAMES.get(bill_type or "", ("账单", "bill"))
        return names[0] if self.lang == "zh" else names[1]

    def bill_list(self) -> str:
        """The bills lui pays, in one phrase: "电费、水费……和有线电视费" / "electricity, water, ... and TV bills"."""
        names = [zh if self.lang == "zh" else en for zh, en in BILL_NAMES.values()]
        if self.lang == "zh":
            return "、".join(names[:-1]) + "和" + names[-1]
        return ", ".join(names[:-1]) + " and " + names[-1] + " bills"

    def date(self, iso_date: str) -> str:
        """"12月15日" / "Dec 15"."""
        d = date.fromisoformat(iso_date)
        return f"{d.month}月{d.day}日" if self.lang == "zh" else d.strftime("%b %d").replace(" 0", " ")

    def account(self, account: str) -> str:
        """Accounts are never said in full: "尾号2245" / "ending 2245"."""
        tail = account[-4:]
        return f"尾号{tail}" if self.lang == "zh" else f"ending {tail}"

    def join(self, parts: list[str]) -> str:
        return "；".join(parts) if self.lang == "zh" else "; ".join(parts)
