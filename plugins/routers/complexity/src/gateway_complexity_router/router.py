"""One complexity-router entry: classify the request, choose the tier's model group, explain why."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway import ServiceUnavailableError

from .classifier import Classification, Classifier
from .config import TIERS, ComplexityRouterConfig, Tier
from .extract import newest_ask

if TYPE_CHECKING:
    from gateway import Principal, RequestContext

#: one header, ``tier=COMPLEX; score=0.840; signals=codePresence=1,technicalTerms=1``: each extra
#: response header costs about 1 µs per request in the server (measured: three headers cost the
#: router more throughput than classifying the prompt did)
HEADER = "x-gateway-complexity"


def nearest_configured(tier: Tier, configured: dict[Tier, str]) -> Tier:
    """The tier itself when configured, else the nearest configured one; on a tie the higher
    (a prompt is better served by a stronger model than by a weaker one).  REASONING without a
    model therefore goes to COMPLEX."""
    if tier in configured:
        return tier
    rank = TIERS.index(tier)
    for distance in range(1, len(TIERS)):
        for candidate in (rank + distance, rank - distance):
            if 0 <= candidate < len(TIERS) and TIERS[candidate] in configured:
                return TIERS[candidate]
    raise ValueError("complexity_router_config.tiers is empty")


@dataclass(slots=True)
class Decision:
    tier: Tier
    model_group: str
    classification: Classification | None
    #: why this tier: ``score``, ``reasoning_override``, ``keyword_rule``, ``no_text``, plus any adjustment
    reason: str
    #: the router entry's model name
    router: str = ""

    def header(self) -> str:
        """The ``x-gateway-complexity`` value: ``tier=...; score=...; signals=...`` (just the tier
        when there was no text to classify)."""
        found = self.classification
        if found is None:
            return f"tier={self.tier}"
        return f"tier={self.tier}; score={found.score:.3f}; signals={found.explain() or 'none'}"

    def to_log(self) -> dict[str, Any]:
        """What the log event records (``annotations.complexity_router``), built only when a sink
        exports the event; ``signals`` maps each dimension that fired to ``[score, [matches]]``."""
        found = self.classification
        if found is None:
            return {"router": self.router, "tier": self.tier, "model_group": self.model_group, "reason": self.reason}
        return {
            "router": self.router,
            "tier": self.tier,
            "model_group": self.model_group,
            "reason": self.reason,
            "score": round(found.score, 4),
            "estimated_tokens": found.estimated_tokens,
            "truncated": found.truncated,
            "signals": found.signals,
        }


class TierRouter:
    """The routing logic of one ``auto_router/complexity_router`` model-list entry."""

    def __init__(
        self,
        group: str,
        config: ComplexityRouterConfig,
        *,
        served: Collection[str] | None = None,
        default_served: bool = True,
    ) -> None:
        self.group = group
        self.config = config
        self.classifier = Classifier(config)
        #: the configured tiers whose model group is served now (``served``: the groups served; None: all)
        self.tiers = {t: g for t, g in config.tiers.items() if served is None or g in served}
        #: configured tiers whose group is not served now (deleted, or not added yet): the nearest served
        #: tier takes their requests, as for a tier without a model
        self.unserved = {t: g for t, g in config.tiers.items() if t not in self.tiers}
        #: each tier -> the served tier that serves it (decided once, not per request); empty when none is
        self.serving = {tier: nearest_configured(tier, self.tiers) for tier in TIERS} if self.tiers else {}
        self.default_model = config.default_model if default_served else None

    def decide(self, ctx: RequestContext) -> Decision:
        config = self.config
        if not self.serving:
            missing = ", ".join(f"{t}: {g}" for t, g in self.unserved.items())
            raise ServiceUnavailableError(
                f"model {self.group!r} is a complexity router and none of its tiers' model groups is served now "
                f"({missing}); add one of those models or change complexity_router_config.tiers",
                param="model",
            )
        request = ctx.request
        ask = (
            newest_ask(
                request, config.score_prefix_chars, config.score_suffix_chars, with_system=config.use_system_prompt
            )
            if request is not None
            else None
        )
        if ask is None:
            if self.default_model:
                return Decision(config.default_tier, self.default_model, None, "no_text: default_model", self.group)
            tier = self.serving[config.default_tier]
            return self._allowed(Decision(tier, self.tiers[tier], None, "no_text", self.group), ctx.principal)
        found = self.classifier.classify(ask.text, total_chars=ask.total_chars, system=ask.system)
        tier = self.serving[found.tier]
        if tier == found.tier:
            reason = found.reason
        elif found.tier in self.unserved:
            reason = f"{found.reason}; {found.tier}'s model group {self.unserved[found.tier]} is not served, nearest tier used"
        else:
            reason = f"{found.reason}; {found.tier} has no model, nearest tier used"
        return self._allowed(Decision(tier, self.tiers[tier], found, reason, self.group), ctx.principal)

    def _allowed(self, decision: Decision, principal: Principal | None) -> Decision:
        """Apply the caller's model list.

        Access to the router's name lets a caller use the router; the tier groups are then used on
        its behalf, so a key limited to ``smart-router`` is served by every tier.  But when the key's
        model list names some of the tier groups, it is limited to those: the nearest allowed tier
        is used instead (ties go to the stronger one).
        """
        if principal is None or principal.models is None or principal.may_use(decision.model_group):
            return decision
        allowed = {t: g for t, g in self.tiers.items() if principal.may_use(g)}
        if not allowed:
            return decision
        tier = nearest_configured(decision.tier, allowed)
        return Decision(
            tier,
            allowed[tier],
            decision.classification,
            f"{decision.reason}; key may not use {decision.tier}",
            self.group,
        )
