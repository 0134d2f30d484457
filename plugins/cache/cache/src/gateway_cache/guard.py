"""The semantic cache's lexical guard: what two prompts must share, however close their vectors.

An embedding says two prompts are about the same thing; it does not say they ask the same thing.
A mean of token vectors (the default embedder) cannot tell "5 miles to km" from "5 km to miles",
and any embedder puts "the capital of France" near "the capital of Germany".  A wrong cached
answer is worse than a miss, so a semantic hit also needs the same *signature*:

- the numbers (digits and number words, "5" and "five" alike), as a multiset;
- the count of negations ("not", "no", "never", "n't", "without" ...);
- the units and currencies, in order ("miles ... km" is not "km ... miles");
- the named things: capitalised words other than common sentence openers, plus languages,
  programming languages, days and months however they are written;
- the polar words (largest/smallest, before/after, increase/decrease, pros/cons ...);
- the prompt's language (by its function words: English, French, Spanish, German, Italian,
  Portuguese, Dutch), and any non-Latin script.

The signature is computed once per prompt and stored beside its vector; matching is equality.
It costs recall (a paraphrase that spells a number differently or capitalises a common word
misses), which the eval in ``plugins/cache/eval/`` measures.
"""

from __future__ import annotations

import re
import unicodedata

import orjson


def _words(text: str) -> list[str]:
    return text.split()


WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)

NUMBER_WORDS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12, "dozen": 12, "half": 0.5,
    "quarter": 0.25, "twice": 2, "double": 2, "triple": 3, "third": 3,
    "fourth": 4, "fifth": 5, "tenth": 10,
}  # fmt: skip
NEGATIONS = frozenset(
    _words(
        "not no never none nobody nothing neither nor without cannot cant dont doesnt didnt isnt arent wasnt "
        "werent wont wouldnt shouldnt couldnt hasnt havent hadnt mustnt non ne pas nicht kein keine nie nunca "
        "nada sin ohne jamais sans niet geen"
    )
)
UNITS = {
    **dict.fromkeys(_words("km kms kilometer kilometers kilometre kilometres"), "km"),
    **dict.fromkeys(_words("mi mile miles"), "mile"),
    **dict.fromkeys(_words("m meter meters metre metres"), "m"),
    **dict.fromkeys(_words("cm centimeter centimeters centimetre centimetres"), "cm"),
    **dict.fromkeys(_words("mm millimeter millimeters millimetre millimetres"), "mm"),
    **dict.fromkeys(_words("ft foot feet"), "ft"),
    **dict.fromkeys(_words("in inch inches"), "in"),
    **dict.fromkeys(_words("yd yard yards"), "yd"),
    **dict.fromkeys(_words("kg kgs kilo kilos kilogram kilograms kilogramme kilogrammes"), "kg"),
    **dict.fromkeys(_words("g gram grams gramme grammes"), "g"),
    **dict.fromkeys(_words("mg milligram milligrams"), "mg"),
    **dict.fromkeys(_words("lb lbs pound pounds"), "lb"),
    **dict.fromkeys(_words("oz ounce ounces"), "oz"),
    **dict.fromkeys(_words("l liter liters litre litres"), "l"),
    **dict.fromkeys(_words("ml milliliter milliliters millilitre millilitres"), "ml"),
    **dict.fromkeys(_words("gal gallon gallons"), "gal"),
    **dict.fromkeys(_words("cup cups"), "cup"),
    **dict.fromkeys(_words("tbsp tablespoon tablespoons"), "tbsp"),
    **dict.fromkeys(_words("tsp teaspoon teaspoons"), "tsp"),
    **dict.fromkeys(_words("c celsius centigrade"), "celsius"),
    **dict.fromkeys(_words("f fahrenheit"), "fahrenheit"),
    **dict.fromkeys(_words("k kelvin"), "kelvin"),
    **dict.fromkeys(_words("s sec secs second seconds"), "s"),
    **dict.fromkeys(_words("min mins minute minutes"), "min"),
    **dict.fromkeys(_words("h hr hrs hour hours"), "h"),
    **dict.fromkeys(_words("day days"), "day"),
    **dict.fromkeys(_words("week weeks"), "week"),
    **dict.fromkeys(_words("month months"), "month"),
    **dict.fromkeys(_words("year years"), "year"),
    **dict.fromkeys(_words("usd dollar dollars"), "usd"),
    **dict.fromkeys(_words("eur euro euros"), "eur"),
    **dict.fromkeys(_words("gbp sterling"), "gbp"),
    **dict.fromkeys(_words("jpy yen"), "jpy"),
    **dict.fromkeys(_words("b byte bytes"), "byte"),
    **dict.fromkeys(_words("kb kilobyte kilobytes"), "kb"),
    **dict.fromkeys(_words("mb megabyte megabytes"), "mb"),
    **dict.fromkeys(_words("gb gigabyte gigabytes"), "gb"),
    **dict.fromkeys(_words("tb terabyte terabytes"), "tb"),
    **dict.fromkeys(_words("mph"), "mph"),
    **dict.fromkeys(_words("kph kmh"), "kmh"),
    **dict.fromkeys(_words("percent percentage"), "percent"),
    **dict.fromkeys(_words("acre acres"), "acre"),
    **dict.fromkeys(_words("hectare hectares"), "hectare"),
    **dict.fromkeys(_words("calorie calories kcal"), "kcal"),
    **dict.fromkeys(_words("joule joules"), "joule"),
    **dict.fromkeys(_words("watt watts"), "watt"),
    **dict.fromkeys(_words("kw kilowatt kilowatts"), "kw"),
    **dict.fromkeys(_words("volt volts"), "volt"),
}
#: single letters that are units only right after a number ("5 m", "20 c"), never words on their own
AMBIGUOUS_UNITS = frozenset({"m", "in", "g", "l", "c", "f", "k", "s", "h", "b", "min", "second", "seconds"})
#: named things users write in lower case as often as not
NAMES = frozenset(
    _words(
        "english french spanish german italian portuguese dutch russian chinese mandarin cantonese japanese korean "
        "arabic hindi bengali urdu turkish greek latin hebrew polish swedish norwegian danish finnish czech thai "
        "vietnamese indonesian swahili persian ukrainian romanian hungarian python javascript typescript java rust "
        "golang kotlin swift ruby php perl scala haskell elixir erlang clojure lua julia matlab fortran cobol sql "
        "bash powershell html css c++ c# monday tuesday wednesday thursday friday saturday sunday january february "
        "march april june july august september october november december spring summer autumn fall winter "
        "linux windows macos android ios postgres postgresql mysql sqlite redis mongodb docker kubernetes react "
        "vue angular django flask numpy pandas pytorch tensorflow"
    )
)
POLAR = frozenset(
    _words(
        "largest smallest biggest tallest shortest longest highest lowest fastest slowest oldest youngest newest "
        "best worst most least more less fewer max maximum min minimum before after above below increase decrease "
        "increasing decreasing raise lower rise fall up down buy sell pros cons advantages disadvantages benefits "
        "risks hot cold warm cool ascending descending asc desc first last start end begin beginning ending north "
        "south east west left right add remove insert delete encrypt decrypt encode decode import export upload "
        "download push pull open close enable disable install uninstall compress decompress zip unzip win lose "
        "lost won cheap expensive cheapest priciest heavy light heaviest lightest early late earliest latest "
        "safe dangerous healthy unhealthy legal illegal true false yes positive negative male female"
    )
)
#: words a prompt may start with (capitalised as sentence openers, they name nothing)
OPENERS = frozenset(
    _words(
        "what whats how hows who whos whom whose why when where which is are was were am can could would "
        "should shall will do does did have has had tell give explain describe write list show please i i'm "
        "i'd i've my me we our you your the a an in on at for of to from by with about if and or but so then "
        "there here this that these those it its it's hey hi hello could summarize summarise compare name "
        "find make create generate suggest recommend translate convert calculate define help let let's any "
        "some all each every one as quick briefly also just now okay ok yes no not hmm well dear kindly "
        "rewrite draft compose provide outline share identify"
    )
)
LANGUAGES = {
    "en": frozenset(_words("the is are what how why of and to in a an does do can you please which who with for")),
    "fr": frozenset(_words("le la les est sont quel quelle quels comment pourquoi de des et du un une je vous qui")),
    "es": frozenset(_words("el los las es son qué que cómo como por qué de del y un una yo usted cuál quién")),
    "de": frozenset(_words("der die das ist sind was wie warum und ein eine ich sie wer welche nicht mit von")),
    "it": frozenset(_words("il lo gli è sono che come perché di e un una io lei chi quale della")),
    "pt": frozenset(_words("o os as é são que como por de e um uma eu você quem qual da do")),
    "nl": frozenset(_words("de het een is zijn wat hoe waarom en van ik jij wie welke niet met")),
}


