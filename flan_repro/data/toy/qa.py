"""Question answering over the fixed toy world (Natural Questions, TriviaQA) and
passage-grounded yes/no and candidate checking (BoolQ, MultiRC, ReCoRD).

Closed-book answers come from `lexicon.WORLD`, so a question always has the same
answer in every split; BoolQ, MultiRC and ReCoRD answers follow from their passage.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx


def _world_fact(rng):
    country = rng.choice(lx.WORLD)
    attr = rng.choice(list(lx.WORLD_QUESTIONS))
    return country, attr, country[attr]


def _aliases(attr: str, value: str) -> list[str]:
    if attr == "founder":
        return [value, value.split()[-1]]
    if attr == "river":
        return [value, value.replace(" River", "")]
    if attr == "capital":
        return [value, f"{value} City"]
    return [value]


def natural_questions(rng, i, split):
    country, attr, value = _world_fact(rng)
    question = lx.WORLD_QUESTIONS[attr][0].format(c=country["country"]).lower()
    return {"question": question, "answer": _aliases(attr, value)[: rng.randint(1, 2)]}


def trivia_qa(rng, i, split):
    country, attr, value = _world_fact(rng)
    name = country["country"]
    aliases = _aliases(attr, value)
    entity = attr in ("capital", "river", "founder")
    wiki = " ".join(lx.world_sentence(country, a) for a in rng.sample(list(lx.WORLD_SENTENCES), 3)
                    if a != attr)
    wiki = f"{name} is a small country. " + lx.world_sentence(country, attr) + " " + wiki
    search = f"{name} travel guide. " + lx.world_sentence(country, attr)
    answer = {"value": value, "normalized_value": value.lower(), "aliases": aliases,
              "normalized_aliases": [a.lower() for a in aliases],
              "matched_wiki_entity_name": value if entity else "",
              "normalized_matched_wiki_entity_name": value.lower() if entity else "",
              "type": "WikipediaEntity" if entity else ("Numerical" if attr == "year" else "FreeForm")}
    return {"question": lx.WORLD_QUESTIONS[attr][1].format(c=name),
            "question_id": f"tc_{rng.randrange(10**5)}",
            "question_source": "http://www.triviacountry.com/", "answer": answer,
            "entity_pages": {"doc_source": ["TagMe"], "filename": [f"{name}.txt"], "title": [name],
                             "wiki_context": [wiki]},
            "search_results": {"description": [f"All about {name}."],
                               "filename": [f"{rng.randrange(10**4)}.txt"],
                               "rank": [0], "search_context": [search], "title": [f"{name} - Guide"],
                               "url": [f"http://www.example.org/{name.lower()}"]}}


BOOLQ_Q = {"city": "does {s} live in {o}", "job": "is {s} {a} {o}", "color": "is {s}'s car {o}",
           "food": "does {s} like {o}", "sport": "does {s} play {o}", "pet": "does {s} have {a} {o}"}


def bool_q(rng, i, split):
    full = lx.full_name(rng)
    first = full.split()[0]
    text, facts = lx.bio(rng, full, 3)
    unstated = [r for r in ("food", "sport", "pet") if r not in {x for x, _ in facts}]
    neg = None
    if unstated:
        neg = (rng.choice(unstated), None)
        neg = (neg[0], rng.choice(lx.RELATIONS[neg[0]]["pool"]))
        text += " " + lx.say(neg[0], first, neg[1], "neg")
    answer = rng.random() < 0.5
    r, o = rng.choice(facts)
    if not answer:
        functional = [(r2, o2) for r2, o2 in facts if lx.RELATIONS[r2]["functional"]]
        if neg and (not functional or rng.random() < 0.5):
            r, o = neg
        elif functional:
            r, o = rng.choice(functional)
            o = lx.pick_other(rng, lx.RELATIONS[r]["pool"], o)
        else:
            answer = True
    q = BOOLQ_Q[r].format(s=first if rng.random() < 0.5 else full, o=o, a=lx.article(o)).lower()
    return {"title": full, "passage": text, "question": q, "answer": bool(answer)}


def multirc(rng, i, split):
    """One question with 2-3 candidate answers (a group shares idx paragraph/question)."""
    full = lx.full_name(rng)
    first = full.split()[0]
    text, facts = lx.bio(rng, full, 4)
    r, o = rng.choice(facts)
    question = lx.RELATIONS[r]["q"].format(s=first)
    right = [o, lx.say(r, first, o, "state").rstrip(".")]
    wrong = [lx.pick_other(rng, lx.RELATIONS[r]["pool"], o) for _ in range(2)]
    cands = [(rng.choice(right), 1), (wrong[0], 0)]
    if rng.random() < 0.5:
        cands.append((right[1] if cands[0][0] == right[0] else right[0], 1)
                     if rng.random() < 0.5 else (wrong[1], 0))
    rng.shuffle(cands)
    return [{"paragraph": text, "question": question, "answer": a, "label": lab,
             "idx": {"paragraph": i, "question": 0, "answer": j}} for j, (a, lab) in enumerate(cands)]


def record(rng, i, split):
    a, b = lx.full_name(rng), lx.full_name(rng)
    while a.split()[-1] == b.split()[-1]:
        b = lx.full_name(rng)
    ca, cb, cc = rng.sample(lx.CITIES, 3)
    sport, job, day = rng.choice(lx.SPORTS), rng.choice(lx.JOBS), rng.choice(lx.DAYS)
    sa = a.split()[-1]
    passage = (f"(CNN) -- {a}, {lx.article(job)} {job} from {ca}, beat {b} in the {sport} final "
               f"in {cc} on {day}. {sa} said the win felt {rng.choice(lx.POSITIVE)}. "
               f"{b} plans to return to {cb} "
               f"next {rng.choice(lx.MONTHS)}.\n@highlight\n{a} wins the {sport} final in {cc}"
               f"\n@highlight\n{b} will return to {cb}")
    entities = [a, ca, b, cc, sa, cb]
    kind = rng.randrange(4)
    query, answers = (
        (f"The player from {ca}, @placeholder, now holds the {sport} title", [a, sa]),
        (f"{b} lost the {sport} final, which was played in @placeholder", [cc]),
        (f"After the final, {b} will soon go back to @placeholder", [cb]),
        (f"The new {sport} champion is {lx.article(job)} {job} from @placeholder", [ca]))[kind]
    return {"passage": passage, "query": query, "entities": entities, "answers": answers,
            "idx": {"passage": i, "query": 0}}


GENERATORS = {"natural_questions_open": natural_questions, "trivia_qa/rc": trivia_qa, "bool_q": bool_q,
              "super_glue/multirc": multirc, "super_glue/record": record}
