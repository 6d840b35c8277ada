"""Shared toy vocabulary, a fixed toy "world" of facts, and small helpers.

Everything here is a module-level constant or a pure function of a `random.Random`,
so the generators are deterministic. The toy world is fixed (built once from a fixed
seed), which is what lets closed-book QA be learned: the same question always asks
about the same fact, in every split.
"""
from __future__ import annotations

import hashlib
import random
import re

FEMALE = tuple("Anna Maria Sofia Emma Olivia Lucy Grace Nora Mia Clara Julia Eva Lena Rosa "
               "Alice Helen Irene Laura Sara Vera".split())
MALE = tuple("Ben Tom David Peter Omar Ivan Leo Max Paul Sam Hugo Felix Oscar Victor Adam "
             "Daniel Jonas Marco Nick Henry".split())
NAMES = FEMALE + MALE
SURNAMES = tuple("Berg Costa Novak Fischer Moreau Silva Kowalski Larsen Rossi Weber Dubois "
                 "Lindqvist Horvat Petrov Moreno Becker Jensen Ricci Keller Santos".split())
CITIES = tuple("Paris Rome Berlin Madrid Lisbon Vienna Prague Oslo Dublin Athens Cairo Lima "
               "Quito Tokyo Seoul Delhi Sydney Toronto Boston Denver Chicago Austin Munich "
               "Milan Porto Krakow Geneva Zurich Helsinki Warsaw".split())
JOBS = tuple("teacher doctor nurse farmer pilot baker lawyer painter engineer chef writer "
             "dentist plumber singer driver banker architect judge tailor waiter".split())
COLORS = tuple("red blue green yellow black white brown orange purple grey".split())
FOODS = tuple("soup pizza rice bread pasta salad fish cheese apples cake noodles pancakes "
              "oranges carrots".split())
SPORTS = tuple("tennis soccer chess golf hockey rugby cricket baseball volleyball "
               "basketball badminton".split())
PETS = tuple("dog cat horse rabbit parrot goat hamster turtle pony".split())
OBJECTS = tuple("bike car boat kite lamp guitar piano camera watch phone hat coat jacket bag "
                "book chair table clock".split())
