"""Multiple choice: COPA, HellaSwag, PIQA, StoryCloze, ARC, OpenBookQA, CosmosQA.

The right option follows from a small fixed world rule (a cause and its effect, a
goal and its tool, an activity and how it goes on, a category and its members, a
stated reason); wrong options come from other rules. Correct indices are uniform.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx

CAUSE_EFFECT = (
    ("{n} was hungry.", "{n} ate a sandwich."), ("{n} was very tired.", "{n} went to bed early."),
    ("It started to rain.", "{n} opened an umbrella."), ("{n} dropped the glass.", "The glass broke."),
    ("{n} forgot the keys.", "{n} could not open the door."), ("{n} felt cold.", "{n} put on a coat."),
    ("{n} missed the bus.", "{n} was late for work."), ("{n} studied hard.", "{n} passed the exam."),
    ("The room was dark.", "{n} turned on the lamp."),
    ("{n} ran a long race.", "{n} was out of breath."), ("{n} heard a funny joke.", "{n} laughed."),
    ("{n} chopped an onion.", "{n}'s eyes watered."), ("The phone rang.", "{n} answered the call."),
    ("{n} spilled the coffee.", "{n} wiped the table."), ("The sun came out.", "The snow melted."),
    ("{n} lost the wallet.", "{n} could not pay for lunch."),
    ("{n} was thirsty.", "{n} drank a glass of water."),
    ("{n} got a new job.", "{n} celebrated with friends."),
    ("The music was too loud.", "{n} covered both ears."),
    ("{n} touched the hot stove.", "{n} burned a finger."),
    ("The store was closed.", "{n} went home without milk."),
    ("{n} planted seeds.", "Flowers grew in the garden."),
    ("{n} broke a leg.", "{n} walked with crutches."),
    ("The car ran out of gas.", "{n} walked to the station."))


def _two(rng, right, wrong):
    label = rng.randrange(2)
    return label, ([right, wrong] if label == 0 else [wrong, right])


def copa(rng, i, split):
    n = lx.person(rng)
    k = rng.randrange(len(CAUSE_EFFECT))
    other = CAUSE_EFFECT[lx.pick_other(rng, range(len(CAUSE_EFFECT)), k)]
    question = rng.choice(("cause", "effect"))
    cause, effect = (s.format(n=n) for s in CAUSE_EFFECT[k])
    premise, right, wrong = ((cause, effect, other[1]) if question == "effect"
                             else (effect, cause, other[0]))
    label, (c1, c2) = _two(rng, right, wrong.format(n=n))
    return {"premise": premise, "question": question, "choice1": c1, "choice2": c2,
            "label": label, "idx": i}


GOAL_TOOL = (
    ("cut a sheet of paper", "a pair of scissors"), ("tighten a loose screw", "a screwdriver"),
    ("dig a hole in the garden", "a shovel"), ("boil water for tea", "a kettle"),
    ("sweep the kitchen floor", "a broom"), ("hammer a nail into a wall", "a hammer"),
    ("keep milk cold", "a fridge"), ("dry your hands", "a clean towel"),
    ("measure the length of a table", "a tape measure"), ("open a can of beans", "a can opener"),
    ("brush your teeth", "a toothbrush"), ("water the plants", "a watering can"),
    ("take a photo of a sunset", "a camera"), ("lock the front door", "a key"),
    ("heat up leftover soup", "a microwave"), ("write a shopping list", "a pen"))


PIQA_FRAMES = ("Use {t} to {g}.", "Take {t} and use it to {g}.", "Get {t}, then {g} with it.")


def piqa(rng, i, split):
    k = rng.randrange(len(GOAL_TOOL))
    goal, tool = GOAL_TOOL[k]
    bad = GOAL_TOOL[lx.pick_other(rng, range(len(GOAL_TOOL)), k)][1]
    frame = rng.choice(PIQA_FRAMES)
    label, (s1, s2) = _two(rng, frame.format(t=tool, g=goal), frame.format(t=bad, g=goal))
    return {"goal": rng.choice(("How do I {g}?", "To {g},", "{G}")).format(g=goal, G=lx.cap(goal)),
            "sol1": s1, "sol2": s2, "label": label, "id": lx.hexid(rng, 24)}


ACTIVITIES = (  # (activity label, context, the ending that follows)
    ("Making a sandwich", "{n} lays two slices of bread on a board. {N}",
     "spreads butter on them and adds cheese."),
    ("Washing dishes", "{n} fills the sink with warm soapy water. {N}",
     "scrubs the plates and rinses them."),
    ("Painting a wall", "{n} dips a roller into the paint tray. {N}",
     "rolls paint evenly across the wall."),
    ("Playing guitar", "{n} sits down and tunes the strings. {N}",
     "strums a few chords and starts to sing."),
    ("Walking the dog", "{n} clips a leash onto the dog's collar. {N}",
     "leads the dog out of the door for a walk."),
    ("Changing a tire", "{n} loosens the nuts on the flat tire. {N}",
     "jacks up the car and swaps in the spare."),
    ("Mowing the lawn", "{n} pulls the cord to start the mower. {N}",
     "pushes the mower back and forth over the grass."),
    ("Brushing hair", "{n} picks up a brush in front of the mirror. {N}",
     "runs the brush slowly through the long hair."),
    ("Baking cookies", "{n} mixes flour, sugar and butter in a bowl. {N}",
     "shapes the dough and puts the tray in the oven."),
    ("Cleaning windows", "{n} sprays cleaner onto the glass. {N}",
     "wipes the window with a dry cloth."),
    ("Wrapping a gift", "{n} places a box on a sheet of colored paper. {N}",
     "folds the paper around the box and tapes it."),
    ("Planting a tree", "{n} digs a deep hole in the yard. {N}",
     "sets the young tree in it and fills it with soil."))


def hellaswag(rng, i, split):
    n = lx.person(rng)
    k = rng.randrange(len(ACTIVITIES))
    act, ctx, right = ACTIVITIES[k]
    wrongs = [ACTIVITIES[j][2] for j in rng.sample([j for j in range(len(ACTIVITIES)) if j != k], 3)]
    label = rng.randrange(4)
    endings = wrongs[:label] + [right] + wrongs[label:]
    wikihow = "wikihow" in split or ("activitynet" not in split and rng.random() < 0.4)
    context = ctx.format(n=n, N=lx.pronoun(n).capitalize() if rng.random() < 0.5 else n)
    if wikihow:
        context = f"[header] {act} [title] " + context
    return {"activity_label": act, "context": context, "endings": endings, "label": label,
            "source_id": ("wikihow~" + str(rng.randrange(10**5))) if wikihow
            else "activitynet~v_" + lx.hexid(rng, 11),
            "split_type": "zeroshot" if "ood" in split else "indomain"}


STORIES = (  # (four sentences, right ending, wrong ending); {o} is an object
    (("{n} wanted a new {o}.", "{N} saved money for weeks.", "On {d}, {p} went to the store.",
      "{N} finally had enough money."),
     "{n} bought the {o} and was happy.", "{n} decided {p} hated every {o}."),
    (("{n} had a big exam on {d}.", "{N} studied every night.", "{N} slept well before the test.",
      "{N} felt ready in the morning."),
     "{n} passed the exam easily.", "{n} forgot that there was an exam."),
    (("{n} planted tomatoes in spring.", "{N} watered them every day.", "The plants grew tall.",
      "By summer they were full of fruit."), "{n} picked a basket of ripe tomatoes.",
     "{n} was sad that nothing ever grew."),
    (("{n} lost {q} {o} at the park.", "{N} looked everywhere.", "{N} asked everyone nearby.",
      "A child pointed to a bench."),
     "{n} found the {o} under the bench.", "{n} had never owned a {o}."),
    (("{n} was learning to swim.", "At first {p} was afraid of the water.",
      "{N} practiced with a coach.",
      "Each week {p} got a little braver."), "Soon {n} could swim across the pool.",
     "{n} never went near water again and loved swimming."),
    (("{n} invited friends for dinner.", "{N} cooked {f} all afternoon.",
      "The guests arrived at seven.",
      "Everyone sat down at the table."), "The friends enjoyed the {f} very much.",
     "{n} realised nobody had been invited."))


def story_cloze(rng, i, split):
    n = lx.person(rng)
    sents, right, wrong = rng.choice(STORIES)
    kw = dict(n=n, N=n if rng.random() < 0.5 else lx.pronoun(n).capitalize(), p=lx.pronoun(n),
              q=lx.pronoun(n, "poss"), o=rng.choice(lx.OBJECTS), d=rng.choice(lx.DAYS),
              f=rng.choice(lx.FOODS))
    label, endings = _two(rng, right.format(**kw), wrong.format(**kw))
    return {"context": " ".join(s.format(**kw) for s in sents), "endings": endings, "label": label + 1}


# ------------------------------------------------------------------ ARC / OpenBookQA
CATEGORIES = {"mammal": ("a dog", "a whale", "a bat", "a horse", "a cow", "a mouse"),
              "bird": ("an eagle", "a penguin", "a sparrow", "an owl", "a parrot"),
              "fish": ("a shark", "a salmon", "a tuna", "a trout"),
              "metal": ("iron", "copper", "gold", "aluminum", "silver"),
              "planet": ("Mars", "Venus", "Jupiter", "Saturn", "Neptune"),
              "insect": ("an ant", "a bee", "a beetle", "a butterfly"),
              "gas at room temperature": ("oxygen", "helium", "nitrogen", "carbon dioxide")}
PROPERTIES = (  # (rule as a fact, question, things with the property, things without)
    ("A magnet attracts objects made of iron.", "Which object would a magnet pick up?",
     ("an iron nail", "a steel paper clip"),
     ("a wooden spoon", "a glass marble", "a rubber band", "a paper cup")),
    ("Metals conduct electricity.", "Which material is the best conductor of electricity?",
     ("a copper wire", "an aluminum strip"),
     ("a plastic ruler", "a cotton thread", "a dry stick", "a wool sock")),
    ("Ice melts when it is heated.", "What happens to an ice cube left in the sun?",
     ("it melts",), ("it freezes harder", "it turns into sand", "it gets bigger", "it becomes metal")),
    ("Plants need sunlight to make food.", "What does a plant need to make its own food?",
     ("sunlight",), ("darkness", "sand only", "salt", "plastic")),
    ("The Earth orbits the Sun once a year.", "How long does it take the Earth to orbit the Sun?",
     ("one year",), ("one day", "one hour", "one week", "ten years")),
    ("Sound travels as vibrations.", "What do we hear when an object vibrates?",
     ("a sound",), ("a smell", "a color", "a taste", "a shadow")))


def _four(rng, right, wrongs):
    label = rng.randrange(4)
    ws = rng.sample(list(wrongs), 3)
    return label, ws[:label] + [right] + ws[label:]


def arc(rng, i, split, challenge=False):
    if challenge:
        _, question, pos, neg = rng.choice(PROPERTIES)
        label, texts = _four(rng, rng.choice(pos), neg)
    else:
        cat = rng.choice(list(CATEGORIES))
        others = [x for c, xs in CATEGORIES.items() if c != cat for x in xs]
        question = f"Which of these is {lx.article(cat)} {cat}?"
        label, texts = _four(rng, rng.choice(CATEGORIES[cat]), others)
    source = rng.choice(("Mercury", "MCAS", "NYSEDREGENTS", "ACTAAP"))
    return {"id": f"{source}_{rng.randrange(10**6)}", "question": question,
            "choices": {"text": texts, "label": [0, 1, 2, 3]}, "answerKey": label}


def openbookqa(rng, i, split):
    fact, question, pos, neg = rng.choice(PROPERTIES)
    label, texts = _four(rng, rng.choice(pos), neg)
    return {"question": {"stem": question, **{f"choice_{c}": t for c, t in zip("ABCD", texts)}},
            "fact1": fact, "answerKey": label, "humanScore": float(rng.choice((0.6, 0.8, 1.0))),
            "clarity": float(rng.choice((1.0, 1.4, 1.8, 2.0))), "turkIdAnonymized": lx.hexid(rng, 10)}


REASONS = (  # (what happened, question verb phrase, the stated reason)
    ("{n} stayed home from work", "stay home from work", "{p} was feeling sick"),
    ("{n} bought a big cake", "buy a big cake", "it was {q} sister's birthday"),
    ("{n} left the party early", "leave the party early", "{p} had to get up at five"),
    ("{n} took a taxi", "take a taxi", "{p} was late for a meeting"),
    ("{n} sold the old car", "sell the old car", "{p} needed money for rent"),
    ("{n} called the plumber", "call the plumber", "the kitchen sink was leaking"),
    ("{n} went to the library", "go to the library", "{p} needed a book for school"),
    ("{n} wore a heavy coat", "wear a heavy coat", "it was snowing outside"),
    ("{n} apologized to {q} friend", "apologize to {q} friend", "{p} had forgotten their lunch date"))


def cosmos_qa(rng, i, split):
    n = lx.person(rng)
    kw = dict(n=n, p=lx.pronoun(n), q=lx.pronoun(n, "poss"))
    k = rng.randrange(len(REASONS))
    what, verb, why = (s.format(**kw) for s in REASONS[k])
    context = (f"Last {rng.choice(lx.DAYS)}, {what}. {lx.cap(why)}, so there was no other choice. "
               f"Later {kw['p']} told the story to a friend over {rng.choice(lx.FOODS)}.")
    wrongs = [lx.cap(REASONS[j][2].format(**kw)) + "."
              for j in rng.sample([j for j in range(len(REASONS)) if j != k], 3)]
    if rng.random() < 0.2:
        wrongs[2] = "None of the above choices."
    label, answers = _four(rng, lx.cap(why) + ".", wrongs)
    return {"id": lx.hexid(rng, 30), "context": context, "question": f"Why did {n} {verb}?",
            **{f"answer{j}": a for j, a in enumerate(answers)},
            "label": label}


GENERATORS = {
    "super_glue/copa": copa, "hellaswag": hellaswag, "piqa": piqa, "story_cloze/2016": story_cloze,
    "ai2_arc/ARC-Easy": arc, "ai2_arc/ARC-Challenge": lambda r, i, s: arc(r, i, s, challenge=True),
    "openbookqa": openbookqa, "cosmos_qa": cosmos_qa,
}
