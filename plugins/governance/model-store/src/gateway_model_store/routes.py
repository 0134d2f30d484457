"""``POST /model/new``, ``/model/update``, ``/model/delete`` (admin keys), LiteLLM's payloads.

A body is a ``model_list`` entry: ``{"model_name", "litellm_params", "model_info"}``.  It is
checked exactly as the gateway would build it (``Gateway.build_deployment``) before anything is
stored, so a refused model leaves no row; the answer comes once this worker serves the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import BadRequestError, GatewayError, NotFoundError
from gateway.http import error_response, json_response, read_json, redacted_params, require_admin_request

if TYPE_CHECKING:
    from gateway import Gateway

    from .state import ModelStore

ENTRY_KEYS = ("model_name", "litellm_params", "model_info")
#: ``litellm_params`` keys that authenticate a deployment to its upstream
CREDENTIAL_PARAMS = frozenset(
    {
        "api_key", "azure_ad_token", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
        "aws_profile_name", "aws_role_name", "aws_web_identity_token", "aws_bearer_token", "vertex_credentials",
    }
)  # fmt: skip
#: a deployment that answers by itself (LiteLLM's testing aids) calls no upstream: no credential needed
SELF_ANSWERING = frozenset({"mock_response"})
ID_MAX = 255

Handler = Callable[[dict[str, Any], str, "ModelStore"], Awaitable[Any]]


def model_routes(gateway: Gateway, store_of: Callable[[], ModelStore | None]) -> list[Route]:
    def route(path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                principal = await require_admin_request(request, gateway)
                state = store_of()
                if state is None:
                    raise BadRequestError(
                        f"{path} stores models in the database, which this gateway does not do: set "
                        "general_settings.store_model_in_db: true (or STORE_MODEL_IN_DB=True) and restart",
                        param="store_model_in_db",
                    )
                if state.sync is None:
                    raise GatewayError("the model store is not open yet", status=503, type="service_unavailable")
                body = await read_json(request, gateway)
                _refuse_nul(body, "")
                return json_response(await handler(body, principal.id, state))
            except GatewayError as exc:
                return error_response(exc)

        return Route(path, endpoint, methods=["POST"])

    return [route("/model/new", new_model), route("/model/update", update_model), route("/model/delete", delete_model)]


# ---------------------------------------------------------------------------------------- handlers


async def new_model(body: dict[str, Any], caller: str, state: ModelStore) -> dict[str, Any]:
    entry = _entry(body)
    info = entry["model_info"]
    model_id = info.get("id") if info.get("id") is not None else str(uuid.uuid4())
    _check_id(model_id)
    info["id"] = model_id
    _check_against_config(state, entry["model_name"], model_id)
    deployment = _checked(state, entry)
    if not await state.store.insert(_stored_entry(entry), model_id, caller):
        raise BadRequestError(
            f"model_info.id {model_id!r} is already a stored model; choose another id, or change it with /model/update",
            param="model_info.id",
        )
    await state.sync.refresh()  # type: ignore[union-attr]
    return _answer(deployment)


async def update_model(body: dict[str, Any], caller: str, state: ModelStore) -> dict[str, Any]:
    unknown = sorted(set(body) - {*ENTRY_KEYS, "model_id"})
    if unknown:
        raise BadRequestError(
            f"unknown field {unknown[0]!r}; an update takes {', '.join(ENTRY_KEYS)}", param=unknown[0]
        )
    info = _object(body, "model_info")
    model_id = body.get("model_id", info.get("id"))
    if not isinstance(model_id, str) or not model_id:
        raise BadRequestError("model_info.id is required: the id of the stored model to change", param="model_info.id")
    _check_id(model_id)
    stored = await state.store.get(model_id)
    if stored is None:
        _refuse_config_model(state, model_id, "change")
        raise NotFoundError(f"no stored model has the id {model_id!r}; /model/info lists them", param="model_info.id")
    # what the body gives replaces the stored value, key by key (LiteLLM's merge)
    params = {**state.store.params(stored), **_object(body, "litellm_params")}
    merged_info = {**stored.model_info, **info, "id": model_id}
    entry = {
        "model_name": body.get("model_name", stored.model_name),
        "litellm_params": params,
        "model_info": merged_info,
    }
    entry = _entry(entry)
    _check_against_config(state, entry["model_name"], model_id)
    deployment = _checked(state, entry)
    if not await state.store.update(_stored_entry(entry), model_id, caller):
        raise NotFoundError(f"no stored model has the id {model_id!r} (it was just deleted)", param="model_info.id")
    await state.sync.refresh()  # type: ignore[union-attr]
    return _answer(deployment)


async def delete_model(body: dict[str, Any], caller: str, state: ModelStore) -> dict[str, Any]:
    unknown = sorted(set(body) - {"id"})
    if unknown:
        raise BadRequestError(f'unknown field {unknown[0]!r}; send {{"id": "<model id>"}}', param=unknown[0])
    model_id = body.get("id")
    if not isinstance(model_id, str) or not model_id:
        raise BadRequestError('id is required: {"id": "<model_info.id of the stored model>"}', param="id")
    _check_id(model_id, "id")
    if not await state.store.delete(model_id):
        _refuse_config_model(state, model_id, "delete")
        raise NotFoundError(f"no stored model has the id {model_id!r}; /model/info lists them", param="id")
    await state.sync.refresh()  # type: ignore[union-attr]
    return {"message": f"Model: {model_id} deleted successfully"}


# ---------------------------------------------------------------------------------------- checks


def _refuse_nul(value: Any, where: str) -> None:
    """A NUL character cannot be stored (PostgreSQL text refuses it): say where it is."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequestError(
                f"{where or 'the body'} must not contain NUL characters (\\u0000)", param=where or None
            )
    elif isinstance(value, dict):
        for key, inner in value.items():
            path = f"{where}.{key}" if where else str(key)
            _refuse_nul(key, path.replace("\x00", ""))
            _refuse_nul(inner, path.replace("\x00", ""))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _refuse_nul(inner, f"{where}[{index}]")


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequestError(f"{name} must be a JSON object", param=name)
    return dict(value)


