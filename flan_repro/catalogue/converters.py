"""Raw TFDS examples -> template fields, one small pure function per dataset.

Each converter takes one example as TFDS yields it (decoded to Python: str, int,
float, list, dict) plus its `DatasetSpec`, and returns the fields that templates
may use, or None to drop the example (the filters FLAN applies, e.g. SNLI's
unlabelled pairs). Field names are the placeholders of FLAN's templates.

Conventions every converter follows, so the renderer and evaluator can rely on them:
  - `answer` (or the spec's `target` field) is the standard template's target text;
  - classification converters set `options` (list of str) and `label` (index into it);
  - generation converters with several references set `answers` (list of str).
"""
from __future__ import annotations

import re
from typing import Callable, Mapping

CONVERTERS: dict[str, Callable] = {}


def converter(*names: str):
    def register(fn):
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


# --------------------------------------------------------------------- NLI and pairs
@converter("anli")
def anli(ex, spec):
    return {"context": ex["context"], "hypothesis": ex["hypothesis"], **_fixed(spec, ex["label"])}


@converter("rte", "cb", "mnli", "snli")
def premise_hypothesis(ex, spec):
    if int(ex["label"]) < 0:          # SNLI / MNLI pairs without a gold label
        return None
    return {"premise": ex["premise"], "hypothesis": ex["hypothesis"], **_fixed(spec, ex["label"])}


@converter("qnli")
def qnli(ex, spec):
    return {"question": ex["question"], "sentence": ex["sentence"], **_fixed(spec, ex["label"])}


@converter("wnli", "glue_mrpc", "paws_wiki")
def sentence_pair(ex, spec):
    return {"sentence1": ex["sentence1"], "sentence2": ex["sentence2"], **_fixed(spec, ex["label"])}


@converter("glue_qqp")
def glue_qqp(ex, spec):
    fix = lambda s: s.replace('""', "'")
    return {"question1": fix(ex["question1"]), "question2": fix(ex["question2"]),
            **_fixed(spec, ex["label"])}


@converter("stsb")
def stsb(ex, spec):
    # FLAN turns the 0-5 similarity into six options; the target is the rounded score.
    score = float(ex["label"])
    label = min(5, max(0, int(round(score))))
    return {"sentence1": ex["sentence1"], "sentence2": ex["sentence2"], "score": score,
            "answer_str": str(label), **_fixed(spec, label)}


# --------------------------------------------------------------------- single text
@converter("sst2", "cola")
def single_sentence(ex, spec):
    return {"sentence": ex["sentence"], **_fixed(spec, ex["label"])}


@converter("imdb_reviews")
def imdb_reviews(ex, spec):
    return {"text": ex["text"].replace("<br />", "\n"), **_fixed(spec, ex["label"])}


@converter("yelp_polarity_reviews")
def yelp_polarity_reviews(ex, spec):
    text = ex["text"].replace('\\""', '"').replace("\\n", " ")
    return {"text": text, **_fixed(spec, ex["label"])}


@converter("sentiment140")
def sentiment140(ex, spec):
    polarity = int(ex["polarity"])
    if polarity not in (0, 4):        # 2 = neutral, only in the test split
        return None
    return {"text": ex["text"], **_fixed(spec, 1 if polarity == 4 else 0)}


@converter("trec")
def trec(ex, spec):
    return {"text": ex["text"], **_fixed(spec, ex["label-coarse"])}


@converter("ag_news_subset")
def ag_news_subset(ex, spec):
    return {"title": ex["title"], "text": ex["description"], **_fixed(spec, ex["label"])}


@converter("wic")
def wic(ex, spec):
    return {"sentence1": ex["sentence1"], "sentence2": ex["sentence2"], "word": ex["word"],
            **_fixed(spec, ex["label"])}


# --------------------------------------------------------------------- multiple choice
@converter("copa")
def copa(ex, spec):
    return {"premise": ex["premise"], "question": ex["question"],
            **_choose([ex["choice1"], ex["choice2"]], ex["label"])}


@converter("hellaswag")
def hellaswag(ex, spec):
    if not 0 <= int(ex["label"]) <= 3:
        return None
    context = re.sub(r"\[header\]\s", "", ex["context"])
    context = re.sub(r"\[.*?\]\s", "\n", context)
    endings = [re.sub(r"\[.*?\]\s", "", e) for e in ex["endings"]]
    return {"context": context, "activity_label": ex["activity_label"],
            **_choose(endings, ex["label"])}


@converter("piqa")
def piqa(ex, spec):
    return {"goal": ex["goal"], **_choose([ex["sol1"], ex["sol2"]], ex["label"])}


