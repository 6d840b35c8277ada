"""Coreference: WinoGrande, Definite Pronoun Resolution, WSC273.

Every sentence pairs two candidates with a frame whose ending decides the referent
by a simple world rule (a thing too big for a container is the thing, too small it
is the container; the faster runner wins, the slower loses, ...). The blank (or the
pronoun, which fits both candidates) thus always has one right answer.
"""
from __future__ import annotations

from flan_repro.data.toy import lexicon as lx

THING_CONTAINER = (("trophy", "suitcase"), ("sofa", "doorway"), ("cake", "box"), ("piano", "elevator"),
                   ("painting", "car"), ("ball", "hole"), ("melon", "bag"), ("bookcase", "van"))
THING_RULES = (  # frame with {A} {B}, endings (referent A, referent B)
    ("{A} did not fit into {b} because _ was too", ("big.", "small.")),
    ("We could not get {a} through {b} because _ was too", ("wide.", "narrow.")),
    ("{A} would not go in {b}, since _ was so", ("large.", "tiny.")))
PEOPLE_RULES = (
    ("{A} ran faster than {B}, so _", ("won the race.", "lost the race.")),
    ("{A} studied more than {B}, so _", ("got the better grade.", "got the worse grade.")),
    ("{A} lent {B} some money because _ was", ("rich.", "broke.")),
    ("{A} asked {B} for directions because _", ("was lost.", "knew the city well.")),
    ("{A} thanked {B} because _", ("was grateful for the help.", "had helped a lot.")),
    ("{A} beat {B} at {s} because _ was", ("the stronger player.", "the weaker player.")),
    ("{A} taught {B} to play {s} because _", ("was an expert.", "was a beginner.")))


def _schema(rng, allow_things=True):
    """-> (prefix, ending, [candidate A, candidate B], referent index, pronoun)."""
    if allow_things and rng.random() < 0.35:
        a, b = rng.choice(THING_CONTAINER)
        frame, endings = rng.choice(THING_RULES)
        cands = [f"the {a}", f"the {b}"]
        pron = "it"
        prefix = frame.format(A=lx.cap(cands[0]), a=cands[0], b=cands[1])
    else:
        female = rng.random() < 0.5
        a = lx.person(rng, female)
        b = lx.pick_other(rng, lx.FEMALE if female else lx.MALE, a)
        frame, endings = rng.choice(PEOPLE_RULES)
        cands = [a, b]
        pron = lx.pronoun(a)
        prefix = frame.format(A=a, B=b, s=rng.choice(lx.SPORTS))
    ref = rng.randrange(2)
    return prefix, endings[ref], cands, ref, pron


def winogrande(rng, i, split):
    prefix, ending, cands, ref, _ = _schema(rng)
    options = [c.replace("the ", "", 1) for c in cands]     # WinoGrande options are bare nouns
    return {"sentence": f"{prefix} {ending}", "option1": options[0], "option2": options[1],
            "label": ref}


def definite_pronoun_resolution(rng, i, split):
    prefix, ending, cands, ref, pron = _schema(rng)
    sentence = f"{prefix} {ending}".replace("_", pron, 1)
    as_written = [lx.cap(c) if lx.cap(c) in sentence else c for c in cands]
    return {"sentence": sentence, "pronoun": pron, "candidates": as_written, "label": ref}


def wsc273(rng, i, split):
    prefix, ending, cands, ref, pron = _schema(rng)
    before = prefix[: prefix.index("_")].rstrip()
    after = prefix[prefix.index("_") + 1:].strip()
    txt2 = f"{after} {ending}".strip()
    text = f"{before} {pron} {txt2}"
    start = len(before) + 1
    raw = [lx.cap(c) for c in cands]
    return {"text": text, "pronoun_text": pron, "pronoun_start": start,
            "pronoun_end": start + len(pron),
            "option1": raw[0], "option2": raw[1],
            "option1_normalized": cands[0], "option2_normalized": cands[1], "label": ref, "idx": i}


GENERATORS = {"winogrande": winogrande, "definite_pronoun_resolution": definite_pronoun_resolution,
              "wsc273": wsc273}
