"""What a call costs: per-deployment prices from ``genai-prices`` or the config's overrides.

A price is found, in order, from: the deployment's own prices (``input_cost_per_token`` ... in
``litellm_params`` or ``model_info``); its ``base_model``; its model name; and, for a deployment
none of these price, the model name the upstream reports in its answer (see
:class:`ReportedModelPrices`).  Each name is also tried as LiteLLM spells it where the data does
not (``azure/gpt-35-turbo``: a provider prefix, ``gpt-35`` for ``gpt-3.5``).  A deployment priced
by nothing is named at start-up and its calls are recorded with ``cost_unknown``, never as $0.
Mock deployments cost nothing unless the config gives them prices.

Prices are resolved once per deployment at start-up.  ``genai-prices`` ships its data inside the
package; its optional auto-updater (``UpdatePrices``) is never started, so prices change only when
the package is upgraded, never at run time (LiteLLM's known weak point 8).

Token semantics are OpenAI's: ``prompt_tokens`` includes cached and cache-write tokens,
``completion_tokens`` includes reasoning tokens; each part is priced at its own rate when the data
(or the override) has one, else at the plain input/output rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway import Deployment, RequestContext, Usage, fake_openai, tokens
from gateway.chat import ChatRequest, ModelRequest

from .money import as_decimal

_MILLION = Decimal(1_000_000)

#: override fields (LiteLLM names) read from ``litellm_params`` and ``model_info``
OVERRIDE_FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_reasoning_token": "reasoning",
}


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """The billable parts of one call (OpenAI semantics, see the module docstring)."""

    prompt: int
    completion: int
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @classmethod
    def from_usage(cls, usage: Usage) -> TokenCounts:
        return cls(
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            usage.cache_creation_tokens,
            usage.reasoning_tokens,
        )


class Price:
    """The price list of one deployment."""

    #: where the prices come from, for logs and the ledger: ``override``, ``genai-prices`` or ``unknown``
    source: str = "unknown"

    def cost(self, tokens: TokenCounts) -> Decimal:
        raise NotImplementedError


class UnknownPrice(Price):
    """No price data and no override: the cost is not known (a start-up warning names the
    deployment; ledger rows say ``cost_unknown``).  It counts as 0 against budgets, as LiteLLM
    reserves nothing for a model without a price."""

    def cost(self, tokens: TokenCounts) -> Decimal:
        return Decimal(0)


class FreePrice(Price):
    """A mock deployment without prices of its own: its calls cost nothing, and that is known."""

    source = "mock"

    def cost(self, tokens: TokenCounts) -> Decimal:
        return Decimal(0)


class OverridePrice(Price):
    """Per-token prices set in the config (``input_cost_per_token`` ...)."""

    source = "override"

    def __init__(self, rates: dict[str, Decimal]) -> None:
        self.input = rates.get("input", Decimal(0))
        self.output = rates.get("output", Decimal(0))
        self.cache_read = rates.get("cache_read", self.input)
        self.cache_write = rates.get("cache_write", self.input)
        self.reasoning = rates.get("reasoning", self.output)

    def cost(self, tokens: TokenCounts) -> Decimal:
        cached = min(tokens.cached, tokens.prompt)
        written = min(tokens.cache_write, tokens.prompt - cached)
        reasoning = min(tokens.reasoning, tokens.completion)
        return (
            (tokens.prompt - cached - written) * self.input
            + cached * self.cache_read
            + written * self.cache_write
            + (tokens.completion - reasoning) * self.output
            + reasoning * self.reasoning
        )


class GenaiPrice(Price):
    """Prices from the ``genai-prices`` data bundled with the package (tiers, cache rates, dates)."""

    source = "genai-prices"
    _CACHE_LIMIT = 4096

    def __init__(self, model: Any) -> None:
        self.model = model
        # identical usage is common (retries, fixed prompts); the calculation is ~0.1 ms
        self._cache: dict[tuple[Any, TokenCounts], Decimal] = {}

    def cost(self, tokens: TokenCounts) -> Decimal:
        from genai_prices import Usage as GenaiUsage

        prices = self.model.get_prices(datetime.now(tz=UTC))
        key = (id(prices), tokens)
        found = self._cache.get(key)
        if found is not None:
            return found
        usage = GenaiUsage(
            input_tokens=tokens.prompt,
            cache_read_tokens=min(tokens.cached, tokens.prompt),
            cache_write_tokens=min(tokens.cache_write, max(tokens.prompt - tokens.cached, 0)),
            output_tokens=tokens.completion,
            output_reasoning_tokens=min(tokens.reasoning, tokens.completion),
        )
        total = Decimal(prices.calc_price(usage)["total_price"])
        if len(self._cache) >= self._CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = total
        return total


def _overrides(deployment: Deployment) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for source_name, source in (("model_info", deployment.model_info), ("litellm_params", deployment.params)):
        for field, part in OVERRIDE_FIELDS.items():
            value = source.get(field)
            if value is not None:
                rates[part] = as_decimal(value, f"{source_name}.{field}")
    return rates


#: LiteLLM provider prefixes whose ``genai-prices`` provider id is another
PROVIDER_IDS = {
    "azure_ai": "azure",
    "text-completion-openai": "openai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "xai": "x-ai",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "gemini": "google",
    "vertex_ai": "google",
}


def name_variants(name: str) -> list[str]:
    """``name`` and the spellings LiteLLM's price map uses for it where the data uses another:
    without a provider prefix (``azure/gpt-35-turbo``), Azure's ``gpt-35`` for ``gpt-3.5``."""
    variants = [name]
    if "/" in name:
        variants.append(name.split("/", 1)[1])
    for variant in list(variants):
        if "gpt-35" in variant:
            variants.append(variant.replace("gpt-35", "gpt-3.5"))
    return list(dict.fromkeys(variants))


