"""Hand-written multi-session conversations for `twin bench memory --real`: chats between people
(sisters, friends, neighbours, brothers) and between a user and an assistant, each session dated the
way chat exports date them, with the messiness of real talk: a fact implied across turns ("So it IS
a thing" / "Three dates. Help"), people called by a nickname ("my sister Elizabeth", "Liz",
"Lizzie"), relative time ("the day after"), answers that share no word with the question, facts that
change (a flat, a job, a house). Written by hand for this bench, not generated from templates.

DEV is used for every choice made in memory/ (weights, keys, models); TEST is only reported.
Each split holds one person's chats in their own scope, plus a short chat of another household
member (a second scope, with look-alike content: a sister, a limping dog, a cat called Mochi) whose
turns must never come back to the first person's questions (cross-speaker leaks).

Questions name their evidence by a piece of the evidence turn's text, unique in that scope (checked
when the set is built), so a turn id can never be annotated off by one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

Turn = tuple[str, str]  # (who said it, what they said)
Session = tuple[str, list[Turn]]  # (when, as the export wrote it; the turns)


@dataclass
class Conversation:
    name: str
    split: str
    scope: str  # whose memory it is imported into (the importing user's speaker name)
    sessions: list[Session]


@dataclass
class RealQuestion:
    split: str
    scope: str
    query: str
    evidence_text: list[str]
    time: str | None = None  # when it is asked (a time-relative question), as a batch line gives it
    evidence: set[str] = field(default_factory=set)  # turn ids, resolved by `build`


# ---------------------------------------------------------------------------------------------
# DEV: Maya (a ward nurse), her sister Elizabeth ("Liz"), her friend Jonah, an assistant; Ruth.
# ---------------------------------------------------------------------------------------------
DEV_LIZ = Conversation(
    "dev-liz",
    "dev",
    "maya",
    [
        (
            "9:55 am on 22 October, 2023",
            [
                ("Liz", "Morning! Did you survive the night shift?"),
                ("Maya", "Barely. Two admissions at 4am and the coffee machine on ward 7 is broken again."),
                ("Liz", "Tragic. Listen, I have news. I got the job in Bristol!!"),
                ("Maya", "NO WAY. The museum one?"),
                ("Liz", "Yep, assistant curator at the M Shed. Starting 6th November."),
                ("Maya", "Lizzie that's huge, I'm so proud of you. Mum will cry."),
                ("Liz", "She already did, on the phone, for about ten minutes."),
                ("Maya", "So you're actually leaving Swindon then"),
                (
                    "Liz",
                    "Looks like it. I've been looking at flats near Stokes Croft but everything is either "
                    "damp or costs a kidney",
                ),
                ("Maya", "Ask Jonah, his cousin rents out rooms somewhere around there I think"),
                ("Liz", "Ooh will do. How's Biscuit's paw?"),
                ("Maya", "Still limping a bit. Vet wants to see him again on Thursday."),
                ("Liz", "Poor boy. Give him a scratch behind the ears from his auntie"),
                ("Maya", "Will do x"),
            ],
        ),
        (
            "7:12 pm on 3 November, 2023",
            [
                ("Maya", "How was the concert?? I saw your stories, the lights looked unreal"),
                (
                    "Liz",
                    "Fleet Foxes were incredible. Robin did the acoustic bit alone and the whole room went "
                    "silent",
                ),
                ("Maya", "Jealous. Who did you end up going with?"),
                ("Liz", "Tariq from the new job, he had a spare ticket. Don't start."),
                ("Maya", "I'm not starting anything 😇"),
                (
                    "Liz",
                    "Anyway the day after I was wrecked, I spent the whole Sunday on the sofa watching "
                    "Bake Off reruns",
                ),
                ("Maya", "Sounds like the perfect recovery"),
                ("Liz", "Also I signed for the flat! The one on Cheltenham Road, above the bakery"),
                ("Maya", "Wait the one with the green door?"),
                (
                    "Liz",
                    "That's the one. It's tiny but the light in the mornings is gorgeous and it smells of "
                    "croissants at 6am",
                ),
                ("Maya", "Dangerous for you"),
                ("Liz", "Extremely. Moving in on the 5th"),
                ("Maya", "Do you need help with the van? I'm off that weekend"),
                ("Liz", "You're an angel. Bring the big suitcase if you still have it"),
            ],
        ),
        (
            "2:40 pm on 19 November, 2023",
            [
                ("Maya", "Biscuit update: it's not a sprain, he tore a ligament. He needs surgery"),
                ("Liz", "Oh no. Is it expensive?"),
                ("Maya", "£2,400. The insurance covers most of it thank god, we just pay the excess"),
                ("Liz", "When is it?"),
                ("Maya", "Tuesday week. He has to wear the cone for a fortnight after"),
                ("Liz", "He's going to hate us all"),
                ("Maya", "He already hates the vet, he growled at the receptionist"),
                ("Liz", "How's the new rota by the way?"),
                ("Maya", "Better. I asked to come off nights and they said yes from January"),
                ("Liz", "Finally!! You've been doing nights for what, three years?"),
                ("Maya", "Nearly four. My body clock is a disaster"),
                (
                    "Liz",
                    "Work-wise I'm loving it. I'm putting together a small exhibition on the Bristol bus "
                    "boycott for February",
                ),
                ("Maya", "That sounds so important. Send me the dates and I'll come down"),
            ],
        ),
        (
            "10:05 am on 9 December, 2023",
            [
                ("Liz", "Are you still doing Christmas at Mum's?"),
                ("Maya", "Yes, arriving on the 23rd. You?"),
                ("Liz", "Same, but I'm bringing someone 👀"),
                ("Maya", "TARIQ??"),
                ("Liz", "Maybe. Don't tell Mum yet, I want to see her face"),
                (
                    "Maya",
                    "My lips are sealed. What do we get Dad this year? He said he wants nothing, which "
                    "means he wants something",
                ),
                ("Liz", "He keeps talking about that birdwatching thing, the scope. What about binoculars?"),
                ("Maya", "Good idea, let's split them. I'll order the Opticrons I saw, about £180"),
                ("Liz", "Perfect, I'll send you half"),
                ("Maya", "Also I've started running again, don't laugh"),
                ("Liz", "I'm not laughing! Couch to 5k?"),
                (
                    "Maya",
                    "Week three. My knees are complaining but I did 20 minutes without stopping yesterday",
                ),
                ("Liz", "Proud of you. We should do the Bath half together next year"),
                ("Maya", "Let's not get carried away"),
            ],
        ),
        (
            "8:30 pm on 14 January, 2024",
            [
                ("Maya", "First week of days done. I slept eight hours last night, like a normal human"),
                ("Liz", "Welcome back to the land of the living"),
                ("Maya", "Biscuit's cone is off and he's chasing squirrels again, the surgeon is pleased"),
                ("Liz", "Best news. Did Dad like the binoculars?"),
                ("Maya", "He's been texting me photos of a heron every morning"),
                ("Liz", "Ha! Mum said he's out in the garden at 7am in his dressing gown"),
                ("Maya", "How's the exhibition going?"),
                (
                    "Liz",
                    "Opening got pushed back to March, the lender of the main photographs wants extra "
                    "insurance",
                ),
                ("Maya", "Annoying. And Tariq?"),
                ("Liz", "He's moving in. His lease runs out at the end of the month so it made sense"),
                ("Maya", "Into the tiny flat??"),
                ("Liz", "We're looking for something bigger in Easton. Two bedrooms so you can visit"),
                ("Maya", "I'll hold you to that"),
            ],
        ),
    ],
)

DEV_TWIN = Conversation(
    "dev-assistant",
    "dev",
    "maya",
    [
        (
            "2023-10-25T21:14:00",
            [
                ("Maya", "Can you help me plan meals for the week? I'm on nights so I eat at weird times"),
                ("Twin", "Of course. Do you have any foods you avoid?"),
                ("Maya", "I'm vegetarian, and I can't do peanuts, I react badly to them"),
                ("Twin", "Noted: vegetarian, no peanuts. How many meals do you want to batch cook?"),
                ("Maya", "Maybe four. Something I can take to the hospital in a tub"),
                (
                    "Twin",
                    "A chickpea and spinach curry, a lentil shepherd's pie, a halloumi traybake and a big "
                    "minestrone would all travel well.",
                ),
                (
                    "Maya",
                    "The curry sounds good. My sister Elizabeth gave me a recipe with coconut milk ages ago",
                ),
                ("Twin", "Coconut milk works well in it. Would you like a shopping list?"),
                ("Maya", "Yes please, I'll go to Lidl tomorrow after I sleep"),
                (
                    "Twin",
                    "Here's a list: chickpeas, spinach, coconut milk, onions, garlic, ginger, lentils, "
                    "halloumi, peppers, passata, pasta shells.",
                ),
            ],
        ),
        (
            "2023-11-12T16:02:00",
            [
                ("Maya", "I need to write a complaint to my landlord, the boiler has been broken for 9 days"),
                (
                    "Twin",
                    "I'm sorry, that's a long time without heating. Is the landlord a person or an agency?",
                ),
                ("Maya", "An agency, Harbour Lettings. The guy is called Gareth and he never picks up"),
                (
                    "Twin",
                    "I can draft an email to Gareth at Harbour Lettings that sets out the dates and asks "
                    "for a repair within 48 hours.",
                ),
                ("Maya", "Yes. Mention that I reported it on the 3rd and they promised someone the next day"),
                (
                    "Twin",
                    "Done. I've kept it polite but firm, and said you'll contact the council's housing team "
                    "if it isn't fixed by Friday.",
                ),
                ("Maya", "Perfect. I'm sleeping in two jumpers at the moment"),
                ("Twin", "Is there anything else you need for the flat?"),
                (
                    "Maya",
                    "No, just a working shower would be nice, it's cold too because it runs off the boiler",
                ),
            ],
        ),
        (
            "2023-12-02T11:30:00",
            [
                ("Maya", "Good news, they replaced the whole boiler in the end"),
                ("Twin", "That's great. Is the heating working now?"),
                (
                    "Maya",
                    "Like a sauna. Okay next thing: I want to get fitter, my GP said my blood pressure is "
                    "a bit high",
                ),
                ("Twin", "Did they suggest anything specific?"),
                ("Maya", "Less salt, more exercise. She wants to check it again in three months"),
                ("Twin", "A gentle running plan might suit you. Have you run before?"),
                (
                    "Maya",
                    "At uni. I was decent at cross country actually, I did the county championships once",
                ),
                ("Twin", "Then Couch to 5k would be an easy start. Three sessions a week."),
                ("Maya", "Okay. My knees are not 20 any more though"),
                ("Twin", "Good shoes help. A running shop can do a gait check for free."),
                ("Maya", "There's one on Regent Street, I'll go on my day off"),
                ("Twin", "Shall I remind you to book the blood pressure check in early March?"),
                ("Maya", "Yes please"),
            ],
        ),
        (
            "2024-01-20T19:45:00",
            [
                ("Maya", "I have a job interview on Thursday and I'm panicking"),
                ("Twin", "Congratulations on getting an interview. What's the role?"),
                ("Maya", "Senior staff nurse in the cardiac unit at the Great Western. Band 6"),
                ("Twin", "That's a step up from your current post. What worries you most?"),
                (
                    "Maya",
                    "The clinical scenario part. They give you a deteriorating patient and you talk them "
                    "through it",
                ),
                (
                    "Twin",
                    "Practising out loud helps. Want to run through an example with the ABCDE approach?",
                ),
                ("Maya", "Yes. Also I don't know what to wear, all my nice clothes are from before covid"),
                ("Twin", "Smart and comfortable is enough. Plain trousers and a shirt would be fine."),
                ("Maya", "Jonah says I should wear my blue blazer"),
                ("Twin", "The blue blazer sounds like a good choice."),
                ("Maya", "Okay. Let's do the scenario now before I lose my nerve"),
            ],
        ),
        (
            "2024-02-03T10:20:00",
            [
                ("Maya", "I GOT IT"),
                ("Twin", "Congratulations! When do you start?"),
                ("Maya", "1st of April. I have to give four weeks notice on ward 7"),
                ("Twin", "Will you tell your manager in person?"),
                ("Maya", "Yes, Monday morning. She'll be fine, she gave me a reference"),
                ("Twin", "Would you like me to remember the start date?"),
                ("Maya", "Yes. And can you help me find a present for Liz, her exhibition opens in March"),
                ("Twin", "Something for the new flat, or something to mark the exhibition?"),
                ("Maya", "Probably something for the flat, they're moving to Easton"),
                ("Twin", "A framed print from a local artist, or a good plant, would suit a new flat."),
                ("Maya", "She kills plants. Print it is"),
            ],
        ),
    ],
)

DEV_JONAH = Conversation(
    "dev-jonah",
    "dev",
    "maya",
    [
        (
            "Fri, 27 Oct 2023 18:20:00 +0100",
            [
                ("Jonah", "Pub quiz tonight? The Red Lion, 8ish"),
                ("Maya", "Can't, I'm on at 9. Next week?"),
                ("Jonah", "Deal. Also your sister messaged me about flats lol"),
                ("Maya", "Sorry! I told her your cousin might have something"),
                ("Jonah", "Dom does have a room but it's in Bedminster not Stokes Croft. I'll pass it on"),
                ("Maya", "You're a star"),
                ("Jonah", "Btw did you hear Priya is leaving ward 7?"),
                ("Maya", "What?! Where's she going?"),
                ("Jonah", "Agency work in Australia. Perth I think. Six months"),
                ("Maya", "Good for her honestly, I'd go if it wasn't for Biscuit"),
                ("Jonah", "You'd miss the 4am tea too much"),
            ],
        ),
        (
            "Sat, 11 Nov 2023 12:05:00 +0000",
            [
                ("Jonah", "We won the quiz!! Well, came second, but there was a prize"),
                ("Maya", "What was the prize?"),
                ("Jonah", "A £30 bar tab and a trophy shaped like a pineapple"),
                ("Maya", "Iconic"),
                ("Jonah", "The music round saved us, Ellie knew every single 80s song"),
                ("Maya", "Ellie from pharmacy?"),
                ("Jonah", "Yeah. She's actually really funny once you get to know her"),
                ("Maya", "Jonah."),
                ("Jonah", "What"),
                ("Maya", "Nothing 🙂"),
                ("Jonah", "Anyway how's the boiler saga"),
                ("Maya", "Still broken. I'm showering at the gym"),
                ("Jonah", "Come round and use ours, seriously"),
            ],
        ),
        (
            "Sun, 10 Dec 2023 15:40:00 +0000",
            [
                (
                    "Jonah",
                    "Need your help. It's Ellie's birthday on Friday and I have no clue what to get her",
                ),
                ("Maya", "So it IS a thing"),
                ("Jonah", "It's a thing. Three dates. Help"),
                ("Maya", "What does she like?"),
                ("Jonah", "Climbing, sourdough, and she keeps a really messy garden"),
                ("Maya", "Get her a voucher for the climbing wall and a nice bread knife"),
                ("Jonah", "The bread knife is genius, she uses a steak knife for her loaves"),
                ("Maya", "There you go. Where are you taking her?"),
                ("Jonah", "That Georgian place on Fleet Street, the one with the dumplings"),
                ("Maya", "Khinkali! Order the cheese bread too"),
            ],
        ),
        (
            "Tue, 23 Jan 2024 07:55:00 +0000",
            [
                ("Maya", "Can I borrow your blue blazer? Just kidding, I have my own. Interview Thursday"),
                ("Jonah", "YOU APPLIED?? For the cardiac job?"),
                ("Maya", "Yes. Don't tell anyone on the ward"),
                (
                    "Jonah",
                    "Obviously. You'll smash it. Remember the deteriorating patient bit, they always do "
                    "sepsis",
                ),
                ("Maya", "That's what I'm worried about"),
                ("Jonah", "ABCDE, escalate early, document everything. You do it every shift"),
                ("Maya", "Thanks J"),
                (
                    "Jonah",
                    "Also Ellie and I are going to Snowdonia in February, her brother has a cottage near "
                    "Betws-y-Coed",
                ),
                ("Maya", "Meeting the family already!"),
                ("Jonah", "Only the brother. Mum is next level"),
                ("Maya", "Pub quiz to celebrate after my interview?"),
                ("Jonah", "Only if you're on my team this time"),
            ],
        ),
    ],
)

DEV_RUTH = Conversation(
    "dev-ruth",
    "dev",
    "ruth",
    [
        (
            "14/11/2023 09:10",
            [
                ("Ruth", "Remind me that my sister Beth's birthday is on the 30th"),
                ("Twin", "I'll remember: Beth's birthday is on 30 November."),
                ("Ruth", "She lives in Bristol now so I'll have to post something"),
                ("Twin", "Do you have anything in mind?"),
                ("Ruth", "Probably a book. She loves crime novels"),
                ("Twin", "A new crime novel would travel well in the post."),
                ("Ruth", "And my dog Pepper has been limping since the walk on Sunday, she hurt her paw"),
                (
                    "Twin",
                    "Limping can be minor, but it's worth a vet visit if it lasts more than a day or two.",
                ),
            ],
        ),
        (
            "02/12/2023 18:30",
            [
                ("Ruth", "I went to a concert last night, a string quartet at St George's"),
                ("Twin", "How was it?"),
                ("Ruth", "Lovely but freezing, I kept my coat on the whole time"),
                ("Twin", "Did you go on your own?"),
                ("Ruth", "With my neighbour Ann, she plays the cello herself"),
                ("Ruth", "I'm also thinking of moving to Cardiff next year, I could get a new job there"),
                ("Twin", "What draws you to Cardiff?"),
                ("Ruth", "It's cheaper and closer to my son"),
            ],
        ),
    ],
)

# ---------------------------------------------------------------------------------------------
# TEST: Daniel (going freelance), his brother Christopher ("Kit"), his neighbour Agnieszka ("Aga"),
# an assistant; Sofia.
# ---------------------------------------------------------------------------------------------
TEST_KIT = Conversation(
    "test-kit",
    "test",
    "daniel",
    [
        (
            "Mar 3, 2024 6:40 PM",
            [
                ("Kit", "Dan you free on the 16th? Need a hand moving the piano"),
                ("Daniel", "Which piano, Gran's?"),
                ("Kit", "Yeah, Auntie Rose is finally selling the house in Whitby and nobody else has room"),
                ("Daniel", "You don't have room either, you live in a one-bed"),
                ("Kit", "Not for long. Hana and I put an offer in on a terrace in Headingley"),
                ("Daniel", "Mate! Congrats. Did they accept?"),
                ("Kit", "Verbally. Survey's next week, fingers crossed there's no subsidence"),
                ("Daniel", "I'm free the 16th. I'll borrow Marek's trailer"),
                ("Kit", "Legend. I'll buy the fish and chips"),
                ("Daniel", "How's Hana's foot after the marathon?"),
                ("Kit", "Stress fracture. Boot for six weeks, she's furious"),
                ("Daniel", "Ouch. Tell her I said get well soon"),
            ],
        ),
        (
            "Mar 17, 2024 10:15 AM",
            [
                ("Daniel", "My back is ruined"),
                ("Kit", "Worth it though. The piano survived the A64"),
                ("Daniel", "Barely. That B flat was already out of tune"),
                (
                    "Kit",
                    "Gran used to play that thing every Sunday after lunch, I can still hear her doing "
                    "Moon River",
                ),
                ("Daniel", "Same. I nearly cried when we got it through the door"),
                ("Kit", "Hana did cry. Then she made us both a curry"),
                ("Daniel", "Best curry I've had in months. Did she put fenugreek in it?"),
                ("Kit", "Her mum's secret recipe, she won't tell me either"),
                ("Daniel", "Also, the survey?"),
                ("Kit", "Came back clean. We exchange on the 12th of April"),
                ("Daniel", "Amazing. First proper house"),
                ("Kit", "Mum already asked if there's a spare room for her"),
            ],
        ),
        (
            "Apr 20, 2024 8:05 PM",
            [
                ("Kit", "We're in! Keys on Friday"),
                ("Daniel", "Congrats you homeowners. How's the new place?"),
                ("Kit", "The boiler is older than me and the garden is a jungle, but I love it"),
                ("Daniel", "I can lend you my strimmer"),
                ("Kit", "Please. And your ladder, the gutters are full of moss"),
                ("Daniel", "Sure. Also I've got news of my own. I handed in my notice"),
                ("Daniel", "I'm going freelance. Three clients lined up already, one is the council"),
                ("Kit", "Dan that's brave. What did your boss say?"),
                ("Daniel", "Gerald tried to counter-offer, but I'd made up my mind"),
                ("Kit", "When's your last day?"),
                ("Daniel", "End of May. Then a week in Lisbon before I start"),
            ],
        ),
        (
            "Jun 9, 2024 1:30 PM",
            [
                ("Kit", "How was Portugal?"),
                ("Daniel", "Unreal. Ate pastel de nata every single day, my jeans hate me"),
                ("Kit", "Did you do the surfing lesson?"),
                ("Daniel", "Yes, in Ericeira. Stood up twice, fell off about forty times"),
                ("Kit", "Ha. Hana wants to go there for her 40th"),
                ("Daniel", "When's that?"),
                ("Kit", "September. Don't forget this time"),
                ("Daniel", "I forgot ONE birthday"),
                ("Kit", "Also Mum's hip op is booked, 2nd of July at Jimmy's"),
                ("Daniel", "I'll drive her. Freelance life means I can"),
                ("Kit", "Thanks Dan. She'll want to stop at the garden centre on the way home"),
            ],
        ),
    ],
)

TEST_TWIN = Conversation(
    "test-assistant",
    "test",
    "daniel",
    [
        (
            "2024-03-05T08:10:00Z",
            [
                ("Daniel", "I keep waking up at 4am and can't get back to sleep"),
                ("Twin", "That sounds exhausting. How long has it been happening?"),
                ("Daniel", "About a month. Since work got stressful"),
                ("Twin", "Is there something specific at work?"),
                ("Daniel", "My manager Gerald keeps moving deadlines and then blames the team"),
                (
                    "Twin",
                    "That's frustrating. Some people find writing down tomorrow's tasks before bed helps "
                    "them switch off.",
                ),
                ("Daniel", "I'll try. I also drink too much coffee, probably five cups"),
                ("Twin", "Cutting back after midday might help with the early waking."),
                ("Daniel", "Fine, decaf after lunch. My brother will laugh at me"),
            ],
        ),
        (
            "2024-04-02T19:00:00Z",
            [
                ("Daniel", "I need to build a website for my freelance business"),
                ("Twin", "Happy to help. What kind of work will you offer?"),
                ("Daniel", "Data visualisation mostly. Dashboards and maps for councils and charities"),
                ("Twin", "What will you call the business?"),
                ("Daniel", "Kestrel Data. There's a kestrel that hunts over the field behind my flat"),
                ("Twin", "That's a lovely origin story. Do you have a domain?"),
                ("Daniel", "Not yet. I want something cheap, I'm not made of money until the first invoice"),
                ("Twin", "A simple static site would cost almost nothing to host."),
                ("Daniel", "Good. My first client is Leeds City Council, a flooding dashboard"),
            ],
        ),
        (
            "2024-05-14T21:20:00Z",
            [
                ("Daniel", "Can you help me plan a week in Lisbon?"),
                ("Twin", "Sure. When are you going?"),
                ("Daniel", "1st to 8th of June. I fly from Manchester"),
                ("Twin", "Do you want city days, beaches, or both?"),
                ("Daniel", "Both, and I want to try surfing"),
                ("Twin", "Ericeira is about an hour away and has beginner schools."),
                (
                    "Daniel",
                    "Perfect. I don't eat fish by the way, it makes me sick, so no seafood restaurants",
                ),
                ("Twin", "Noted, no fish or seafood. Bairro Alto has plenty of other options."),
                ("Daniel", "And I want to see the tiles museum, my Gran collected Portuguese tiles"),
                ("Twin", "The National Azulejo Museum is in Xabregas; it's worth half a day."),
            ],
        ),
        (
            "2024-06-20T09:45:00Z",
            [
                ("Daniel", "Back home. Remind me what I owe the tax office"),
                ("Twin", "I don't have your tax figures. Do you want to note them down?"),
                ("Daniel", "I need to register as self-employed with HMRC before October"),
                ("Twin", "I'll remember that: register as self-employed with HMRC before October."),
                ("Daniel", "Also my accountant is called Farida, she's Aga's cousin"),
                ("Twin", "Got it, Farida is your accountant."),
                ("Daniel", "And set aside 30 percent of every invoice, she insisted"),
                ("Twin", "That's a sensible rule. Should I note it too?"),
                ("Daniel", "Yes. The council paid the first invoice yesterday, £4,200"),
            ],
        ),
    ],
)

TEST_AGA = Conversation(
    "test-aga",
    "test",
    "daniel",
    [
        (
            "10.03.2024 17:20",
            [
                ("Agnieszka", "Hi Daniel, it's Agnieszka from number 14. Is this your cat in my shed?"),
                ("Daniel", "Grey with a white chin? That's Mochi. Sorry! She's obsessed with your shed"),
                ("Agnieszka", "She is welcome, she caught a mouse for me"),
                ("Daniel", "Ha, she earns her keep then"),
                ("Agnieszka", "Call me Aga, everyone does. Are you the one who works with computers?"),
                ("Daniel", "Guilty. Why?"),
                ("Agnieszka", "My laptop says the disk is full and my son is in Gdansk"),
                ("Daniel", "I can have a look on Saturday morning if you like"),
                ("Agnieszka", "Wonderful. I will make pierogi"),
            ],
        ),
        (
            "16.03.2024 13:05",
            [
                ("Agnieszka", "Thank you again for fixing the laptop. The photos are all safe?"),
                ("Daniel", "All backed up on the USB stick I left, 4,000 of them"),
                ("Agnieszka", "Most are of Kuba when he was small"),
                ("Daniel", "Your son? The one in Gdansk?"),
                ("Agnieszka", "Yes. He works at the shipyard, he designs ferries"),
                ("Daniel", "That's a cool job. The pierogi were amazing, by the way"),
                ("Agnieszka", "The ones with potato and cheese. Next time I make the sauerkraut ones"),
                ("Daniel", "I'll hold you to that"),
                ("Agnieszka", "Also be careful, someone tried the door handles on the street last night"),
                ("Daniel", "Oh no. I'll tell the residents' group"),
            ],
        ),
        (
            "05.05.2024 10:40",
            [
                ("Agnieszka", "Daniel, could you water my tomatoes while I'm away?"),
                ("Daniel", "Of course. When are you going?"),
                ("Agnieszka", "Two weeks in Poland, from the 11th. Kuba is getting married!"),
                ("Daniel", "Congratulations! To the girl from the photos?"),
                ("Agnieszka", "Yes, Zosia. A teacher. I like her very much"),
                ("Daniel", "Where's the wedding?"),
                ("Agnieszka", "In Sopot, by the sea. Then a party for three days, it's Polish"),
                ("Daniel", "Three days! Don't worry about the tomatoes"),
                ("Agnieszka", "The key is under the frog by the back door"),
                ("Daniel", "I'll water them every evening"),
            ],
        ),
        (
            "26.05.2024 19:15",
            [
                ("Agnieszka", "I'm back. My tomatoes look better than when I left!"),
                ("Daniel", "Mochi supervised. How was the wedding?"),
                ("Agnieszka", "Beautiful. I danced until 4am, my knees are not happy"),
                ("Daniel", "Worth it"),
                ("Agnieszka", "And Zosia is expecting! I will be a babcia in December"),
                ("Daniel", "That's wonderful news, congratulations grandma"),
                (
                    "Agnieszka",
                    "I brought you something. Krówki, the fudge sweets, and vodka from my cousin's farm",
                ),
                ("Daniel", "You didn't have to! Thank you"),
            ],
        ),
    ],
)

TEST_SOFIA = Conversation(
    "test-sofia",
    "test",
    "sofia",
    [
        (
            "Wed, 13 Mar 2024 19:30:00 +0000",
            [
                ("Sofia", "My brother is moving house in April and wants me to help"),
                ("Twin", "Do you need help planning it?"),
                ("Sofia", "No, but my cat Mochi hates the car, any tips?"),
                ("Twin", "A covered carrier and a short practice drive can help a nervous cat."),
                ("Sofia", "I'm also going to Lisbon in June for a conference"),
                ("Twin", "Would you like restaurant suggestions?"),
                ("Sofia", "Yes, I love seafood, the more the better"),
                ("Twin", "Cervejaria Ramiro is famous for seafood."),
                ("Sofia", "My back hurts from carrying boxes, I quit my job at the removal firm last week"),
                ("Twin", "Rest and gentle stretching can help."),
            ],
        ),
    ],
)

CONVERSATIONS = [DEV_LIZ, DEV_TWIN, DEV_JONAH, DEV_RUTH, TEST_KIT, TEST_TWIN, TEST_AGA, TEST_SOFIA]


def _q(split: str, scope: str, query: str, *evidence: str, time: str | None = None) -> RealQuestion:
    return RealQuestion(split, scope, query, list(evidence), time)


QUESTIONS = [
    # DEV, Maya: her sister (Elizabeth / Liz / Lizzie)
    _q("dev", "maya", "Which city is my sister moving to for her new job?", "I got the job in Bristol"),
    _q("dev", "maya", "What is Elizabeth's role at the museum?", "assistant curator"),
    _q("dev", "maya", "When does Liz start working there?", "assistant curator"),
    _q("dev", "maya", "Who went to the gig with my sister?", "Tariq from the new job"),
    _q("dev", "maya", "What did Liz do the day after the concert?", "whole Sunday on the sofa"),
    _q("dev", "maya", "Which band did Elizabeth see live?", "Fleet Foxes were incredible"),
    _q("dev", "maya", "What's the address of the flat Liz signed for?", "Cheltenham Road, above the bakery"),
    _q("dev", "maya", "What does Elizabeth like about her place?", "light in the mornings is gorgeous"),
    _q("dev", "maya", "When is my sister moving in?", "Moving in on the 5th"),
    _q("dev", "maya", "What's wrong with Biscuit's leg?", "he tore a ligament"),
    _q("dev", "maya", "How much does the dog's operation cost?", "£2,400"),
    _q("dev", "maya", "How long must Biscuit wear the cone?", "cone for a fortnight"),
    _q("dev", "maya", "When do I stop working nights?", "come off nights"),
    _q("dev", "maya", "How many years have I been on night shifts?", "Nearly four"),
    _q("dev", "maya", "What is Liz's exhibition about?", "Bristol bus boycott"),
    _q("dev", "maya", "Who is Liz bringing home for Christmas?", "bringing someone", "TARIQ??"),
    _q(
        "dev",
        "maya",
        "What gift did my sister and I split for our father?",
        "What about binoculars?",
        "order the Opticrons",
    ),
    _q("dev", "maya", "How far am I into the running programme?", "Week three"),
    _q("dev", "maya", "Which race did Liz suggest we do together?", "Bath half"),
    _q("dev", "maya", "How is the dog recovering after surgery?", "cone is off"),
    _q("dev", "maya", "What has Dad been sending me?", "photos of a heron"),
    _q("dev", "maya", "Why was the exhibition delayed?", "lender of the main photographs"),
    _q("dev", "maya", "Why is Tariq moving in with Liz?", "lease runs out"),
    _q(
        "dev",
        "maya",
        "Which part of town are Liz and Tariq moving to?",
        "something bigger in Easton",
        "they're moving to Easton",
    ),
    # DEV, Maya with the assistant
    _q("dev", "maya", "Am I allergic to anything?", "can't do peanuts"),
    _q("dev", "maya", "Whose curry recipe do I use?", "Elizabeth gave me a recipe"),
    _q("dev", "maya", "Which supermarket do I shop at?", "go to Lidl"),
    _q("dev", "maya", "Who is my letting agent?", "Harbour Lettings. The guy"),
    _q("dev", "maya", "How long was the heating off before I complained?", "broken for 9 days"),
    _q("dev", "maya", "When did I first tell them about the boiler?", "reported it on the 3rd"),
    _q("dev", "maya", "Did the landlord ever fix the heating?", "replaced the whole boiler"),
    _q("dev", "maya", "What did my doctor say about my health?", "blood pressure is a bit high"),
    _q("dev", "maya", "Did I do any sport at university?", "cross country"),
    _q("dev", "maya", "Where is the running shop?", "Regent Street"),
    _q("dev", "maya", "What position did I interview for?", "Senior staff nurse in the cardiac unit"),
    _q("dev", "maya", "What should I wear to the interview?", "wear my blue blazer"),
    _q("dev", "maya", "When do I start the new job?", "1st of April"),
    _q("dev", "maya", "What am I getting Liz for the new flat?", "Print it is"),
    # DEV, Maya and Jonah
    _q("dev", "maya", "Where is the pub quiz held?", "The Red Lion"),
    _q("dev", "maya", "Where is Jonah's cousin's spare room?", "Bedminster not Stokes Croft"),
    _q("dev", "maya", "Where is Priya going?", "Agency work in Australia"),
    _q("dev", "maya", "What prize did Jonah's team win?", "trophy shaped like a pineapple"),
    _q("dev", "maya", "Who is Jonah seeing?", "Ellie's birthday on Friday", "Three dates"),
    _q("dev", "maya", "What are Ellie's hobbies?", "Climbing, sourdough"),
    _q("dev", "maya", "Which restaurant is Jonah taking her to?", "Georgian place on Fleet Street"),
    _q("dev", "maya", "What topic do interviewers always ask about?", "they always do sepsis"),
    _q("dev", "maya", "Where are Jonah and Ellie going in February?", "Snowdonia in February"),
    _q("dev", "maya", "Where was I washing while the boiler was broken?", "showering at the gym"),
    _q(
        "dev",
        "maya",
        "What did Jonah want help with last week?",
        "Ellie's birthday on Friday",
        time="2023-12-16T10:00:00",
    ),
    _q(
        "dev",
        "maya",
        "What did Liz tell me yesterday?",
        "Fleet Foxes were incredible",
        "I signed for the flat",
        time="2023-11-04T12:00:00",
    ),
    _q(
        "dev",
        "maya",
        "What news did Liz give me on 3 November?",
        "Fleet Foxes were incredible",
        "I signed for the flat",
        time="2026-01-15T12:00:00",  # asked years later: "3 November" is 2023's
    ),
    _q(
        "dev", "maya", "What did Jonah ask me on 27 October?", "Pub quiz tonight?", time="2026-01-15T12:00:00"
    ),
    # DEV, Ruth (another scope)
    _q("dev", "ruth", "When is my sister's birthday?", "Beth's birthday is on the 30th"),
    _q("dev", "ruth", "What's wrong with Pepper?", "Pepper has been limping"),
    _q("dev", "ruth", "Who came with me to the concert?", "neighbour Ann"),
    _q("dev", "ruth", "Where might I move?", "moving to Cardiff next year"),
    # TEST, Daniel: his brother (Christopher / Kit) and Hana
    _q("test", "daniel", "What is my brother's partner called?", "Hana and I put an offer"),
    _q("test", "daniel", "Where is Christopher buying a house?", "terrace in Headingley"),
    _q("test", "daniel", "Who is selling the house in Whitby?", "Auntie Rose is finally selling"),
    _q("test", "daniel", "What injury did Hana get from running?", "Stress fracture"),
    _q("test", "daniel", "Whose trailer did I borrow for the piano?", "Marek's trailer"),
    _q("test", "daniel", "What song did our grandmother play?", "Moon River"),
    _q("test", "daniel", "Who cooked for us after the move?", "made us both a curry"),
    _q("test", "daniel", "Did the survey find any problems?", "Came back clean"),
    _q("test", "daniel", "When does Kit exchange contracts?", "Came back clean"),
    _q("test", "daniel", "What tools is Kit borrowing from me?", "lend you my strimmer", "And your ladder"),
    _q("test", "daniel", "Why did I quit my job?", "handed in my notice", "I'm going freelance"),
    _q("test", "daniel", "How did my old boss react when I resigned?", "Gerald tried to counter-offer"),
    _q("test", "daniel", "When is my last day at work?", "End of May"),
    _q("test", "daniel", "What did I eat every day in Portugal?", "pastel de nata"),
    _q("test", "daniel", "How did the surf lesson go?", "Stood up twice"),
    _q("test", "daniel", "When is Hana's 40th birthday?", "September. Don't forget"),
    _q("test", "daniel", "When is Mum's operation?", "hip op is booked"),
    # TEST, Daniel with the assistant
    _q("test", "daniel", "Why can't I sleep?", "waking up at 4am", "Since work got stressful"),
    _q("test", "daniel", "How much coffee do I drink?", "probably five cups"),
    _q("test", "daniel", "What is my business called?", "Kestrel Data"),
    _q("test", "daniel", "What services does my company offer?", "Dashboards and maps"),
    _q("test", "daniel", "Who is my first client?", "first client is Leeds City Council"),
    _q("test", "daniel", "Which airport do I fly from to Lisbon?", "I fly from Manchester"),
    _q("test", "daniel", "What food can't I eat?", "I don't eat fish"),
    _q("test", "daniel", "Why do I want to visit the tile museum?", "Gran collected Portuguese tiles"),
    _q(
        "test",
        "daniel",
        "What's the deadline to register with the tax office?",
        "I need to register as self-employed",
    ),
    _q("test", "daniel", "Who does my accounts?", "my accountant is called Farida"),
    _q("test", "daniel", "How much of each invoice should I save?", "30 percent of every invoice"),
    _q("test", "daniel", "How much did the council pay me?", "£4,200"),
    # TEST, Daniel and his neighbour (Agnieszka / Aga)
    _q("test", "daniel", "What's my cat's name?", "That's Mochi"),
    _q("test", "daniel", "Which house does Agnieszka live at?", "Agnieszka from number 14"),
    _q("test", "daniel", "What was wrong with Aga's computer?", "disk is full"),
    _q("test", "daniel", "What food did my neighbour make me?", "I will make pierogi", "potato and cheese"),
    _q("test", "daniel", "What does Aga's son do for a living?", "he designs ferries"),
    _q("test", "daniel", "What happened on our street at night?", "tried the door handles"),
    _q("test", "daniel", "Who is Kuba marrying?", "Yes, Zosia. A teacher"),
    _q("test", "daniel", "Where is Kuba's wedding?", "In Sopot, by the sea"),
    _q("test", "daniel", "Where does Aga hide her spare key?", "under the frog"),
    _q("test", "daniel", "When is Aga's grandchild due?", "babcia in December"),
    _q("test", "daniel", "What did my neighbour bring me from Poland?", "Krówki, the fudge sweets"),
    _q(
        "test",
        "daniel",
        "What did I fix for someone two days ago?",
        "fixing the laptop",
        time="2024-03-18T12:00:00",
    ),
    _q(
        "test",
        "daniel",
        "What did my brother tell me last week?",
        "We're in! Keys on Friday",
        time="2024-04-24T12:00:00",
    ),
    _q(
        "test",
        "daniel",
        "What did Aga ask me on 5 May?",
        "could you water my tomatoes",
        time="2026-01-15T12:00:00",
    ),
    _q("test", "daniel", "What did Kit tell me on 17 March?", "Came back clean", time="2026-01-15T12:00:00"),
    # TEST, Sofia (another scope)
    _q("test", "sofia", "What is my cat called?", "my cat Mochi hates the car"),
    _q("test", "sofia", "Where am I going in June?", "Lisbon in June for a conference"),
    _q("test", "sofia", "What food do I like?", "I love seafood"),
]


def turn_id(conv: Conversation, s: int, t: int) -> str:
    return f"{conv.name}-s{s + 1}-t{t + 1}"


def build(split: str | None = None) -> tuple[list[Conversation], list[RealQuestion]]:
    """The conversations and questions of a split (both when None), each question's evidence
    resolved to turn ids. A piece of evidence text that matches no turn, or more than one turn in
    the asking scope, is a mistake in this file: ValueError."""
    convs = [c for c in CONVERSATIONS if split in (None, c.split)]
    questions = [q for q in QUESTIONS if split in (None, q.split)]
    for q in questions:
        turns = [
            (turn_id(c, s, t), text)
            for c in convs
            if c.scope == q.scope and c.split == q.split
            for s, (_, session) in enumerate(c.sessions)
            for t, (_, text) in enumerate(session)
        ]
        q.evidence = set()
        for piece in q.evidence_text:
            found = [tid for tid, text in turns if piece in text]
            if len(found) != 1:
                raise ValueError(f"evidence {piece!r} of {q.query!r} matches {len(found)} turns")
            q.evidence.add(found[0])
    return convs, questions


def export_jsonl(conv: Conversation, path: Path, plain: bool = False) -> int:
    """The conversation as a chat export `twin memory import` reads: one JSON line a turn, with the
    importing user's scope, who said it, the session's time as the export wrote it, and the session.
    `plain`: each turn's text and time only (what the baselines are given)."""
    lines = []
    for s, (when, turns) in enumerate(conv.sessions):
        for t, (who, text) in enumerate(turns):
            row = {
                "id": turn_id(conv, s, t),
                "speaker": conv.scope,
                "said_by": who,
                "session": f"{conv.name}-s{s + 1}",
                "time": when,
                "text": text,
            }
            if plain:
                del row["said_by"], row["session"]
            lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def batch_lines(questions: list[RealQuestion]) -> list[dict[str, str]]:
    """The questions as `twin memory recall --batch` lines."""
    out = []
    for q in questions:
        row = {"query": q.query, "speaker": q.scope}
        if q.time:
            row["time"] = q.time
        out.append(row)
    return out
