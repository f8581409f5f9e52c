"""Text cases for the semantic end of turn (`twin bench turn_end`, pipeline/runtime/turn_end.py).

Each case is what a user has said when they pause: a whole command or question (complete), or the
same kind of request cut mid-phrase (incomplete: "set a timer for", "what's the weather in"). The
thresholds in config (`[endpointing] p_done / p_hold`) were chosen on DEV only; TEST is reported and
never tuned on. The two lists share no sentence and few phrasings; the tests use DEV-like cases of
their own (tests/test_turn_end.py), never TEST.
"""

from __future__ import annotations

# (words so far, the turn is complete)
DEV: tuple[tuple[str, bool], ...] = (
    ("set a timer for ten minutes", True),
    ("set a timer for", False),
    ("what's the weather in paris", True),
    ("what's the weather in", False),
    ("remind me to call mom tomorrow", True),
    ("remind me to call", False),
    ("turn off the kitchen lights", True),
    ("turn off the", False),
    ("what time is it", True),
    ("what time is", False),
    ("play some jazz", True),
    ("play some", False),
    ("how far away is the moon", True),
    ("how far away is the", False),
    ("add milk to my shopping list", True),
    ("add milk to my", False),
    ("what's on my calendar today", True),
    ("what's on my", False),
    ("tell me a joke", True),
    ("tell me a", False),
    ("call my sister", True),
    ("call my", False),
    ("turn the volume up", True),
    ("turn the volume", False),
    ("what is the capital of france", True),
    ("what is the capital of", False),
    ("set an alarm for seven", True),
    ("set an alarm for", False),
    ("lock the front door", True),
    ("lock the", False),
    ("how do i make pancakes", True),
    ("how do i make", False),
    ("send a message to john saying i'm late", True),
    ("send a message to john saying", False),
    ("stop", True),
    ("set a timer for um", False),
    ("what's the weather like tomorrow", True),
    ("can you tell me about the", False),
    ("thank you", True),
    ("i want to", False),
)

TEST: tuple[tuple[str, bool], ...] = (
    ("start a timer for twenty minutes", True),
    ("start a timer for", False),
    ("what's the forecast for london this weekend", True),
    ("what's the forecast for", False),
    ("remind me to take my pills at nine", True),
    ("remind me to take my", False),
    ("switch on the living room lamp", True),
    ("switch on the", False),
    ("what day is it today", True),
    ("what day is", False),
    ("put on some relaxing music", True),
    ("put on some", False),
    ("how tall is mount everest", True),
    ("how tall is", False),
    ("add eggs and butter to the grocery list", True),
    ("add eggs and butter to the", False),
    ("do i have any meetings tomorrow", True),
    ("do i have any", False),
    ("tell me something interesting", True),
    ("tell me something about", False),
    ("text my brother", True),
    ("text my", False),
    ("make it louder", True),
    ("make it", False),
    ("who wrote pride and prejudice", True),
    ("who wrote", False),
    ("wake me up at six thirty", True),
    ("wake me up at", False),
    ("close the garage door", True),
    ("close the garage", False),
    ("what should i cook for dinner", True),
    ("what should i cook for", False),
    ("email the report to sarah", True),
    ("email the report to", False),
    ("cancel", True),
    ("what's the weather in uh", False),
    ("is it going to rain today", True),
    ("could you explain how the", False),
    ("good night", True),
    ("i'd like to", False),
)

# DEV audio (bench/turn_end.py `spoken_dev`): whole requests written for this bench (none is a
# question of bench/latency.py, nor a recording's name), said by Piper (Twin's voice, without its
# random noise, so every run hears the same audio) and by two espeak-ng voices. Whisper tiny mishears
# several of them ("What does equality?"), as it mishears people; each is also cut at its word
# boundaries, with pauses spliced in. `question_hold_ms` was chosen on these; the human recordings
# (speech_to_phrase_en) are the TEST set, never tuned on.
DEV_SPOKEN: tuple[str, ...] = (
    "how many ounces are in a cup",
    "what's the time in tokyo",
    "is it cold outside",
    "who won the game last night",
    "dim the bedroom lights",
    "how old is the earth",
    "what does a koala eat",
    "skip this song",
    "where did I leave my keys",
    "how do you spell necessary",
    "open the blinds",
    "do owls sleep during the day",
    "when does the bakery open",
    "how long do turtles live",
    "read my new messages",
    "how hot is the sun",
    "why do dogs bark",
    "play the news",
    "turn up the heat",
    "will it snow this week",
)
DEV_VOICES: tuple[tuple[str, int], ...] = (("en-us", 160), ("en-gb-scotland", 170))  # espeak-ng, words/min
