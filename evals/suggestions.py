"""How good are reminders and next steps? Scripted sessions on seeded users with varied bills.

    python -m evals.suggestions [--sessions 50] [--seed 13] [--json-out FILE]

Each session: a user with one or two homes and 1-4 bills per home (due dates from a few days overdue to
weeks away, some already paid; every user's bills sit in the same database), a fixed clock. The session
asks for the start-of-session reminder, then pays bills; after each payment it takes the offered next
step ("好") or not ("不用了", or paying some other bill). It checks:

- every reminded bill is the user's own, unpaid, and due within ``reminder_days`` (overdue included);
- every offered next step is the user's own unpaid bill of the same home as the bill just paid;
- an offer not taken is never made again in the session;
- taking an offer only prepares the payment (a confirm.request; the balance is unchanged until "确认").

Understanding is scripted (a router that reads the script's own words), so the figures measure the
suggestions, not the intent router (that is ``evals.intent``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session as DbSession

from assistant.nlu.types import Context, Understanding
from assistant.settings import Settings
from assistant.store.conversations import ConversationStore
from assistant.store.db import init_db, make_engine
from assistant.store.models import Bill, Biller, User, Wallet
from assistant.turns import Assistant
from tools import build_registry
from tools.billing import Billing
from tools.kinds import BILL_TYPES

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 5)
HOMES = ("家里", "老房子")


class ScriptRouter:
    """Reads the script's words: "好"/"确认" → confirm, "不用了" → deny, "交 <type> <account>" → pay_bill."""

    def understand(self, text: str, context: Context | None = None, lang: str | None = None) -> Understanding:
        if text in ("好", "确认"):
            return Understanding("confirm", 0.99, lang="zh")
        if text == "不用了":
            return Understanding("deny", 0.99, lang="zh")
        _, bill_type, account = text.split()
        return Understanding("pay_bill", 0.99, {"bill_type": bill_type, "account": account}, lang="zh")


@dataclass
class Figures:
    sessions: int = 0
    reminders: int = 0  # bills named in start-of-session reminders
    reminders_relevant: int = 0
    reminders_missed: int = 0  # due-soon unpaid bills a reminder left out
    payments: int = 0
    offers: int = 0
    offers_relevant: int = 0
    offers_taken: int = 0
    taken_prepared_only: int = 0  # a taken offer ended in confirm.request and moved no money
    declined: int = 0
    repeats_of_declined: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def rate(a: int, b: int) -> float:
            return round(a / b, 4) if b else 1.0

        return {"sessions": self.sessions, "reminders": self.reminders,
                "reminder_precision": rate(self.reminders_relevant, self.reminders),
                "reminders_missed": self.reminders_missed, "payments": self.payments, "offers": self.offers,
                "offer_rate": rate(self.offers, self.payments), "offer_relevance": rate(self.offers_relevant, self.offers),
                "offers_taken": self.offers_taken,
                "taken_prepared_only": rate(self.taken_prepared_only, self.offers_taken),
                "declined": self.declined, "repeats_of_declined": self.repeats_of_declined,
                "problems": self.problems[:10]}


def seed(engine, rng: random.Random, users: int) -> None:
    """``users`` users, each with one or two homes of 1-4 bills; about a fifth already paid."""
    with DbSession(engine) as s:
        for bill_type in BILL_TYPES:
            s.add(Biller(id=f"b_{bill_type}", bill_type=bill_type, name_zh=bill_type, name_en=bill_type))
        for n in range(users):
            uid = f"u_s{n:03d}"
            s.add(User(id=uid, display_name=uid, lang="zh"))
            s.add(Wallet(user_id=uid, balance_fen=10_000_000, initial_fen=10_000_000))
            s.flush()
            for h, home in enumerate(HOMES[:rng.choice((1, 1, 2))]):
                for bill_type in rng.sample(BILL_TYPES, rng.randint(1, 4)):
                    paid = rng.random() < 0.2
                    amount = rng.randint(20, 400) * 100
                    s.add(Bill(id=f"{uid}_{h}_{bill_type}", user_id=uid, biller_id=f"b_{bill_type}",
                               bill_type=bill_type, account=f"{n:03d}{h}{BILL_TYPES.index(bill_type)}0000",
                               account_label=home, period="2026-11", amount_fen=amount,
                               due_date=TODAY + timedelta(days=rng.randint(-3, 25)),
                               status="paid" if paid else "unpaid", paid_fen=amount if paid else 0))
        s.commit()


