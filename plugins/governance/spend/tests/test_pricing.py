"""Prices (genai-prices data and config overrides), money conversions and budget windows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from gateway_spend.admission import BudgetLine
from gateway_spend.money import as_decimal, from_nanos, to_nanos
from gateway_spend.pricing import (
    GenaiPrice,
    OverridePrice,
    PromptEstimator,
    TokenCounts,
    UnknownPrice,
    choices_generated,
    estimate_prompt_tokens,
    price_for,
    requested_output_tokens,
)
from gateway_spend.scopes import budget_duration
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from gateway import Deployment, RequestContext, fake_openai, tokens
from gateway.chat import Message, Text, decode_openai_chat, decode_openai_prompt


def deployment(model: str, provider: str = "openai", **params: object) -> Deployment:
    return Deployment(
        id="d", model_group="g", provider=provider, model=model, params={"model": f"{provider}/{model}", **params}
    )


def test_bundled_prices_match_genai_prices_including_cached_tokens() -> None:
    price = price_for(deployment("gpt-4o"))
    assert isinstance(price, GenaiPrice)
    expected = calc_price(
        GenaiUsage(input_tokens=1000, cache_read_tokens=300, output_tokens=200), "gpt-4o", provider_id="openai"
    ).total_price
    assert price.cost(TokenCounts(prompt=1000, completion=200, cached=300)) == expected
    # 700 x $2.50 + 300 x $1.25 (cache read) + 200 x $10, per million
    assert expected == Decimal("0.004125")


def test_prices_are_the_bundled_data_never_downloaded() -> None:
    from genai_prices import data_snapshot

    price_for(deployment("gpt-4o"))
    assert data_snapshot._custom_snapshot is None  # only UpdatePrices (never started here) replaces the bundle


def test_overrides_win_and_split_cached_and_reasoning_tokens() -> None:
    price = price_for(
        deployment(
            "gpt-4o",
            input_cost_per_token=0.000001,
            output_cost_per_token=0.000004,
            cache_read_input_token_cost=0.0000005,
            output_cost_per_reasoning_token=0.000008,
        )
    )
    assert isinstance(price, OverridePrice)
    cost = price.cost(TokenCounts(prompt=100, completion=50, cached=40, reasoning=10))
    assert cost == Decimal("0.000060") + Decimal("0.000020") + Decimal("0.000160") + Decimal("0.000080")


def test_model_info_prices_and_unknown_models() -> None:
    info = Deployment(
        id="d",
        model_group="g",
        provider="openai",
        model="in-house",
        params={"model": "openai/in-house"},
        model_info={"input_cost_per_token": 0.000002, "output_cost_per_token": 0.000002},
    )
    assert price_for(info).cost(TokenCounts(10, 10)) == Decimal("0.000040")
    assert isinstance(price_for(deployment("no-such-model-anywhere")), UnknownPrice)
    with pytest.raises(ValueError, match="litellm_params.input_cost_per_token"):
        price_for(deployment("m", "mock", input_cost_per_token=-1))


def test_money_is_exact_and_rounds_counters_up() -> None:
    assert to_nanos(Decimal("0.000018")) == 18_000
    assert to_nanos(Decimal("0.0000000001")) == 1  # never rounds spend away
    assert from_nanos(18_000) == Decimal("0.000018")
    assert as_decimal(0.1, "f") == Decimal("0.1")
    for bad in (-1, "ten", float("nan"), True):
        with pytest.raises(ValueError, match="max_budget"):
            as_decimal(bad, "max_budget")


def epoch(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


def line(duration: str, anchor: str | None = None) -> BudgetLine:
    return BudgetLine(
        "key",
        "k",
        "key 'k'",
        "key:k",
        100,
        duration=budget_duration(duration),
        anchor=None if anchor is None else epoch(anchor),
    )


@pytest.mark.parametrize(
    ("text", "now", "start", "after"),
    [
        ("1d", "2026-03-14 15:00", "2026-03-14 00:00", "2026-03-15 00:00"),
        ("30m", "2026-03-14 15:47", "2026-03-14 15:30", "2026-03-14 16:00"),
        ("1w", "2026-03-14 15:00", "2026-03-09 00:00", "2026-03-16 00:00"),  # weeks start on Monday
        ("1mo", "2026-03-14 15:00", "2026-03-01 00:00", "2026-04-01 00:00"),  # calendar months, not 30 days
        ("1mo", "2026-01-31 23:00", "2026-01-01 00:00", "2026-02-01 00:00"),
        ("3mo", "2026-12-31 23:59", "2026-10-01 00:00", "2027-01-01 00:00"),
    ],
)
def test_budget_windows_follow_the_utc_calendar(text: str, now: str, start: str, after: str) -> None:
    budget = line(text)
    previous, current, following, _ = budget.boundaries(epoch(now))
    assert previous < current == epoch(start) < following == epoch(after)
    assert budget.resets_at(epoch(now)) == epoch(after)


def test_month_budget_windows_from_the_scopes_start_keep_its_day_of_the_month() -> None:
    """A scope whose budget started on 31 January resets on 28 February, then on 31 March."""
    budget = line("1mo", anchor="2026-01-31 09:00")
    assert budget.boundaries(epoch("2026-02-10 00:00")) == [
        epoch("2025-12-31 09:00"),
        epoch("2026-01-31 09:00"),
        epoch("2026-02-28 09:00"),
        epoch("2026-03-31 09:00"),
    ]
    assert budget.resets_at(epoch("2026-02-28 08:59")) == epoch("2026-02-28 09:00")
    # the boundaries move on once the clock leaves the window they were computed for
    assert budget.boundaries(epoch("2026-03-01 00:00"))[1:3] == [epoch("2026-02-28 09:00"), epoch("2026-03-31 09:00")]
    assert budget.resets_at(epoch("2026-03-01 00:00")) == epoch("2026-03-31 09:00")


@pytest.mark.parametrize("text", ["0d", "1 fortnight", "-1h", "h", "1y"])
def test_bad_durations_name_the_field(text: str) -> None:
    with pytest.raises(ValueError, match="budget_duration"):
        budget_duration(text)


def test_no_duration_is_a_budget_that_never_resets() -> None:
    assert budget_duration(None) is None and budget_duration("") is None
    assert line("1d").boundaries(epoch("2026-03-14 15:00"))[0] > 0
    never = BudgetLine("key", "k", "key 'k'", "key:k", 100)
    assert never.boundaries(epoch("2026-03-14 15:00")) == [0.0, 0.0, 0.0, 0.0] and never.resets_at(0) is None


def test_prompt_estimate_is_the_shipped_tokenizers_count() -> None:
    chat = decode_openai_chat({"model": "m", "messages": [{"role": "user", "content": "hello world"}]})
    assert estimate_prompt_tokens(chat) == 2 + tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING
    assert estimate_prompt_tokens(decode_openai_prompt({"model": "m", "prompt": "hello world"}, "completions")) == 2
    embeddings = decode_openai_prompt({"model": "m", "input": ["hello world", "hi"]}, "embeddings")
    assert estimate_prompt_tokens(embeddings) == 3


def test_prompt_estimate_counts_the_request_as_hooks_left_it() -> None:
    """A hook that rewrote the messages (a guardrail adding a system prompt) or the prompt is counted."""
    chat = decode_openai_chat({"model": "m", "messages": [{"role": "user", "content": "hello world"}]})
    before = estimate_prompt_tokens(chat)
    chat.messages.insert(0, Message("system", [Text("be brief")]))
    assert estimate_prompt_tokens(chat) == before + tokens.count_text("be brief") + tokens.TOKENS_PER_MESSAGE
    prompt = decode_openai_prompt({"model": "m", "prompt": "hello world"}, "completions")
    prompt.extra["prompt"] = "hello world, hello moon"
    assert estimate_prompt_tokens(prompt) == tokens.count_text("hello world, hello moon")


def test_a_huge_prompt_is_estimated_with_bounded_work_and_never_below_the_count() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20_000  # 900 kB
    prompt = decode_openai_prompt({"model": "m", "prompt": text}, "completions")
    assert estimate_prompt_tokens(prompt) >= tokens.count_text(text)


def test_output_reservation_reads_the_typed_fields() -> None:
    chat = decode_openai_chat(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 7, "n": 3}
    )
    assert (requested_output_tokens(chat), choices_generated(chat)) == (7, 3)
    # best_of is generated and billed; a lenient upstream reads "8" as 8
    completion = decode_openai_prompt({"model": "m", "prompt": "p", "n": 2, "best_of": "8"}, "completions")
    assert (requested_output_tokens(completion), choices_generated(completion)) == (None, 8)


def test_a_mock_model_group_is_estimated_by_the_mock_models_own_rule() -> None:
    """The mock model counts four characters a token in its answers: its reservations stay exact;
    a group with any real deployment is estimated by the shipped tokenizer."""

    def deployment(group: str, provider: str) -> Deployment:
        return Deployment(id=f"{group}-{provider}", model_group=group, provider=provider, model="m", params={})

    estimate = PromptEstimator([deployment("demo", "mock"), deployment("mixed", "mock"), deployment("mixed", "openai")])
    body = {"model": "m", "messages": [{"role": "user", "content": "hello world, hello moon"}]}
    for group, expected in (
        ("demo", fake_openai.request_prompt_tokens(decode_openai_chat(body))),
        ("mixed", estimate_prompt_tokens(decode_openai_chat(body))),
    ):
        ctx = RequestContext(request_id="r", endpoint="chat", body=body, headers={})
        ctx.request, ctx.model_group = decode_openai_chat(body), group
        assert estimate(ctx) == expected
    assert fake_openai.request_prompt_tokens(decode_openai_chat(body)) != estimate_prompt_tokens(
        decode_openai_chat(body)
    )
