"""Sentence splitting of a streaming reply, and spoken-form cleanup."""

from __future__ import annotations

from persona.spoken import to_spoken
from pipeline.events import EventQueue
from pipeline.runtime.sentences import SentenceSplitter


def _stream(text: str, step: int = 3) -> list[str]:
    sp = SentenceSplitter()
    out: list[str] = []
    for i in range(0, len(text), step):
        out += sp.feed(text[i : i + step])
    return out + sp.flush()


def test_sentences_come_out_as_soon_as_they_end():
    sp = SentenceSplitter()
    assert sp.feed("Paris is the capital") == []
    assert sp.feed(" of France. It is ") == ["Paris is the capital of France."]
    assert sp.feed("lovely!") == []  # no following space yet: could be "lovely!!"
    assert sp.flush() == ["It is lovely!"]


def test_first_piece_may_end_at_a_clause_but_later_ones_do_not():
    pieces = _stream("Well, to boil an egg, put it in water, then heat it for ten minutes. Then, enjoy it.")
    assert pieces[0] == "Well, to boil an egg,"  # >= 3 words: a clause break is early enough
    assert pieces[1] == "put it in water, then heat it for ten minutes."
    assert pieces[2] == "Then, enjoy it."


def test_a_composed_reply_may_end_its_first_piece_before_an_aside():
    """A tool's result is known whole: its first piece may stop before a bracketed aside, so less of
    it is synthesized before the first sound; a streamed reply keeps the aside in its sentence."""

    def composed(text: str) -> list[str]:
        sp = SentenceSplitter(composed=True)
        return [*sp.feed(text), *sp.flush()]

    said = "Timer set for 5 minutes (rings at 21:44). Added milk to the shopping list."
    assert composed(said) == [
        "Timer set for 5 minutes",
        "(rings at 21:44).",
        "Added milk to the shopping list.",
    ]
    assert _stream(said) == ["Timer set for 5 minutes (rings at 21:44).", "Added milk to the shopping list."]
    assert composed("Done (all of it).") == ["Done (all of it)."]  # too few words before it
    assert composed("Done. Timer set (x) now.") == ["Done.", "Timer set (x) now."]  # only the first piece


def test_first_piece_may_end_before_a_breath_word():
    pieces = _stream("The sky is blue because it scatters blue light the most. So it looks blue.")
    assert pieces == ["The sky is blue", "because it scatters blue light the most.", "So it looks blue."]
    sp = SentenceSplitter()
    assert sp.feed("It is so") == []  # "so" might be "some": wait for the word to end
    assert sp.feed("mething that") == []
    assert sp.feed(" works") == ["It is something"]


def test_abbreviations_and_numbers_do_not_split():
    pieces = _stream("Dr. Smith lives at No. 5 Main St. in town. It costs 3.50 dollars.")
    assert pieces == ["Dr. Smith lives at No. 5 Main St. in town.", "It costs 3.50 dollars."]


def test_very_long_run_on_is_cut_at_a_clause():
    text = "word " * 30 + ", and then more words follow here."
    pieces = _stream("One. " + text)
    assert len(pieces) >= 3 and all(len(p.split()) <= 31 for p in pieces)


def test_spoken_form_strips_markdown_and_emoji():
    raw = "## Tips\n- **Drink** water 💧\n- See [this guide](https://x.org/a) or https://y.org\n```py\nprint(1)\n```"
    spoken = to_spoken(raw)
    assert spoken == "Tips Drink water See this guide or the link"
    assert to_spoken("Salt & pepper 😀") == "Salt and pepper"


def test_event_queue_delivery_classes():
    import asyncio

    from pipeline.events import Interrupt, ReplyAudioChunk, ReplyTextChunk, TurnEnded, TurnStarted

    async def scenario():
        q = EventQueue()
        q.put(TurnStarted(turn_id=1))
        q.put(ReplyTextChunk(turn_id=1, text="a"))
        q.put(ReplyTextChunk(turn_id=2, text="other turn"))
        q.put(TurnEnded(turn_id=1, status="interrupted"))
        q.put(ReplyTextChunk(turn_id=1, text="b"))
        q.put(Interrupt(turn_id=1))
        return [await q.get() for _ in range(len(q))], q.dropped

    got, dropped = asyncio.run(scenario())
    assert [type(e).__name__ for e in got] == ["Interrupt", "TurnStarted", "ReplyTextChunk", "TurnEnded"]
    assert got[2].turn_id == 2 and dropped == 2  # data of the interrupted turn dropped, control kept
    assert ReplyAudioChunk.delivery.value == "data"
