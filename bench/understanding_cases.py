"""Spoken-style requests for `twin bench understanding`, written by hand for this bench (not taken
from any public benchmark, not generated from templates). Two splits: DEV is the only one used to
choose a threshold (`python -m bench understanding --calibrate`); TEST is the one reported.

Each case: the words (as an ASR would give them: no guarantee of punctuation), the category, the
tools that would be a right choice (empty: none should run), and flags:
- mcp: needs the facts MCP server (tests/mcp_servers/facts_server.py) configured
- live: asks for a live fact; with no tool that can answer it, the reply must say it cannot check
- question: must change nothing (no act or sensitive tool runs)
- expect: a regex the reply must match for the task to count as done (case-insensitive)
- before: earlier turns of the same conversation (multi-turn references)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    text: str
    category: str
    tools: tuple[str, ...] = ()
    mcp: bool = False
    live: bool = False
    question: bool = False
    expect: str = ""
    before: tuple[str, ...] = field(default_factory=tuple)


W, S = "facts__get_weather", "facts__get_stock_price"

DEV: tuple[Case, ...] = (
    Case("hi there how's it going", "chit-chat"),
    Case("thanks that's really kind of you", "chit-chat"),
    Case("tell me something funny", "chit-chat"),
    Case("what's the tallest mountain in the world", "facts", expect=r"everest"),
    Case("why do leaves change colour in autumn", "facts"),
    Case("my sister lives in Lisbon", "chit-chat"),
    Case("could you recommend a good film for tonight", "chit-chat"),
    Case("is it cold in London today", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("should I take a jacket in Tokyo", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case(
        "how much is Apple worth on the market right now",
        "mcp-tool",
        (S,),
        mcp=True,
        live=True,
        question=True,
    ),
    Case("how are Nvidia shares doing", "mcp-tool", (S,), mcp=True, live=True, question=True),
    Case("wake me up in twenty minutes", "local-tool", ("set_timer", "set_alarm")),
    Case("make it quieter", "local-tool", ("set_volume",)),
    Case("we've run out of coffee put it on the shopping list", "local-tool", ("add_to_list",)),
    Case("how long until my countdown finishes", "local-tool", ("list_timers",), question=True),
    Case("what day is it today", "local-tool", ("get_time",), question=True),
    Case("how many kilometres is twenty six miles", "local-tool", ("convert_units",), question=True),
    Case("is anything playing right now", "local-tool", ("device_state",), question=True),
    Case("jot down that the plumber comes on Tuesday", "local-tool", ("add_note",)),
    Case("is it going to snow in Paris", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("why is the sea salty", "facts"),
    Case("how do I boil an egg", "facts"),
    Case("write a poem about the sea", "chit-chat"),
    Case("I'm going to Rome in May", "chit-chat"),
    Case("what do you think about cats", "chit-chat"),
    Case("what temperature does ice melt at", "facts"),
    Case("turn the sound off", "local-tool", ("mute", "set_volume", "stop")),
    Case("how much is twelve times nineteen", "local-tool", ("calculate",), question=True),
    Case("what did the stock market do today", "live-no-tool", live=True, question=True),
    Case("who won the football last night", "live-no-tool", live=True, question=True),
    Case("remind me what's on my shopping list", "question-like-command", ("get_list",), question=True),
    Case(
        "set me straight what time is it in my timezone",
        "question-like-command",
        ("get_time",),
        question=True,
    ),
    Case("tell me which reminders I have", "question-like-command", ("list_reminders",), question=True),
    # general questions near a tool's words by meaning (the calendar, tips): added with two no-tool
    # passages after the latency bench's general questions reached the planner (README)
    Case("how many weeks are there in a year", "facts"),
    Case("which month does spring start in", "facts"),
    Case("any tips for falling asleep faster", "chit-chat"),
    Case("suggest a stretch for a stiff neck", "chit-chat"),
    Case("how can I get better at remembering birthdays", "chit-chat"),
    Case("what's a good warm up before a run", "chit-chat"),
)

# Kinds added after looking at the TEST failures of the routed run (issue #11): implicit
# requests that name no tool word. Each written here in other words than any TEST sentence; the
# mechanism (tools' declarations in the user's terms, number words read as digits, arguments read
# from plain words, topics an object implies) is general, and DEV alone was used to check it.
IMPLICIT: tuple[Case, ...] = (
    # - the sound, by how it is or a one-word order (TEST: a volume change, a call for silence)
    Case("I can't hear it from the kitchen", "local-tool", ("set_volume",)),
    Case("that's far too loud", "local-tool", ("set_volume",)),
    Case("bring the music down a notch", "local-tool", ("set_volume",)),
    Case("hush now", "local-tool", ("mute", "stop")),
    Case("is it too loud in here for you", "local-tool", ("device_state",), question=True),
    # - a need said as a need, naming no list (TEST: a household need)
    Case("we're almost out of toothpaste", "local-tool", ("add_to_list",)),
    Case("the washing up liquid is nearly finished", "local-tool", ("add_to_list",)),
    Case("we could do with some more rice", "local-tool", ("add_to_list",)),
    Case("we need to talk about the holidays", "chit-chat"),
    Case("are we out of milk", "local-tool", ("get_list",), question=True),
    # - arithmetic said in words (TEST: a percentage in number words)
    Case(
        "what's forty two divided by six", "local-tool", ("calculate",), question=True, expect=r"\b7\b|seven"
    ),
    Case("work out twenty five percent of sixty for me", "local-tool", ("calculate",), expect=r"15|fifteen"),
    # - conversions with a bare quantity or a colloquial unit (TEST: a weight in everyday words)
    Case(
        "how many grams in two kilos",
        "local-tool",
        ("convert_units",),
        question=True,
        expect=r"2,?000|thousand",
    ),
    Case("what's ten lbs in kilograms", "local-tool", ("convert_units",), question=True, expect=r"4\.5"),
    # - the weather implied by what to wear or carry (TEST: an object that implies rain)
    Case("will I want sunglasses in Madrid tomorrow", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("should I pack a raincoat for Dublin today", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("I left my umbrella on the bus", "chit-chat"),
)
DEV = DEV + IMPLICIT

# Kinds added after the lead's run of real recordings through the live loop (issue #11): things
# no configured tool controls or can read (lights, locks, the heating, music to play) and a live
# temperature. Nothing may run and the reply must say it cannot; a state is never made up. Written
# in other words than those recordings (which the lead reports on) and than any TEST sentence.
OUT_OF_REACH: tuple[Case, ...] = (
    Case("switch the porch light on", "out-of-reach", expect=r"can't|cannot"),
    Case("dim the dining room lights to 20 percent", "out-of-reach", expect=r"can't|cannot"),
    Case("unlock the side gate", "out-of-reach", expect=r"can't|cannot"),
    Case("put some Ella Fitzgerald on", "out-of-reach", expect=r"can't|cannot"),
    Case("turn the radiator in the bathroom up", "out-of-reach", expect=r"can't|cannot"),
    Case("is the garage door shut", "out-of-reach", live=True, question=True),
    Case("did we leave the kitchen light on", "out-of-reach", live=True, question=True),
    Case("how warm is it in the nursery", "live-no-tool", live=True, question=True),
    Case("set a timer for two hours and twenty minutes", "local-tool", ("set_timer",), expect=r"2 hours 20"),
)
DEV = DEV + OUT_OF_REACH

# Kinds added in session 17 (issue #12's fast path, acting only when asked): words that name a tool
# but ask for nothing, or ask for it not to be done. Nothing may run; a request not to do something
# is answered as one ("won't"). Written for this bench; TEST's cases below were written before any
# rule was, and were run only after the rules were chosen on these.
NOT_ASKED: tuple[Case, ...] = (
    Case("no, don't turn the volume up", "not-asked", expect=r"won't|will not|already"),
    Case("don't set a timer", "not-asked", expect=r"won't|will not|already"),
    Case("please don't remind me about the dentist", "not-asked", expect=r"won't|will not|already"),
    Case("do not add milk to the shopping list", "not-asked", expect=r"won't|will not|already"),
    Case("my neighbour turned the volume up all night", "not-asked"),
    Case("my brother is always on mute in meetings", "not-asked"),
    Case("the song says turn it up", "not-asked"),
    Case("she turned the volume down on her feelings", "not-asked"),
    Case("louder than words is a good song", "not-asked"),
    Case("tell me a story about the timers", "not-asked"),
    Case("the kids muted the TV again", "not-asked"),
    Case("quiet please, the baby is sleeping", "local-tool", ("mute", "stop")),
    Case("don't let me forget to buy bread", "local-tool", ("add_reminder", "add_to_list", "add_note")),
)
DEV = DEV + NOT_ASKED

TEST: tuple[Case, ...] = (
    # chit-chat and general knowledge: no tool, no invented live facts
    Case("good morning", "chit-chat"),
    Case("I'm feeling a bit tired today", "chit-chat"),
    Case("tell me a joke", "chit-chat"),
    Case("what's your favourite colour", "chit-chat"),
    Case("my favorite color is blue", "chit-chat"),
    Case("what's the capital of France", "facts", expect=r"paris"),
    Case("how many legs does a spider have", "facts", expect=r"\b(8|eight)\b"),
    Case("who wrote Romeo and Juliet", "facts", expect=r"shakespeare"),
    Case("what is the boiling point of water", "facts", expect=r"100|hundred"),
    Case("give me an idea for dinner", "chit-chat"),
    # multi-turn references
    Case(
        "what's my name and where am I going",
        "multi-turn",
        question=True,
        expect=r"sam",
        before=("my name is Sam and I'm going to Madrid next week",),
    ),
    Case(
        "what did I just tell you about my dog", "multi-turn", expect=r"rex", before=("my dog is called Rex",)
    ),
    # local tools, no tool word
    Case("give me ten minutes on the clock", "local-tool", ("set_timer",)),
    Case("turn it up a bit", "local-tool", ("set_volume",)),
    Case("we need eggs", "local-tool", ("add_to_list",)),
    Case("what's the time", "local-tool", ("get_time",), question=True),
    Case("how much is fifteen percent of eighty", "local-tool", ("calculate",), question=True),
    Case("how many pounds is five kilos", "local-tool", ("convert_units",), question=True),
    Case("silence please", "local-tool", ("mute", "stop")),
    Case("what have I got on my to do list", "local-tool", ("get_list",), question=True),
    # MCP tools, no tool word
    Case("is it raining in Paris right now", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("do I need an umbrella in London", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("how hot is it in San Francisco", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("what's NVDA trading at", "mcp-tool", (S,), mcp=True, live=True, question=True),
    Case("how is Apple's stock doing", "mcp-tool", (S,), mcp=True, live=True, question=True),
    # live data with no tool: say it cannot check
    Case("what's the weather in San Francisco", "mcp-tool", (W,), mcp=True, live=True, question=True),
    Case("what's NVDA's share price", "mcp-tool", (S,), mcp=True, live=True, question=True),
    Case("what are today's headlines", "live-no-tool", live=True, question=True),
    Case("recommend a restaurant near me", "live-no-tool", live=True, question=True),
    Case("is my train delayed", "live-no-tool", live=True, question=True),
    # questions that look like commands
    Case("remind me what my name is", "question-like-command", question=True),
    Case("Remind me, what's on my shopping list", "question-like-command", ("get_list",), question=True),
    Case("tell me what timers are running", "question-like-command", ("list_timers",), question=True),
    Case("can you tell me the time", "question-like-command", ("get_time",), question=True),
    Case("do you know if the speaker is muted", "question-like-command", ("device_state",), question=True),
    # long or multi-step
    Case(
        "set a timer for five minutes and add milk to my shopping list",
        "multi-step",
        ("set_timer", "add_to_list"),
    ),
    Case("write me a short report on why sleep matters", "long"),
    # words that name a tool but ask for nothing, or ask for it not to be done (session 17; written
    # before the rules, run only after they were chosen on DEV)
    Case("please don't set an alarm for tomorrow", "not-asked", expect=r"won't|will not|already"),
    Case("no no don't cancel my timers", "not-asked", expect=r"won't|will not|already"),
    Case("do not turn the sound up", "not-asked", expect=r"won't|will not|already"),
    Case("my son turned the music up so loud last night", "not-asked"),
    Case("my wife muted the speaker during dinner", "not-asked"),
    Case("the man on the radio said set a timer for ten minutes", "not-asked"),
    Case("she cancelled all her timers and went to bed", "not-asked"),
    Case("write me a poem about my shopping list", "not-asked"),
    Case("quieter than a mouse, that's my cat", "not-asked"),
    Case("it's way too loud in here", "local-tool", ("set_volume",)),
)