DAYS = tuple("Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split())
MONTHS = tuple("January February March April May June July August September October "
               "November December".split())
TEAMS = tuple("Hawks Bears Lions Eagles Wolves Tigers Sharks Falcons Rams Giants".split())
PLACES = tuple("park beach garden kitchen library market station museum school forest".split())

# Sentiment words (used by reviews, tweets, critics and SST-like phrases).
POSITIVE = tuple("great wonderful excellent delightful brilliant charming superb lovely "
                 "amazing fantastic enjoyable beautiful moving funny clever".split())
NEGATIVE = tuple("terrible awful boring dull horrible dreadful poor bland disappointing "
                 "painful weak tedious clumsy annoying messy".split())

# Person facts: one relation per row. `state` is the plain statement, `para` a
# paraphrase with the same meaning, `neg` its negation, `q` the question it answers.
# Functional relations hold for one value only, so another value contradicts them.
RELATIONS = {
    "city": dict(state="{s} lives in {o}.", para="{s}'s home is in {o}.",
                 neg="{s} does not live in {o}.", q="Where does {s} live?",
                 pool=CITIES, functional=True),
    "job": dict(state="{s} works as {a} {o}.", para="{s} is {a} {o} by profession.",
                neg="{s} is not {a} {o}.", q="What is {s}'s job?",
                pool=JOBS, functional=True),
    "color": dict(state="{s}'s car is {o}.", para="{s} drives {a} {o} car.",
                  neg="{s}'s car is not {o}.", q="What color is {s}'s car?",
                  pool=COLORS, functional=True),
    "food": dict(state="{s} likes {o}.", para="{s} enjoys eating {o}.",
                 neg="{s} does not like {o}.", q="What food does {s} like?",
                 pool=FOODS, functional=False),
    "sport": dict(state="{s} plays {o}.", para="{s} is a keen {o} player.",
                  neg="{s} does not play {o}.", q="Which sport does {s} play?",
                  pool=SPORTS, functional=False),
    "pet": dict(state="{s} has {a} {o}.", para="{s} owns {a} {o}.",
                neg="{s} does not have {a} {o}.", q="What pet does {s} have?",
                pool=PETS, functional=False),
}
REL_NAMES = tuple(RELATIONS)


def stable_seed(*parts) -> int:
    """A seed that is the same in every process (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def rng_for(*parts) -> random.Random:
    return random.Random(stable_seed(*parts))


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def pick_other(rng: random.Random, pool, *exclude):
    while True:
        x = rng.choice(pool)
        if x not in exclude:
            return x


def hexid(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def pronoun(name: str, case: str = "subj") -> str:
    female = name in FEMALE
    return {"subj": "she" if female else "he", "obj": "her" if female else "him",
            "poss": "her" if female else "his"}[case]


def person(rng: random.Random, female: bool | None = None) -> str:
    if female is None:
        return rng.choice(NAMES)
    return rng.choice(FEMALE if female else MALE)


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}"


def say(rel: str, s: str, o: str, form: str = "state") -> str:
    return RELATIONS[rel][form].format(s=s, o=o, a=article(o))


def facts_for(rng: random.Random, k: int, rels=REL_NAMES) -> list[tuple[str, str]]:
    """k (relation, value) facts about one person, with distinct relations."""
    return [(r, rng.choice(RELATIONS[r]["pool"])) for r in rng.sample(list(rels), k)]


def find_span(text: str, value: str) -> int:
    """Character offset of `value` as a whole word in `text` (its first occurrence)."""
    m = re.search(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text)
    if m is None:
        raise ValueError(f"{value!r} not in {text!r}")
    return m.start()


# ------------------------------------------------------------------ the fixed toy world
_SYL = ("ka lo ver mi ta dor sel an ri bo nu vel zan tor el ma ris gan fen lu "
        "do pra sto ki mar").split()


def _make_world():
    r = random.Random(20220101)
    used, countries = set(), []

    def word(n):
        while True:
            w = "".join(r.choice(_SYL) for _ in range(n)).capitalize()
            if w not in used:
                used.add(w)
                return w
    for _ in range(48):
        name = word(3)
        countries.append(dict(country=name, capital=word(2), river=word(2) + " River",
                              founder=f"{r.choice(NAMES)} {r.choice(SURNAMES)}",
                              year=str(r.randrange(1100, 1950)), flag=r.choice(COLORS),
                              animal=r.choice(PETS[:6] + ("eagle", "bear", "wolf", "deer"))))
    return tuple(countries)


WORLD = _make_world()
# attribute -> (natural-questions style question, trivia style question, answer type)
WORLD_QUESTIONS = {
    "capital": ("what is the capital of {c}", "Which city is the capital of {c}?", "city"),
    "river": ("what river flows through {c}", "Name the longest river of {c}.", "river"),
    "founder": ("who founded {c}", "Who is remembered as the founder of {c}?", "person"),
    "year": ("when was {c} founded", "In which year was {c} founded?", "year"),
    "flag": ("what color is the flag of {c}", "What is the main colour of the flag of {c}?",
             "color"),
    "animal": ("what is the national animal of {c}", "Which animal is the symbol of {c}?",
               "animal"),
}
WORLD_SENTENCES = {
    "capital": "The capital of {c} is {v}.", "river": "The {v} flows through {c}.",
    "founder": "{c} was founded by {v}.", "year": "{c} was founded in {v}.",
    "flag": "The flag of {c} is {v}.", "animal": "The national animal of {c} is the {v}.",
}


def world_sentence(country: dict, attr: str) -> str:
    return WORLD_SENTENCES[attr].format(c=country["country"], v=country[attr])


BIO_EXTRAS = ("{s} was born in {m}.", "{s} grew up with two brothers.",
              "{s} reads the news every morning.",
              "Friends describe {s} as calm and patient.", "{s} spends most weekends outdoors.")


def bio(rng: random.Random, full: str, k: int, rels=REL_NAMES, extra: bool = True):
    """A short biography: `full` is introduced, then k facts stated with the first name.

    Returns (text, facts) with facts a list of (relation, value)."""
    first = full.split()[0]
    facts = facts_for(rng, k, rels)
    sents = [f"{full} is {article(facts[0][1]) + ' ' if facts[0][0] == 'job' else ''}"
             f"{facts[0][1] if facts[0][0] == 'job' else 'well known in town'}."]
    sents += [say(r, first, o) for r, o in (facts[1:] if facts[0][0] == "job" else facts)]
    if extra:
        sents.insert(rng.randrange(1, len(sents) + 1),
                     rng.choice(BIO_EXTRAS).format(s=first, m=rng.choice(MONTHS)))
    return " ".join(sents), facts
