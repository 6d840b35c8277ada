"""Raw TFDS examples -> template fields: a field map, or one small pure function.

A dataset whose template fields are raw fields renamed declares the renaming in its
catalogue entry (`fields:`, see `from_field_map`); every other dataset names a converter
here. A converter takes one example as TFDS yields it (decoded to Python: str, int,
float, list, dict) plus its `DatasetSpec`, and returns the fields that templates may
use, or None to drop the example (the filters FLAN applies, e.g. ARC's questions with
other than 4 choices). Field names are the placeholders of FLAN's templates.

Each converter declares the fields it returns (`@converter(..., fields=...)`), so the
template checks know every placeholder's source without reading data, and `convert`
holds converters to their declaration.

Conventions every dataset follows, so the renderer and evaluator can rely on them:
  - `answer` (or the spec's `target` field) is the standard template's target text;
  - classification datasets set `options` (list of str) and `label` (index into it);
  - generation datasets with several references set `answers` (list of str).
"""
from __future__ import annotations

import re
from typing import Callable, Mapping

CONVERTERS: dict[str, Callable] = {}
CHOICE = ("options", "label", "answer")        # what `_choose` / `_fixed` add


def converter(*names: str, fields: tuple[str, ...]):
    """Registers a converter under `names` (default: its own name); `fields` are the keys
    of every dict it returns, kept as the function's `fields` attribute."""
    def register(fn):
        fn.fields = frozenset(fields)
        for n in names or (fn.__name__,):
            CONVERTERS[n] = fn
        return fn
    return register


def _choose(options, label: int) -> dict:
    options = [str(o) for o in options]
    return {"options": options, "label": int(label), "answer": options[int(label)]}


def _fixed(spec, label) -> dict:
    return _choose(spec.fixed_options, label)


def _numbered(items) -> str:
    """'1. a\n2. b', how FLAN lists several reviews, questions or answers in one field."""
    return "\n".join(f"{i}. {x}" for i, x in enumerate(items, 1))


# --------------------------------------------------------------------- sentence pairs
@converter("glue_qqp", fields=("question1", "question2", *CHOICE))
def glue_qqp(ex, spec):
    fix = lambda s: s.replace('""', "'")
    return {"question1": fix(ex["question1"]), "question2": fix(ex["question2"]),
            **_fixed(spec, ex["label"])}


@converter("stsb", fields=("sentence1", "sentence2", "score", "answer_str", *CHOICE))
def stsb(ex, spec):
    # FLAN turns the 0-5 similarity into six options; the target is the rounded score.
    score = float(ex["label"])
    label = min(5, max(0, int(round(score))))
    return {"sentence1": ex["sentence1"], "sentence2": ex["sentence2"], "score": score,
            "answer_str": str(label), **_fixed(spec, label)}


# --------------------------------------------------------------------- single text
@converter("imdb_reviews", fields=("text", *CHOICE))
def imdb_reviews(ex, spec):
    return {"text": ex["text"].replace("<br />", "\n"), **_fixed(spec, ex["label"])}


@converter("yelp_polarity_reviews", fields=("text", *CHOICE))
def yelp_polarity_reviews(ex, spec):
    text = ex["text"].replace('\\""', '"').replace("\\n", " ")
    return {"text": text, **_fixed(spec, ex["label"])}


@converter("sentiment140", fields=("text", *CHOICE))
def sentiment140(ex, spec):
    polarity = int(ex["polarity"])
    if polarity not in (0, 4):        # 2 = neutral, only in the test split
        return None
    return {"text": ex["text"], **_fixed(spec, 1 if polarity == 4 else 0)}


# --------------------------------------------------------------------- multiple choice
# FLAN's untuned-LM prompt for COPA continues the premise itself, its final period
# replaced by a connective (FLAN's preprocessing names it `glm_premise`).
COPA_CONNECTIVE = {"cause": " because", "effect": " so"}


@converter("copa", fields=("premise", "question", "glm_premise", *CHOICE))
def copa(ex, spec):
    premise = ex["premise"].strip()
    glm_premise = premise[:-1] if premise.endswith(".") else premise
    return {"premise": ex["premise"], "question": ex["question"],
            "glm_premise": glm_premise + COPA_CONNECTIVE[ex["question"]],
            **_choose([ex["choice1"], ex["choice2"]], ex["label"])}