async def _say(assistant: Assistant, session, text: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def emit(event) -> None:
        events.append(event.wire())

    await assistant.text_turn(session, text, emit)
    return events


async def _session(assistant: Assistant, uid: str, rng: random.Random, f: Figures) -> None:
    billing, days = assistant.billing, assistant.settings.reminder_days
    session, _ = assistant.open_session(uid, "zh")
    f.sessions += 1
    reminded: list[dict[str, Any]] = []

    async def emit(event) -> None:
        reminded.extend((event.wire().get("card") or {}).get("bills", []))

    await assistant.remind(session, emit)
    unpaid = {b.id: b for b in billing.bills(uid, None, "unpaid")}
    due = {i for i, b in unpaid.items() if b.due_date <= TODAY + timedelta(days=days)}
    for item in reminded:
        f.reminders += 1
        if item["id"] in due:
            f.reminders_relevant += 1
        else:
            f.problems.append(f"{uid}: reminded {item['id']}, not the user's unpaid bill due soon")
    f.reminders_missed += len(due - {item["id"] for item in reminded})

    declined: set[str] = set()
    target = rng.choice(list(unpaid.values())) if unpaid else None
    take = False
    for _ in range(5):
        if target is None:
            return
        before = billing.balance(uid).balance_fen
        events = await _say(assistant, session, "好" if take else f"交 {target.bill_type} {target.account}")
        asked = any(e["type"] == "confirm.request" for e in events)
        if take:
            f.offers_taken += 1
            if asked and billing.balance(uid).balance_fen == before:
                f.taken_prepared_only += 1
            else:
                f.problems.append(f"{uid}: taking the offer of {target.id} did not just prepare it")
        if not asked:
            f.problems.append(f"{uid}: paying {target.id} asked no confirmation")
            return
        await _say(assistant, session, "确认")
        f.payments += 1
        paid, offer = target, session.state.offer
        left = {b.id: b for b in billing.bills(uid, None, "unpaid")}
        if offer is None:
            target, take = (rng.choice(list(left.values())) if left else None), False
            continue
        f.offers += 1
        offered = left.get(offer["key"].removeprefix("pay_bill:"))
        if offered is not None and offered.account_label == paid.account_label and offered.user_id == uid:
            f.offers_relevant += 1
        else:
            f.problems.append(f"{uid}: offered {offer['key']} after paying {paid.id}")
        if offer["key"] in declined:
            f.repeats_of_declined += 1
            f.problems.append(f"{uid}: offered {offer['key']} again after it was declined")
        choice = rng.random()
        if choice < 0.4 and offered is not None:
            target, take = offered, True
            continue
        declined.add(offer["key"])
        f.declined += 1
        if choice < 0.7:  # said no; otherwise the next request simply ignores the offer
            await _say(assistant, session, "不用了")
        rest = [b for b in left.values() if f"pay_bill:{b.id}" != offer["key"]]
        target, take = (rng.choice(rest) if rest else None), False


async def run(sessions: int = 50, seed_value: int = 13, data_dir: Path | None = None) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        root = data_dir or Path(tmp)
        settings = Settings(data_dir=root, _env_file=None)
        engine = make_engine(f"sqlite:///{root / 'suggestions.sqlite'}")
        init_db(engine)
        rng = random.Random(seed_value)
        seed(engine, rng, sessions)
        billing = Billing(engine, clock=NOW.timestamp)
        assistant = Assistant(settings, ScriptRouter(), build_registry(), billing, ConversationStore(engine))
        figures = Figures()
        try:
            for n in range(sessions):
                await _session(assistant, f"u_s{n:03d}", rng, figures)
        finally:
            assistant.pools.close()
            engine.dispose()
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    summary = asyncio.run(run(args.sessions, args.seed)).summary()
    print(json.dumps(summary, ensure_ascii=False))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ok = summary["repeats_of_declined"] == 0 and summary["offer_relevance"] == 1.0 and summary["reminder_precision"] == 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
