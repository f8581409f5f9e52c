"""Enrolment by voice: "this is my voice, I'm Anna" starts it, a few read sentences feed it, and the
registry's own checks decide it. Pure (no engine, no event loop): the engine drives it.

    req = parse_enrol_request(text)           # None: not an enrolment request
    if req.name is None: ask "What's your name?", then name = parse_name(answer)
    job = VoiceEnrolment(registry, name)      # may raise a SpeakerError (bad name, owner taken)
    say(job.first_prompt())
    for each utterance: nxt = job.add(clip, transcript)  # embeds (~50 ms): off the event loop
                        if nxt is None: break
                        say(nxt)
    say(job.finish())                         # writes the profile

Every SpeakerError raised here or by the registry has a `message` that can be spoken as it is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from voice.audio import AudioClip
from voice.speakers import (
    UNKNOWN,
    EnrolAlreadyKnownError,
    EnrolInconsistentError,
    EnrolNameTakenError,
    EnrolNeedsMoreSpeechError,
    EnrolNoSpeechError,
    EnrolNotSpeechError,
    EnrolSyntheticVoiceError,
    EnrolTooShortError,
    EnrolTwoVoicesError,
    SpeakerError,
    SpeakerNameError,
    SpeakerRegistry,
    SpeechEmbedding,
)
from voice.speakers.quality import EnrolQuality


@dataclass(frozen=True)
class EnrolRequest:
    name: str | None  # None: the request gave no usable name; ask for it


# -- recognising the request ----------------------------------------------------------------------

_S = r"[\s,.;:!?\u2013\u2014-]+"  # a separator: spaces and punctuation
_S0 = r"[\s,.;:!?\u2013\u2014-]*"
_AP = "['\u2019]"
_POLITE = (
    rf"(?:(?:hey|hi|ok|okay|so|now|twin){_S})*"
    rf"(?:(?:please|can you|could you|would you|will you|i want you to|i'd like you to){_S})?"
)
_VOICE = r"(?:my\s+voice|the\s+sound\s+of\s+my\s+voice|who\s+i\s+am)"
# Verb phrases that ask Twin to learn the speaker's voice. "me" only after verbs where it can only
# mean the voice ("enrol me", "register me"), not "remember me" or "save me".
_TRIGGER = (
    r"(?:"
    rf"(?:this|that|here)\s+is\s+my\s+voice|it{_AP}?s\s+my\s+voice"
    rf"|(?:(?:learn|get)\s+to\s+)?(?:learn|remember|save|store|recogni[sz]e|memori[sz]e|register|enrol+|add)"
    rf"\s+{_VOICE}"
    r"|get\s+to\s+know\s+my\s+voice|(?:enrol+|register|sign)\s+(?:me|my\s+voice)(?:\s+up)?"
    r")"
)
_NAMEWORD = (
    r"(?!(?:and|or|but|please|thanks|thank|this|that|here|it|twin)\b)"
    rf"[^\W\d_](?:[\w{_AP[1:-1]}-]*\w)?(?:{_AP}s)?"
)
_NAME = rf"(?P<name>{_NAMEWORD}(?:\s+{_NAMEWORD}){{0,2}})"
_INTRO = (
    rf"(?:i{_AP}?m|i\s+am|my\s+name{_AP}?s|my\s+name\s+is|(?:you\s+can\s+)?call\s+me"
    rf"|it{_AP}?s|this\s+is|the\s+name{_AP}?s|name{_AP}?s)\s+"
)
_TAIL = rf"(?:{_S}(?:please|thanks|thank\s+you|twin))*{_S0}"
_FORMS = [
    # "learn my voice, I'm Anna" / "this is my voice. My name is Anna" / "remember my voice" alone
    rf"^{_S0}{_POLITE}{_TRIGGER}(?:(?:{_S}|{_S0}\s*and\s+){_INTRO}{_NAME})?{_TAIL}$",
    # "enrol me as Anna" / "learn my voice as Anna"
    rf"^{_S0}{_POLITE}{_TRIGGER}\s+(?:as|for)\s+{_NAME}{_TAIL}$",
    # "I'm Anna, learn my voice" / "my name is Anna and this is my voice"
    rf"^{_S0}(?:(?:hey|hi|ok|okay|so|twin){_S})*{_INTRO}{_NAME}(?:{_S}|{_S0}\s*and\s+)(?:{_POLITE}){_TRIGGER}{_TAIL}$",
]
_PATTERNS = [re.compile(f, re.IGNORECASE) for f in _FORMS]

# Mandarin: 记住我的声音，我叫安娜 / 这是我的声音，我是安娜 / 我叫安娜，记住我的声音
_ZH_TRIGGER = r"(?:这是我的声音|(?:请)?(?:记住|记下|学习|认识|录入|登记)(?:一下)?我的声音)"
_ZH_NAME = r"(?:我叫|我是|我的名字是|我的名字叫)(?P<name>[\u4e00-\u9fff·]{1,6}?)"
_ZH_P = r"[\s，。,.!！、]*"
_ZH_FORMS = [
    rf"^{_ZH_P}{_ZH_TRIGGER}(?:{_ZH_P}{_ZH_NAME})?{_ZH_P}(?:吧|好吗)?{_ZH_P}$",
    rf"^{_ZH_P}{_ZH_NAME}{_ZH_P}{_ZH_TRIGGER}{_ZH_P}(?:吧|好吗)?{_ZH_P}$",
]
_ZH_PATTERNS = [re.compile(f) for f in _ZH_FORMS]

# Words that follow "I'm" without being a name ("I'm back", "I'm his brother").
_NOT_NAMES = frozenset(
    """
    a an the not no yes here back home so very just really still also only going gonna trying
    sorry tired fine good great ok okay well sure ready done sick busy new his her their your my our
    its this that there what who me you him them it and or but with from in on at to for of
    brother sister mother father mom mum dad son daughter wife husband friend boss partner
    grandma grandpa granny uncle aunt cousin neighbour neighbor child kid baby boy girl man woman
    guest owner user driver passenger twin unknown speaking talking calling please thanks
    cancel stop never nevermind nothing nobody none forget why sorry pardon what whatever
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def _clean_name(raw: str, text: str) -> str | None:
    """A usable name from the words the pattern took, or None ("Anna's brother", "tired")."""
    words = raw.split()
    if not words or len(words) > 3:
        return None
    cased = any(c.isupper() for c in text) and not text.isupper()
    out = []
    for w in words:
        if re.search(f"{_AP}s$", w, re.IGNORECASE):
            return None  # a possessive: "Anna's brother" names someone else
        if w.lower() in _NOT_NAMES:
            return None
        if cased and w[0].islower() and w.lower() not in ("de", "van", "von", "da", "di", "le", "la"):
            return None  # in cased text a name is capitalised: "I'm tired", "I'm going"
        out.append(w)
    if all(w[0].islower() for w in out):  # ASR without casing
        out = [w[0].upper() + w[1:] for w in out]
    name = " ".join(out)
    return None if name.lower() == UNKNOWN else name


