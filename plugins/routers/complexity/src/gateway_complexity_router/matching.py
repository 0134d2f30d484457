"""Keyword matching for every dimension at once: one index, one pass over the prompt's words.

At start-up each keyword becomes either a word (with its inflections, see
:func:`gateway_complexity_router.keywords.word_forms`), a phrase (looked up by its longest word,
then confirmed as a substring), or a substring for scripts without word boundaries (CJK).  Per
request the prompt's words are split once and cut down to the index's vocabulary (both C loops);
only the few surviving words are looked at in Python.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

from .keywords import word_forms

#: ASCII punctuation (except the word characters of c++, c#, snake_case) -> space, for bytes.translate
SEPARATORS = bytes(32 if chr(i) in string.punctuation and chr(i) not in "+#_" else i for i in range(256))


def split_words(text: str) -> list[bytes]:
    return text.encode().translate(SEPARATORS).split()


class KeywordIndex:
    """``dimension -> keywords`` compiled for matching; ``match`` returns ``dimension -> keywords found``."""

    def __init__(self, keywords: Mapping[str, Iterable[str]], *, exact: Iterable[str] = ()) -> None:
        """``exact`` names dimensions whose single words match only as written (no inflections)."""
        no_forms = set(exact)
        self.words: dict[bytes, list[tuple[str, str]]] = {}
        self.phrases: dict[bytes, list[tuple[str, frozenset[bytes], str]]] = {}
        self.substrings: list[tuple[str, str]] = []
        for dimension, words in keywords.items():
            for keyword in dict.fromkeys(k.strip().lower() for k in words if k.strip()):
                parts = set(split_words(keyword))
                if not any(c.isascii() for c in keyword):
                    self.substrings.append((dimension, keyword))
                elif parts == {keyword.encode()}:
                    forms = (keyword,) if dimension in no_forms else word_forms(keyword)
                    for form in forms:
                        entries = self.words.setdefault(form.encode(), [])
                        if (dimension, keyword) not in entries:
                            entries.append((dimension, keyword))
                elif parts:
                    anchor = max(parts, key=len)
                    self.phrases.setdefault(anchor, []).append((dimension, frozenset(parts), keyword))
        vocabulary = set(self.words) | set(self.phrases)
        for entries in self.phrases.values():
            for _, needed, _ in entries:
                vocabulary |= needed
        self.vocabulary = frozenset(vocabulary)
        #: words that start a look-up (a phrase's other words only confirm it)
        self.keys = frozenset(self.words) | frozenset(self.phrases)

    def tokens(self, text: str) -> frozenset[bytes]:
        """The words of ``text`` (lower-cased) that some keyword needs."""
        return self.vocabulary.intersection(split_words(text))

    def match(self, tokens: frozenset[bytes], text: str, ascii_only: bool) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        words, phrases = self.words, self.phrases
        for token in self.keys.intersection(tokens):
            for dimension, keyword in words.get(token, ()):
                found.setdefault(dimension, []).append(keyword)
            for dimension, needed, phrase in phrases.get(token, ()):
                if needed <= tokens and phrase in text:
                    found.setdefault(dimension, []).append(phrase)
        if not ascii_only:
            for dimension, keyword in self.substrings:
                if keyword in text:
                    found.setdefault(dimension, []).append(keyword)
        for dimension, hits in found.items():
            if len(hits) > 1:
                found[dimension] = sorted(set(hits))
        return found
