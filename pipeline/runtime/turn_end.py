"""The semantic end of turn: has the user finished, given the words so far?

As LiveKit's turn detector does it, with what ships here: the local LLM's probability that the
user's turn ends right after their words, read from its next-token distribution in chat format
(the end-of-turn token `<|im_end|>`, plus sentence-final punctuation, after the user's text; the
adapter is `pipeline/llm/llama.py`, `LlamaTurnEndScorer`). "set a timer for" scores near zero,
"set a timer for ten minutes" far higher.

At each pause the front end starts a speculative turn; its transcript (the `TranscriptReady` event
of that turn, so the words are transcribed once) reaches `PauseJudge`, which asks `TurnEnd` for
P(end) and gives the endpointer the pause's silence window: short above `p_done`, long below
`p_hold`, the profile's window in between. Until the verdict arrives the pause keeps the profile's
own window (the bound, in `Endpointer.expect_verdict`): a verdict that comes in time may hold a
mid-thought pause up to the long window, one that comes later (a CPU under load) finds the turn
ended as it would have without the judge, and is dropped. With streaming partial
transcripts (pipeline/runtime/partials.py) the words come earlier: the partial decoded just after
the last word is scored as soon as it exists (`prescore`, a `PartialTranscript` event), and the
pause is judged on it (`expect(..., early)`), not on the turn's transcript, which comes after the
pause is noticed and after speaker ID. The partials decoded while the user still speaks are scored
too (`[partials] score_mid_speech`): the pause's words are often theirs, or begin with them, so the
pause's own score is then a cache hit or a few tokens. Recordings fed faster than real time start
no speculative turn and keep the fixed window, as does everything with the feature off (config
`[endpointing] semantic = false`; unset, the device profile's default: `semantic_turn_end`).

P(end) is read from the words alone (lower-cased, no punctuation), but one mark of Whisper's may
set the hold: with `question_hold_ms` below `hold_ms`, words the ASR closed with "?" are held open
up to it. A whole question Whisper misheard ("what's the weather" as "So whether?") scores as
mid-thought, and the 1.5 s hold made it the slowest kind of turn; a real cut-off question ("Who
won?", "How old?": Whisper closes those with "?" as well, so the mark cannot end a turn early) is
still held past a 0.8 s pause with a 1 s question hold. Off by default: on bench/turn_end.py's DEV
audio a 1 s hold cut more question starts paused 1.2 s than the misheard whole questions it sped
up (README, "Semantic end of turn").
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from models.errors import ModelLoadError
from pipeline.events import Event, EventQueue, PartialTranscript, TranscriptReady
from pipeline.runtime.endpointing import Endpointer

if TYPE_CHECKING:
    from pipeline.config import EndpointingConfig
    from pipeline.runtime.hands_free import HandsFreeLog
    from pipeline.runtime.session import Twin
    from voice.capabilities import Transcript


class TurnEnd(Protocol):
    def p_end(self, text: str) -> float:
        """P(the user's turn has ended | the words so far), in [0, 1]."""
        ...


class EndScorer(Protocol):
    """What a language model adapter gives: log P(the turn ends here | prompt)."""

    def end_logprob(self, prompt: str) -> float: ...


# The chat text up to the user's last word: the system line is fixed, so it stays in the scorer's
# cache and only the user's words are evaluated. Tuned on bench/turn_end_cases.py's DEV list.
PROMPT = (
    "<|im_start|>system\nYou are a voice assistant. The user's words are transcribed speech.<|im_end|>\n"
    "<|im_start|>user\n{text}"
)


def normalize(text: str) -> str:
    """Lower-case words without punctuation (ASR punctuation says little about a cut-off phrase:
    Whisper often closes one with a full stop). Apostrophes stay ("what's")."""
    text = text.replace("\u2019", "'").lower()
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


# A trailing filler is someone still thinking ("set a timer for... um"): the turn is held open.
FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "hm", "mm"})
# Words a finished request does not end on ("set a timer for 5 minutes and", "remind me at 5 to"):
# words that settle a tool's call but end on one of these are left to the model's score.
_GOES_ON = """and or but then so to for with at in on of from by about into until the a an my your our their
this these those some is are was be"""
OPEN_ENDS = FILLERS | frozenset(_GOES_ON.split())