def parse_enrol_request(text: str) -> EnrolRequest | None:
    """A request to learn the speaker's voice, with the name they gave (None when they gave none
    or it was not usable), or None when the text is something else ("this is my voice recorder",
    "I'm Anna's brother", "do you remember my voice?")."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text or len(text) > 200:
        return None
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            raw = m.group("name")
            return EnrolRequest(_clean_name(raw, text) if raw else None)
    for pattern in _ZH_PATTERNS:
        m = pattern.match(text)
        if m:
            raw = m.group("name")
            if raw and "的" in raw:
                raw = None  # 我是安娜的哥哥: someone's relative, not a name
            return EnrolRequest(raw or None)
    return None


_ANSWER = re.compile(
    rf"^{_S0}(?:(?:oh|um|uh|well|ok|okay|sure|yes){_S})*(?:{_INTRO})?{_NAME}{_TAIL}$", re.IGNORECASE
)


def parse_name(text: str) -> str | None:
    """The name in an answer to "What's your name?": "Anna", "It's Anna.", "My name is Anna
    Maria", "我叫安娜". None when the answer holds no usable name."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text or len(text) > 80:
        return None
    m = re.match(rf"^{_ZH_P}(?:{_ZH_NAME}|(?P<bare>[\u4e00-\u9fff·]{{1,6}})){_ZH_P}$", text)
    if m:
        raw = m.group("name") or m.group("bare")
        return None if "的" in raw else raw
    m = _ANSWER.match(text)
    if not m:
        return None
    # An answer is often all lower-case or a lone capitalised word: judge the casing on the name.
    return _clean_name(m.group("name"), m.group("name"))


