"""What people say in the demo world: user lines per beat, and each character's voice around them."""

from __future__ import annotations

GREET = ["Hi {char}!", "Hey {char}, got a minute?", "Good {daypart}, {char}.", "Hello again {char}!",
         "{char}, are you there?"]
GREET_REPLY = {
    "Mira": ["Hi {user}! How has your day been so far?", "There you are, {user}. What's on your mind today?"],
    "Captain Rook": ["Ahoy, {user}! What winds blow ye into port today?", "Arr, {user}! Pull up a barrel and sit, matey."],
    "Professor Quill": ["Good {daypart}, {user}. What shall we discuss today?", "Ah, {user}. A pleasure, as always."],
    "Juno": ["{user}! Great to see you! What's the energy like today?", "Hey hey {user}! Ready to win the day?"],
}
BYE = ["Gotta go, talk later!", "Thanks, that helped. Bye for now.", "Off to bed, good night!",
       "I should get back to it. Talk soon."]
BYE_REPLY = {
    "Mira": ["Take care, {user}. I'll be here whenever you need me."],
    "Captain Rook": ["Fair winds, {user}! Mind the tide."],
    "Professor Quill": ["Until next time, {user}. Do keep reading."],
    "Juno": ["Go get 'em, {user}! Drink some water!"],
}

# Facts: the first statement is plain enough to extract; repeats restate the same object.
JOB_FIRST = "I work at {company} as a {role}."
JOB_REPEAT = ["Long shift today. Being a {role} at {company} never gets boring.",
              "Work at {company} was hectic today, everyone wanted something from me."]
CITY_FIRST = "I live in {city}."
CITY_REPEAT = ["The weather in {city} is miserable today.", "{city} is freezing this week, I can't feel my fingers."]
PET_FIRST = ["I have a {kind} called {pet}.", "My {kind} {pet} is snoring next to me right now."]
PREFERENCE_LINES = {
    "concise": ("concise answers", "Please be concise, I read your messages on my phone."),
    "no_emojis": ("no emojis", "No emojis please, they distract me."),
    "mornings": ("morning chats", "I prefer chatting in the mornings, my head is clearer before work."),
}

FACT_REPLY = {
    "job": {
        "Mira": "A {role} at {company}? That sounds demanding. What do you love most about it?",
        "Captain Rook": "Arr, a {role}! {company} be lucky to have ye aboard, matey.",
        "Professor Quill": "A {role}! Indeed, a profession with a long and honourable history.",
        "Juno": "A {role} at {company}? Amazing! Do you get to move around much during the day?",
    },
    "job_repeat": {
        "Mira": "That sounds like a long day. Did you get a moment for yourself?",
        "Captain Rook": "A hard day's work makes the evening rum taste sweeter, crew.",
        "Professor Quill": "Work, as Voltaire observed, keeps at bay three great evils: boredom, vice and need.",
        "Juno": "You crushed it! Now stretch for five minutes, okay?",
    },
    "city": {
        "Mira": "{city}! What's your favourite corner of it?",
        "Captain Rook": "{city}, eh? I once dropped anchor near there in a storm fit to sink a navy.",
        "Professor Quill": "{city}: a city with a fascinating past. Have you visited its oldest library?",
        "Juno": "{city} must have great running routes! Found a favourite yet?",
    },
    "city_repeat": {
        "Mira": "Oh no. Warm socks and something hot to drink, then.",
        "Captain Rook": "Bah, a little weather never hurt a true sailor.",
        "Professor Quill": "Cities, like people, have their moods.",
        "Juno": "Perfect excuse for an indoor workout!",
    },
    "pet": {
        "Mira": "{pet}! I love that name. How old is {pet}?",
        "Captain Rook": "A {kind} named {pet}! Every ship needs a mascot.",
        "Professor Quill": "{pet}, a fine name for a {kind}. The ancient Egyptians revered their animals, you know.",
        "Juno": "{pet} sounds like the perfect walking buddy!",
    },
    "concise": {"Mira": "Of course. Short and sweet.", "Captain Rook": "Aye. Short it is.",
                "Professor Quill": "Brevity, then. Noted.", "Juno": "Got it. Short and snappy!"},
    "no_emojis": {"Mira": "Understood, no emojis.", "Captain Rook": "Aye, no little pictures.",
                  "Professor Quill": "Plain text it shall be.", "Juno": "No emojis, promise!"},
    "mornings": {"Mira": "Mornings it is. I'll be here with the coffee.", "Captain Rook": "Dawn watch, my favourite.",
                 "Professor Quill": "The morning mind is the sharpest, indeed.", "Juno": "Early birds win! Love it!"},
}

