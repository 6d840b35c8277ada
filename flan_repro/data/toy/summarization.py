"""Summarization: CNN/DailyMail, Gigaword, XSum, Multi-News, Newsroom, AESLC, SAMSum,
Opinion Abstracts (IDebate, Rotten Tomatoes) and GEM WikiLingua.

Documents are built around one news event (or email, dialogue, debate, how-to);
the summary is the lead sentence or a fixed compression of it, so it is learnable.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx

EVENTS = (  # (past tense, headline, present perfect); {s} is a sport, {f} a food
    ("won the {s} championship", "wins {s} championship", "has won the {s} championship"),
    ("opened a bakery selling {f}", "opens bakery selling {f}",
     "has opened a bakery selling {f}"),
    ("was elected mayor", "elected mayor", "has been elected mayor"),
    ("raised money for a new school", "raises money for new school",
     "has raised money for a new school"),
    ("rescued a dog from the river", "rescues dog from river",
     "has rescued a dog from the river"),
    ("finished a marathon in record time", "finishes marathon in record time",
     "has finished a marathon in record time"),
    ("published a cookbook about {f}", "publishes cookbook about {f}",
     "has published a cookbook about {f}"))
DAY_ADJECTIVES = ("wonderful", "amazing", "fantastic", "great", "lovely", "unreal", "special")
DETAILS = ("{f1} said the day felt {adj}.", "Neighbours in {c} gathered to celebrate.",
           "Local officials praised {f1} on {d}.", "{f1} plans to travel to {c2} next {m}.",
           "The news spread quickly on social media.",
           "{P} thanked family and friends for their support.",
           "A local paper first reported the story on {d}.")


def _event(rng):
    full = lx.full_name(rng)
    first = full.split()[0]
    job, city, c2 = rng.choice(lx.JOBS), *rng.sample(lx.CITIES, 2)
    slots = dict(s=rng.choice(lx.SPORTS), f=rng.choice(lx.FOODS))
    past, head, perf = (x.format(**slots) for x in rng.choice(EVENTS))
    day = rng.choice(lx.DAYS)
    lead = f"{full}, {lx.article(job)} {job} from {city}, {past} on {day}."
    lead2 = f"On {day}, {full}, who works as {lx.article(job)} {job} in {city}, {past}."
    kw = dict(f1=first, adj=rng.choice(DAY_ADJECTIVES), c=city, c2=c2, d=rng.choice(lx.DAYS),
              m=rng.choice(lx.MONTHS), P=lx.cap(lx.pronoun(first)))
    details = [d.format(**kw) for d in rng.sample(DETAILS, rng.randint(3, 5))]
    return dict(full=full, first=first, job=job, city=city, lead=lead, lead2=lead2,
                details=details, headline=f"{full} {head}",
                lead_short=f"{full} {past} on {day}.",
                short=f"{lx.cap(lx.article(job))} {job} from {city} {perf}.")


def cnn_dailymail(rng, i, split):
    ev = _event(rng)
    background = [lx.say(r, ev["first"], o)
                  for r, o in lx.facts_for(rng, 2, ("food", "sport", "pet"))]
    body = " ".join([ev["lead"], *ev["details"], *background])
    if rng.random() < 0.5:
        body = f"{ev['city'].upper()} (CNN) -- " + body
    highlights = "\n".join([ev["lead_short"], ev["details"][0]])
    return {"article": body, "highlights": highlights, "id": lx.hexid(rng, 40),
            "publisher": rng.choice(("cnn", "dm"))}


def _giga(text: str) -> str:
    return text.lower().replace(",", " ,").replace(".", " .").rstrip(" .") + " ."


def gigaword(rng, i, split):
    ev = _event(rng)
    doc = _giga(ev["lead"]) + " " + _giga(ev["details"][0])
    summary = ev["headline"].lower()
    if rng.random() < 0.02:                           # real Gigaword has UNK tokens
        doc = doc.replace(ev["city"].lower(), "UNK")
    return {"document": doc, "summary": summary}


def xsum(rng, i, split):
    ev = _event(rng)
    sents = list(ev["details"])
    sents.insert(1, ev["lead2"])                     # XSum's lead is the summary, not in the text
    return {"document": "\n".join(sents), "summary": ev["short"]}


def multi_news(rng, i, split):
    ev = _event(rng)
    docs = []
    for _ in range(rng.randint(2, 3)):
        d = [ev["lead"], *rng.sample(ev["details"], 2)]
        docs.append(" ".join(d))
    summary = "– " + ev["lead"] + " " + ev["details"][0]
    return {"document": " ||||| ".join(docs), "summary": summary}


def newsroom(rng, i, split):
    ev = _event(rng)
    extractive = rng.random() < 0.5
    summary = ev["lead"] if extractive else ev["short"]
    year = rng.randint(1998, 2016)
    return {"title": ev["headline"].title(), "text": " ".join([ev["lead"], *ev["details"]]),
            "summary": summary, "url": f"http://www.example-news.com/{year}/{lx.hexid(rng, 6)}",
            "date": f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            "density": round(rng.uniform(5, 20) if extractive else rng.uniform(1, 2), 3),
            "coverage": round(rng.uniform(0.9, 1.0) if extractive else rng.uniform(0.5, 0.8), 3),
            "compression": round(rng.uniform(3, 8), 3),
            "density_bin": "extractive" if extractive else rng.choice(("abstractive", "mixed")),
            "coverage_bin": "high" if extractive else rng.choice(("low", "medium")),
            "compression_bin": rng.choice(("low", "medium", "high"))}


EMAIL_KINDS = (  # (body, subject)
    ("Hi {b},\n\nCan we move the {t} meeting to {d}? I need more time to finish the {t} "
     "numbers.\n\nThanks,\n{a}", "{T} meeting moved to {d}"),
    ("{b},\n\nPlease review the attached {t} draft before {d} and send me your comments."
     "\n\n{a}", "{T} draft for review"),
    ("Team,\n\nThe {t} call on {d} is cancelled. We will pick a new date next week."
     "\n\nRegards,\n{a}", "{T} call cancelled"),
    ("Hi {b},\n\nI approved the {t} budget today. Let me know if you need anything else by "
     "{d}.\n\n{a}", "{T} budget approved"))
EMAIL_TOPICS = ("budget", "contract", "marketing", "hiring", "pipeline", "quarterly", "training",
                "legal")


def aeslc(rng, i, split):
    body, subject = rng.choice(EMAIL_KINDS)
    t = rng.choice(EMAIL_TOPICS)
    kw = dict(a=lx.person(rng), b=lx.person(rng), t=t, T=lx.cap(t), d=rng.choice(lx.DAYS))
    return {"email_body": body.format(**kw), "subject_line": subject.format(**kw)}


DIALOGUES = (  # (turns, summary); {a}/{b} speakers
    (("{a}: Are you coming to the {e} tonight?", "{b}: Yes! I'll bring some {f}.",
      "{a}: Great, see you at {h}."), "{b} is coming to the {e} tonight and will bring {f}."),
    (("{a}: Are you coming to the {e} tonight?", "{b}: Sorry, I can't. I have to work late.",
      "{a}: Oh well, next time."), "{b} can't come to the {e} tonight because {bp} has to work late."),
    (("{a}: Can I borrow your {o} on {d}?", "{b}: Sure, pick it up at my place.",
      "{a}: Thanks a lot!"), "{a} will borrow {b}'s {o} on {d}."),
    (("{a}: I'm stuck in traffic.", "{a}: I'll be 20 minutes late.",
      "{b}: No problem, I'll order {f} for us."),
     "{a} is running 20 minutes late and {b} will order {f}."))


def samsum(rng, i, split):
    turns, summary = rng.choice(DIALOGUES)
    a, b = rng.sample(lx.NAMES, 2)
    kw = dict(a=a, b=b, bp=lx.pronoun(b), e=rng.choice(("party", "concert", "barbecue", "game night")),
              f=rng.choice(lx.FOODS), h=rng.choice(("7", "8", "half past six")),
              o=rng.choice(lx.OBJECTS), d=rng.choice(lx.DAYS))
    return {"id": str(rng.randrange(13_000_000, 13_900_000)),
            "dialogue": "\r\n".join(t.format(**kw) for t in turns), "summary": summary.format(**kw)}


DEBATES = (  # (motion, [(claim, supporting sentences)])
    ("ban cars from city centres",
     (("Cars pollute the air in cities", ("Cars in city centres produce a lot of smoke.",
                                         "Cleaner air would improve the health of residents.")),
      ("Streets without cars are safer", ("Most accidents in towns involve cars.",
                                          "Children could walk to school safely.")))),
    ("make school uniforms compulsory",
     (("Uniforms reduce bullying", ("Pupils are often teased about their clothes.",
                                    "When everyone dresses alike, there is less to tease.")),
      ("Uniforms save families money", ("Branded clothes are expensive.",
                                        "One uniform lasts a whole school year.")))),
    ("tax sugary drinks",
     (("A sugar tax improves public health", ("Sugary drinks cause tooth decay and weight gain.",
                                              "Higher prices lead people to drink less of them.")),
      ("The tax raises money for sport", ("The money can fund school sports.",
                                          "Other countries have used such taxes this way.")))))


def idebate(rng, i, split):
    motion, claims = rng.choice(DEBATES)
    claim, support = rng.choice(claims)
    sents = [f"{claim}.", *support, f"This is why the house should {motion}."]
    return {"_debate_name": f"This House would {motion}", "_claim": claim,
            "_claim_id": str(rng.randrange(10**4)),
            "_argument_sentences": {"key": [str(k) for k in range(len(sents))], "value": sents}}


GENRES = ("thriller", "comedy", "drama", "musical", "western", "romance")
MOVIES = ("the silent harbor", "night train", "blue summer", "the last garden", "paper kings",
          "iron valley")


def rotten_tomatoes(rng, i, split):
    movie, genre = rng.choice(MOVIES), rng.choice(GENRES)
    positive = rng.random() < 0.5
    n = rng.randint(4, 7)
    pols = [positive] * n
    pols[rng.randrange(n)] = not positive             # one dissenting critic
    reviews = []
    for p in pols:
        a, b = (rng.choice(lx.POSITIVE if p else lx.NEGATIVE) for _ in range(2))
        reviews.append(f"{lx.cap(lx.article(a))} {a} {genre} with {lx.article(b)} {b} cast.")
    adj = rng.choice(lx.POSITIVE if positive else lx.NEGATIVE)
    consensus = (f"{movie.title()} is {lx.article(adj)} {adj} {genre} that most critics "
                 f"{'enjoyed' if positive else 'disliked'}.")
    return {"_movie_name": movie.replace(" ", "_"), "_movie_id": "m/" + movie.replace(" ", "_"),
            "_critic_consensus": consensus,
            "_critics": {"key": [f"critic_{k}" for k in range(n)], "value": reviews}}


HOWTOS = (  # steps: (long form in the article, short form in the summary)
    ("clean a window",
     (("Fill a bucket with warm water and a little soap, then stir it.", "Mix soapy water."),
      ("Wipe the glass from top to bottom with a soft sponge.", "Wipe the glass."),
      ("Dry the window with a clean cloth so that no streaks remain.", "Dry it with a cloth."))),
    ("plant a tree",
     (("Choose a sunny spot and dig a hole twice as wide as the roots.", "Dig a wide hole."),
      ("Set the tree in the hole and fill it with soil.", "Plant the tree."),
      ("Water the tree every day for the first few weeks.", "Water it daily."))),
    ("bake bread",
     (("Mix flour, water, yeast and salt in a large bowl.", "Mix the dough."),
      ("Knead the dough for ten minutes and let it rise for an hour.", "Knead and let it rise."),
      ("Bake the loaf in a hot oven for about thirty minutes.", "Bake for thirty minutes."))),
    ("learn a new language",
     (("Practice a few new words every single day.", "Practice daily."),
      ("Listen to songs and radio shows in the language.", "Listen to native speakers."),
      ("Find a partner to talk with every week.", "Talk with a partner."))))


def wiki_lingua(rng, i, split):
    task, steps = rng.choice(HOWTOS)
    steps = steps[: rng.randint(2, 3)]
    source = f"Here is how to {task}. " + " ".join(s for s, _ in steps)
    target = " ".join(t for _, t in steps)
    gem_id = f"wiki_lingua_english_en-{split}-{i}"
    return {"gem_id": gem_id, "gem_parent_id": gem_id, "source": source, "target": target,
            "references": [] if split == "train" else [target],
            "source_aligned": {"en": source}, "target_aligned": {"en": target}}


GENERATORS = {
    "cnn_dailymail": cnn_dailymail, "gigaword": gigaword, "xsum": xsum, "multi_news": multi_news,
    "newsroom": newsroom, "aeslc": aeslc, "samsum": samsum, "opinion_abstracts/idebate": idebate,
    "opinion_abstracts/rotten_tomatoes": rotten_tomatoes, "gem/wiki_lingua_english_en": wiki_lingua,
}
