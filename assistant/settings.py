"""One Settings object, built once at start-up (``Settings()``) and passed down.

Every field reads from an ``LUI_``-prefixed environment variable (or ``.env``). Library code never
reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "dev-insecure-secret-change-me"
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUI_", env_file=".env", extra="ignore")

    # where embedded state lives: SQLite file, Qdrant local folder, caches
    data_dir: Path = Path(".lui")
    database_url: str | None = None  # default: sqlite file in data_dir
    qdrant_url: str | None = None  # default: Qdrant local mode in data_dir/qdrant
    qdrant_api_key: str | None = None

    # understanding
    embedder: str = "use"  # "use" (packaged multilingual USE v3) or "st:<model name or path>"
    # 1 thread: one utterance is ~1 ms on one core; 2 threads spin against whisper/uvicorn and
    # measured 20x slower at p95 on a busy 2-core machine (see README, benchmarks)
    embedder_threads: int = 1
    # the router's training files, in order (evals/data/ANNOTATION.md): challenge sets 1 and 2 are retired
    # from measuring and trained on; adding a source (e.g. intent_train_asr.jsonl) is one line here
    router_train_paths: list[Path] = Field(default_factory=lambda: [
        REPO_ROOT / "evals" / "data" / "intent_train.jsonl",
        REPO_ROOT / "evals" / "data" / "intent_challenge.jsonl",
        REPO_ROOT / "evals" / "data" / "intent_challenge2.jsonl",
    ])
    router_train_path: Path | None = None  # one file instead of router_train_paths (evals.intent --train)
    # the router's second stage (assistant/nlu/router.py): this embedder (multilingual e5) decides the turns the
    # first stage is unsure of ("e5:8": its first 8 of 12 layers, 2/3 of the cost, same accuracy on the training
    # side's held-out sources, README); "" = the first stage alone
    router_second_embedder: str = "e5:8"
    # its onnxruntime threads (knowledge/embedders/e5.py); 1 unless the server has cores to spare: with the old
    # engine's 2 threads a turn e5 read took 1.5-3x longer in the app's process on a busy machine (README, router)
    router_second_threads: int = 1
    router_min_confidence: float = 0.55  # between the OOS threshold and this, ask to clarify
    router_cache: bool = True  # cache the trained router in cache_dir
    cache_path: Path | None = None  # default: data_dir/cache (LUI_CACHE_PATH)

    # LLM tier (litellm); none set = router only
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 20.0
    llm_fallbacks: list[str] = Field(default_factory=list)
    llm_deadline_s: float = 30.0  # hard total per provider call, retries and fallbacks included
    llm_max_tool_calls: int = 4  # per planner answer; further calls are dropped
    llm_max_reply_chars: int = 2000  # a longer answer is cut (streaming stops there)
    # the cascade (assistant/llm/cascade.py): escalate under this router confidence, or above these
    # lengths; calibrated on out-of-fold predictions of the training set (python -m evals.calibrate:
    # 1219 utterances, 5 folds, LLM assumed right 90% of the time, a call worth 0.1 of a right answer →
    # 21.7% escalated, expected 0.949 against 0.875 for the router alone)
    llm_escalate_below: float = 0.7
    llm_long_chars_zh: int = 80
    llm_long_chars_en: int = 90

    # bounded thread pools for blocking work (assistant/pools.py); /healthz says which is saturated
    # router: its turns wait on the one embedder, which embeds the waiting ones together (SerialEmbedder.combine);
    # 8 threads let up to 8 turns share a run (2 threads: 5.1 ms server CPU a turn under load, 8: 4.0)
    pool_router_threads: int = 8
    pool_embed_threads: int = 1
    pool_db_threads: int = 4
    # the same on PostgreSQL, where a query mostly waits on the network (SQLite has one writer anyway);
    # the engine keeps as many connections (plus a few), so none is opened per query
    pool_db_threads_postgres: int = 16
    store_max_reply_chars: int = 4000  # per stored turn
    store_max_tool_calls: int = 20  # tool calls kept in one stored turn
    # the turn log is written behind the turns, in batches, by one thread (assistant/store/turn_writer.py):
    # a row waits at most this long (a kill -9 loses at most this much of the log, never a state or a
    # payment); changed dialogue states are committed before the reply, many turns to one commit.
    # 0 = each turn's log row and state in its own transaction, before the reply (as before)
    turn_log_flush_ms: float = 100.0
    turn_log_max_pending: int = 5000  # rows queued at most; past it a turn writes its row itself

    # several workers: limits, live sessions and session ownership in Redis (none = this process's memory)
    redis_url: str | None = None
    session_lock_ttl_s: float = 30.0  # a session's owner lock lapses this long after its worker died
    session_lock_wait_s: float = 30.0  # a turn waits this long for another worker's turn of its session
    live_session_ttl_s: float = 60.0  # a dead worker's live-session slots lapse after this
    redis_max_connections: int = 64  # per worker; past this, Redis commands wait for a free connection
    redis_pool_wait_s: float = 5.0  # ... this long at most (then the fail-open paths apply)
    workers: int = 1  # lui serve --workers: processes behind one port

    log_format: Literal["text", "json"] = "text"  # json: one object a line with session and turn ids

    # serving and security
    host: str = "127.0.0.1"
    port: int = 8000
    auth: Literal["on", "off"] = "off"
    secret_key: str = PLACEHOLDER_SECRET
    token_ttl_s: int = 7 * 24 * 3600
    seed_demo: bool = True  # create demo users and bills on an empty database
    confirm_ttl_s: int = 300
    reminder_days: int = 7  # bills due within this many days are offered (session start, after a payment)
    max_message_bytes: int = 64 * 1024
    max_text_chars: int = 1000
    max_audio_bytes: int = 4 * 1024 * 1024
    max_audio_seconds: float = 30.0
    max_messages_per_s: float = 20.0  # per connection (burst twice that)
    # binary audio frames per connection: a whole recorded clip may arrive at once (the burst); past
    # it the connection is read no faster than this (backpressure: a flood waits on TCP, costs no CPU)
    max_audio_frames_per_s: float = 100.0
    max_audio_frames_burst: int = 2000
    user_turns_per_minute: int = 60  # per user, across connections of this process
    max_sessions_per_user: int = 5  # live connections per user
    session_starts_per_minute: int = 30  # per user: each new session is a conversation row and an audit row
    max_unauth_message_bytes: int = 8 * 1024  # frames before session.start succeeds; larger ones close (1009)
    session_start_timeout_s: float = 10.0  # a connection without a session by then is closed (4408)
    max_connections_per_ip: int = 100  # live websockets per client address (1013 beyond)
    max_connections: int = 1000  # live websockets in this process (1013 beyond)
    http_header_timeout_s: float = 10.0  # request line + headers, and a REST body, must arrive within this
    http_keep_alive_s: int = 5  # an idle keep-alive HTTP connection is closed after this
    finish_turn_on_disconnect_s: float = 30.0  # turns sent before the client left still complete
    allowed_origins: list[str] = Field(default_factory=lambda: [
        "http://127.0.0.1:*", "http://localhost:*", "https://127.0.0.1:*", "https://localhost:*"])

    # voice
    whisper_model: str = "base"  # "base" (packaged multilingual), "tiny.en" (packaged) or a path
    # speech-to-text backend (voice/factory.py make_stt): "whisper" (faster-whisper on whisper_model) or
    # "whisper:<model name or folder>"; a bigger model on a GPU worker plugs in here
    stt: str = "whisper"
    stt_device: str = "cpu"  # faster-whisper device: "cpu" or "cuda"
    stt_beam_size: int = 5  # 5 measured ~1 point CER better than greedy at no measurable cost (a 30 s window either way)
    # Whisper's encoder window in seconds (voice/whisper_window.py): max(this, the speech + 1 s), at most 30;
    # 30 = the full window faster-whisper always encodes. 15 measured within 0.3 points CER of 30 on the training
    # clips (10: +1.5, 6: +4.9, README "Mandarin voice") for a fraction of the encoder's time
    stt_window_s: float = 15.0
    stt_context_bias: bool = True  # hotwords and prompt follow the dialogue state (voice/lexicon.py)
    # the corrector's everyday-homophone step (voice/homophone.py, jieba word counts): off, since on held-out
    # training clips it moved CER 19.58% -> 19.50% (noise) for ~63 MB and ~2.6 s at start and rewrote 爱奇艺/花呗
    stt_homophones: bool = False
    stt_correct: bool = True  # pinyin-level correction of Mandarin transcripts to the domain lexicon (voice/correct.py)
    # Whisper's beam re-ranked by a character 4-gram model of the router's Mandarin training lines (voice/nbest.py):
    # its log probability per character times this, added to Whisper's per token; 0 = Whisper's first. Chosen on
    # half of 300 training clips (0.05-0.5), checked on the other half: CER 26.2% -> 20.9% there (README)
    stt_lm_weight: float = 0.3
    # a biased yes to a waiting payment is checked by a plain decode (assistant/api/audio.py): it holds when the
    # plain decode's best is a yes, or (this) another hypothesis of its beam within this of the best score (log
    # probability per token) is. Chosen on the training consent clips (evals.voice_consent); 0 = its best only
    stt_consent_beam_margin: float = 0.35
    whisper_compute_type: str = "int8"
    whisper_threads: int = 2
    stt_workers: int = 1
    stt_max_queue: int = 16  # utterances waiting beyond this get a retryable "stt-busy"
    stt_partial_every_s: float = 1.0  # partial transcripts while the person speaks (only while the pool is idle; 0 = none)
    # elder sessions: timed partials while the person speaks; 0 = none (the words of each pause are still sent
    # as a partial). A timed partial still running when the person stops holds the one Whisper worker, and the
    # pause's own transcription waited behind it: 0.5-1.6 s later on 11 of 12 training clips (evals.bench_turn)
    stt_elder_partial_every_s: float = 0.0
    stt_endpoint_silence_ms: int = 1500  # a pause this long ends an utterance; 0 = wait for audio.end
    # an open utterance ends with "audio-timeout" (its buffer freed) after this long without a binary
    # frame, or this long after audio.start without audio.end; 0 = never
    audio_idle_timeout_s: float = 10.0
    audio_max_open_s: float = 60.0
    max_audio_cpu_s: float = 5.0  # CPU to decode and end-point one utterance (~0.1 s per 30 s); 0 = no cap
    # Kokoro text-to-speech files (model, vocab, voices), assembled by scripts/setup.sh (voice/kokoro_assets.py)
    kokoro_dir: Path = REPO_ROOT / ".cache" / "kokoro"
    # spoken replies (session.start speech=true): "kokoro", "espeak" (robotic, tiny) or "off"
    tts: Literal["kokoro", "espeak", "off"] = "kokoro"
    tts_voice_zh: str = "zf_xiaobei"
    tts_voice_en: str = "af_heart"
    tts_speed: float = 1.0
    tts_elder_speed: float = 0.85  # elder mode speaks slower
    tts_workers: int = 1  # the synthesis pool: replies of all sessions queue here
    tts_threads: int = 2  # onnxruntime threads per synthesis
    # Kokoro decodes only the frames with sound (voice/kokoro_graph.py), not the ~0.5 s before and ~1 s after
    # every piece that are cut off anyway: a piece's synthesis 0.71x the time (12 replies, 2 voices); false = whole
    tts_trim_silence: bool = True
    tts_max_chars: int = 600  # a longer reply is spoken up to here (the text is sent whole)
    # syllables in the first spoken piece (its synthesis is the wait for the first audio; voice/tts.py); 0 = whole sentence
    tts_first_piece_units: int = 6
    # synthesised audio of reply openings (好的，/您还有……, each a first piece of its own) and short
    # pieces, kept for reuse (key: text, voice, speed); entries at most, 0 = no cache
    tts_cache_entries: int = 128
    # seconds at most spent synthesising the Mandarin openings (elder speed) into the cache, in a background
    # thread at low OS priority (nice +10, its own one-thread Kokoro) once the server answers: the first turn
    # comes as soon as without it (5.7-6.0 s after `lui serve` vs 6.6; it used to block start-up: 16.6 s), and
    # all 35 openings are cached ~20 s later (a turn at 25 s: first audio 15-22 ms vs 927); 0 = no warm-up
    tts_warmup_s: float = 60.0
    # end of turn: after turn_check_ms of silence the smart-turn model (set up by scripts/setup.sh in
    # smart_turn_dir) says whether the request is complete; "silence" = only the fixed pause above
    turn_detector: Literal["smart-turn", "silence"] = "smart-turn"
    turn_check_ms: int = 250
    # elder mode asks the model only after this long a pause (the transcript is still made at
    # turn_check_ms), and a "complete" also needs the words to read as a whole request (not 帮我交……, not a
    # pay request without its bill, not a bare topic like 电费……; assistant/api/audio.py): then the turn
    # ends; otherwise it waits for the elder fixed pause below. Was 2000 (every elder turn waited 2 s),
    # then 700. 350 with a words threshold of 0.1 (below) cut 8 of 12 dev pause clips once Whisper's 15 s window
    # made the pause's transcript arrive during the pause; on train clips 350/0.1, 350/0.5 and 700/0.5 all cut
    # 2 of 12 at the same latency (p50 reply 0.82-0.93 s from the last sound), so the cautious pair is kept
    turn_elder_check_ms: int = 700
    # elder mode: the model's probability at that pause that ends a turn whose words read as a whole
    # request (the router reads an intent with its object: 我想交物业管理费); words in between need
    # turn_threshold; words that read unfinished (我想交……, 给189……, 电费……) never end it there
    turn_elder_words_threshold: float = 0.5
    # elder mode: a pause whose words read unfinished is listened through up to this long (mid-sentence
    # pauses of 0.6-1.2 s measured up to ~2.5 s of silence with Kokoro's padding, in bench clips before stop 22)
    turn_elder_unfinished_silence_ms: int = 4000
    # elder mode: words that are neither a whole request nor unfinished, and ask nothing (老捏人乘车, a
    # misheard first half), end the turn at this pause when the model says "complete", not at its word:
    # on training clips the model said 0.99 for 老年人乘车卡…… heard as 老捏人乘车 and cut it off
    turn_elder_unsure_silence_ms: int = 1500
    turn_threshold: float = 0.5  # the model's probability of "complete" that ends the turn
    turn_recheck_ms: int = 0  # ask again after this much more of the same pause; 0 = once per pause
    turn_threads: int = 1
    # elder mode: the longest pause that "not finished yet" keeps listening through (mid-sentence pauses
    # of 0.6-1.2 s measured up to ~1.6 s of silence with Kokoro's padding, before stop 22 trimmed it); was 3000
    stt_endpoint_elder_silence_ms: int = 2500
    # the smart-turn model, taken out of the pipecat-ai wheel by scripts/setup.sh (voice/turn.py)
    smart_turn_dir: Path = REPO_ROOT / ".cache" / "smart-turn"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "lui.db"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def cache_dir(self) -> Path:
        return self.cache_path or self.data_dir / "cache"

    @property
    def router_training_files(self) -> list[Path]:
        """What the router learns from: ``router_train_path`` alone when set, else ``router_train_paths``."""
        return [self.router_train_path] if self.router_train_path else list(self.router_train_paths)
