"""The voice path of the websocket: ``audio.start`` → binary frames → ``audio.end`` → a text turn.

``VoiceGateway`` (one per process) holds the speech-to-text pool, the end-of-turn model and the open
utterances; it reads how a pause's words stand (:meth:`VoiceGateway.reading`) and turns an
utterance's audio into its final transcript, biased by the dialogue state and corrected to the
domain lexicon (:meth:`VoiceGateway.transcribe`). One spoken turn in progress is an
:class:`assistant.api.utterance.Utterance`. Every failure is an ``error`` event with a stable code;
the session carries on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Literal

from assistant.api.utterance import Utterance
from assistant.nlu.consent import consent, doubts, opens_like_a_refusal
from assistant.nlu.data import load_training_sources
from assistant.nlu.types import DIALOGUE_ACTS, TRANSACTIONAL
from assistant.protocol import AudioStart
from assistant.settings import Settings
from assistant.turns import Assistant
from common.errors import ConfigError
from voice.correct import PinyinCorrector, sounds_alike
from voice.domain_lm import CharLM, domain_texts
from voice.errors import VoiceError
from voice.factory import make_stt
from voice.lexicon import SpeechContext, echoes_hotwords, speech_context
from voice.pool import TranscriptionPool
from voice.stt import Transcript
from voice.turn import SmartTurn, names_only, sounds_unfinished, waits_for_more

if TYPE_CHECKING:
    from assistant.api.ws import Connection

log = logging.getLogger(__name__)

# elder mode: a request whose object is still to come ("我想缴纳……燃气费") is not over at a pause
_OBJECT_SLOTS = {"pay_bill": ("bill_type",), "translate": ("text",)}
Reading = Literal["complete", "unfinished", "unsure"]  # how the words of a pause read (VoiceGateway.reading)


def elder_reading(text: str, intent: str, slots: dict) -> Reading:
    """(blocking: jieba) How an elder pause's words read once the router has read them as ``intent`` with
    ``slots`` and no answer is awaited: a dialogue act is "complete"; a request still missing its object
    (我想缴纳……燃气费) or words still waiting for more (:func:`voice.turn.waits_for_more`) are "unfinished";
    a whole transactional request is "complete"; anything else is "unsure" (the end-of-turn model decides).
    ``evals.turn_words`` measures it on typed lines."""
    if intent in DIALOGUE_ACTS:
        return "complete"
    if intent in _OBJECT_SLOTS and not any(slots.get(k) for k in _OBJECT_SLOTS[intent]):
        return "unfinished"
    if waits_for_more(text):
        return "unfinished"
    return "complete" if intent in TRANSACTIONAL else "unsure"


def heard_as_yes(plain: Transcript, biased: str) -> bool:
    """Whether a biased yes to a waiting payment is what the plain decode heard: its best reading is a yes
    or sounds like the biased one, or another reading of its beam that scored nearly as well is a yes
    (确认 Whisper ranked just under 切认) and none refuses, asks or hesitates. A filler or a hesitation the
    bias turned into 确认 has no yes in its plain beam (evals.voice_consent)."""
    readings = (plain.text, *plain.alternatives)
    best, *others = [consent(text, spoken=True) for text in readings]
    if best == "yes" or sounds_alike(plain.text, biased):
        return True
    # a beam that also reads a refusal, a question or a hesitation (确认吗 beside 确认), or a reading that
    # opens with the sound of 不 (a slow 不对 came out as 副对, 普对, 付对), is not sure
    if "no" in (best, *others) or any(doubts(text) or opens_like_a_refusal(text) for text in readings):
        return False
    return "yes" in others


def request_texts(settings: Settings) -> list[str]:
    """What the wording model of Mandarin requests learns: the router's Mandarin training lines (read as the
    router reads them: a held-out file is refused) and the lexicon's terms."""
    return domain_texts(ex.text for ex in load_training_sources(settings.router_training_files) if ex.lang == "zh")