def settled_end(text: str, settles: Callable[[str], str]) -> str:
    """Whether `text` is a finished request by its words alone: they settle one tool call with no
    model to ask and do not end on a word that goes on (`OPEN_ENDS`). What `settles` says of them
    (`ToolDesk.settles`): "read" (a read: "what time is it"), "act" (an act more words may change:
    "set a timer for 5 minutes"), "closed" (an act they would not: "pause the timer"), or ""
    (not settled)."""
    words = normalize(text).split()
    return settles(text) if words and words[-1] not in OPEN_ENDS else ""


class LmTurnEnd:
    """`TurnEnd` from a language model's end-of-turn probability."""

    def __init__(self, scorer: EndScorer, prompt: str = PROMPT) -> None:
        self.scorer = scorer
        self.prompt = prompt

    def p_end(self, text: str) -> float:
        words = normalize(text)
        if not words or words.rsplit(" ", 1)[-1] in FILLERS:
            return 0.0  # nothing heard yet, or a trailing "um": not a finished turn
        return math.exp(self.scorer.end_logprob(self.prompt.format(text=words)))


def lm_turn_end(llm: object) -> LmTurnEnd | None:
    """The turn-end model on a loaded local LLM, or None when it cannot give end-of-turn scores
    (a model without the adapter's scorer)."""
    make = getattr(llm, "end_scorer", None)
    return LmTurnEnd(make()) if callable(make) else None


def asr_question(text: str) -> bool:
    """Whether the ASR closed the words with a question mark ("So whether?"), not with "...", "-"
    or nothing (how Whisper writes words it heard cut off)."""
    return text.rstrip().rstrip("\"'\u201d\u00bb)").endswith("?")


@dataclass(frozen=True)
class Windows:
    """P(end) (and the ASR's final mark) -> the silence that ends the pause."""

    default_ms: int  # the profile's window, for the uncertain middle
    done_ms: int = 250
    hold_ms: int = 1500
    p_done: float = 0.0012
    p_hold: float = 0.0012
    question_hold_ms: int | None = None  # the hold of words the ASR closed with "?"; None: `hold_ms`
    settled_ms: int | None = None  # the window of words that settle a read or a closed act; None: `done_ms`

    @classmethod
    def from_config(cls, cfg: EndpointingConfig, default_ms: int) -> Windows:
        hold = max(cfg.hold_ms, default_ms)
        question = min(hold, max(cfg.question_hold_ms, default_ms))
        return cls(default_ms, cfg.done_ms, hold, cfg.p_done, cfg.p_hold, question, cfg.settled_ms)

    def window_ms(self, p_end: float, text: str = "", settled: str = "") -> int:
        """The pause's window from P(end) of the words `text`, as the ASR wrote them: a final "?"
        shortens a hold to `question_hold_ms`; words that settle a read or an act no usual
        continuation changes (`settled_end` "read" / "closed": "pause the timer") end after
        `settled_ms`. An act more words may still change keeps `done_ms` ("remind me ... at six" …
        "pm", "add eggs" … "to the hardware list": `PlainReading.goes_on`)."""
        if settled in ("read", "closed") and self.settled_ms is not None:
            return min(self.settled_ms, self.default_ms)
        if p_end >= self.p_done:
            return min(self.done_ms, self.default_ms)
        if p_end < self.p_hold:
            if self.question_hold_ms is not None and asr_question(text):
                return self.question_hold_ms
            return self.hold_ms
        return self.default_ms


