"""Tag-based routing (``router_settings.enable_tag_filtering``), as LiteLLM documents it
(docs/proxy/tag_routing): a deployment carries ``litellm_params.tags``; a request tagged ``paid``
goes only to the deployments tagged ``paid``; an untagged request goes to the ``default``-tagged
ones; a tag no deployment carries goes to the ``default`` ones, or, when there are none, is
refused with LiteLLM's 401 "Not allowed to access model due to tags configuration".

Tags come in the body (``tags``, ``metadata.tags``) or the ``x-litellm-tags`` header.  Each fake
upstream answers with its own name, so the answer says who served it.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from .test_routing_support import MESSAGES, chat, config, entry, served_by, start, upstreams

__all__ = ["upstreams"]


def tiered(ups: list[Any], *, default: bool = True, **router: Any) -> dict[str, Any]:
    free, paid, fallback = ups
    entries = [entry("gpt-4", free, tags=["free"]), entry("gpt-4", paid, tags=["paid", "team-a"])]
    if default:
        entries.append(entry("gpt-4", fallback, tags=["default"]))
    else:
        entries.append(entry("gpt-4", fallback))
    return config(*entries, enable_tag_filtering=True, **router)


def who(proxy: Any, n: int = 12, **kwargs: Any) -> set[str]:
    return {served_by(chat(proxy, model="gpt-4", **kwargs)[0]) for _ in range(n)}


def test_a_tagged_request_goes_only_to_deployments_with_its_tag(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups))
    assert who(proxy, extra_body={"tags": ["paid"]}) == {"1"}
    assert who(proxy, extra_body={"metadata": {"tags": ["free"]}}) == {"0"}
    assert who(proxy, extra_headers={"x-litellm-tags": "team-a, other"}) == {"1"}
    # any of the request's tags is enough (tag_filtering_match_any defaults to true)
    assert who(proxy, n=20, extra_body={"tags": ["free", "paid"]}) == {"0", "1"}
    assert len(ups[2].requests) == 0


def test_untagged_requests_go_to_the_default_deployments(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups))
    assert who(proxy) == {"2"}
    # a tag no deployment carries: the default deployments, as LiteLLM
    assert who(proxy, extra_body={"tags": ["enterprise"]}) == {"2"}
    assert len(ups[0].requests) == len(ups[1].requests) == 0


def test_without_a_default_deployment_untagged_requests_go_anywhere(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups, default=False))
    assert who(proxy, n=30) == {"0", "1", "2"}


def test_an_impossible_tag_is_refused_with_litellms_401(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups, default=False))
    with pytest.raises(openai.AuthenticationError) as refused:
        chat(proxy, model="gpt-4", extra_body={"tags": ["enterprise"]})
    error = refused.value.body
    assert refused.value.status_code == 401
    assert error["message"].startswith(
        "Not allowed to access model due to tags configuration. Passed model=gpt-4 and tags=['enterprise']"
    )
    assert "free, paid, team-a" in error["message"]  # what the group's deployments do carry
    assert error["param"] == "tags"
    assert sum(len(u.requests) for u in ups) == 0


def test_match_all_needs_every_tag_of_the_request(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups, default=False, tag_filtering_match_any=False))
    assert who(proxy, extra_body={"tags": ["paid", "team-a"]}) == {"1"}
    with pytest.raises(openai.AuthenticationError):
        chat(proxy, model="gpt-4", extra_body={"tags": ["paid", "free"]})


def test_tags_that_are_not_a_list_of_names_are_a_400(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups))
    with pytest.raises(openai.BadRequestError) as refused:
        chat(proxy, model="gpt-4", extra_body={"tags": "paid"})
    assert refused.value.body["param"] == "tags"
    assert 'must be a list of tag names, for example ["paid"]' in refused.value.body["message"]
    with pytest.raises(openai.BadRequestError) as refused:
        chat(proxy, model="gpt-4", extra_body={"metadata": {"tags": [1]}})
    assert refused.value.body["param"] == "metadata.tags"


def test_without_tag_filtering_tags_do_not_steer(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    cfg = tiered(ups)
    cfg["router_settings"]["enable_tag_filtering"] = False
    proxy = start(gateway_factory, cfg)
    assert who(proxy, n=30, extra_body={"tags": ["paid"]}) == {"0", "1", "2"}


def test_a_stream_is_routed_by_its_tags_too(upstreams: Any, gateway_factory: Any) -> None:
    ups = upstreams(3)
    proxy = start(gateway_factory, tiered(ups))
    stream = proxy.openai().chat.completions.create(
        model="gpt-4", messages=MESSAGES, stream=True, extra_body={"tags": ["free"]}
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert served_by(text) == "0"


def test_a_tagged_request_to_a_group_without_tags_is_refused_as_litellm_does(
    upstreams: Any, gateway_factory: Any
) -> None:
    (one,) = upstreams(1)
    proxy = start(gateway_factory, config(entry("plain", one), enable_tag_filtering=True))
    assert served_by(chat(proxy, model="plain")[0]) == "0"
    with pytest.raises(openai.AuthenticationError) as refused:
        chat(proxy, model="plain", extra_body={"tags": ["paid"]})
    assert "tags its deployments carry: none" in refused.value.body["message"]