@converter("story_cloze")
def story_cloze(ex, spec):
    # TFDS story_cloze labels are 1-based.
    return {"context": ex["context"], **_choose(ex["endings"], int(ex["label"]) - 1)}


@converter("arc")
def arc(ex, spec):
    texts = ex["choices"]["text"]
    if len(texts) != 4:               # FLAN keeps 4-choice questions only
        return None
    return {"question": ex["question"], **_choose(texts, ex["answerKey"])}


@converter("openbookqa")
def openbookqa(ex, spec):
    q = ex["question"]
    return {"question": q["stem"], "fact": ex["fact1"],
            **_choose([q["choice_A"], q["choice_B"], q["choice_C"], q["choice_D"]],
                      ex["answerKey"])}


@converter("cosmos_qa")
def cosmos_qa(ex, spec):
    if int(ex["label"]) < 0:
        return None
    return {"context": ex["context"], "question": ex["question"],
            **_choose([ex[f"answer{i}"] for i in range(4)], ex["label"])}


@converter("bool_q")
def bool_q(ex, spec):
    return {"title": ex["title"], "text": ex["passage"], "question": ex["question"],
            **_fixed(spec, int(bool(ex["answer"])))}


@converter("multirc")
def multirc(ex, spec):
    return {"paragraph": ex["paragraph"], "question": ex["question"], "response": ex["answer"],
            "idx/question": int(ex["idx"]["question"]) + 1000 * int(ex["idx"]["paragraph"]),
            **_fixed(spec, ex["label"])}


@converter("record")
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


@converter("definite_pronoun_resolution")
def definite_pronoun_resolution(ex, spec):
    return {"sentence": ex["sentence"], "pronoun": ex["pronoun"],
            **_choose(ex["candidates"], ex["label"])}


@converter("winogrande")
def winogrande(ex, spec):
    before, _, after = ex["sentence"].partition("_")
    return {"context": before.strip(),
            **_choose([ex["option1"] + after, ex["option2"] + after], ex["label"])}


@converter("wsc273")
def wsc273(ex, spec):
    text = ex["text"]
    prefix = text[: int(ex["pronoun_start"])].strip()
    suffix = text[int(ex["pronoun_end"]):].strip()
    options = [f"{ex['option1_normalized']} {suffix}".strip(),
               f"{ex['option2_normalized']} {suffix}".strip()]
    return {"context": prefix, **_choose(options, ex["label"])}


# --------------------------------------------------------------------- QA (generation)
@converter("natural_questions")
def natural_questions(ex, spec):
    answers = list(ex["answer"])
    if not answers:
        return None
    return {"question": ex["question"] + "?", "answer": answers[0], "answers": answers}


@converter("trivia_qa")
def trivia_qa(ex, spec):
    ans = ex["answer"]
    if not ans.get("value"):
        return None
    return {"question": ex["question"], "answer": ans["normalized_value"],
            "answers": list(ans["normalized_aliases"]) or [ans["normalized_value"]]}


@converter("squad_v1")
def squad_v1(ex, spec):
    texts = list(ex["answers"]["text"])
    if not texts:
        return None
    return {"title": ex["title"].replace("_", " "), "context": ex["context"],
            "question": ex["question"], "answer": texts[0], "answers": texts}


@converter("squad_v2")
def squad_v2(ex, spec):
    texts = list(ex["answers"]["text"])
    if ex.get("is_impossible") or not texts:
        texts = ["unanswerable"]
    return {"title": ex["title"].replace("_", " "), "context": ex["context"],
            "question": ex["question"], "answer": texts[0], "answers": texts}


@converter("drop")
def drop(ex, spec):
    return {"context": ex["passage"], "question": ex["question"], "answer": ex["answer"],
            "answers": [ex["answer"], *ex.get("validated_answers", [])]}


@converter("quac")
def quac(ex, spec):
    return {"title": ex["title"], "background": ex["background"], "context": ex["context"],
            "question": ex["question"], "answer": ex["orig_answer"]["text"],
            "answers": [ex["orig_answer"]["text"]]}


@converter("coqa")
def coqa(ex, spec):
    return {"text": ex["story"], "numbered_questions": _numbered(ex["questions"]),
            "numbered_answers": _numbered(ex["answers"]["input_text"])}


@converter("math_dataset")
def math_dataset(ex, spec):
    return {"question": ex["question"], "answer": ex["answer"]}


@converter("fix_punct")
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


@converter("translation")
def translation(ex, spec):
    l1, l2 = spec.languages
    return {"lang1": _LANGUAGE_NAMES[l1], "lang2": _LANGUAGE_NAMES[l2],
            "sent1": ex[l1], "sent2": ex[l2]}


