"""Putting originals back in place of numbered placeholders (``<EMAIL_ADDRESS_1>``), also in streams.

In a stream a placeholder may arrive split over chunks (``<EMAIL_AD`` + ``DRESS_1>``).  The
restorer holds back only a tail that could still become a known placeholder (at most the longest
placeholder's length), so text flows on as soon as it cannot be one.  Placeholder-like text the
request never produced (``<EMAIL_ADDRESS_99>``, an unclosed ``<PERSON_1``) is passed on unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.guardrails._base import OutputRewriter


class PlaceholderRestorer(OutputRewriter):
    """Replace each placeholder of ``mapping`` (placeholder -> original) with its original."""

    def __init__(self, mapping: Mapping[str, str], *, opener: str = "<") -> None:
        self.mapping = dict(mapping)
        self.opener = opener
        ordered = sorted(self.mapping, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in ordered)) if ordered else None
        self._prefixes = {p[:i] for p in ordered for i in range(1, len(p))}
        self._longest = max((len(p) for p in ordered), default=0)
        self._held = ""

    def rewrite(self, text: str) -> str:
        if self._pattern is None or self.opener not in text:
            return text
        return self._pattern.sub(lambda m: self.mapping[m.group(0)], text)

    def feed(self, delta: str) -> str:
        if self._pattern is None:
            return delta
        text = self._held + delta
        cut = text.rfind(self.opener, max(0, len(text) - self._longest))
        if cut >= 0 and text[cut:] in self._prefixes:
            self._held = text[cut:]
            text = text[:cut]
        else:
            self._held = ""
        return self.rewrite(text)

    def flush(self) -> str:
        rest, self._held = self._held, ""
        return self.rewrite(rest)

    def fresh(self) -> PlaceholderRestorer:
        """A new restorer with the same mapping and no held text (one per streamed choice)."""
        return PlaceholderRestorer(self.mapping, opener=self.opener)