def genai_model(name: str, provider: str | None) -> Any | None:
    """The ``genai-prices`` model for ``name`` (or one of its LiteLLM spellings), or None."""
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    providers: list[str | None] = []
    for candidate in (name.split("/", 1)[0] if "/" in name else None, provider):
        if candidate:
            providers.append(PROVIDER_IDS.get(candidate, candidate))
    providers.append(None)
    for variant in name_variants(name):
        for provider_id in dict.fromkeys(providers):
            try:
                return snapshot.find_provider_model(variant, None, provider_id, None)[1]
            except LookupError:
                continue
    return None


def price_for(deployment: Deployment) -> Price:
    """Resolve a deployment's price list: its own prices, else ``base_model``, else its model name."""
    rates = _overrides(deployment)
    if rates:
        return OverridePrice(rates)
    if deployment.provider == "mock":
        return FreePrice()
    for name in (deployment.model_info.get("base_model"), deployment.params.get("base_model"), deployment.model):
        if isinstance(name, str) and name:
            model = genai_model(name, deployment.provider)
            if model is not None:
                return GenaiPrice(model)
    return UnknownPrice()


class ReportedModelPrices:
    """Prices by the model name an upstream reports in its answer, for deployments priced by
    nothing else (an alias on a self-hosted server, a fine-tune ...): looked up once per name,
    the misses too."""

    _LIMIT = 4096

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], Price | None] = {}

    def get(self, provider: str, name: Any) -> Price | None:
        if not isinstance(name, str) or not name:
            return None
        key = (provider, name)
        if key in self._found:
            return self._found[key]
        model = genai_model(name, provider)
        price: Price | None = None
        if model is not None:
            price = GenaiPrice(model)
            price.source = "reported-model"
        if len(self._found) >= self._LIMIT:
            self._found.clear()
        self._found[key] = price
        return price


def request_member(request: ModelRequest, name: str) -> Any:
    """A member of a completions or embeddings request that no typed field holds (``prompt``,
    ``input``, ``best_of``), as the hooks left it; the client's body is read directly while no hook
    looked at ``extra``, so the encoder's fast path stays open."""
    return (request.extra if request.extra_touched else request.body).get(name)


#: characters of a prompt counted exactly before the rest is estimated (from the tokens a character
#: of the counted part took): bounds the tokenizer's work to about 0.25 ms a request, however large
#: the prompt (bench/prompt_estimate.py)
ESTIMATE_MAX_CHARS = 2_000


def estimate_prompt_tokens(request: ModelRequest | None) -> int:
    """Prompt tokens of a request before it is sent, for reservations and limits: counted by the
    tokenizer core ships (:mod:`gateway.tokens`, GPT-4o's), with each message's framing, as the
    hooks left the request; past :data:`ESTIMATE_MAX_CHARS` characters the rest is estimated,
    a tenth high.  For other model families it is an estimate, corrected when the call is settled from
    the usage the upstream reports.
    """
    return tokens.count_request(request, max_chars=ESTIMATE_MAX_CHARS)


class PromptEstimator:
    """Prompt tokens before the call, by the tokenizer of the model group's deployments: a group
    served only by ``mock/`` deployments by the mock model's own rule (four characters a token,
    :func:`gateway.fake_openai.request_prompt_tokens`: its answers count that way, so a reservation
    for it is exact), any other by :func:`estimate_prompt_tokens`.  Built once at start-up."""

    def __init__(self, deployments: list[Deployment]) -> None:
        providers: dict[str, set[str]] = {}
        for deployment in deployments:
            providers.setdefault(deployment.model_group, set()).add(deployment.provider)
        self.mock_groups = frozenset(group for group, kinds in providers.items() if kinds == {"mock"})

    def __call__(self, ctx: RequestContext) -> int:
        if ctx.model_group in self.mock_groups:
            return mock_prompt_tokens(ctx.request)
        return estimate_prompt_tokens(ctx.request)


def mock_prompt_tokens(request: ModelRequest | None) -> int:
    """The mock model's count of a request's prompt (four characters a token)."""
    if request is None:
        return 0
    if isinstance(request, ChatRequest):
        return fake_openai.request_prompt_tokens(request)
    value = request_member(request, "prompt")
    if value is None:
        value = request_member(request, "input")
    if isinstance(value, str):
        return fake_openai.count_tokens(value)
    if isinstance(value, list):
        return sum(
            fake_openai.count_tokens(v) if isinstance(v, str) else len(v) if isinstance(v, list) else 1 for v in value
        )
    return 0


def requested_output_tokens(request: ModelRequest | None) -> int | None:
    """The client's output cap per choice (``max_completion_tokens`` / ``max_tokens``), if a positive integer.

    Anything else (absent, zero, negative, not a number) means "no cap" to some upstreams, so the
    caller then reserves the deployment's own maximum.
    """
    value = request.max_tokens if request is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _whole_number(value: Any) -> int | None:
    """``value`` as the positive whole number a lenient upstream would read from it, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def choices_generated(request: ModelRequest | None) -> int:
    """How many completions the upstream may generate (and bill) for one request.

    ``n`` choices are returned; with ``best_of`` (completions) the upstream generates ``best_of``
    candidates and bills all of them (OpenAI requires ``best_of >= n``, so the larger of the two
    is what is generated).  ``best_of`` is not checked at decode, so values a strict upstream would
    refuse but a lenient one coerces (``"8"``, ``8.0``) count as what the lenient one would do: the
    reservation must cover the worst.
    """
    if request is None:
        return 1
    generated = _whole_number(request.n) or 1
    if not isinstance(request, ChatRequest):
        generated = max(generated, _whole_number(request_member(request, "best_of")) or 1)
    return generated
