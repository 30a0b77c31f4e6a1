"""flexiti_auth: get and keep a valid Flexiti OAuth2 access token.

A thin ctypes binding of the flexiti-auth native library (libflexiti_auth), found through the
FLEXITI_AUTH_LIB environment variable, next to this package, or by the system loader.

    from flexiti_auth import Client

    with Client("https://posapi.flexiti.fi/", "my-client-id", "my-secret") as client:
        bearer = client.access_token(use_cache=True)
"""

from ._native import LIB_ENV, LibraryLoadError
from .client import Client, OptionValue, is_access_token_expired, library_version, status_str
from .errors import (
    AuthRejectedError,
    BadResponseError,
    FlexitiError,
    HttpStatusError,
    InternalError,
    InvalidArgumentError,
    NetworkError,
    SessionError,
    Status,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "OptionValue",
    "is_access_token_expired",
    "library_version",
    "status_str",
    "Status",
    "FlexitiError",
    "InvalidArgumentError",
    "NetworkError",
    "HttpStatusError",
    "AuthRejectedError",
    "BadResponseError",
    "SessionError",
    "InternalError",
    "LibraryLoadError",
    "LIB_ENV",
]