class VoiceGateway:
    """One per process: the speech-to-text model, its bounded worker pool, and the open utterances."""

    def __init__(self, settings: Settings, assistant: Assistant, pool: TranscriptionPool,
                 turn: SmartTurn | None = None):
        self.settings = settings
        self.assistant = assistant
        self.pool = pool
        self.turn = turn  # the end-of-turn model; None: a fixed pause ends the turn
        self._live: dict[Connection, set[Utterance]] = {}  # utterances not yet finished or closed
        self.corrector = PinyinCorrector(homophones=settings.stt_homophones) if settings.stt_correct else None

    @classmethod
    def create(cls, settings: Settings, assistant: Assistant) -> VoiceGateway:
        stt = make_stt(settings)  # VoiceError "stt-unavailable" names the setting
        stt.load()  # load weights at start-up, not in the first speaker's turn
        if settings.stt_lm_weight > 0:  # how people word requests to lui, to choose among Whisper's hypotheses
            try:
                stt.lm, stt.lm_weight = CharLM(request_texts(settings)), settings.stt_lm_weight
            except ConfigError as exc:  # an aid to recognition, not a reason to go without voice
                log.warning("no domain language model for speech (%s): Whisper's own first hypothesis is used", exc)
        gateway = cls(settings, assistant, TranscriptionPool(stt, workers=settings.stt_workers,
                                                          max_queue=settings.stt_max_queue),
                      turn=load_turn_detector(settings))
        if gateway.corrector is not None:
            gateway.corrector.correct("预热一下")  # lexicon pinyin and jieba's dictionary, at start-up
        names_only("预热一下")  # jieba's part-of-speech tables, at start-up
        return gateway

    async def reading(self, session, text: str) -> Reading:
        """How the transcript of a pause reads: "unfinished" when it stops on a dangling word (帮我交……);
        in elder mode also when the router reads a request still missing its object (我想缴纳……燃气费),
        the words only name a topic (电费……交一下) or a coverb waits for its verb (给189……). "complete"
        when an answer is expected (which bill? which account? pay now?), it is a dialogue act (谢谢, 取消)
        or the router reads a whole request (an intent with its object); else "unsure" (the model decides).
        Outside elder mode whatever does not dangle is "complete"."""
        if sounds_unfinished(text):
            return "unfinished"
        if session is None or not session.elder:
            return "complete"
        state = session.state
        if state.awaiting_slot or state.choices or state.confirmation is not None:
            return "complete"
        try:
            u = await self.assistant.pools.run("router", self.assistant.router.understand, text, state.context())
        except Exception:  # no reading to be had: the end-of-turn model decides
            log.warning("router unavailable for the end of an elder turn", exc_info=True)
            return "unsure"
        return await asyncio.to_thread(elder_reading, text, u.intent, u.slots)

    async def context(self, session, lang: str | None) -> SpeechContext:
        """What this session's next utterance is likely to hold: the dialogue state (a payment
        waiting, an account question) and the user's account labels (浦东新房子, 静安老房子)."""
        try:
            bills = await self.assistant.pools.run("db", self.assistant.billing.bills, session.user_id)
            labels = [b.account_label for b in bills]
        except Exception:  # the ledger is unreachable: recognise without the account names
            log.warning("account labels unavailable for speech context", exc_info=True)
            labels = []
        state = session.state
        return speech_context(lang or state.lang, awaiting_confirmation=state.confirmation is not None,
                              awaiting_slot=state.awaiting_slot, choices=state.choices, account_labels=labels)

    async def transcribe(self, session, audio, lang: str | None) -> Transcript:
        """The final transcript of an utterance: biased by the dialogue state, corrected to the domain
        lexicon (Mandarin), each correction logged."""
        s = self.settings
        context = await self.context(session, lang) if session is not None and (
            s.stt_context_bias or s.stt_correct) else SpeechContext(lang)
        # a request is read with the domain's language model; an answer to "pay this?" never is (it could
        # only make an unclear answer read more like the requests it learnt)
        request = context.awaiting != "confirmation"
        if s.stt_context_bias and (context.prompt or context.hotwords):
            transcript = await self.pool.transcribe(audio, lang=lang, prompt=context.prompt,
                                                    hotwords=context.hotword_text(), domain_lm=request)
            if echoes_hotwords(transcript.text, context.hotwords):
                log.info("the biased transcript %r only repeats the hotwords: decoding without them", transcript.text)
                transcript = await self.pool.transcribe(audio, lang=lang, domain_lm=request)
            elif context.awaiting == "confirmation" and consent(transcript.text, spoken=True) == "yes":
                # A prompt that expects 确认 can make Whisper write 确认 for a mumbled 取消: a yes
                # heard with the bias must also be what the plain decode heard, or it is not a yes.
                plain = await self.pool.transcribe(audio, lang=lang, alternatives_within=s.stt_consent_beam_margin)
                if not heard_as_yes(plain, transcript.text):
                    log.info("a biased yes (%r) is not what was heard without bias (%r): asking again",
                             transcript.text, plain.text)
                    transcript = plain
        else:
            transcript = await self.pool.transcribe(audio, lang=lang, domain_lm=request)
        if self.corrector is None or transcript.lang != "zh" or not transcript.text:
            return transcript
        text, fixes = await asyncio.to_thread(self.corrector.correct, transcript.text, context)
        if not fixes:
            return transcript
        log.info("transcript corrected: %s", ", ".join(f"{f.heard}->{f.term}" for f in fixes))
        return Transcript(text, transcript.lang, transcript.duration_ms, transcript.no_speech)

    def start(self, conn: Connection, message: AudioStart) -> Utterance:
        utterance = Utterance(self, conn, message)
        self._live.setdefault(conn, set()).add(utterance)
        return utterance

    def disconnected(self, conn: Connection) -> None:
        """The client left: drop its audio work now (decoding, queued and running transcriptions)."""
        for utterance in self._live.pop(conn, set()):
            utterance.close()

    @property
    def open_utterances(self) -> int:
        return sum(len(live) for live in self._live.values())

    def _forget(self, utterance: Utterance) -> None:
        live = self._live.get(utterance.conn)
        if live is not None:
            live.discard(utterance)
            if not live:
                del self._live[utterance.conn]


def load_turn_detector(settings: Settings) -> SmartTurn | None:
    """The end-of-turn model, or None (a fixed pause ends turns) when it is off or not set up."""
    if settings.turn_detector != "smart-turn":
        return None
    try:
        return SmartTurn.from_settings(settings)
    except VoiceError as exc:
        log.warning("end-of-turn model unavailable, turns end on a %d ms pause: %s",
                    settings.stt_endpoint_silence_ms, exc.message)
        return None
