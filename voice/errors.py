"""The voice package's errors: one class, a stable ``code`` per failure.

The API layer turns a :class:`VoiceError` into an ``error`` event with ``code``, ``message`` and
``retryable``. "Nobody spoke" is normally a return value (``Transcript.no_speech``); the
``no-speech`` code exists for the layer that decides to report it as an error.
"""

from __future__ import annotations

from common.errors import CodedError

# code -> (default message, retryable)
VOICE_ERROR_CODES: dict[str, tuple[str, bool]] = {
    "audio-undecodable": ("The audio could not be decoded.", False),
    "no-speech": ("No speech was heard in the audio.", False),
    "audio-too-long": ("The audio is longer than allowed.", False),
    "audio-too-large": ("The audio is larger than allowed.", False),
    # audio.start, then no frame (or no audio.end) for too long: the utterance is dropped
    "audio-timeout": ("The audio stopped arriving; the utterance was dropped.", False),
    "audio-cpu-limit": ("Decoding the audio cost more CPU time than allowed.", False),
    "stt-unavailable": ("Speech-to-text is not available.", False),
    "stt-cancelled": ("The transcription was cancelled.", False),
    # the transcription queue is full: trying again a moment later can succeed
    "stt-busy": ("Speech-to-text is busy; try again shortly.", True),
    # the model failed on this input for an unexpected reason
    "stt-failed": ("Speech-to-text failed.", True),
    # text-to-speech (voice.kokoro): the model files are missing, or synthesis failed on this text
    "tts-unavailable": ("Text-to-speech is not available.", False),
    "tts-failed": ("Text-to-speech failed.", True),
    # the end-of-turn model (voice.turn, smart-turn) is not set up
    "turn-unavailable": ("The end-of-turn model is not available.", False),
}


class VoiceError(CodedError):
    """A voice failure. ``VoiceError("audio-undecodable")`` or with a specific message.

    ``retryable`` defaults per code (only ``stt-busy`` and ``stt-failed`` are retryable).
    """

    code = "voice"

    def __init__(self, code: str, message: str | None = None, *, retryable: bool | None = None):
        if code not in VOICE_ERROR_CODES:
            raise ValueError(f"unknown voice error code {code!r}; known: {sorted(VOICE_ERROR_CODES)}")
        default_message, default_retryable = VOICE_ERROR_CODES[code]
        super().__init__(
            message or default_message,
            code=code,
            retryable=default_retryable if retryable is None else retryable,
        )
