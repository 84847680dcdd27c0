"""A runtime's answers: `Reply`, and the commands already answered, by commandId, so a
retried command (a phone on a flaky Wi-Fi, the cloud redelivering) gets its first answer
again instead of being applied twice."""

from __future__ import annotations

from collections import OrderedDict, deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from appliance.core.model import State

RECENT_COMMANDS = 1000  # commandIds remembered across restarts


@dataclass(frozen=True)
class Reply:
    ok: bool
    rev: int
    result: Any = None
    error: dict[str, Any] | None = None
    status: int = 200
    state: State | None = None  # set on conflicts (409): the current truth


class Answered:
    """The last `size` commandIds and their answers (a Future while not yet answered)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._done: OrderedDict[str, Reply | Future[Reply]] = OrderedDict()
        self._unsettled: deque[tuple[str, Future[Reply]]] = deque()  # in _done, unanswered

    def remember(self, command_id: str, reply: Reply | Future[Reply]) -> None:
        if isinstance(reply, Future):
            self._unsettled.append((command_id, reply))
        self._done[command_id] = reply
        while len(self._done) > self._size:
            self._done.popitem(last=False)

    def _keep_settled_as_replies(self) -> None:
        """Swap answered Futures in the memory for their Replies (in turn, as every job):
        a Future carries a condition and locks, about 1 KB, times ten thousand."""
        while self._unsettled and self._unsettled[0][1].done():
            command_id, fut = self._unsettled.popleft()
            if self._done.get(command_id) is fut:  # still remembered: keeps its place
                self._done[command_id] = fut.result()

    def get(self, command_id: str) -> Reply | Future[Reply] | None:
        """The first answer to `command_id` (called in turn, as every job)."""
        self._keep_settled_as_replies()
        return self._done.get(command_id) if command_id else None


def settle(fut: Future[Reply], reply: Reply, written: Future[None]) -> None:
    exc = written.exception()
    if exc is None:
        fut.set_result(reply)
    else:  # applied in memory but not on disk: say so rather than claim it is safe
        fut.set_result(
            Reply(
                False,
                reply.rev,
                result=reply.result,
                status=507,
                error={"code": "storage_failed", "message": f"Applied but not saved: {exc}"},
            )
        )