@converter("hellaswag", fields=("context", "activity_label", *CHOICE))
def hellaswag(ex, spec):
    if not 0 <= int(ex["label"]) <= 3:
        return None
    context = re.sub(r"\[header\]\s", "", ex["context"])
    context = re.sub(r"\[.*?\]\s", "\n", context)
    endings = [re.sub(r"\[.*?\]\s", "", e) for e in ex["endings"]]
    return {"context": context, "activity_label": ex["activity_label"],
            **_choose(endings, ex["label"])}


@converter("piqa", fields=("goal", *CHOICE))
def piqa(ex, spec):
    return {"goal": ex["goal"], **_choose([ex["sol1"], ex["sol2"]], ex["label"])}


@converter("story_cloze", fields=("context", *CHOICE))
def story_cloze(ex, spec):
    # TFDS story_cloze labels are 1-based.
    return {"context": ex["context"], **_choose(ex["endings"], int(ex["label"]) - 1)}


@converter("arc", fields=("question", *CHOICE))
def arc(ex, spec):
    texts = ex["choices"]["text"]
    if len(texts) != 4:               # FLAN keeps 4-choice questions only
        return None
    return {"question": ex["question"], **_choose(texts, ex["answerKey"])}


@converter("openbookqa", fields=("question", "fact", *CHOICE))
def openbookqa(ex, spec):
    q = ex["question"]
    return {"question": q["stem"], "fact": ex["fact1"],
            **_choose([q["choice_A"], q["choice_B"], q["choice_C"], q["choice_D"]],
                      ex["answerKey"])}


@converter("cosmos_qa", fields=("context", "question", *CHOICE))
def cosmos_qa(ex, spec):
    if int(ex["label"]) < 0:
        return None
    return {"context": ex["context"], "question": ex["question"],
            **_choose([ex[f"answer{i}"] for i in range(4)], ex["label"])}


@converter("bool_q", fields=("title", "text", "question", *CHOICE))
def bool_q(ex, spec):
    return {"title": ex["title"], "text": ex["passage"], "question": ex["question"],
            **_fixed(spec, int(bool(ex["answer"])))}


@converter("multirc", fields=("paragraph", "question", "response", "idx/question", *CHOICE))
def multirc(ex, spec):
    return {"paragraph": ex["paragraph"], "question": ex["question"], "response": ex["answer"],
            "idx/question": int(ex["idx"]["question"]) + 1000 * int(ex["idx"]["paragraph"]),
            **_fixed(spec, ex["label"])}


@converter("record", fields=("passage", "query", "answers", *CHOICE))
def record(ex, spec):
    # The query's @placeholder is filled by an entity: options are the entities with
    # the rest of the query appended, so every option reads as a full sentence.
    left, _, right = ex["query"].partition("@placeholder")
    entities = list(dict.fromkeys(ex["entities"]))
    if not entities:
        return None
    options = [e + right for e in entities]
    answers = [a + right for a in ex["answers"]]
    label = entities.index(ex["answers"][0]) if ex["answers"] and ex["answers"][0] in entities else 0
    passage = ex["passage"].split("\n@highlight")[0]
    return {"passage": passage, "query": left.strip(), "answers": answers or [options[label]],
            **_choose(options, label)}


@converter("definite_pronoun_resolution", fields=("sentence", "pronoun", *CHOICE))
def definite_pronoun_resolution(ex, spec):
    return {"sentence": ex["sentence"], "pronoun": ex["pronoun"],
            **_choose(ex["candidates"], ex["label"])}


@converter("winogrande", fields=("context", *CHOICE))
def winogrande(ex, spec):
    before, _, after = ex["sentence"].partition("_")
    return {"context": before.strip(),
            **_choose([ex["option1"] + after, ex["option2"] + after], ex["label"])}


@converter("wsc273", fields=("context", *CHOICE))
def wsc273(ex, spec):
    text = ex["text"]
    prefix = text[: int(ex["pronoun_start"])].strip()
    suffix = text[int(ex["pronoun_end"]):].strip()
    options = [f"{ex['option1_normalized']} {suffix}".strip(),
               f"{ex['option2_normalized']} {suffix}".strip()]
    return {"context": prefix, **_choose(options, ex["label"])}


