"""The guardrails of one request, through pre_call, during_call and post_call.

* ``pre_call``: checks run one after another on the request's texts (a mask is seen by the next
  check and is what the upstream receives); a block stops the request with HTTP 400.
* ``during_call``: checks start as tasks when pre_call ends, so they run while the upstream call
  does; post_call awaits them (for streams, before the first chunk is sent) and a block replaces
  the answer with the 400.  A during_call mask cannot change what was already sent upstream: it
  is recorded, not applied.
* ``post_call``: checks on the answer (streams: see :mod:`.streaming`); then output rewriters
  (un-masking) run last, so checks see the model's own output.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from gateway._types import JSONResponseBody, StreamResponseBody
from gateway.guardrails._base import TextBatch
from gateway.guardrails._content import Extracted, request_texts, response_texts, select_slots
from gateway.guardrails._runner import block_error, check_non_text, run_check
from gateway.guardrails._streaming import hold_and_check, replay, rewritten, window_checked

if TYPE_CHECKING:
    from gateway._types import RequestContext, ResponseBody
    from gateway.guardrails._base import Guardrail, GuardrailResult, OutputRewriter


def input_batch(guard: Guardrail, ctx: RequestContext, extracted: Extracted) -> tuple[TextBatch, list[Any]]:
    settings = guard.settings
    slots = select_slots(
        extracted.slots,
        skip_system=settings.skip_system_message_in_guardrail,
        latest_user_only=settings.experimental_use_latest_role_message_only,
    )
    batch = TextBatch(
        [s.get() for s in slots],
        [s.role for s in slots],
        "input",
        ctx,
        message_index=[s.message_index for s in slots],
        non_text_parts=extracted.non_text_parts,
    )
    return batch, slots


def apply_result(guard: Guardrail, mode: str, result: GuardrailResult, slots: list[Any]) -> bool:
    """Raise the 400 for a block; write a mask back into the body.  True when texts changed."""
    if result.outcome == "blocked":
        raise block_error(guard, mode, result)
    if result.outcome == "masked" and result.texts is not None:
        for slot, text in zip(slots, result.texts, strict=False):
            slot.set(text)
        return True
    return False


def _retrieve(task: asyncio.Task[Any]) -> None:
    # a during_call task whose request failed upstream is never awaited: fetch its error quietly
    if not task.cancelled():
        task.exception()


async def _discard(response: StreamResponseBody) -> None:
    aclose = getattr(response.chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing must not hide the block that ended the request
            pass
    for callback in response._closers:  # e.g. the provider's release of the upstream connection
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:
            pass


class RequestGuards:
    """Per-request guardrail state, kept in ``ctx.state["guardrails"]``."""

    def __init__(self, selected: list[Guardrail]) -> None:
        self.selected = selected
        self.during: list[tuple[Guardrail, asyncio.Task[Any]]] = []
        self.rewriters: list[OutputRewriter] = []
        self.logging_only = [g for g in selected if "logging_only" in g.settings.mode]
        #: for logging_only on streams: the text the client received, by choice index
        self.stream_text: dict[int, list[str]] | None = {} if self.logging_only else None
        #: the cached redacted copy for sinks (see :mod:`.logview`)
        self.logged: Any = None

    def in_mode(self, mode: str) -> list[Guardrail]:
        return [g for g in self.selected if mode in g.settings.mode]

    # ------------------------------------------------------------------ input side

    async def pre_call(self, ctx: RequestContext) -> None:
        pre, during = self.in_mode("pre_call"), self.in_mode("during_call")
        if pre or during:
            extracted = request_texts(ctx.request)
            for guard in pre:
                batch, slots = input_batch(guard, ctx, extracted)
                check_non_text(guard, "pre_call", batch)
                if not batch.texts:
                    continue
                apply_result(guard, "pre_call", await run_check(guard, "pre_call", batch), slots)
            for guard in during:
                batch, _ = input_batch(guard, ctx, extracted)
                check_non_text(guard, "during_call", batch)
                if batch.texts:
                    task = asyncio.get_running_loop().create_task(run_check(guard, "during_call", batch))
                    task.add_done_callback(_retrieve)
                    self.during.append((guard, task))
        self.rewriters = [r for g in self.selected if (r := g.output_rewriter(ctx)) is not None]

    async def await_during(self) -> None:
        """Wait for the during_call checks; the first block (in config order) wins."""
        tasks, self.during = self.during, []
        try:
            for guard, task in tasks:
                result = await task
                if result.outcome == "blocked":
                    raise block_error(guard, "during_call", result)
        finally:
            for _, task in tasks:
                task.cancel()

    # ------------------------------------------------------------------ output side

    async def post_call(self, ctx: RequestContext, response: ResponseBody) -> None:
        try:
            await self._post_call(ctx, response)
        except BaseException:
            if isinstance(response, StreamResponseBody):
                await _discard(response)  # the client gets the error: release the upstream stream now
            raise

    async def _post_call(self, ctx: RequestContext, response: ResponseBody) -> None:
        if self.during:
            await self.await_during()
        post = self.in_mode("post_call")
        if isinstance(response, JSONResponseBody):
            if response.status < 300 and (post or self.rewriters):
                await self._post_json(ctx, response, post)
        elif isinstance(response, StreamResponseBody):
            await self._post_stream(ctx, response, post)

    async def _post_json(self, ctx: RequestContext, response: JSONResponseBody, post: list[Guardrail]) -> None:
        extracted = response_texts(ctx.endpoint, response.data)
        slots = extracted.slots
        if not slots:
            return
        for guard in post:
            batch = TextBatch(
                [s.get() for s in slots],
                [s.role for s in slots],
                "output",
                ctx,
                message_index=[s.message_index for s in slots],
            )
            if apply_result(guard, "post_call", await run_check(guard, "post_call", batch), slots):
                response.changed()
        if self.rewriters:
            for slot in slots:
                text = slot.get()
                for rewriter in self.rewriters:
                    text = rewriter.rewrite(text)
                slot.set(text)
            response.changed()

    async def _post_stream(self, ctx: RequestContext, response: StreamResponseBody, post: list[Guardrail]) -> None:
        if post:
            if any(g.settings.stream_policy == "hold" for g in post):
                # read it all here, inside post_call, so a block is still a plain HTTP 400
                response.chunks = replay(await hold_and_check(ctx, post, response.chunks))
            else:
                window = min(g.settings.stream_window_chars for g in post)
                response.chunks = window_checked(ctx, post, response.chunks, window)
        if self.rewriters or self.stream_text is not None:
            response.chunks = rewritten(
                response.chunks, self.rewriters, self._keep_text if self.stream_text is not None else None
            )

    def _keep_text(self, index: int, text: str) -> None:
        assert self.stream_text is not None
        self.stream_text.setdefault(index, []).append(text)
