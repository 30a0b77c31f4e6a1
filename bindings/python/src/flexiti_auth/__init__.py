"""flexiti_auth: get and keep a valid Flexiti OAuth2 access token.

A thin ctypes binding of the flexiti-auth native library (libflexiti_auth), found through the
FLEXITI_AUTH_LIB environment variable, next to this package, or by the system loader.

    from flexiti_auth import Client

    with Client("https://posapi.flexiti.fi/", "my-client-id", "my-secret") as client:
        bearer = client.access_token(use_cache=True)
"""

import logging as _logging

from ._native import LIB_ENV, LibraryLoadError
from .client import (
    LOGGER_NAME,
    Client,
    LogLevel,
    Response,
    OptionValue,
    is_access_token_expired,
    library_version,
    status_str,
)
from .errors import (
    AuthRejectedError,
    BadResponseError,
    FlexitiError,
    HttpStatusError,
    InternalError,
    StoreError,
    InvalidArgumentError,
    NetworkError,
    SessionError,
    Status,
)

def _package_version() -> str:
    # The installed distribution's version: Cargo.toml's, written into the package by setup.py.
    from importlib import metadata

    try:
        return metadata.version("flexiti-auth")
    except metadata.PackageNotFoundError:  # imported from a source checkout, not installed
        return "0+unknown"


__version__ = _package_version()

# A library leaves output to the application: without a configured handler, records are dropped
# rather than printed by logging's last-resort handler.
_logging.getLogger(LOGGER_NAME).addHandler(_logging.NullHandler())

__all__ = [
    "Client",
    "Response",
    "LOGGER_NAME",
    "LogLevel",
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
    "StoreError",
    "LibraryLoadError",
    "LIB_ENV",
]
