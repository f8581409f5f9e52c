"""The synthetic life `twin bench memory` plays through the write policy: the speakers, the facts
planted in their sessions, the look-alikes around those facts, and the small talk between them.
Values are chosen to collide (several pets, people with the same relation, look-alike colleague
names, the same outing with different friends) so no retrieval method has an easy time."""

from __future__ import annotations

SPEAKERS = ("anna", "ben", "chloe", "dev")
SESSIONS = 64
TURNS_PER_SESSION = 190
SPAN_DAYS = 90
CATEGORIES = ("paraphrase", "rare", "time", "changed", "plain")
METHODS = ("hybrid", "dense", "bm25")

CITIES = [
    "Leeds",
    "Manchester",
    "York",
    "Bristol",
    "Glasgow",
    "Cardiff",
    "Norwich",
    "Bath",
    "Oxford",
    "Derby",
]
FAR_CITIES = [
    "Lisbon",
    "Porto",
    "Krakow",
    "Seville",
    "Naples",
    "Split",
    "Tallinn",
    "Bergen",
    "Lyon",
    "Bruges",
]
JOBS = ["a nurse", "a teacher", "a baker", "an engineer", "a librarian", "a gardener", "a pilot", "a chef"]
PET_NAMES = ["Rex", "Milo", "Luna", "Bella", "Oscar", "Daisy", "Charlie", "Poppy", "Biscuit", "Pepper"]
FRIENDS = ["Sam", "Priya", "Tom", "Ines", "Kofi", "Mei", "Lars", "Ana", "Omar", "Zoe", "Ravi", "Elena"]
# Names for the people in someone's life, and for trades people: rare words, each used once.
RARE_NAMES = (  # noqa: SIM905 - a list of 140 names reads better as text
    "Zbigniew Wojciech Grzegorz Siobhan Niamh Oisin Tadhg Aoife Eilidh Ruaridh Dervla Caoimhe "
    "Padraig Bartholomew Thaddeus Ignatius Leopold Casimir Evander Isidore Ottoline Philippa Imogen "
    "Persephone Xanthe Zuleika Kwabena Oluwaseun Chiamaka Babajide Nkechi Temitope Yevgeny Svetlana "
    "Radoslav Miroslav Bogdan Dragomir Ljubica Vesna Aurelija Tarquin Peregrine Crispin Lysander "
    "Benedikt Wilhelmina Gwendolyn Rhiannon Bronwen Cerys Dafydd Gruffydd Iolo Ffion Hamish Fergus "
    "Lachlan Morag Isla Alasdair Seamus Declan Cormac Finnian Ronan Brigid Orla Eamon Ciaran Anouk "
    "Maarten Sjoerd Femke Joost Wouter Lieke Henrik Sigrid Torvald Astrid Leif Ingrid Solveig Bjorn "
    "Dagny Thorsten Gunnar Ottavio Ludovica Benedetta Gianluca Serafina Ilaria Raffaele Concetta "
    "Matteo Ximena Itzel Tenoch Citlali Anahi Yaretzi Kaito Haruki Sakura Ren Takumi Hinata Aiko "
    "Daichi Nkosana Thandiwe Sipho Zanele Lindiwe Themba Ayodele Folasade Chidi Ngozi Adaeze Emeka "
    "Bolormaa Tuvshin Enkhjin Altan Zhanar Aigerim Nurlan Dauren Assel Yerlan Madina Timur"
).split()
# Colleagues whose names look alike: the right one is told apart by the exact name only.
LOOKALIKES = [
    ["Siobhan", "Sinead", "Saoirse"],
    ["Tomas", "Thomas", "Tamas"],
    ["Mikhail", "Michal", "Mikael"],
    ["Katarzyna", "Katrina", "Katharina"],
    ["Jurgen", "Jurgis", "Jorgen"],
    ["Aleksander", "Alessandro", "Alexandru"],
    ["Marek", "Marko", "Mirek"],
    ["Ilse", "Ilona", "Ilka"],
]
COLLEAGUE_ROLES = [
    ("runs the Tuesday stand-up", "Who leads our weekly team huddle?"),
    ("handles the payroll", "Who sorts out salaries?"),
    ("sits next to me", "Whose desk is beside mine?"),
    ("is my mentor", "Who coaches me at the office?"),
    ("approves the holiday requests", "Who signs off time away?"),
    ("fixes the laptops", "Who repairs our computers?"),
    ("organises the quiz night", "Who arranges trivia evenings?"),
    ("writes the newsletter", "Who edits our bulletin?"),
]
TRADES = ["plumber", "electrician", "window cleaner", "gardener", "builder", "piano tuner", "locksmith"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
PARCELS = ["kettle", "new headphones", "birthday present for Mum", "printer ink", "garden hose", "rain coat"]
BOXES = ["Christmas lights", "old photo albums", "winter jumpers", "camping gear", "tax papers", "toy trains"]

# relation, its paraphrase (no shared content word), the plain question's wording
RELATIONS = [
    ("doctor", "Who is my GP?", "What is my doctor called?"),
    ("boss", "Who is my manager at work?", "What is my boss called?"),
    ("daughter", "What's my little girl's name?", "What is my daughter called?"),
    ("son", "What's my boy's name?", "What is my son called?"),
    ("mother", "What's my mum's name?", "What is my mother called?"),
    ("neighbour", "Who lives next door to me?", "What is my neighbour called?"),
    ("best friend", "Who is my closest pal?", "What is my best friend called?"),
    ("cat", "What's my kitty's name?", "What is my cat called?"),
]
CHANGING_PEOPLE = ("doctor", "boss")
# the same relation words in other people's things: look-alikes for the questions above
REL_DISTRACTORS = [
    "my neighbour's dog is called {n}",
    "my sister's cat is called {n}",
    "my boss's daughter is called {n}",
    "my doctor's receptionist is called {n}",
    "my best friend's son is called {n}",
    "my mother's cat was called {n}",
    "my son's teacher is called {n}",
    "my daughter's best friend is called {n}",
    "the cat next door is called {n}",
    "my old boss was called {n}",
]
# topic, how it is said, values, paraphrase question (no shared content word), plain question
PREFERENCES = [
    (
        "music",
        "I really like {v}",
        ["jazz", "opera", "folk music", "heavy metal", "reggae", "country music"],
        "What kind of tunes do I enjoy?",
        "What music do I like?",
    ),
    (
        "drink",
        "I love {v}",
        ["green tea", "espresso", "hot chocolate", "ginger beer", "cider", "oat milk lattes"],
        "Which beverage is my favourite?",
        "What do I love to drink?",
    ),
    (
        "exercise",
        "I enjoy {v}",
        ["swimming", "cycling", "rock climbing", "yoga", "rowing", "pilates"],
        "How do I keep fit?",
        "What sport do I enjoy?",
    ),
    (
        "food",
        "I hate {v}",
        ["coriander", "olives", "mushrooms", "blue cheese", "anchovies", "beetroot"],
        "Which ingredient should you leave out of my meals?",
        "What food do I hate?",
    ),
    (
        "films",
        "I really enjoy {v}",
        ["horror films", "romantic comedies", "westerns", "documentaries", "science fiction films"],
        "What should we put on the telly tonight?",
        "What films do I enjoy?",
    ),
    (
        "allergy",
        "I'm allergic to {v}",
        ["penicillin", "peanuts", "shellfish", "wasp stings", "latex", "sesame"],
        "Is there anything that could give me a dangerous reaction?",
        "What am I allergic to?",
    ),
    (
        "hobby",
        "I love {v}",
        ["knitting", "birdwatching", "woodwork", "stamp collecting", "sudoku", "pottery"],
        "What do I do in my spare time?",
        "What hobby do I love?",
    ),
    (
        "holidays",
        "I prefer {v}",
        ["beach holidays", "city breaks", "camping trips", "cruises", "walking holidays"],
        "Where would I rather go when I get time off?",
        "What holidays do I prefer?",
    ),
    (
        "season",
        "I really love {v}",
        ["autumn", "winter", "spring", "summer"],
        "What time of year suits me best?",
        "Which season do I love?",
    ),
]
# a routine each speaker keeps, and a paraphrase of the question about it
ROUTINE_FACTS = [
    ("Every Sunday I phone my mother", "How often do I ring Mum?"),
    ("Every Friday I go to the market", "When do I buy fresh vegetables?"),
    ("Every night I read for half an hour", "What do I do before bed?"),
    ("Every morning I do the crossword", "What puzzle fills my breakfast time?"),
]
ACTIVITIES = [
    ("played tennis with {f}", "Who did I play tennis with"),
    ("went to the cinema with {f}", "Who did I go to the cinema with"),
    ("had lunch with {f} at the Italian place", "Who did I have lunch with"),
    ("visited {f} in hospital", "Who did I visit in hospital"),
    ("went hiking in the Dales with {f}", "Who did I go hiking with"),
    ("helped {f} move house", "Who did I help move house"),
    ("baked a birthday cake for {f}", "Who did I bake a birthday cake for"),
    ("went swimming with {f}", "Who did I go swimming with"),
    ("cooked dinner for {f}", "Who did I cook dinner for"),
    ("went to a concert with {f}", "Who did I go to a concert with"),
    ("phoned {f} about the holiday", "Who did I phone about the holiday"),
    ("walked the dog with {f}", "Who did I walk the dog with"),
    ("went to the market with {f}", "Who did I go to the market with"),
    ("played cards with {f}", "Who did I play cards with"),
    ("drove {f} to the airport", "Who did I drive to the airport"),
    ("painted the fence with {f}", "Who did I paint the fence with"),
]
# small talk the policy keeps as episodes and likes: near-duplicates about the same topics
ERRANDS = [
    "I went to the {place} today",
    "I walked past the {place} this morning",
    "Yesterday I met {f} at the {place}",
    "I bought {thing} today",
    "This morning I had {thing} for breakfast",
    "I saw {f} at the {place} yesterday",
    "Today I finished {thing}",
    "I called {f} this morning",
]
PLACES = [
    "park",
    "post office",
    "library",
    "bakery",
    "pharmacy",
    "garden centre",
    "supermarket",
    "museum",
    "swimming pool",
    "dentist",
    "bank",
    "market",
    "station",
    "hairdresser",
    "pub",
    "church hall",
]
THINGS = [
    "a new umbrella",
    "some bread",
    "a birthday card",
    "porridge",
    "the crossword",
    "a jigsaw puzzle",
    "new shoes",
    "a bag of apples",
    "the ironing",
    "a library book",
    "some flowers",
    "toast and jam",
    "a pot of tea",
    "the washing up",
    "batteries",
    "a map of the Dales",
]
ADJ = ["new", "old", "little", "red", "blue", "green", "big", "cosy", "quiet", "busy", "cheap", "famous"]
NOUNS = [
    "cafe",
    "bakery",
    "park",
    "bench",
    "mug",
    "scarf",
    "jumper",
    "armchair",
    "bookshop",
    "pub",
    "market",
    "library",
    "cinema",
    "bus route",
    "radio show",
    "podcast",
    "quiz show",
    "recipe",
    "blanket",
    "teapot",
]
WHERE = ["", " on Mill Lane", " by the river", " in town", " near the station", " at work", " next door"]
LIKE_VERBS = ["I like", "I really like", "I love", "I enjoy", "I don't like", "I can't stand"]
FEELINGS = ["tired", "lonely", "worried", "stressed", "sad", "anxious"]
ROUTINES = [
    "Every morning I do the crossword",
    "Every evening I water the plants",
    "Every Sunday I phone my mother",
    "Every Friday I go to the market",
    "Every night I read for half an hour",
    "Every week I clean the windows",
]
CHATTER = [
    "What a lovely morning.",
    "Tell me a joke.",
    "What time is it?",
    "Thanks, that's helpful.",
    "How are you today?",
    "Can you say that again?",
    "That's funny.",
    "Okay, never mind.",
    "What is the capital of Peru?",
    "How far is the moon?",
    "Good night.",
    "Hello there.",
    "Turn the volume up a bit.",
    "Set a timer for ten minutes.",
    "What's the weather like in {c}?",
    "How do you spell necessary?",
    "Play something relaxing.",
    "Is it going to rain in {c} tomorrow?",
    "How many grams in a pound?",
    "Who won the match last night?",
    "Stop.",
    "Tell me about the history of {c}.",
]
HOUSEHOLD_FACTS = [
    ("The bins go out on Thursday night", "When is the rubbish collected?"),
    ("The boiler service is due in October", "When does the heating engineer need to check the furnace?"),
    ("The wifi router is in the hall cupboard", "Where is the internet box?"),
    ("The stopcock is under the kitchen sink", "Where do I turn the water off?"),
    ("The recycling goes out every other Monday", "How often are bottles and paper picked up?"),
]