TOPICS = {  # (what the user says, a neutral reaction the character voices)
    "weekend": [("This weekend I'm finally going hiking.", "A weekend well spent is a week well started."),
                ("I spent Saturday cleaning the whole flat.", "A clean flat is a clear head."),
                ("Any ideas for a rainy Sunday?", "Rainy Sundays are made for soup and a good book.")],
    "book": [("I'm reading Middlemarch at the moment.", "Middlemarch is a wonderful choice."),
             ("Just finished The Remains of the Day, the ending wrecked me.", "Endings like that stay with you for days."),
             ("Can you recommend a short novel?", "Try The Old Man and the Sea.")],
    "cooking": [("I tried making ramen from scratch tonight.", "Cooking is half patience, half courage."),
                ("Burned the rice again, of course.", "Burned rice is a rite of passage."),
                ("What should I cook for friends on Friday?", "A big pot of paella feeds everyone and looks impressive.")],
    "movie": [("We watched an old Hitchcock film last night.", "Hitchcock knew how to build suspense like nobody else."),
              ("Any movie recommendations for tonight?", "Pick something you'd never choose yourself.")],
    "exercise": [("I went for a 5k run this morning.", "Moving your body is a gift to tomorrow's you."),
                 ("My legs are sore from yoga.", "Sore means it worked."),
                 ("I skipped the gym again.", "One skipped day is nothing; two is a pattern.")],
    "music": [("I've had the same song stuck in my head all day.", "Earworms are the brain's way of humming along."),
              ("Went to a jazz concert yesterday.", "Live jazz is the best kind of conversation.")],
    "travel": [("I'm planning a trip to Japan next spring.", "Plan one day with nothing planned at all."),
               ("Train or plane for a weekend in the mountains?", "The train: the journey is half the trip.")],
    "sleep": [("I barely slept last night.", "Be gentle with yourself today."),
              ("Finally got eight hours of sleep!", "Eight hours! That changes everything.")],
    "work_stress": [("My manager moved the deadline up again.", "Deadlines move; your worth doesn't."),
                    ("Work has been a lot this week.", "Heavy weeks end, even when they feel endless.")],
    "weather": [("It's pouring rain here.", "Rain makes the city smell new."),
                ("Finally some sunshine today.", "Go and stand in it for five minutes.")],
}
FOLLOW_UP = ["Yeah, exactly.", "Ha, that's true.", "I hadn't thought of it that way.", "Maybe you're right.",
             "What would you do?", "Tell me more.", "Hmm, I'm not sure.", "That's kind of you to say."]
VOICE = {  # wraps a neutral reaction in the character's voice
    "Mira": ("Mm, {reaction_lc}", "{reaction}"),
    "Captain Rook": ("Arr, {reaction_lc} Mark my words, crew.", "Aye. {reaction}"),
    "Professor Quill": ("Indeed. {reaction}", "Fascinating. {reaction}"),
    "Juno": ("{reaction} Let's go!", "Love that! {reaction}"),
}
MUSING = {
    "Mira": ["I'd take it slowly, one small step at a time.", "That makes a lot of sense to me.",
             "You don't have to figure it all out today."],
    "Captain Rook": ["In my day we'd have sailed straight into it, storm or no storm.",
                     "That reminds me of the time a kraken stole my boots.", "A calm sea never made a skilled sailor."],
    "Professor Quill": ["Aristotle would have called that the virtue of the middle.",
                        "History rarely repeats itself, but it often rhymes.", "Montaigne wrote an essay on exactly that."],
    "Juno": ["Small steps, big wins!", "Let's turn that into one tiny action for tomorrow!",
             "Progress, not perfection!"],
}

# Storylines: emotionally significant events and the job change.
PET_DIED = "I'm heartbroken. {pet} died this morning. My {kind} was with me for twelve years."
PET_DIED_AFTER = ["I keep looking at the empty bed by the door.", "The flat is so quiet without him."]
PET_DIED_REPLY = {
    "Mira": ["Oh, {user}... I'm so sorry. {pet} was family. I'm right here with you.",
             "Grief is love with nowhere to go. Be gentle with yourself tonight."],
    "Captain Rook": ["Arr... that's a heavy tide, {user}. {pet} was a loyal first mate.",
                     "Ye'll carry {pet} with ye always, like a compass in your pocket."],
}
PROMOTION = "I got promoted to senior {role} today!"
PROMOTION_REPLY = {
    "Juno": "YES! Senior {role}! I knew you'd do it! Celebrate tonight, you earned it!",
    "Mira": "Oh, congratulations, {user}! You worked so hard for this.",
}
JOB_CHANGE = "Big news: I just started at Globex! I left Initech last week."
JOB_CHANGE_REPEAT = "Second week at Globex and I already like it more than Initech."
JOB_CHANGE_REPLY = {
    "Mira": "Globex! A fresh start. How was your first day?",
}
ALIAS_NYC = "NYC is freezing this week, the wind off the Hudson is brutal."
ALIAS_ACME = "Funny, my neighbour Bruno works at ACME Corporation too."
