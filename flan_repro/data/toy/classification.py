"""Single-text classification: sentiment (IMDB, Sentiment140, SST-2, Yelp), AG News,
TREC, CoLA, and WiC (a word-sense pair task).

Sentiment texts are built from positive vs negative word lists (the label is the
majority polarity); AG News from per-topic vocabularies; TREC from question frames
whose wh-word and slot decide the coarse and fine type; CoLA corrupts grammatical
sentences; WiC draws both sentences from one or two senses of an ambiguous word.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx

MOVIE_ASPECTS = ("acting", "plot", "soundtrack", "dialogue", "ending", "camera work", "cast", "script")
FOOD_ASPECTS = ("service", "food", "staff", "pizza", "coffee", "dessert", "atmosphere", "menu")
OPINION_FRAMES = ("The {x} was {adj}.", "I thought the {x} was {adj}.",
                  "Honestly, the {x} felt {adj}.", "The {x} is simply {adj}.")
MOVIE_CLOSERS = (("I would happily watch it again.", "Highly recommended."),
                 ("What a waste of two hours.", "Avoid this one."))
FOOD_CLOSERS = (("We will definitely come back.", "Five stars from me."),
                ("We will not be coming back.", "One star is too many."))
NEUTRAL_FACTS = ("I went on a {d} evening with a friend.", "It was my second visit.",
                 "We arrived at about seven.", "I had read about it in the paper.")
MOVIE_TITLES = ("The Silent Harbor", "Night Train", "Blue Summer", "The Last Garden",
                "Paper Kings", "Iron Valley", "A Quiet Storm", "Winter Letters")


def _opinions(rng, positive: bool, aspects, n: int, allow_contrary: bool) -> list[str]:
    pols = [positive] * n
    if allow_contrary and n >= 3 and rng.random() < 0.3:
        pols[rng.randrange(n)] = not positive        # one dissenting remark, majority rules
    return [rng.choice(OPINION_FRAMES).format(
        x=x, adj=rng.choice(lx.POSITIVE if p else lx.NEGATIVE))
        for x, p in zip(rng.sample(aspects, n), pols)]


def imdb(rng, i, split):
    label = rng.randrange(2)                          # neg, pos
    parts = [f"I watched {rng.choice(MOVIE_TITLES)} last {rng.choice(lx.DAYS)}.",
             *_opinions(rng, bool(label), MOVIE_ASPECTS, rng.randint(3, 4), True),
             rng.choice(MOVIE_CLOSERS[1 - label])]
    text = " ".join(parts[:3]) + ("<br /><br />" if rng.random() < 0.5 else " ") + " ".join(parts[3:])
    return {"text": text, "label": label}


def yelp(rng, i, split):
    label = rng.randrange(2)                          # '1' (negative), '2' (positive)
    parts = [rng.choice(NEUTRAL_FACTS).format(d=rng.choice(lx.DAYS)),
             *_opinions(rng, bool(label), FOOD_ASPECTS, rng.randint(2, 3), True),
             rng.choice(FOOD_CLOSERS[1 - label])]
    sep = "\\n" if rng.random() < 0.3 else " "      # real Yelp text has literal '\n'
    return {"text": sep.join(parts), "label": label}


def sst2(rng, i, split):
    label = rng.randrange(2)                          # negative, positive
    words = lx.POSITIVE if label else lx.NEGATIVE
    a, b = rng.sample(words, 2)
    frame = rng.choice(("a {a} , {b} film", "the {x} is {a} and {b}", "{a} from start to finish",
                        "an {a} little movie with a {b} {x}", "this {a} , {b} story"))
    return {"sentence": frame.format(a=a, b=b, x=rng.choice(MOVIE_ASPECTS)) + " ",
            "label": label, "idx": i}


TWEET_TOPICS = ("the weather", "my new phone", "this morning", "the game tonight", "work today",
                "the concert", "my exam", "the traffic")
NEUTRAL_TWEETS = ("reading about {t} on the bus", "anyone else watching news about {t}?",
                  "going to write about {t} later", "just heard about {t}")


def sentiment140(rng, i, split):
    neutral = split == "test" and rng.random() < 0.28
    pol = 2 if neutral else rng.choice((0, 4))
    t = rng.choice(TWEET_TOPICS)
    if neutral:
        text = rng.choice(NEUTRAL_TWEETS).format(t=t)
    else:
        adj = rng.choice(lx.POSITIVE if pol == 4 else lx.NEGATIVE)
        text = rng.choice(("{t} is so {a} today", "wow, {t} was {a}!!", "feeling {a} about {t}",
                           "{t} = {a}. just saying")).format(t=t, a=adj)
    user = rng.choice(lx.NAMES).lower() + str(rng.randrange(10, 999))
    if rng.random() < 0.3:
        text = f"@{rng.choice(lx.NAMES).lower()} {text}"
    return {"text": text, "polarity": pol, "user": user,
            "query": "NO_QUERY" if split == "train" else rng.choice(("kindle2", "obama", "lakers")),
            "date": f"{rng.choice(('Mon', 'Tue', 'Wed', 'Sat'))} {rng.choice(('Apr', 'May', 'Jun'))} "
                    f"{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                    f"{rng.randint(0, 59):02d} PDT 2009"}


# ------------------------------------------------------------------ AG News topics
AG_TOPICS = (  # World, Sports, Business, Sci/Tech: (actors, objects)
    (("The prime minister", "Rebel leaders", "The United Nations", "Foreign ministers", "Troops"),
     ("peace talks", "the election", "a ceasefire", "the border dispute", "new sanctions")),
    (("The Hawks", "The head coach", "The star striker", "The defending champions", "The Lions"),
     ("the league title", "the season opener", "the cup final", "a new contract", "the playoffs")),
    (("Shares of Nortex", "Investors", "The central bank", "Velcorp", "Oil producers"),
     ("quarterly profits", "the merger deal", "interest rates", "the stock market", "oil prices")),
    (("Researchers", "Astronomers", "Software makers", "Chip designers", "Nortex engineers"),
     ("a faster processor", "a new web browser", "the space probe", "a security patch",
      "the satellite network")))
AG_VERBS = ("discuss", "unveil", "push for", "report on", "prepare for")
AG_WIRES = ("", "AP - ", "Reuters - ", "AFP - ")


def ag_news(rng, i, split):
    label = rng.randrange(4)
    actors, objects = AG_TOPICS[label]
    a, o = rng.choice(actors), rng.choice(objects)
    title = f"{a} {rng.choice(AG_VERBS)} {o}"
    desc = (f"{rng.choice(AG_WIRES)}{a} said on {rng.choice(lx.DAYS)} that {o} would "
            f"be a priority, while {rng.choice(actors).lower()} expect news on "
            f"{rng.choice(objects)} soon.")
    return {"title": title, "description": desc, "label": label}


# ------------------------------------------------------------------ TREC question types
TREC_FRAMES = (  # coarse index (DESC, ENTY, ABBR, HUM, NUM, LOC) -> [(frame, fine label)]
    (("What is the meaning of the word {w} ?", "def"), ("Why do {p}s sleep so much ?", "reason"),
     ("How do you cook {f} ?", "manner"), ("What does a {j} do ?", "desc")),
    (("What animal is the symbol of {c} ?", "animal"), ("What food is {x} famous for ?", "food"),
     ("What color is the flag of {c} ?", "color"), ("What sport did {n} play ?", "sport")),
    (("What does {a} stand for ?", "exp"), ("What is the abbreviation of {c} ?", "abb")),
    (("Who founded {c} ?", "ind"), ("What team won the {x} cup in {y} ?", "gr"),
     ("Who was {n} ?", "desc"), ("What title did the ruler of {c} hold ?", "title")),
    (("How many people live in {x} ?", "count"), ("When was {c} founded ?", "date"),
     ("How much does a {o} cost ?", "money"), ("How long is the {r} ?", "dist")),
    (("What country is {x} in ?", "country"), ("What is the capital of {c} ?", "city"),
     ("Where is the {r} ?", "other"), ("What is the highest mountain in {c} ?", "mount")))
TREC_FINE = ("manner cremat animal exp ind gr title def date reason event state desc count other "
             "letter religion food country color termeq city body dismed mount money product period "
             "substance sport plant techmeth volsize instru abb speed word lang perc code dist temp "
             "symbol ord veh weight currency").split()
ABBREVIATIONS = ("NASA", "UN", "BBC", "CPU", "DNA", "UFO", "GDP", "FBI")


def trec(rng, i, split):
    coarse = rng.randrange(6)
    frame, fine = rng.choice(TREC_FRAMES[coarse])
    country = rng.choice(lx.WORLD)
    text = frame.format(w=rng.choice(lx.POSITIVE), p=rng.choice(lx.PETS), f=rng.choice(lx.FOODS),
                        j=rng.choice(lx.JOBS), c=country["country"], x=rng.choice(lx.CITIES),
                        n=lx.full_name(rng), a=rng.choice(ABBREVIATIONS), y=rng.randint(1950, 2005),
                        o=rng.choice(lx.OBJECTS), r=country["river"])
    return {"text": text, "label-coarse": coarse, "label-fine": TREC_FINE.index(fine)}


# ------------------------------------------------------------------ CoLA
AGREEMENT = (("lives", "live"), ("works", "work"), ("likes", "like"), ("plays", "play"),
             ("has", "have"), ("is", "are"), ("does", "do"))


def cola(rng, i, split):
    label = rng.randrange(2)                          # unacceptable, acceptable
    rel = rng.choice(lx.REL_NAMES[:2] + lx.REL_NAMES[3:])
    s = lx.say(rel, lx.person(rng), rng.choice(lx.RELATIONS[rel]["pool"]),
               rng.choice(("state", "neg")))
    if label == 0:
        words = s.rstrip(".").split()
        kind = rng.randrange(3)
        if kind == 0 and any(w == a for w in words for a, _ in AGREEMENT):
            j = next(k for k, w in enumerate(words) if any(w == a for a, _ in AGREEMENT))
            words[j] = dict(AGREEMENT)[words[j]]
        elif kind == 1 or len(words) < 3:
            j = rng.randrange(1, len(words) - 1)
            words[j], words[j + 1] = words[j + 1], words[j]
        else:
            del words[1]
        s = " ".join(words) + "."
    return {"sentence": s, "label": label, "idx": i}


# ------------------------------------------------------------------ WiC
WIC_SENSES = {  # word -> (sense A frames, sense B frames)
    "bank": (("{n} fished from the bank of the river.", "The grassy bank near {c} was muddy."),
             ("{n} opened an account at the bank.", "The bank in {c} lent {n} some money.")),
    "bat": (("A bat flew out of the cave near {c}.", "{n} saw a bat hanging in the barn."),
            ("{n} swung the bat and hit the ball.", "The cricket bat was made of willow.")),
    "bark": (("{n} heard the bark of a dog outside.", "The bark of the puppy woke everyone."),
             ("The bark of the old oak was rough.", "{n} peeled the bark off a branch.")),
    "match": (("{n} struck a match to light the candle.", "The match burned down quickly."),
              ("{n} won the tennis match in {c}.", "The match ended in a draw.")),
    "plant": (("The plant in {c} makes car parts.", "{n} works at a steel plant."),
              ("{n} watered the plant on the windowsill.", "The plant grew two new leaves.")),
    "letter": (("{n} wrote a long letter to a friend in {c}.", "The letter arrived on {d}."),
               ("The word starts with the letter B.", "{n} wrote each letter of the alphabet.")),
    "ring": (("{n} wore a gold ring.", "The ring was a gift from {n}'s mother."),
             ("{n} heard the ring of the doorbell.", "The ring of the phone woke {n}.")),
    "scale": (("{n} stood on the scale in the bathroom.", "The kitchen scale showed two kilos."),
              ("A scale fell off the fish.", "Each scale on the snake shone in the sun.")),
    "spring": (("{n} visits {c} every spring.", "The flowers bloom in early spring."),
               ("A metal spring held the door shut.", "The spring in the old sofa broke.")),
}


def wic(rng, i, split):
    label = rng.randrange(2)                          # False (different), True (same)
    word = rng.choice(list(WIC_SENSES))
    senses = WIC_SENSES[word]
    s_a = rng.randrange(2)
    s_b = s_a if label else 1 - s_a
    f1 = rng.choice(senses[s_a])
    f2 = rng.choice([f for f in senses[s_b] if f != f1] or senses[s_b])
    kw = dict(n=lx.person(rng), c=rng.choice(lx.CITIES), d=rng.choice(lx.DAYS))
    s1, s2 = f1.format(**kw), f2.format(**{**kw, "n": lx.person(rng)})
    st1, st2 = lx.find_span(s1.lower(), word), lx.find_span(s2.lower(), word)
    return {"word": word, "sentence1": s1, "sentence2": s2, "start1": st1, "end1": st1 + len(word),
            "start2": st2, "end2": st2 + len(word), "label": label, "idx": i}


GENERATORS = {
    "imdb_reviews/plain_text": imdb, "yelp_polarity_reviews": yelp, "glue/sst2": sst2,
    "sentiment140": sentiment140, "ag_news_subset": ag_news, "trec": trec, "glue/cola": cola,
    "super_glue/wic": wic,
}
