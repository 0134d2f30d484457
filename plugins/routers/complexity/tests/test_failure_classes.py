"""Issue 23's failure classes, one behaviour each, on prompts in neither the held-out nor the dev set;
and the held-out figures as a regression floor."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_complexity_router import evaluate
from gateway_complexity_router.classifier import Classifier
from gateway_complexity_router.config import ComplexityRouterConfig

SEED_TIERS = {"SIMPLE": "gpt-4o-mini", "MEDIUM": "gpt-4o", "COMPLEX": "claude-sonnet"}
PARAGRAPH = (
    "Our event bus keeps three replicas per partition; a consumer group rebalances when a broker leaves the "
    "cluster, and exactly-once delivery depends on idempotent producers and transactional offsets. Sharding "
    "the Postgres write path halved the p99 latency, but the failover runbook still assumes a single primary."
)


def classify(prompt: str, **settings: Any) -> Any:
    return Classifier(ComplexityRouterConfig(tiers=SEED_TIERS, **settings)).classify(prompt)


# --- the regression floor: what this classifier reached on the held-out set (scored, never tuned on)


def test_held_out_figures_stay_at_least_what_was_reached() -> None:
    rows = evaluate.load_prompts("heldout")
    assert len(rows) == 160 and {r["tier"] for r in rows} == {"SIMPLE", "MEDIUM", "COMPLEX", "REASONING"}
    result = evaluate.evaluate(rows, ComplexityRouterConfig(tiers=SEED_TIERS))
    assert result["accuracy"] >= 137 / 160  # 85.6%; it was 43.8% before issue 23
    assert result["too_cheap"] <= 22 / 160  # 13.8%; was 49.4%
    assert result["too_cheap_2"] <= 12 / 160  # 7.5% routed two or more tiers too cheap; was 26.2%
    assert result["too_expensive"] <= 1 / 160
    recall = result["recall"]
    assert recall["SIMPLE"] == 1.0 and recall["MEDIUM"] >= 0.95
    assert recall["COMPLEX"] >= 0.775 and recall["REASONING"] >= 0.70
    groups = result["groups"]
    assert groups["language:non-english"] >= 0.975 and groups["language:non-english"] >= groups["language:english"]
    reached = {"agentic": 7 / 8, "design_short": 1.0, "multilingual": 39 / 40, "pasted": 11 / 13, "wordform_fp": 1.0}
    reached["short_hard"] = 15 / 26  # the weakest class: puzzles with no maths or proof word in them
    for failure_class, share in reached.items():
        assert groups[f"category:{failure_class}"] >= share - 1e-9, failure_class


def test_dev_set_figures_stay_at_least_what_was_reached() -> None:
    result = evaluate.evaluate(evaluate.load_prompts("dev"), ComplexityRouterConfig(tiers=SEED_TIERS))
    assert result["n"] == 135 and result["accuracy"] >= 117 / 135 and result["too_cheap_2"] <= 10 / 135


# --- short but hard


@pytest.mark.parametrize(
    "prompt",
    [
        "Prove that the cube root of 2 is irrational.",
        "What's the probability that two dice sum to 9?",
        "Is n^2 + n always even? Why?",
        "A liar and his twin: one question to tell them apart. Which?",
        "Is this argument valid? No fish can fly; some birds cannot fly; so some birds are fish.",
    ],
)
def test_short_but_hard_prompts_reach_reasoning(prompt: str) -> None:
    assert classify(prompt).tier == "REASONING"


def test_a_definition_of_a_maths_term_is_not_a_reasoning_task() -> None:
    assert classify("What is a prime number?").tier == "MEDIUM"  # a maths term asks for an explanation


# --- multi-step agentic coding and short system design


def test_a_multi_step_agentic_task_is_complex() -> None:
    found = classify(
        "Rename the User model to Account across the codebase, update the migrations, fix the imports and run the tests."
    )
    assert (found.tier, found.reason) == ("COMPLEX", "agentic_steps")
    assert "agenticSteps=1" in found.explain()
    # one action is not a plan
    assert classify("Rename the variable x to total in this function.").tier != "COMPLEX"


@pytest.mark.parametrize(
    "prompt",
    [
        "Design Uber Eats at scale.",
        "Design a chat backend for 5M concurrent users.",
        "How would you design the backend of a food delivery app?",
    ],
)
def test_a_short_design_ask_at_scale_is_complex(prompt: str) -> None:
    assert classify(prompt).tier == "COMPLEX"


def test_designing_something_that_is_not_a_system_is_not_complex() -> None:
    assert classify("Design a birthday card for my grandmother.").tier == "MEDIUM"


# --- the ten languages


@pytest.mark.parametrize(
    ("prompt", "tier"),
    [
        ("Demuestra que hay infinitos números primos.", "REASONING"),
        ("Calcule la probabilité d'obtenir deux six avec deux dés.", "REASONING"),
        ("Beweise, dass 7 eine Primzahl ist.", "REASONING"),
        ("Qual é a probabilidade de tirar um ás de um baralho?", "REASONING"),
        ("证明三角形内角和为180度。", "REASONING"),
        ("コインを2回投げて両方表になる確率は？", "REASONING"),
        ("أثبت أن العدد 3 عدد أولي.", "REASONING"),
        ("Докажите, что сумма двух чётных чисел чётна.", "REASONING"),
        ("सिद्ध कीजिए कि 3 एक अभाज्य संख्या है।", "REASONING"),
        ("주사위를 던져 6이 나올 확률은?", "REASONING"),
        ("Diseña una plataforma de pagos para millones de usuarios.", "COMPLEX"),
        ("设计一个每秒处理十万订单的电商系统。", "COMPLEX"),
        ("Спроектируй систему доставки для миллиона клиентов.", "COMPLEX"),
        ("Напиши письмо клиенту о задержке заказа.", "MEDIUM"),
        ("고객에게 보낼 사과 이메일을 작성해 주세요.", "MEDIUM"),
        ("اشرح ما هو التضخم.", "MEDIUM"),
    ],
)
def test_non_english_maths_design_and_tasks_are_recognised(prompt: str, tier: str) -> None:
    found = classify(prompt)
    assert found.tier == tier
    assert found.explain().isascii(), "the header stays ASCII whatever the prompt's language"


# --- word forms that are not what they look like


@pytest.mark.parametrize(
    "prompt",
    [
        "Thanks for the review!",
        "Our integration with Stripe went live today, thanks everyone!",
        "Is 'rate limiting' hyphenated?",
        "The code review is at 4pm, see you there.",
    ],
)
def test_word_form_false_positives_stay_simple(prompt: str) -> None:
    found = classify(prompt)
    assert found.tier == "SIMPLE"
    assert "mathematics" not in found.signals and "taskVerbs" not in found.signals


def test_the_verb_review_still_asks_for_work() -> None:
    assert classify("Please review my cover letter and make it more concise.").tier == "MEDIUM"


# --- pasted material and the instruction about it


def test_a_trivial_edit_of_a_technical_paragraph_is_simple() -> None:
    found = classify(f"Fix the typo in this paragraph:\n\n{PARAGRAPH}")
    assert found.tier == "SIMPLE"
    assert found.signals["material"] == (0.0, ["trivial"])
    assert "technicalTerms" not in found.signals, "the paragraph's words do not count"


def test_a_look_up_in_a_pasted_email_is_simple_and_not_code() -> None:
    email = (
        "Hello, thanks for your order 7741 (1x desk lamp). It ships on Monday; the return window is 14 days and "
        "the package tracking code is AB12345. Kind regards, the Lamp Shop"
    )
    found = classify(f'Here is an email I got:\n\n"{email}"\n\nWhat\'s the order number?')
    assert found.tier == "SIMPLE" and "codePresence" not in found.signals


def test_summarising_technical_material_is_medium_not_complex() -> None:
    assert classify(f"Summarise this in two sentences:\n\n{PARAGRAPH}").tier == "MEDIUM"


def test_analysing_material_lets_the_material_count() -> None:
    found = classify(
        "Review this code for security issues:\n```python\nimport os\ndef run(cmd):\n    os.system('sh -c ' + cmd)\n```"
    )
    assert found.tier == "COMPLEX" and found.signals["material"] == (1.0, ["analyse"])


# --- the asymmetric decision is a setting


def test_escalation_margin_sends_near_boundary_scores_up() -> None:
    prompt = "Write a Go function that returns the n-th Fibonacci number iteratively."
    assert 0.32 < classify(prompt).score < 0.35  # just below the MEDIUM/COMPLEX boundary (0.35)
    assert classify(prompt).tier == "MEDIUM"
    assert classify(prompt, escalation_margin=0.05).tier == "COMPLEX"
    assert classify("hi", escalation_margin=0.05).tier == "SIMPLE"


def test_empty_and_whitespace_text_is_simple_without_error() -> None:
    for text in ("", "   \n\t "):
        assert classify(text).tier == "SIMPLE"