def _entry(body: dict[str, Any]) -> dict[str, Any]:
    """The ``model_list`` entry a body describes, with its credentials checked."""
    unknown = sorted(set(body) - set(ENTRY_KEYS))
    if unknown:
        raise BadRequestError(f"unknown field {unknown[0]!r}; a model takes {', '.join(ENTRY_KEYS)}", param=unknown[0])
    name = body.get("model_name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("model_name is required: the name clients ask for", param="model_name")
    if len(name) > ID_MAX:
        raise BadRequestError(f"model_name must be at most {ID_MAX} characters", param="model_name")
    params = _object(body, "litellm_params")
    if not isinstance(params.get("model"), str) or not params["model"]:
        raise BadRequestError(
            "litellm_params.model is required: the provider and its model, for example 'openai/gpt-4o'",
            param="litellm_params.model",
        )
    if not (set(params) & (CREDENTIAL_PARAMS | SELF_ANSWERING)) and not params.get("api_base"):
        raise BadRequestError(
            "litellm_params has no credentials: a model added at runtime carries its own (api_key, or "
            "'os.environ/VAR' to read it from the gateway's environment; AWS and Vertex deployments their own "
            "keys), or an api_base for a server that needs none",
            param="litellm_params.api_key",
        )
    return {"model_name": name, "litellm_params": params, "model_info": _object(body, "model_info")}


def _check_id(model_id: Any, param: str = "model_info.id") -> None:
    if not isinstance(model_id, str) or not model_id or len(model_id) > ID_MAX or "\x00" in model_id:
        raise BadRequestError(f"{param} must be a string of 1 to {ID_MAX} characters without NUL", param=param)


def _check_against_config(state: ModelStore, model_name: str, model_id: str) -> None:
    """The config file stays the source for what it defines: its names and ids are not taken over."""
    gateway = state.gateway
    if gateway.config_defines(model_name):
        raise BadRequestError(
            f"model_name {model_name!r} is a model group of the config file, which is the source for what it "
            "defines; add the deployment there, or choose another model_name",
            param="model_name",
        )
    _refuse_config_model(state, model_id, "reuse")


def _refuse_config_model(state: ModelStore, model_id: str, verb: str) -> None:
    if any(d.id == model_id for d in state.gateway.config_deployments):
        raise BadRequestError(
            f"the model {model_id!r} is defined by the config file, which this API does not {verb}: edit the file "
            "and reload it (SIGHUP or POST /config/reload)",
            param="model_info.id",
        )


def _checked(state: ModelStore, entry: dict[str, Any]) -> Any:
    info = {**entry["model_info"], "db_model": True}
    return state.gateway.build_deployment({**entry, "model_info": info})


def _stored_entry(entry: dict[str, Any]) -> dict[str, Any]:
    info = {k: v for k, v in entry["model_info"].items() if k not in ("id", "db_model")}
    return {**entry, "model_info": info}


def _answer(deployment: Any) -> dict[str, Any]:
    return {
        "model_id": deployment.id,
        "model_name": deployment.model_group,
        "litellm_params": redacted_params(deployment),
        "model_info": {**deployment.model_info, "id": deployment.id, "db_model": True},
    }