# -- the enrolment dialogue -----------------------------------------------------------------------

READ_SENTENCES = (
    "The quick brown fox jumps over the lazy dog, and then it takes a nap in the sun.",
    "On Tuesday morning I will call my sister and ask her about the weekend.",
    "Please remind me to water the plants and to buy bread on the way home.",
    "A rainbow appears when sunlight shines through the rain after a summer storm.",
    "My favourite meal is soup with fresh bread, followed by a cup of tea.",
    "We walked along the river until the street lights came on in the evening.",
)


class VoiceEnrolment:
    """One enrolment by voice. Each utterance is checked as it comes (speech, length, one voice, not
    Twin's own voice): a bad one is asked for again with the reason; Twin's own voice ends it.
    Enough is at least `MIN_UTTERANCES` utterances and `MIN_SECONDS` of speech, and then a good
    quality verdict (voice/speakers/quality.py: net speech, recordings that agree, a voice apart from
    the others): while it is weak, another sentence is asked for, with why, up to `MAX_UTTERANCES`;
    still weak then, nothing is stored and the person is told why.

    By voice, a name that is already enrolled is only re-enrolled when the new utterances sound like
    that person (they are added to the profile); a voice already enrolled under another name is
    refused; and the owner role is never taken from an existing owner (no force here).
    """

    MIN_UTTERANCES = 3
    MIN_SECONDS = 8.0
    MAX_RETRIES = 4  # bad utterances in a row before giving up
    MAX_UTTERANCES = len(READ_SENTENCES)  # accepted utterances before a weak voice is given up on

    def __init__(self, registry: SpeakerRegistry, name: str, role: str | None = None) -> None:
        self.registry = registry
        # Checks that need no audio, now, so the person is not asked to read for nothing.
        self.name, self.existing, self.role = registry.prepare_enrolment(name, role, force=False)
        if self.existing is not None:
            self.name = self.existing.name  # "anna" said aloud is the enrolled "Anna"
        self.embeddings: list[SpeechEmbedding] = []
        self.clips: list[tuple[AudioClip, str]] = []  # the accepted utterances and their text
        self._next = 0
        self._retries = 0
        self.quality: EnrolQuality | None = None  # the verdict once there is enough speech

    @property
    def speech_seconds(self) -> float:
        return sum(e.speech_seconds for e in self.embeddings)

    @property
    def enough(self) -> bool:
        return len(self.embeddings) >= self.MIN_UTTERANCES and self.speech_seconds >= self.MIN_SECONDS

    def _sentence(self) -> str:
        s = READ_SENTENCES[self._next % len(READ_SENTENCES)]
        self._next += 1
        return s

    def first_prompt(self) -> str:
        return (
            f"Okay, {self.name}. To learn your voice I need you to say a few sentences, "
            f"on your own and close to me. Please say: {self._sentence()}"
        )

    def add(self, clip: AudioClip, text: str = "") -> str | None:
        """Take one utterance (with its transcript when there is one: it gives the speaker's usual
        speaking rate for the emotion baseline). Returns what to say next, or None when there is
        enough speech (then call finish()). Raises EnrolSyntheticVoiceError for Twin's own voice,
        and gives up with the last refusal after MAX_RETRIES bad utterances in a row. Blocking (it
        embeds the clip, ~50 ms per 3 s on one core)."""
        clip = AudioClip(clip.samples, clip.sample_rate, "what you said")
        try:
            emb = self.registry.check_clip(clip)
        except EnrolSyntheticVoiceError:
            raise EnrolSyntheticVoiceError(
                "That was my own voice, or another synthetic voice, not a person. "
                "I can only learn a real person's voice.",
                "speak yourself, not a recording or text-to-speech",
            ) from None
        except (EnrolNoSpeechError, EnrolNotSpeechError, EnrolTooShortError, EnrolTwoVoicesError) as exc:
            self._retries += 1
            reason = _spoken_reason(exc)
            if self._retries > self.MAX_RETRIES:
                raise type(exc)(f"{reason} Let's try again another time.", exc.hint) from None
            return f"{reason} Please say: {READ_SENTENCES[(self._next - 1) % len(READ_SENTENCES)]}"
        self._retries = 0
        self.embeddings.append(emb)
        self.clips.append((clip, text))
        if not self.enough:
            return f"Thanks. One more, please: {self._sentence()}"
        self.quality = self.registry.enrolment_quality(self.name, self.embeddings, self.existing is None)
        if self.quality.ok or len(self.embeddings) >= self.MAX_UTTERANCES:
            return None  # finish() stores it, or says why it cannot
        why = " ".join(self.quality.problems())
        return f"Thanks. I need a little more. {why} Please say: {self._sentence()}"

    def _baseline(self) -> dict[str, float] | None:
        """The speaker's usual prosody (emotion is judged against it); None keeps an old one."""
        try:
            return _baseline_of(self.clips) or None
        except Exception:  # a hint for emotion, never a reason to fail the enrolment
            return None

    def finish(self) -> str:
        """Enrol the collected utterances and return the spoken confirmation. Raises a SpeakerError
        with a speakable message when they cannot be enrolled. Blocking (writes the profile)."""
        if not self.embeddings:
            raise EnrolNoSpeechError(
                f"I didn't hear enough of your voice yet, {self.name}.", "say the sentences I ask for"
            )
        vectors = np.stack([e.vector / max(float(np.linalg.norm(e.vector)), 1e-9) for e in self.embeddings])
        centre = vectors.mean(0)
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
        scores = self.registry.score_all(centre)
        for other, score in scores.items():
            profile = self.registry.profiles[other]
            if other.lower() != self.name.lower() and score >= profile.threshold:
                raise EnrolAlreadyKnownError(
                    f"I already know this voice as {other}, so I can't learn it as {self.name}.",
                    f"ask the owner to rename or remove {other} with `twin speakers`",
                )
        replace = True
        if self.existing is not None:
            if scores.get(self.existing.name, 0.0) < self.existing.threshold:
                raise EnrolNameTakenError(
                    f"I already know a different voice as {self.existing.name}. "
                    "Please use another name, or ask the owner to change it.",
                    f"the owner can re-enrol {self.existing.name} with `twin enroll`",
                )
            replace = False  # the same person again: the new utterances join the old ones
        try:
            profile = self.registry.enroll_embeddings(
                self.name,
                self.embeddings,
                self._baseline(),
                replace=replace,
                role=self.role,
                require_quality=True,
            )
        except EnrolInconsistentError as exc:
            raise EnrolInconsistentError(
                "Those sentences didn't all sound like the same person, so I couldn't learn the voice. "
                "Let's try again with just you speaking.",
                exc.hint,
            ) from None
        except EnrolNeedsMoreSpeechError as exc:
            problems = " ".join(exc.quality.problems()) if exc.quality is not None else ""
            raise EnrolNeedsMoreSpeechError(
                f"I still don't have a clear enough recording of your voice, so I haven't learned it. "
                f"{problems} Let's try again another time, somewhere quiet.",
                exc.hint,
                exc.quality,
            ) from None
        except SpeakerNameError as exc:
            raise SpeakerNameError(f"I can't use {self.name} as a name. {exc.message}", exc.hint) from None
        return f"Thanks, {profile.name}. I'll know your voice now."


def _baseline_of(clips: list[tuple[AudioClip, str]]) -> dict[str, float]:
    from voice.emotion import baseline_from, prosody_features

    return baseline_from([prosody_features(c, t) for c, t in clips])


def _spoken_reason(exc: SpeakerError) -> str:
    if isinstance(exc, EnrolTwoVoicesError):
        return "I heard more than one voice there. I need just you, with nobody else talking."
    if isinstance(exc, EnrolNotSpeechError):
        return "That sounded like music or noise, not speech. I need just your voice, with nothing playing."
    if isinstance(exc, EnrolTooShortError):
        return "That was a bit short. I need a full sentence."
    return "I didn't hear any speech."
