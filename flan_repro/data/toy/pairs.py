"""Sentence-pair similarity: MRPC, QQP, PAWS-Wiki, STS-B.

A paraphrase re-renders the same event with another frame (and synonyms); a
non-paraphrase changes one slot (MRPC), the intent or its slot (QQP), or swaps who
did what to whom (PAWS). STS-B scores are the number of shared slots out of five.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx

MRPC_ACTIONS = ("open a new office", "sell the company", "hire more staff", "cut prices",
                "close two stores", "launch a new product", "raise wages")
MRPC_FRAMES = ("{n}, the {j} from {c}, said on {d} that the firm would {a}.",
               "On {d}, {n}, a {j} based in {c}, announced that the firm would {a}.",
               "The firm will {a}, {n}, a {j} in {c}, told reporters on {d}.",
               "{n} , a {j} from {c} , said {d} the company plans to {a} .")


def _event(rng):
    return dict(n=lx.full_name(rng), j=rng.choice(lx.JOBS), c=rng.choice(lx.CITIES),
                d=rng.choice(lx.DAYS), a=rng.choice(MRPC_ACTIONS))


_EVENT_POOLS = dict(j=lx.JOBS, c=lx.CITIES, d=lx.DAYS, a=MRPC_ACTIONS)


def mrpc(rng, i, split):
    label = rng.randrange(2)                          # not_equivalent, equivalent
    ev = _event(rng)
    f1, f2 = rng.sample(MRPC_FRAMES, 2)
    ev2 = dict(ev)
    if label == 0:
        slot = rng.choice(list(_EVENT_POOLS))
        ev2[slot] = lx.pick_other(rng, _EVENT_POOLS[slot], ev[slot])
    return {"sentence1": f1.format(**ev), "sentence2": f2.format(**ev2), "label": label, "idx": i}


QQP_INTENTS = (  # (slot pool, phrasings)
    (("French", "Spanish", "Python", "the guitar", "chess", "drawing"),
     ("How can I learn {x} quickly?", "What is the fastest way to learn {x}?",
      "What are some good ways to learn {x} fast?")),
    (lx.CITIES, ("Is it a good idea to move to {x}?", "Should I move to {x}?",
                 "What is it like to live in {x}?")),
    (lx.JOBS, ("How do I become a {x}?", "What does it take to become a {x}?",
               "What steps should I take to work as a {x}?")),
    (lx.FOODS, ("What is the best way to cook {x}?", "How do you cook {x} well?",
                "What are tips for cooking {x}?")),
    (lx.SPORTS, ("How can I get better at {x}?", "How do I improve my {x} skills?",
                 "What is the best way to practice {x}?")),
)


def qqp(rng, i, split):
    label = rng.randrange(2)                          # not_duplicate, duplicate
    k = rng.randrange(len(QQP_INTENTS))
    pool, frames = QQP_INTENTS[k]
    x = rng.choice(pool)
    f1, f2 = rng.sample(frames, 2)
    q1 = f1.format(x=x)
    if label == 1:
        q2 = f2.format(x=x)
    elif rng.random() < 0.5:                          # same intent, other slot
        q2 = f2.format(x=lx.pick_other(rng, pool, x))
    else:                                             # other intent
        pool2, frames2 = QQP_INTENTS[lx.pick_other(rng, range(len(QQP_INTENTS)), k)]
        q2 = rng.choice(frames2).format(x=rng.choice(pool2))
    if rng.random() < 0.1:
        q2 = q2.replace("?", ' ""really""?', 1)      # QQP's doubled quotes
    return {"question1": q1, "question2": q2, "label": label, "idx": i}


PAWS_VERBS = (("defeated", "was defeated by"), ("succeeded", "was succeeded by"),
              ("trained", "was trained by"), ("replaced", "was replaced by"),
              ("married", "was married to"))


def paws(rng, i, split):
    label = rng.randrange(2)                          # different_meaning, paraphrase
    a, b = lx.full_name(rng), lx.full_name(rng)
    while b.split()[0] == a.split()[0]:
        b = lx.full_name(rng)
    active, passive = rng.choice(PAWS_VERBS)
    city, year = rng.choice(lx.CITIES), rng.randint(1850, 1990)
    s1 = f"{a} {active} {b} in {city} in {year}."
    if label == 1:
        s2 = rng.choice((f"In {year}, {a} {active} {b} in {city}.",
                         f"{b} {passive} {a} in {city} in {year}."))
    else:                                             # same words, roles swapped
        s2 = rng.choice((f"{b} {active} {a} in {city} in {year}.",
                         f"In {year}, {b} {active} {a} in {city}.",
                         f"{a} {passive} {b} in {city} in {year}."))
    return {"sentence1": s1, "sentence2": s2, "label": label}


STS_VERBS = ("buys", "sells", "paints", "cleans", "repairs", "finds")


def stsb(rng, i, split):
    shared = rng.randrange(6)                         # the similarity is the shared slot count
    pools = (lx.NAMES, STS_VERBS, lx.COLORS, lx.OBJECTS, lx.CITIES)
    s1 = [rng.choice(p) for p in pools]
    keep = set(rng.sample(range(5), shared))
    s2 = [v if k in keep else lx.pick_other(rng, pools[k], v) for k, v in enumerate(s1)]

    def render(s, alt):
        n, v, c, o, p = s
        return (f"In {p}, {n} {v} {lx.article(c)} {c} {o}." if alt
                else f"{n} {v} {lx.article(c)} {c} {o} in {p}.")
    score = min(5.0, max(0.0, shared + rng.choice((-0.2, 0.0, 0.0, 0.2))))
    return {"sentence1": render(s1, False), "sentence2": render(s2, rng.random() < 0.5),
            "label": float(score), "idx": i}


GENERATORS = {"glue/mrpc": mrpc, "glue/qqp": qqp, "paws_wiki": paws, "glue/stsb": stsb}
