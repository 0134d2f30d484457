"""post_call guardrails and output rewriters on streamed answers.

Two policies, chosen per guardrail with ``stream_policy``:

* ``hold`` (default): the whole answer is read before the client gets anything, checked like a
  non-streamed answer, then replayed.  Nothing unchecked ever reaches the client and a block is
  a proper HTTP 400, at the price of the first token arriving with the last.
* ``window``: chunks are held until ``stream_window_chars`` new characters arrived, that window is
  checked (with the end of the previous window as detection context), then released.  The client
  sees text at most one window late; a block ends the stream with an error event, and what was
  already released stays released.

If any selected guardrail holds, the stream is held; otherwise the smallest window applies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from gateway.guardrails._base import OutputRewriter, TextBatch
from gateway.guardrails._content import Slot, chunk_deltas
from gateway.guardrails._runner import block_error, run_check

if TYPE_CHECKING:
    from gateway._types import RequestContext
    from gateway.guardrails._base import Guardrail

Chunk = dict[str, Any]
#: characters of already-released text a window check gets as context
CONTEXT_CHARS = 100


def _spread(slots: Sequence[Slot], text: str) -> None:
    """Put a masked text back over the deltas it came from: all in the first, the rest emptied."""
    for i, slot in enumerate(slots):
        slot.set(text if i == 0 else "")


async def _check_choices(
    ctx: RequestContext,
    guards: Sequence[Guardrail],
    by_choice: dict[int, list[Slot]],
    *,
    streaming: bool,
    context: dict[int, str] | None = None,
) -> None:
    indexes = [i for i, slots in by_choice.items() if slots]
    if not indexes:
        return
    for guard in guards:
        texts = ["".join(s.get() for s in by_choice[i]) for i in indexes]
        batch = TextBatch(
            texts,
            ["assistant"] * len(texts),
            "output",
            ctx,
            message_index=indexes,
            context=[(context or {}).get(i, "") for i in indexes] if streaming else None,
            streaming=streaming,
        )
        result = await run_check(guard, "post_call", batch)
        if result.outcome == "blocked":
            raise block_error(guard, "post_call", result)
        if result.outcome == "masked" and result.texts is not None:
            for index, text in zip(indexes, result.texts, strict=False):
                _spread(by_choice[index], text)


async def hold_and_check(ctx: RequestContext, guards: Sequence[Guardrail], chunks: AsyncIterator[Chunk]) -> list[Chunk]:
    """Read the whole stream, check its text, return the (possibly masked) chunks to replay."""
    collected: list[Chunk] = []
    by_choice: dict[int, list[Slot]] = {}
    async for chunk in chunks:
        collected.append(chunk)
        for slot in chunk_deltas(chunk):
            by_choice.setdefault(slot.message_index, []).append(slot)
    await _check_choices(ctx, guards, by_choice, streaming=False)
    return collected


async def replay(chunks: list[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


async def window_checked(
    ctx: RequestContext, guards: Sequence[Guardrail], chunks: AsyncIterator[Chunk], window: int
) -> AsyncIterator[Chunk]:
    """Release chunks one checked window at a time."""
    pending: list[Chunk] = []
    by_choice: dict[int, list[Slot]] = {}
    pending_chars = 0
    released_tail: dict[int, str] = {}

    async def check_pending() -> None:
        await _check_choices(ctx, guards, by_choice, streaming=True, context=released_tail)
        for index, slots in by_choice.items():
            released_tail[index] = (released_tail.get(index, "") + "".join(s.get() for s in slots))[-CONTEXT_CHARS:]

    async for chunk in chunks:
        pending.append(chunk)
        for slot in chunk_deltas(chunk):
            by_choice.setdefault(slot.message_index, []).append(slot)
            pending_chars += len(slot.get())
        if pending_chars >= window:
            await check_pending()
            for held in pending:
                yield held
            pending, by_choice, pending_chars = [], {}, 0
    if pending_chars:
        await check_pending()
    for held in pending:
        yield held


def _append_text(choice: dict[str, Any], text: str) -> None:
    delta = choice.get("delta")
    if isinstance(delta, dict):
        delta["content"] = (delta.get("content") or "") + text
    else:
        choice["text"] = (choice.get("text") or "") + text


class _Chain:
    """The output rewriters of one streamed choice, applied in order."""

    def __init__(self, rewriters: Sequence[OutputRewriter]) -> None:
        self.rewriters = [r.fresh() for r in rewriters]

    def feed(self, text: str) -> str:
        for rewriter in self.rewriters:
            text = rewriter.feed(text)
        return text

    def flush(self) -> str:
        text = ""
        for rewriter in self.rewriters:
            text = rewriter.feed(text) + rewriter.flush() if text else rewriter.flush()
        return text


async def rewritten(
    chunks: AsyncIterator[Chunk], rewriters: Sequence[OutputRewriter], on_text: Callable[[int, str], None] | None = None
) -> AsyncIterator[Chunk]:
    """Apply output rewriters (un-masking) to every delta; held text is flushed at each choice's end."""
    chains: dict[int, _Chain] = {}
    last: Chunk | None = None
    for_index = chains.get
    async for chunk in chunks:
        for slot in chunk_deltas(chunk):
            chain = for_index(slot.message_index) or chains.setdefault(slot.message_index, _Chain(rewriters))
            slot.set(chain.feed(slot.get()))
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                index = choice.get("index", 0)
                ended = chains.pop(index, None)
                if ended is not None:
                    rest = ended.flush()
                    if rest:
                        _append_text(choice, rest)
        if on_text is not None:
            for slot in chunk_deltas(chunk):
                on_text(slot.message_index, slot.get())
        last = chunk
        yield chunk
    # a stream that ended without finish_reason: send what is still held in one more chunk
    for index, chain in chains.items():
        rest = chain.flush()
        if rest:
            if on_text is not None:
                on_text(index, rest)
            base = {k: v for k, v in (last or {}).items() if k in ("id", "object", "created", "model")}
            yield {**base, "choices": [{"index": index, "delta": {"content": rest}, "finish_reason": None}]}
