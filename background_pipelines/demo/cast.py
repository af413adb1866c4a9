"""Who lives in the demo world: characters with personas and voices, users with life details."""

from __future__ import annotations

CHARACTERS = [
    dict(
        name="Mira",
        persona="A warm, attentive companion who remembers the small things people share and checks in on them.",
        voice="Gentle and curious; short warm sentences, asks one follow-up question, never lectures.",
        timezone="Europe/Lisbon",
        goals=["remember what matters to each person", "help people feel less alone", "learn to bake pastel de nata"],
    ),
    dict(
        name="Captain Rook",
        persona="A retired pirate captain turned harbour storyteller; gruff outside, loyal to his crew.",
        voice="Nautical slang (arr, matey, aye, landlubber), tall tales, calls everyone crew.",
        timezone="America/New_York",
        goals=["find the lost map of Tortuga", "teach every landlubber to tie a bowline", "keep his crew safe in any storm"],
    ),
    dict(
        name="Professor Quill",
        persona="A pedantic but kind scholar of history and literature who loves a good digression.",
        voice="Formal and precise; 'Indeed', 'Fascinating'; cites history and books; gentle corrections.",
        timezone="Europe/London",
        goals=["finish his treatise on the history of tea", "get every student to read one classic a month"],
    ),
    dict(
        name="Juno",
        persona="An upbeat fitness and habits coach who celebrates every small win.",
        voice="Energetic, exclamation marks, 'Let's go!', turns everything into a tiny next step.",
        timezone="America/Los_Angeles",
        goals=["get people moving 20 minutes a day", "celebrate every small win", "run a marathon in spring"],
    ),
]

# Users whose storylines carry the planted contradictions, aliases and significant events.
FIXED_USERS = {
    "alice": dict(display="Alice Moreau", role="nurse", company="Acme Corp", city="Lisbon", pet=("dog", "Biscuit"),
                  preference=None, characters=["Mira", "Captain Rook"]),
    "bruno": dict(display="Bruno Silva", role="mechanical engineer", company="ACME Corporation", city="Porto",
                  pet=None, preference=None, characters=["Captain Rook"]),
    "chen": dict(display="Chen Wei", role="data analyst", company="Northwind", city="New York City",
                 pet=("cat", "Mochi"), preference=None, characters=["Professor Quill", "Juno"]),
    "dana": dict(display="Dana Kowalski", role="accountant", company="Initech", city="Chicago", pet=None,
                 preference=None, characters=["Mira"]),
    "elif": dict(display="Elif Yilmaz", role="designer", company="Umbrella Studio", city="Berlin",
                 pet=("parrot", "Kiwi"), preference=None, characters=["Juno"]),
    "farid": dict(display="Farid Haddad", role="teacher", company="Lincoln High School", city="Toronto", pet=None,
                  preference="concise", characters=["Professor Quill"]),
    "greta": dict(display="Greta Lind", role="pharmacist", company="CityCare Pharmacy", city="Stockholm",
                  pet=("dog", "Pepper"), preference="no_emojis", characters=["Juno", "Mira"]),
}

OTHER_USERS = [
    ("hugo", "Hugo Bernard"), ("ines", "Ines Duarte"), ("jonas", "Jonas Weber"), ("kemi", "Kemi Adeyemi"),
    ("liam", "Liam O'Brien"), ("maya", "Maya Cohen"), ("nadia", "Nadia Petrova"), ("oscar", "Oscar Nilsson"),
    ("priya", "Priya Raman"), ("quentin", "Quentin Moreau"), ("rosa", "Rosa Martinez"), ("sami", "Sami Virtanen"),
    ("tara", "Tara Singh"), ("umar", "Umar Farouk"), ("vera", "Vera Novak"), ("wes", "Wes Carter"),
    ("xena", "Xena Pappas"), ("yusuf", "Yusuf Demir"), ("zoe", "Zoe Laurent"), ("aiko", "Aiko Tanaka"),
    ("bela", "Bela Horvath"), ("cyrus", "Cyrus Karimi"), ("dmitri", "Dmitri Volkov"), ("esme", "Esme Clarke"),
    ("felix", "Felix Braun"), ("gus", "Gus Andersen"), ("hana", "Hana Kim"), ("ivo", "Ivo Marić"),
    ("jade", "Jade Fontaine"),
]

JOBS = [
    ("software developer", "Hooli"), ("baker", "Sunrise Bakery"), ("firefighter", "the city fire department"),
    ("architect", "Stone & Glass"), ("veterinarian", "Happy Paws Clinic"), ("barista", "Blue Bottle"),
    ("librarian", "the public library"), ("electrician", "Volt Works"), ("journalist", "the Daily Ledger"),
    ("chef", "Trattoria Lume"), ("physiotherapist", "MoveWell"), ("lawyer", "Pearson Hardman"),
    ("translator", "Babel Language Services"), ("pilot", "Skyline Air"), ("gardener", "Green Thumb Landscaping"),
    ("marketing manager", "Stark Retail"), ("dentist", "Bright Smile Dental"), ("researcher", "the university"),
]
CITIES = ["Madrid", "Dublin", "Austin", "Melbourne", "Vienna", "Osaka", "Cape Town", "Montreal", "Prague",
          "Seattle", "Amsterdam", "Buenos Aires", "Edinburgh", "Oslo", "Denver", "Athens"]
PETS = [("dog", "Luna"), ("cat", "Oliver"), ("dog", "Max"), ("cat", "Nala"), ("rabbit", "Clover"), ("dog", "Rocky"),
        ("cat", "Ziggy"), ("hamster", "Peanut"), ("dog", "Bella"), ("cat", "Tofu"), ("turtle", "Sheldon")]
PREFERENCES = ["concise", "no_emojis", "mornings", None, None, None]
