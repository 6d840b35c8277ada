"""Translation (WMT14/16, ParaCrawl) with a deterministic toy lexicon per language.

English sentences come from a small grammar; a sentence is translated word by word:
function words through a real-ish per-language table, content words through a fixed
per-language spelling rule plus suffix (Cyrillic transliteration for Russian, vowel
harmony for Turkish, capitalised nouns for German). Names are kept as they are.
ParaCrawl en-da doubles as the source of FLAN's fix_punct task (its 'en' side).
"""
from __future__ import annotations

import re

from flan_repro.data.toy import lexicon as lx

NOUNS = ("house", "dog", "cat", "book", "car", "garden", "city", "friend", "teacher", "child", "river",
         "market", "table", "window", "letter", "bread", "water", "music", "school", "train")
ADJS = ("big", "small", "old", "new", "red", "green", "quiet", "happy", "cold", "warm")
VERBS = (("sees", "see"), ("likes", "like"), ("buys", "buy"), ("reads", "read"), ("finds", "find"),
         ("opens", "open"), ("paints", "paint"), ("visits", "visit"))
PREPS = ("in", "near", "with")
TEMPLATES = ("The {a} {n} is {p} the {n2}.", "My {n} {v3} the {a} {n2}.", "We {v} a {n} every day.",
             "I {v} the {n} and the {n2}.", "This {n} is very {a}.", "{N} {v3} my {n} today.",
             "Is the {n} {a}?", "The {n} is not {a}, but the {n2} is.", "{N}'s {n} is {a}!",
             "Yes, your {a} {n} is {p} the {n2}.")
_FUNC_EN = ("the a is and my your we i you not very this every in near with but today day yes 's "
            "is_q").split()
FUNCTION_WORDS = {  # the same order as _FUNC_EN; "" drops the word
    "de": "der ein ist und mein dein wir ich du nicht sehr dieses jeden in bei mit aber heute Tag ja "
          "s ist",
    "fr": "le un est et mon ton nous je tu pas très ce chaque dans près avec mais aujourd'hui jour "
          "oui ' est",
    "es": "el un es y mi tu nosotros yo tú no muy este cada en cerca con pero hoy día sí ' es",
    "cs": "ten jeden je a můj tvůj my já ty ne velmi tento každý v u s ale dnes den ano ův je",
    "fi": "se yksi on ja minun sinun me minä sinä ei hyvin tämä joka sisällä lähellä kanssa mutta "
          "tänään päivä kyllä n onko",
    "ro": "cel un este și meu tău noi eu tu nu foarte acest fiecare în lângă cu dar azi zi da ei este",
    "ru": "_ _ _ и мой твой мы я ты не очень этот каждый в возле с но сегодня день да а _",
    "tr": "_ bir _ ve benim senin biz ben sen değil çok bu her içinde yakın ile ama bugün gün evet "
          "'ın mi",
    "da": "den en er og min din vi jeg du ikke meget denne hver i ved med men idag dag ja s er",
}
SPELLING = {  # (letter substitutions, suffix)
    "de": ((("c", "k"), ("w", "v"), ("th", "t"), ("y", "ü")), "en"),
    "fr": ((("k", "qu"), ("w", "v"), ("y", "i")), "é"),
    "es": ((("th", "z"), ("k", "c"), ("w", "gu"), ("y", "i")), "o"),
    "cs": ((("ch", "č"), ("sh", "š"), ("c", "k"), ("w", "v")), "ek"),
    "fi": ((("c", "k"), ("w", "v"), ("b", "p"), ("d", "t")), "nen"),
    "ro": ((("sh", "ș"), ("ts", "ț"), ("k", "c"), ("w", "v"), ("y", "i")), "ul"),
    "ru": ((), "ов"),
    "tr": ((("sh", "ş"), ("ch", "ç"), ("c", "k"), ("w", "v"), ("x", "ks")), None),
    "da": ((("th", "t"), ("w", "v"), ("c", "k")), "et"),
}
CYRILLIC = dict(zip("abcdefghijklmnopqrstuvwxyz", "абкдефгхижклмнопкрстуввхыз"))
CYRILLIC["x"] = "кс"
_TOKEN = re.compile(r"'s|\w+|[^\w\s]")


def _content(word: str, lang: str) -> str:
    subs, suffix = SPELLING[lang]
    w = word.lower()
    for a, b in subs:
        w = w.replace(a, b)
    if lang == "ru":
        w = "".join(CYRILLIC.get(ch, ch) for ch in w)
    if suffix is None:                                # Turkish: -lar / -ler by the last vowel
        vowels = [ch for ch in w if ch in "aeiouıöü"]
        suffix = "lar" if vowels and vowels[-1] in "aıou" else "ler"
    w += suffix
    if lang == "de" and word.lower() in NOUNS:
        w = w.capitalize()
    return w


def translate(sentence: str, lang: str) -> str:
    """The toy translation of one English sentence from `english_sentence`."""
    table = dict(zip(_FUNC_EN, FUNCTION_WORDS[lang].split()))
    question = sentence.endswith("?")
    out = []
    for tok in _TOKEN.findall(sentence):
        low = tok.lower()
        if tok == "'s" and out:                       # possessive: a suffix on the name
            out[-1] += table["'s"]
        elif tok in lx.NAMES or not tok[0].isalnum():
            out.append(tok)
        elif low == "is" and question:
            out.append(table["is_q"])
        elif low in table:
            out.append(table[low])
        else:
            out.append(_content(tok, lang))
    words = [w for w in out if w != "_"]
    text = ""
    for w in words:
        text += w if not w[0].isalnum() or not text else " " + w
    return text[:1].upper() + text[1:]


def english_sentence(rng) -> str:
    v3, v = rng.choice(VERBS)
    n, n2 = rng.sample(NOUNS, 2)
    return rng.choice(TEMPLATES).format(a=rng.choice(ADJS), n=n, n2=n2, p=rng.choice(PREPS), v=v,
                                        v3=v3, N=rng.choice(lx.NAMES))


def _pair(lang):
    def gen(rng, i, split):
        s = english_sentence(rng)
        if rng.random() < 0.3:                        # some two-sentence segments
            s += " " + english_sentence(rng)
        other = " ".join(translate(x, lang) for x in re.split(r"(?<=[.?!]) ", s))
        return {"en": s, lang: other}
    return gen


GENERATORS = {
    "wmt14_translate/fr-en": _pair("fr"), "wmt16_translate/cs-en": _pair("cs"),
    "wmt16_translate/de-en": _pair("de"), "wmt16_translate/fi-en": _pair("fi"),
    "wmt16_translate/ro-en": _pair("ro"), "wmt16_translate/ru-en": _pair("ru"),
    "wmt16_translate/tr-en": _pair("tr"), "para_crawl/enes": _pair("es"),
    "para_crawl/enda": _pair("da"),
}
