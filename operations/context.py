"""The id of the request (or of the request that queued the job) being served, for every log line.

A request keeps the id its `X-Request-ID` header gives, when that is a plain token of at most 128
characters of [A-Za-z0-9._:-]; anything else is replaced by a new id, so a client cannot put text
of its own choosing into the logs.
"""

import itertools
import os
import re
from contextvars import ContextVar, Token

_request_id: ContextVar[str | None] = ContextVar("pdp_request_id", default=None)

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_request_id() -> str | None:
    """The id of the request being served, or of the request that queued the running job; None outside both."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> Token[str | None]:
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def valid_request_id(value: str | None) -> bool:
    return bool(value) and _VALID.fullmatch(value or "") is not None


def request_id_from(header: str | None) -> str:
    """The header's id when it is valid, else a new one."""
    if header is not None and valid_request_id(header):
        return header
    return new_request_id()


def _new_process_prefix() -> None:
    global _prefix, _counter
    _prefix, _counter = os.urandom(8).hex(), itertools.count()


_prefix: str
_counter: "itertools.count[int]"
_new_process_prefix()
os.register_at_fork(after_in_child=_new_process_prefix)


def new_request_id() -> str:
    """32 hex digits, unique: this process's random 64-bit prefix (drawn again in a forked child) and a
    count. A tenth of the cost of a random UUID, which reads the system's random source every time."""
    return f"{_prefix}{next(_counter):016x}"
