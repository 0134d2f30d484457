"""Un-masking numbered placeholders, whole and split across streamed chunks (pure text, no server)."""

from __future__ import annotations

import random

from gateway.guardrails import PlaceholderRestorer

MAPPING = {"<EMAIL_ADDRESS_1>": "ann@example.com", "<PERSON_1>": "Ann Lee", "<PERSON_12>": "Bob Ray"}


def stream(restorer: PlaceholderRestorer, pieces: list[str]) -> str:
    return "".join(restorer.feed(p) for p in pieces) + restorer.flush()


def test_whole_text_restores_known_placeholders_only() -> None:
    text = "Hi <PERSON_1>, mail <EMAIL_ADDRESS_1>; <PERSON_12> and <PERSON_99> and <PERSON_1"
    assert PlaceholderRestorer(MAPPING).rewrite(text) == (
        "Hi Ann Lee, mail ann@example.com; Bob Ray and <PERSON_99> and <PERSON_1"
    )


def test_every_split_of_a_stream_gives_the_same_answer() -> None:
    text = "Dear <PERSON_12>, write to <EMAIL_ADDRESS_1> or <<PERSON_1>>. Unknown: <EMAIL_ADDRESS_7> <PERSON_"
    expected = PlaceholderRestorer(MAPPING).rewrite(text)
    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 20)))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=False)]
        assert stream(PlaceholderRestorer(MAPPING), pieces) == expected
    assert stream(PlaceholderRestorer(MAPPING), list(text)) == expected  # one character per chunk


def test_text_that_cannot_be_a_placeholder_is_not_held_back() -> None:
    restorer = PlaceholderRestorer(MAPPING)
    assert restorer.feed("a < b and <EMAIL_AD") == "a < b and "
    assert restorer.feed("DRESS_1> done") == "ann@example.com done"
    assert restorer.feed("<3 🙂 مرحبا e\u0301") == "<3 🙂 مرحبا e\u0301"
    assert restorer.flush() == ""
