"""Status codes of the C library and the exceptions that mirror them."""

from __future__ import annotations

import enum
from typing import Dict, Type, Union

__all__ = [
    "Status",
    "FlexitiError",
    "InvalidArgumentError",
    "NetworkError",
    "HttpStatusError",
    "AuthRejectedError",
    "BadResponseError",
    "SessionError",
    "InternalError",
    "StoreError",
    "error_for",
]


class Status(enum.IntEnum):
    """Outcome of a library call (the C library's FlxStatus; values are part of its ABI)."""

    OK = 0
    INVALID_ARGUMENT = 1
    NETWORK = 2
    HTTP_STATUS = 3
    AUTH_REJECTED = 4
    BAD_RESPONSE = 5
    SESSION = 6
    INTERNAL = 7
    STORE = 8


class FlexitiError(Exception):
    """Base of every error raised by flexiti_auth.

    ``code`` is the library's status code (a :class:`Status`, or a plain ``int`` for a code this
    binding does not know), ``message`` the library's message. Messages never contain the
    client_secret, an access token or a refresh token.
    """

    code: Union[Status, int]
    message: str

    #: The status code this class stands for.
    status: Status = Status.INTERNAL

    def __init__(self, message: str, code: Union[Status, int, None] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = self.status if code is None else _as_status(code)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class InvalidArgumentError(FlexitiError, ValueError):
    """FLX_ERR_INVALID_ARGUMENT: a None or NUL-containing string, invalid URL, bad option, closed client."""

    status = Status.INVALID_ARGUMENT


class NetworkError(FlexitiError):
    """FLX_ERR_NETWORK: the token endpoint could not be reached (DNS, connect, TLS, timeout, reset)."""

    status = Status.NETWORK


class HttpStatusError(FlexitiError):
    """FLX_ERR_HTTP_STATUS: the token endpoint answered with a non-2xx status (5xx, 408, 429, 3xx, ...)."""

    status = Status.HTTP_STATUS


class AuthRejectedError(FlexitiError):
    """FLX_ERR_AUTH_REJECTED: the credentials were refused (invalid_client, invalid_grant, invalid_role, ...)."""

    status = Status.AUTH_REJECTED


class BadResponseError(FlexitiError):
    """FLX_ERR_BAD_RESPONSE: a 2xx answer that is not a usable token."""

    status = Status.BAD_RESPONSE


class SessionError(FlexitiError):
    """FLX_ERR_SESSION: no token held to export, or a session JSON that cannot be imported."""

    status = Status.SESSION


class InternalError(FlexitiError):
    """FLX_ERR_INTERNAL: a bug inside the library; the held token is unchanged."""

    status = Status.INTERNAL


class StoreError(FlexitiError):
    """FLX_ERR_STORE: the token_store cannot be used (a directory that is not this user's alone
    (0700), not a directory, or cannot be created). At run time a store failure costs no call its
    token: it is counted in ``stats()["store_errors"]`` instead, unless ``token_store_required``
    is set (a Redis store that is unreachable or refuses the credentials then fails the call)."""

    status = Status.STORE


_BY_STATUS: Dict[Status, Type[FlexitiError]] = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        NetworkError,
        HttpStatusError,
        AuthRejectedError,
        BadResponseError,
        SessionError,
        InternalError,
        StoreError,
    )
}


def _as_status(code: Union[Status, int]) -> Union[Status, int]:
    try:
        return Status(code)
    except ValueError:
        return int(code)


def error_for(code: int, message: str) -> FlexitiError:
    """The exception for a status code: its subclass, or FlexitiError for an unknown code."""
    status = _as_status(code)
    if not isinstance(status, Status) or status not in _BY_STATUS:
        return FlexitiError(message or f"flexiti-auth status {int(code)}", status)
    return _BY_STATUS[status](message or f"flexiti-auth status {status.name}", status)
