"""NLI builders: ANLI, CB, MNLI, QNLI, RTE, SNLI, WNLI.

Labels follow from the text: an entailed hypothesis restates (or paraphrases) a
premise fact, or denies another value of a one-valued relation; a contradiction
negates a stated fact or gives a one-valued relation another value; a neutral
hypothesis (affirmed or negated) is about a relation the premise never mentions.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx

FILLERS = ("It was a quiet morning in {m}.", "Everyone agreed that the year had been busy.",
           "The story was told by an old friend.", "Nobody expected much to change that week.",
           "The weather stayed mild for most of {m}.")
CB_OPENERS = ("A: Do you know much about {s}? B: Well, ", "A: Have you talked to {s} lately? B: Yes, ",
              "A: What did you hear about {s}? B: Oh, ")
CB_FRAMES = ("I know that {f}", "I am sure that {f}", "it is true that {f}")


def _other_rel(rng, facts):
    return rng.choice([r for r in lx.REL_NAMES if r not in {x for x, _ in facts}])


def hypothesis(rng, name: str, facts, label: str) -> str:
    """label: 'e' entailment, 'c' contradiction, 'n' neutral."""
    r, o = rng.choice(facts)
    functional = lx.RELATIONS[r]["functional"]
    if label == "e":
        if functional and rng.random() < 0.25:
            return lx.say(r, name, lx.pick_other(rng, lx.RELATIONS[r]["pool"], o), "neg")
        return lx.say(r, name, o, rng.choice(("state", "para")))
    if label == "c":
        if functional and rng.random() < 0.5:
            other = lx.pick_other(rng, lx.RELATIONS[r]["pool"], o)
            return lx.say(r, name, other, rng.choice(("state", "para")))
        return lx.say(r, name, o, "neg")
    r2 = _other_rel(rng, facts)
    return lx.say(r2, name, rng.choice(lx.RELATIONS[r2]["pool"]),
                  rng.choice(("state", "para", "neg")))


def _premise(rng, name, k, filler=False):
    facts = lx.facts_for(rng, k)
    sents = [lx.say(r, name, o) for r, o in facts]
    if filler:
        filler_sentence = rng.choice(FILLERS).format(m=rng.choice(lx.MONTHS))
        sents.insert(rng.randrange(len(sents) + 1), filler_sentence)
    return facts, " ".join(sents)


def _uuid(rng):
    h = lx.hexid(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def anli(rng, i, split):
    label = rng.randrange(3)                          # e, n, c
    name = lx.full_name(rng)
    facts, premise = _premise(rng, name, rng.randint(3, 4), filler=True)
    return {"uid": _uuid(rng), "context": premise,
            "hypothesis": hypothesis(rng, name, facts, "enc"[label]), "label": label}


def cb(rng, i, split):
    label = rng.randrange(3)                          # entailment, contradiction, neutral
    name = lx.person(rng)
    facts = lx.facts_for(rng, rng.randint(1, 2))
    said = " and ".join(lx.say(r, name, o).rstrip(".") for r, o in facts)
    premise = (rng.choice(CB_OPENERS).format(s=name)
               + rng.choice(CB_FRAMES).format(f=said) + ".")
    return {"premise": premise, "hypothesis": hypothesis(rng, name, facts, "ecn"[label]).rstrip("."),
            "label": label, "idx": i}


def mnli(rng, i, split):
    label = rng.randrange(3)                          # entailment, neutral, contradiction
    name = lx.person(rng)
    facts, premise = _premise(rng, name, rng.randint(1, 2), filler="mismatched" in split)
    return {"premise": premise, "hypothesis": hypothesis(rng, name, facts, "enc"[label]),
            "label": label, "idx": i}


def rte(rng, i, split):
    label = rng.randrange(2)                          # entailment, not_entailment
    name = lx.full_name(rng)
    facts, premise = _premise(rng, name, rng.randint(2, 3))
    kind = "e" if label == 0 else rng.choice("cn")
    return {"premise": premise, "hypothesis": hypothesis(rng, name, facts, kind),
            "label": label, "idx": i}


def qnli(rng, i, split):
    label = rng.randrange(2)                          # entailment, not_entailment
    name = lx.person(rng)
    r, o = lx.facts_for(rng, 1)[0]
    question = lx.RELATIONS[r]["q"].format(s=name)
    if label == 0:
        sentence = lx.say(r, name, o, rng.choice(("state", "para")))
    elif rng.random() < 0.5:                          # same person, another relation
        r2 = lx.pick_other(rng, lx.REL_NAMES, r)
        sentence = lx.say(r2, name, rng.choice(lx.RELATIONS[r2]["pool"]))
    else:                                             # same relation, another person
        sentence = lx.say(r, lx.pick_other(rng, lx.NAMES, name), o)
    if rng.random() < 0.4:                            # pad with an unrelated clause
        r3 = lx.pick_other(rng, ("food", "sport", "pet"), r)
        sentence = sentence.rstrip(".") + ", and " + lx.say(
            r3, lx.pronoun(name), rng.choice(lx.RELATIONS[r3]["pool"]))
    return {"question": question, "sentence": sentence, "label": label, "idx": i}


# ------------------------------------------------------------------ SNLI: scene captions
SUBJECTS = (("A man", "The man", "A person", False), ("A woman", "The woman", "A person", False),
            ("Two children", "The children", "Some kids", True),
            ("A young girl", "The girl", "A child", False), ("A dog", "The dog", "An animal", False),
            ("An old man", "The old man", "A person", False),
            ("A group of friends", "The friends", "Some people", True))
ACTIONS = ("riding a bike", "playing soccer", "reading a book", "sleeping", "swimming",
           "eating lunch", "climbing a rock", "singing", "painting a fence", "running")
SCENES = ("in a park", "on the beach", "in the snow", "on a busy street", "near a lake",
          "in a small kitchen")
EXTRAS = ("to win a prize", "with a friend", "after work", "for the first time", "on vacation")


def snli(rng, i, split):
    label = rng.randrange(3)                          # entailment, neutral, contradiction
    subj, the, general, plural = rng.choice(SUBJECTS)
    be = "are" if plural else "is"
    color, action, scene = rng.choice(lx.COLORS), rng.choice(ACTIONS), rng.choice(SCENES)
    dog = "dog" in subj
    worn = "collar" if dog else ("shirts" if plural else "shirt")
    det = "" if plural and not dog else lx.article(color) + " "
    premise = f"{subj} {'with' if dog else 'in'} {det}{color} {worn} {be} {action} {scene}."
    if label == 0:
        hyp = rng.choice((f"{general} {'are' if plural else 'is'} {action}.",
                          f"{the} {be} {action}.", f"{the} {be} {scene}."))
    elif label == 2:
        if dog or rng.random() < 0.7:
            hyp = f"{the} {be} {lx.pick_other(rng, ACTIONS, action)}."
        else:
            other = lx.pick_other(rng, lx.COLORS, color)
            hyp = f"{the} {be} wearing {'' if plural else lx.article(other) + ' '}{other} {worn}."
    else:
        hyp = f"{the} {be} {action} {rng.choice(EXTRAS)}."
    if rng.random() < 0.01:                           # SNLI has a few pairs without a gold label
        label = -1
    return {"premise": premise, "hypothesis": hyp, "label": label}


# ------------------------------------------------------------------ WNLI: pronoun by gender
WNLI_FRAMES = ("{a} called {b} because {p} needed advice.",
               "{a} waved at {b} when {p} got off the bus.",
               "{a} lent {b} some money, but {p} was still worried.",
               "{a} could not meet {b} because {p} was ill.",
               "{a} sent {b} a letter after {p} moved to {c}.")


def wnli(rng, i, split):
    label = rng.randrange(2)                          # not_entailment, entailment
    female = rng.random() < 0.5
    a, b = lx.person(rng, female), lx.person(rng, not female)
    if rng.random() < 0.5:
        a, b = b, a
    referent = rng.choice((a, b))
    frame, city = rng.choice(WNLI_FRAMES), rng.choice(lx.CITIES)
    s1 = frame.format(a=a, b=b, p=lx.pronoun(referent), c=city)
    clause = frame.split("{p}", 1)[1].format(c=city).strip()
    subject = referent if label == 1 else (b if referent == a else a)
    return {"sentence1": s1, "sentence2": f"{subject} {clause}", "label": label, "idx": i}


GENERATORS = {
    "anli/r1": anli, "anli/r2": anli, "anli/r3": anli, "super_glue/cb": cb, "glue/mnli": mnli,
    "glue/qnli": qnli, "super_glue/rte": rte, "snli": snli, "glue/wnli": wnli,
}