class PauseJudge(EventQueue):
    """The front end's ear on its speculative turns: an observer of the session's turn events
    that takes the `TranscriptReady` of the turn started at the current pause, asks `TurnEnd` for
    P(end) on a worker, and gives the endpointer that pause's window. Other events are ignored."""

    def __init__(
        self,
        model: TurnEnd,
        endpointer: Endpointer,
        windows: Windows,
        pool: Executor,
        on_verdict: Callable[[dict], None] | None = None,
        score_mid_speech: bool = True,
        settles: Callable[[str], str] | None = None,
        settle_pool: Executor | None = None,
    ) -> None:
        super().__init__()
        # words that settle a tool's call (`settled_end`) are a finished turn without the model's
        # score; checked on `settle_pool` (the meaning worker: routing may embed the words)
        self.settles = settles
        self.settle_pool = settle_pool
        self.score_mid_speech = score_mid_speech  # score partials decoded mid-speech too (`put`)
        self.model = model
        self.ep = endpointer
        self.windows = windows
        self.pool = pool
        self.on_verdict = on_verdict  # each verdict, for the log (see `_judge`)
        self._task: asyncio.Task | None = None
        self._voiced = -1
        self._paused_at = 0.0  # stream time of the pause being judged
        self._judging: asyncio.Task[None] | None = None
        self._early = -1  # the pause (its voiced frames) whose partial's words are awaited
        self._scores: dict[str, asyncio.Future[float]] = {}  # P(end) by wording (`prescore`)
        # of those wordings, the ones that settle a call: "read" / "act" / "closed"
        self._settled: dict[str, str] = {}
        self._twin: Twin | None = None

    def expect(
        self, task: asyncio.Task, voiced: int, early: Awaitable[Transcript | None] | None = None
    ) -> None:
        """The turn `task` started at the pause after `voiced` speech frames: its words will be
        judged. Meanwhile the pause keeps the profile's window (a late verdict changes nothing). If
        the turn ends without words (nothing heard, not addressed), the pause gets that window.
        With `early` (the pause's partial transcript, pipeline/runtime/partials.py), those words are
        judged as soon as they are known, not the turn's `TranscriptReady`; a partial that failed
        leaves the judging to the turn's words as before."""
        self._task, self._voiced, self._paused_at = task, voiced, self.ep.position
        self._early = -1
        if self.ep.expect_verdict(voiced):
            task.add_done_callback(lambda t: self._ended_unheard(t, voiced))
            if early is not None:
                self._early = voiced
                loop = asyncio.get_running_loop()
                self._judging = loop.create_task(self._judge_partial(early, voiced, self._paused_at))

    async def _judge_partial(
        self, early: Awaitable[Transcript | None], voiced: int, paused_at: float
    ) -> None:
        tr = None
        with contextlib.suppress(Exception):
            tr = await asyncio.shield(early)
        if self._early != voiced:
            return  # another pause is being judged now
        self._early = -1
        if tr is None:
            return  # no words from the partial: the turn's transcript is judged (`put`)
        if self._task is not None and self._voiced == voiced:
            self._task = None  # this pause is judged on the partial's words
        if not tr.text.strip():
            self.ep.verdict(voiced, None)
            return
        await self._judge(tr.text, voiced, paused_at, "partial")

    def _ended_unheard(self, task: asyncio.Task, voiced: int) -> None:
        if self._task is task:  # it ended before its words were heard: no verdict will come
            self._task = None
            self.ep.verdict(voiced, None)

    def put(self, event: Event) -> None:
        if isinstance(event, PartialTranscript):
            # a pause's words: this silence may be the pause, so its P(end) is wanted before it is
            # one. Words heard mid-speech: the pause's words are often the same, or begin with them
            # (the scorer's cache keeps their tokens), so its verdict costs little or nothing then.
            if event.text.strip() and (event.at_pause or self.score_mid_speech):
                self.prescore(event.text)
            return
        if not isinstance(event, TranscriptReady) or self._task is None:
            return
        if event.turn_id != getattr(self._task, "turn_id", None):
            return
        if self._early == self._voiced:
            return  # the pause's partial is being decoded: its words are judged (`_judge_partial`)
        voiced, text, paused_at = self._voiced, event.text, self._paused_at
        self._task = None
        if not text.strip():
            self.ep.verdict(voiced, None)
            return
        self._judging = asyncio.get_running_loop().create_task(self._judge(text, voiced, paused_at))

    def prescore(self, text: str) -> asyncio.Future[float]:
        """P(end) of `text`, started now on the model's thread (once per wording: a later `_judge`
        of the same words awaits this score). A partial decoded after the last word of what may
        become a pause is scored before the pause is noticed, and before the speculative turn
        starts speaker ID, recall and the reply beside it on the same cores."""
        key = normalize(text)
        score = self._scores.get(key)
        if score is None:
            if self.settles is None:
                score = asyncio.get_running_loop().run_in_executor(self.pool, self.model.p_end, text)
            else:
                score = asyncio.ensure_future(self._p_end(text))
            self._scores[key] = score
            while len(self._scores) > 8:  # the latest few wordings only
                self._settled.pop(oldest := next(iter(self._scores)), None)
                self._scores.pop(oldest)
        return score

    async def _p_end(self, text: str) -> float:
        """P(end) of `text`: 1 when its words settle a tool's call (`settled_end`: no model is
        asked, and the model's thread stays free), else the model's score."""
        loop = asyncio.get_running_loop()
        if kind := await loop.run_in_executor(self.settle_pool, settled_end, text, self.settles):
            self._settled[normalize(text)] = kind
            return 1.0
        return await loop.run_in_executor(self.pool, self.model.p_end, text)

    async def _judge(self, text: str, voiced: int, paused_at: float, words: str = "turn") -> None:
        t0 = time.monotonic()
        try:
            p = await asyncio.shield(self.prescore(text))
        except Exception:  # noqa: BLE001 - a failed verdict leaves the profile's window, never a stuck turn
            self.ep.verdict(voiced, None)
            return
        settled = self._settled.get(normalize(text), "")
        window = self.windows.window_ms(p, text, settled)
        # False: the user spoke on before it arrived, or the turn had ended (the profile's window
        # passed while it was being computed)
        applied = self.ep.verdict(voiced, window)
        if self.on_verdict is not None:
            self.on_verdict(
                {
                    "p_end": round(p, 4),
                    "window_ms": window,
                    "applied": applied,
                    "score_ms": round((time.monotonic() - t0) * 1000, 1),
                    # from the pause being noticed to its verdict, in stream time (ASR + P(end))
                    "after_s": round(self.ep.position - paused_at, 3),
                    "words": words,  # whose words were judged: the partial's, or the turn's transcript
                    "settled": settled,  # "read" / "act" / "closed": the words settle a call, no model asked
                }
            )

    @classmethod
    def attach(cls, twin: Twin, endpointer: Endpointer, log: HandsFreeLog | None = None) -> PauseJudge | None:
        """A judge for one live run of `twin` (config `[endpointing]`), listening to its turns'
        events; None when the feature is off or the model cannot score. `detach()` at the end."""
        cfg = twin.cfg.endpointing
        if not cfg.on_for(twin.profile) or twin.naive:
            return None
        try:
            model = lm_turn_end(twin.c.llm)
        except ModelLoadError as exc:
            if cfg.semantic:  # asked for by name: say why it cannot be had
                raise
            # on by the profile's default: a model that cannot score keeps the fixed window
            if log is not None:
                log.add("turn_end_off", endpointer.position, why=exc.message)
            return None
        if model is None:
            return None
        windows = Windows.from_config(cfg, twin.profile.endpoint_silence_ms)

        def note(verdict: dict) -> None:
            if log is not None:
                log.add("turn_end", endpointer.position, **verdict)

        # Scored on the model's own thread (pipeline/llm/model_thread.py): queued at the transcript,
        # it runs before the speculative reply's prompt, not beside it on the same two cores.
        pools = twin.c.pools
        mid = twin.cfg.partials.score_mid_speech
        judge = cls(model, endpointer, windows, pools.llm, note, mid, twin.tools.settles, pools.meaning)
        # the scorer's context and its fixed prompt prefix, made before the first pause needs them
        twin.c.pools.llm.submit(model.p_end, "hello")
        judge._twin = twin
        twin.observers.append(judge)
        return judge

    def detach(self) -> None:
        twin = self._twin
        if twin is not None and self in twin.observers:
            twin.observers.remove(self)