def _script(text: str) -> str:
    """The first non-Latin script in the text ('latin' when there is none)."""
    for char in text:
        if char.isalpha() and not char.isascii():
            name = unicodedata.name(char, "")
            head = name.split(" ", 1)[0]
            if head not in ("LATIN", ""):
                return head.lower()
    return "latin"


#: function words of every language above: capitalised, they open a sentence and name nothing
FUNCTION_WORDS = frozenset().union(*LANGUAGES.values())


def _language(words: list[str]) -> str:
    """The language whose function words the prompt uses most; English unless another has more
    (a short prompt without any, "France's capital?", is taken as English)."""
    scores = {lang: sum(1 for w in words if w in vocab) for lang, vocab in LANGUAGES.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > scores["en"] else "en"


def _number(token: str) -> str:
    """A number token's canonical form: "1,000" and "1000" alike, "3.50" and "3.5" alike."""
    plain = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", token) else token.replace(",", ".")
    try:
        value = float(plain)
    except ValueError:
        return token
    return f"{value:g}"


def signature(text: str) -> bytes:
    """The prompt's signature: equal signatures are a precondition of a semantic hit."""
    tokens = WORD.findall(text)
    lowered = [t.lower() for t in tokens]
    numbers: list[str] = []
    negations = 0
    units: list[str] = []
    names: set[str] = set()
    polar: set[str] = set()
    previous_number = False
    for token, word in zip(tokens, lowered, strict=True):
        bare = word.replace("'", "")
        if token[0].isdigit():
            numbers.append(_number(token))
            previous_number = True
            continue
        negation = bare in NEGATIONS or word.endswith("n't")
        if negation:
            negations += 1
        if word in NUMBER_WORDS:
            numbers.append(f"{NUMBER_WORDS[word]:g}")
        unit = UNITS.get(word)
        if unit is not None and (previous_number or word not in AMBIGUOUS_UNITS):
            units.append(unit)
        if word in NAMES:
            names.add(word)
        elif token[0].isupper() and len(token) > 1 and not negation:
            stem = word.split("'")[0]
            if bare not in OPENERS and stem not in OPENERS and stem not in FUNCTION_WORDS:
                names.add(stem)
        if word in POLAR:
            polar.add(word)
        previous_number = False
    return orjson.dumps(
        [sorted(numbers), negations, units, sorted(names), sorted(polar), _language(lowered), _script(text)]
    )