# --------------------------------------------------------------------- QA (generation)
@converter("natural_questions", fields=("question", "answer", "answers"))
def natural_questions(ex, spec):
    answers = list(ex["answer"])
    if not answers:
        return None
    return {"question": ex["question"] + "?", "answer": answers[0], "answers": answers}


@converter("trivia_qa", fields=("question", "answer", "answers"))
def trivia_qa(ex, spec):
    ans = ex["answer"]
    if not ans.get("value"):
        return None
    return {"question": ex["question"], "answer": ans["normalized_value"],
            "answers": list(ans["normalized_aliases"]) or [ans["normalized_value"]]}


@converter("squad_v1", fields=("title", "context", "question", "answer", "answers"))
def squad_v1(ex, spec):
    texts = list(ex["answers"]["text"])
    if not texts:
        return None
    return {"title": ex["title"].replace("_", " "), "context": ex["context"],
            "question": ex["question"], "answer": texts[0], "answers": texts}


@converter("squad_v2", fields=("title", "context", "question", "answer", "answers"))
def squad_v2(ex, spec):
    texts = list(ex["answers"]["text"])
    if ex.get("is_impossible") or not texts:
        texts = ["unanswerable"]
    return {"title": ex["title"].replace("_", " "), "context": ex["context"],
            "question": ex["question"], "answer": texts[0], "answers": texts}


@converter("drop", fields=("context", "question", "answer", "answers"))
def drop(ex, spec):
    return {"context": ex["passage"], "question": ex["question"], "answer": ex["answer"],
            "answers": [ex["answer"], *ex.get("validated_answers", [])]}


@converter("quac", fields=("title", "background", "context", "question", "answer", "answers"))
def quac(ex, spec):
    return {"title": ex["title"], "background": ex["background"], "context": ex["context"],
            "question": ex["question"], "answer": ex["orig_answer"]["text"],
            "answers": [ex["orig_answer"]["text"]]}


@converter("coqa", fields=("text", "numbered_questions", "numbered_answers"))
def coqa(ex, spec):
    return {"text": ex["story"], "numbered_questions": _numbered(ex["questions"]),
            "numbered_answers": _numbered(ex["answers"]["input_text"])}


@converter("fix_punct", fields=("no_punct", "answer"))
def fix_punct(ex, spec):
    text = ex["en"]
    no_punct = re.sub(r"[^\w\s]", "", text)
    if no_punct == text:
        return None
    return {"no_punct": no_punct, "answer": text}


# --------------------------------------------------------------------- translation
_LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German",
                   "cs": "Czech", "fi": "Finnish", "ro": "Romanian", "ru": "Russian",
                   "tr": "Turkish"}


@converter("translation", fields=("lang1", "lang2", "sent1", "sent2"))
def translation(ex, spec):
    l1, l2 = spec.languages
    return {"lang1": _LANGUAGE_NAMES[l1], "lang2": _LANGUAGE_NAMES[l2],
            "sent1": ex[l1], "sent2": ex[l2]}


# --------------------------------------------------------------------- struct to text
def _with_references(ex) -> list[str]:
    return [ex["target"], *[r for r in ex.get("references", []) if r != ex["target"]]]


@converter("common_gen", fields=("concepts", "concepts_newline", "target", "answers"))
def common_gen(ex, spec):
    return {"concepts": ", ".join(ex["concepts"]), "concepts_newline": "\n".join(ex["concepts"]),
            "target": ex["target"], "answers": _with_references(ex)}


@converter("dart", fields=("tripleset", "tripleset_newline", "target", "answers"))
def dart(ex, spec):
    triples = [" | ".join(t) if isinstance(t, (list, tuple)) else t for t in ex["tripleset"]]
    tripleset = re.sub(r"\[(.*?)\]", "", "; ".join(triples))
    return {"tripleset": tripleset, "tripleset_newline": "\n".join(triples),
            "target": ex["target"], "answers": _with_references(ex)}


@converter("e2e_nlg", fields=("meaning_representation", "target", "answers"))
def e2e_nlg(ex, spec):
    mr = ex["meaning_representation"].replace("[", " = ").replace("]", "")
    return {"meaning_representation": mr, "target": ex["target"], "answers": _with_references(ex)}