# --------------------------------------------------------------------- struct to text
def _with_references(ex) -> list[str]:
    return [ex["target"], *[r for r in ex.get("references", []) if r != ex["target"]]]


@converter("common_gen")
def common_gen(ex, spec):
    return {"concepts": ", ".join(ex["concepts"]), "concepts_newline": "\n".join(ex["concepts"]),
            "target": ex["target"], "answers": _with_references(ex)}


@converter("dart")
def dart(ex, spec):
    triples = [" | ".join(t) if isinstance(t, (list, tuple)) else t for t in ex["tripleset"]]
    tripleset = re.sub(r"\[(.*?)\]", "", "; ".join(triples))
    return {"tripleset": tripleset, "tripleset_newline": "\n".join(triples),
            "target": ex["target"], "answers": _with_references(ex)}


@converter("e2e_nlg")
def e2e_nlg(ex, spec):
    mr = ex["meaning_representation"].replace("[", " = ").replace("]", "")
    return {"meaning_representation": mr, "target": ex["target"], "answers": _with_references(ex)}


@converter("web_nlg_en")
def web_nlg_en(ex, spec):
    s = "; ".join(ex["input"]).replace("_", " ").replace(" | ", ", ")
    return {"input_string": s, "target": ex["target"], "answers": _with_references(ex)}


# --------------------------------------------------------------------- summarization
@converter("aeslc")
def aeslc(ex, spec):
    body, subject = ex["email_body"].replace("\n", " "), ex["subject_line"].replace("\n", "")
    if not (body + subject).strip():
        return None
    return {"body": body, "subject": subject}


@converter("cnn_dailymail")
def cnn_dailymail(ex, spec):
    article = ex["article"]
    for sep in ("2013 . ", "2014 . ", "2012 . ", ") -- "):   # strip datelines, as FLAN does
        article = article.split(sep, 1)[-1] if sep in article else article
    return {"text": article, "highlights": ex["highlights"]}


@converter("gigaword", "multi_news", "xsum")
def document_summary(ex, spec):
    if "UNK" in ex["document"] + ex["summary"] and spec.name == "gigaword":
        return None
    return {"text": ex["document"], "summary": ex["summary"]}


@converter("newsroom")
def newsroom(ex, spec):
    return {"title": ex["title"], "text": ex["text"], "summary": ex["summary"]}


@converter("samsum")
def samsum(ex, spec):
    dialogue = re.sub(r"<.*?>", " ", ex["dialogue"].replace("\r\n", "\n"))
    return {"dialogue": dialogue, "summary": ex["summary"]}


@converter("opinion_abstracts_rotten_tomatoes")
def opinion_abstracts_rotten_tomatoes(ex, spec):
    reviews = list(ex["_critics"]["value"])
    if not reviews:
        return None
    return {"critic_consensus": ex["_critic_consensus"],
            "movie": ex["_movie_name"].replace("_", " "),
            "first_review": reviews[0], "numbered_reviews": _numbered(reviews[:10])}


@converter("opinion_abstracts_idebate")
def opinion_abstracts_idebate(ex, spec):
    return {"claim": ex["_claim"], "debate_name": ex["_debate_name"],
            "argument_sentences": _numbered(list(ex["_argument_sentences"]["value"])[:10])}


@converter("wiki_lingua_english_en")
def wiki_lingua_english_en(ex, spec):
    return {"source": ex["source"], "target": ex["target"]}


# --------------------------------------------------------------------- positive control
@converter("control_topic")
def control_topic(ex, spec):
    # tasks/control/: the topic asked about is drawn per example, so only the instruction
    # (which shows `topic`) says what yes and no mean for this sentence.
    return {"text": ex["text"], "topic": ex["topic"], **_fixed(spec, ex["label"])}


def convert(spec, example: Mapping) -> dict | None:
    """Applies the spec's converter; a missing raw field becomes an error naming it."""
    fn = CONVERTERS.get(spec.converter)
    if fn is None:
        raise KeyError(f"dataset {spec.name!r}: no converter {spec.converter!r} in "
                       f"flan_repro/catalogue/converters.py")
    try:
        fields = fn(example, spec)
    except KeyError as e:
        raise KeyError(
            f"dataset {spec.name!r} ({spec.tfds_name}): example has no field {e.args[0]!r}; "
            f"it has {sorted(example)}. Is this file in the {spec.tfds_name} TFDS schema?"
        ) from None
    # Hidden-label splits (GLUE/SuperGLUE test sets) carry label -1: nothing to learn
    # from or score against, so they are dropped like FLAN's filters drop them.
    if fields is not None and fields.get("label", 0) < 0:
        return None
    return fields
