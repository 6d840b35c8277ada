"""Struct-to-text (GEM CommonGen, DART, E2E NLG, WebNLG) and math (linear equations).

Targets verbalize every input triple / attribute / concept with fixed phrasings;
math answers are the exact integer solutions of the equations in the question.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx


def _gem(name, split, i, target, alts=()):
    """Fields every GEM example has; references are empty in train, as in GEM."""
    gid = f"{name}-{split}-{i}"
    return {"gem_id": gid, "gem_parent_id": gid, "target": target,
            "references": [] if split.startswith(("train", "challenge_train")) else [target, *alts]}


CG_SUBJECTS = ("dog", "boy", "girl", "man", "woman", "child", "farmer", "chef", "student")
CG_ACTIONS = (("catch", "catches", ("frisbee", "ball")), ("throw", "throws", ("ball", "stick")),
              ("ride", "rides", ("bike", "horse")), ("cook", "cooks", ("pasta", "soup")),
              ("read", "reads", ("book", "newspaper")), ("plant", "plants", ("tree", "flower")),
              ("play", "plays", ("guitar", "piano")), ("paint", "paints", ("fence", "wall")),
              ("wash", "washes", ("car", "dish")))
CG_PLACES = (("park", "in"), ("kitchen", "in"), ("street", "on"), ("garden", "in"), ("field", "in"),
             ("beach", "on"), ("stage", "on"), ("yard", "in"))


def common_gen(rng, i, split):
    subj = rng.choice(CG_SUBJECTS)
    lemma, verb, objs = rng.choice(CG_ACTIONS)
    obj, (place, prep) = rng.choice(objs), rng.choice(CG_PLACES)
    with_place = rng.random() < 0.6
    concepts = [subj, lemma, obj] + ([place] if with_place else [])
    rng.shuffle(concepts)
    where = f" {prep} the {place}" if with_place else ""
    target = f"The {subj} {verb} {lx.article(obj)} {obj}{where}."
    alt = (f"{lx.cap(prep)} the {place}, a {subj} {verb} the {obj}." if with_place
           else f"A {subj} {verb} the {obj}.")
    return {**_gem("common_gen", split, i, target, (alt,)), "concepts": concepts, "concept_set_id": i}


DART_PREDICATES = {"capital": "CAPITAL", "river": "RIVER", "founder": "FOUNDED_BY", "year": "FOUNDED",
                   "flag": "FLAG_COLOR", "animal": "NATIONAL_ANIMAL"}


DART_SOURCES = ("WikiTableQuestions_mturk", "WikiSQL_decl_sents", "webnlg")


def dart(rng, i, split):
    country = rng.choice(lx.WORLD)
    attrs = rng.sample(list(DART_PREDICATES), rng.randint(1, 3))
    triples = [f"{country['country']} {DART_PREDICATES[a]} {country[a]}" for a in attrs]
    if rng.random() < 0.2:
        triples.insert(0, f"[TABLECONTEXT] [TITLE] Countries of the world")
    target = " ".join(lx.world_sentence(country, a) for a in attrs)
    alt = " ".join(lx.world_sentence(country, a) for a in reversed(attrs))
    ex = _gem("dart", split, i, target, (alt,) if len(attrs) > 1 else ())
    return {**ex, "dart_id": i, "tripleset": triples, "subtree_was_extended": rng.random() < 0.5,
            "target_sources": [rng.choice(DART_SOURCES)] * max(1, len(ex["references"]))}


E2E_NAMES = ("The Eagle", "The Mill", "Aromi", "Zizzi", "The Punter", "Cotto", "Giraffe", "Blue Spice")
E2E_SLOTS = (  # (attribute, values, phrase)
    ("eatType", ("coffee shop", "restaurant", "pub"), "is a {v}"),
    ("food", ("French", "Italian", "Chinese", "Indian", "English"), "serves {v} food"),
    ("priceRange", ("cheap", "moderate", "high"), "has a {v} price range"),
    ("customer rating", ("low", "average", "high", "5 out of 5"), "has a {v} customer rating"),
    ("area", ("riverside", "city centre"), "is in the {v} area"),
    ("familyFriendly", ("yes", "no"), "{v}"),
    ("near", ("Burger King", "the Rice Boat", "Café Sicilia", "The Portland Arms"), "is near {v}"))


def e2e_nlg(rng, i, split):
    name = rng.choice(E2E_NAMES)
    slots = sorted(rng.sample(range(len(E2E_SLOTS)), rng.randint(2, 5)))
    mr, phrases = [f"name[{name}]"], []
    for k in slots:
        attr, values, phrase = E2E_SLOTS[k]
        v = rng.choice(values)
        mr.append(f"{attr}[{v}]")
        phrases.append(("is family friendly" if v == "yes" else "is not family friendly")
                       if attr == "familyFriendly" else phrase.format(v=v))
    head = ", ".join(phrases[:-1]) + " and " if len(phrases) > 1 else ""
    target = f"{name} {head}{phrases[-1]}."
    return {**_gem("e2e_nlg", split, i, target), "meaning_representation": ", ".join(mr)}


WEBNLG_PREDICATES = {"capital": "capital", "river": "river", "founder": "founder",
                     "year": "foundingYear",
                     "flag": "flagColor", "animal": "nationalAnimal"}


def web_nlg_en(rng, i, split):
    country = rng.choice(lx.WORLD)
    attrs = rng.sample(list(WEBNLG_PREDICATES), rng.randint(1, 4))
    inputs = [f"{country['country']} | {WEBNLG_PREDICATES[a]} | {country[a].replace(' ', '_')}"
              for a in attrs]
    target = " ".join(lx.world_sentence(country, a) for a in attrs)
    return {**_gem("web_nlg_en", split, i, target), "input": inputs, "category": "Country",
            "webnlg_id": f"Id{rng.randrange(1, 5000)}"}


def _signed(n: int, first: bool = False) -> str:
    if first:
        return str(n)
    return f"+ {n}" if n >= 0 else f"- {-n}"


def math_linear_1d(rng, i, split):
    v = rng.choice("abcdfghjklmnpqrstuvwxyz")
    x = rng.randint(-12, 12)
    a = rng.choice([k for k in range(-9, 10) if k not in (0, 1, -1)] + [1])
    form = rng.randrange(3)
    if form == 0:                                     # a*v + b = c
        b = rng.randint(-30, 30)
        q = f"{a}*{v} {_signed(b)} = {a * x + b}"
    elif form == 1:                                   # c = a*v + b
        b = rng.randint(-30, 30)
        q = f"{a * x + b} = {a}*{v} {_signed(b)}"
    else:                                             # a*v = b*v + c
        b = rng.choice([k for k in range(-9, 10) if k != a])
        q = f"{a}*{v} = {b}*{v} {_signed((a - b) * x)}"
    return {"question": f"Solve {q} for {v}.", "answer": str(x)}


GENERATORS = {"gem/common_gen": common_gen, "gem/dart": dart, "gem/e2e_nlg": e2e_nlg,
              "gem/web_nlg_en": web_nlg_en, "math_dataset/algebra__linear_1d": math_linear_1d}