@converter("web_nlg_en", fields=("input_string", "target", "answers"))
def web_nlg_en(ex, spec):
    s = "; ".join(ex["input"]).replace("_", " ").replace(" | ", ", ")
    return {"input_string": s, "target": ex["target"], "answers": _with_references(ex)}


# --------------------------------------------------------------------- summarization
@converter("aeslc", fields=("body", "subject"))
def aeslc(ex, spec):
    body, subject = ex["email_body"].replace("\n", " "), ex["subject_line"].replace("\n", "")
    if not (body + subject).strip():
        return None
    return {"body": body, "subject": subject}


@converter("cnn_dailymail", fields=("text", "highlights"))
def cnn_dailymail(ex, spec):
    article = ex["article"]
    for sep in ("2013 . ", "2014 . ", "2012 . ", ") -- "):   # strip datelines, as FLAN does
        article = article.split(sep, 1)[-1] if sep in article else article
    return {"text": article, "highlights": ex["highlights"]}


@converter("gigaword", "multi_news", "xsum", fields=("text", "summary"))
def document_summary(ex, spec):
    if "UNK" in ex["document"] + ex["summary"] and spec.name == "gigaword":
        return None
    return {"text": ex["document"], "summary": ex["summary"]}


@converter("samsum", fields=("dialogue", "summary"))
def samsum(ex, spec):
    dialogue = re.sub(r"<.*?>", " ", ex["dialogue"].replace("\r\n", "\n"))
    return {"dialogue": dialogue, "summary": ex["summary"]}


@converter("opinion_abstracts_rotten_tomatoes",
           fields=("critic_consensus", "movie", "first_review", "numbered_reviews"))
def opinion_abstracts_rotten_tomatoes(ex, spec):
    reviews = list(ex["_critics"]["value"])
    if not reviews:
        return None
    return {"critic_consensus": ex["_critic_consensus"],
            "movie": ex["_movie_name"].replace("_", " "),
            "first_review": reviews[0], "numbered_reviews": _numbered(reviews[:10])}


@converter("opinion_abstracts_idebate", fields=("claim", "debate_name", "argument_sentences"))
def opinion_abstracts_idebate(ex, spec):
    return {"claim": ex["_claim"], "debate_name": ex["_debate_name"],
            "argument_sentences": _numbered(list(ex["_argument_sentences"]["value"])[:10])}


def from_field_map(spec, ex: Mapping) -> dict:
    """The renamed raw fields of a `fields:` entry; its `label` indexes the fixed options."""
    out = {field: ex[raw] for field, raw in spec.fields.items() if field != "label"}
    if "label" in spec.fields:
        out.update(_fixed(spec, ex[spec.fields["label"]]))
    return out


def output_fields(spec) -> frozenset:
    """The template fields a dataset's examples carry (placeholders its templates may use)."""
    if spec.fields is not None:
        return frozenset(f for f in spec.fields if f != "label") | (
            frozenset(CHOICE) if "label" in spec.fields else frozenset())
    return CONVERTERS[spec.converter].fields


def convert(spec, example: Mapping) -> dict | None:
    """Applies the spec's field map or converter; a missing raw field becomes an error
    naming it."""
    fn = CONVERTERS[spec.converter] if spec.fields is None else None
    try:
        fields = from_field_map(spec, example) if fn is None else fn(example, spec)
    except KeyError as e:
        raise KeyError(
            f"dataset {spec.name!r} ({spec.tfds_name}): example has no field {e.args[0]!r}; "
            f"it has {sorted(example)}. Is this file in the {spec.tfds_name} TFDS schema?"
        ) from None
    if fn is not None and fields is not None and fields.keys() != fn.fields:
        raise ValueError(f"converter {spec.converter!r} returned fields {sorted(fields)}, "
                         f"but declares {sorted(fn.fields)}")
    # Hidden-label splits (GLUE/SuperGLUE test sets) and SNLI / MNLI pairs without a gold
    # label carry label -1: nothing to learn from or score against, so they are dropped
    # like FLAN's filters drop them.
    if fields is not None and fields.get("label", 0) < 0:
        return None
    return fields
