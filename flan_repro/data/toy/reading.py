"""Extractive reading comprehension: SQuAD v1.1 / v2.0, DROP, QuAC, CoQA.

Answers are spans of the passage (character offsets are exact); DROP answers are
small sums and differences of the numbers in its passage.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx


def _squad(rng, i, split, v2: bool):
    full = lx.full_name(rng)
    first = full.split()[0]
    context, facts = lx.bio(rng, full, rng.randint(3, 4))
    r, o = rng.choice(facts)
    impossible = v2 and rng.random() < 1 / 3
    asked = first
    if impossible:                                    # about someone the passage never mentions
        asked = lx.pick_other(rng, lx.NAMES, first)
    question = lx.RELATIONS[r]["q"].format(s=asked)
    start = lx.find_span(context, o)
    n = 1 if split == "train" else 3
    span = {"text": [o] * n, "answer_start": [start] * n}
    empty = {"text": [], "answer_start": []}
    ex = {"id": lx.hexid(rng, 24), "title": full.replace(" ", "_"), "context": context,
          "question": question, "answers": empty if impossible else span}
    if v2:
        ex.update(is_impossible=impossible, plausible_answers=span if impossible else empty)
    return ex


def squad_v1(rng, i, split):
    return _squad(rng, i, split, v2=False)


def squad_v2(rng, i, split):
    return _squad(rng, i, split, v2=True)


def drop(rng, i, split):
    t1, t2 = rng.sample(lx.TEAMS, 2)
    q1 = [rng.randint(0, 14) for _ in range(2)]       # first quarter: t1, t2
    q2 = [rng.randint(0, 14) for _ in range(2)]
    while q1[0] == q1[1]:
        q1[1] = rng.randint(0, 14)
    passage = (f"The {t1} hosted the {t2} on {rng.choice(lx.DAYS)}. In the first quarter the {t1} "
               f"scored {q1[0]} points, while the {t2} answered with {q1[1]} points. In the second "
               f"quarter the {t1} added {q2[0]} points and the {t2} scored {q2[1]}. The crowd of "
               f"{rng.randint(20, 60)},000 fans stayed until the end.")
    kind = rng.randrange(4)
    if kind == 0:
        question, answer = f"How many points did the {t1} score in the first half?", str(q1[0] + q2[0])
    elif kind == 1:
        question, answer = f"How many points did the {t2} score in the first half?", str(q1[1] + q2[1])
    elif kind == 2:
        question = "Which team scored more points in the first quarter?"
        answer = t1 if q1[0] > q1[1] else t2
    else:
        question = "How many more points were scored in the first quarter by the leading team?"
        answer = str(abs(q1[0] - q1[1]))
    return {"passage": passage, "question": question, "answer": answer,
            "validated_answers": [] if split == "train" else [answer] * rng.randint(1, 2),
            "query_id": lx.hexid(rng, 32)}


SECTIONS = ("Early life", "Career", "Personal life", "Later years")
BACKGROUNDS = ("{s} (born {y}) is a public figure often featured in local newspapers.",
               "{s} is known for community work and a popular radio interview in {y}.",
               "{s} (born {y}) has written several articles about everyday life.")


def quac(rng, i, split):
    full = lx.full_name(rng)
    first = full.split()[0]
    text, facts = lx.bio(rng, full, 3, extra=False)
    context = text + " CANNOTANSWER"
    background = rng.choice(BACKGROUNDS).format(s=full, y=rng.randint(1940, 1995))
    if rng.random() < 0.1:                            # asked about something not in the section
        r2 = rng.choice([r for r in lx.REL_NAMES if r not in {x for x, _ in facts}])
        question, ans = lx.RELATIONS[r2]["q"].format(s=first), "CANNOTANSWER"
    else:
        r, o = rng.choice(facts)
        question, ans = lx.RELATIONS[r]["q"].format(s=first), o
    start = lx.find_span(context, ans)
    return {"title": full, "section_title": rng.choice(SECTIONS), "background": background,
            "context": context, "question": question,
            "orig_answer": {"text": ans, "answer_start": start},
            "answers": {"text": [ans], "answer_start": [start]},
            "followup": rng.choice("ymn"), "yesno": "x"}


COQA_SOURCES = ("wikipedia", "cnn", "gutenberg", "race", "mctest")


def coqa(rng, i, split):
    full = lx.full_name(rng)
    first = full.split()[0]
    story, facts = lx.bio(rng, full, rng.randint(3, 4))
    questions, texts, starts, ends = [], [], [], []
    for r, o in facts:
        questions.append(lx.RELATIONS[r]["q"].format(s=first))
        s = lx.find_span(story, o)
        texts.append(o)
        starts.append(s)
        ends.append(s + len(o))
    return {"source": rng.choice(COQA_SOURCES), "story": story, "questions": questions,
            "answers": {"input_text": texts, "answer_start": starts, "answer_end": ends}}


GENERATORS = {"squad/v1.1": squad_v1, "squad/v2.0": squad_v2, "drop": drop, "quac": quac, "coqa": coqa}
