"""Finding and loading the native library, and declaring every C prototype.

Search order: the FLEXITI_AUTH_LIB environment variable (a path; when set, nothing else is tried),
a library inside this package, then the system loader (LD_LIBRARY_PATH, rpath, ld.so cache).

The library inside the package is there after `pip install ./bindings/python` (setuptools-rust
builds it as libflexiti_auth<extension suffix>, e.g. libflexiti_auth.cpython-311-x86_64-linux-gnu.so)
or in a wheel of `make dist` (libflexiti_auth.so, flexiti_auth.dll), or when copied there by hand.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.machinery
import os
import sys
import threading
from typing import List, Optional

__all__ = ["LibraryLoadError", "LIB_ENV", "LOG_CALLBACK", "bundled_library", "load", "take_string"]

#: Environment variable naming the native library's path.
LIB_ENV = "FLEXITI_AUTH_LIB"

if sys.platform == "darwin":
    _FILE_NAMES = ["libflexiti_auth.dylib"]
elif sys.platform == "win32":
    _FILE_NAMES = ["flexiti_auth.dll"]
else:
    _FILE_NAMES = ["libflexiti_auth.so", "libflexiti_auth.so.0"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# Names of a library inside the package: the plain file names, then the name setuptools-rust gives
# the library it builds (the module name plus one of this interpreter's extension suffixes).
_BUNDLED_NAMES = _FILE_NAMES + [
    "libflexiti_auth" + suffix
    for suffix in importlib.machinery.EXTENSION_SUFFIXES
    if "libflexiti_auth" + suffix not in _FILE_NAMES
]


def bundled_library() -> Optional[str]:
    """The path of the native library inside this package, or None when it holds none."""
    for name in _BUNDLED_NAMES:
        path = os.path.join(_PACKAGE_DIR, name)
        if os.path.exists(path):
            return path
    return None


#: typedef void (*FlxLogCallback)(int32_t level, const char *line, void *user). The line arrives
#: as bytes: ctypes copies it during the call, as it is only valid until the callback returns.
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_char_p, ctypes.c_void_p)


class LibraryLoadError(OSError):
    """The native library libflexiti_auth could not be found or loaded; the message lists every
    place that was tried and why each failed."""


# (name, restype, argtypes) of every exported function. Strings the caller owns come back as
# c_void_p (read with string_at, released with flx_string_free): a c_char_p restype would convert
# them to bytes and lose the pointer, leaking every string. Static and thread-local strings (never
# freed) are c_char_p.
_PROTOTYPES = [
    ("flx_version", ctypes.c_char_p, []),
    ("flx_client_new", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]),
    ("flx_client_persistent", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]),
    ("flx_client_set_option", ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
    ("flx_client_free", None, [ctypes.c_void_p]),
    ("flx_get_token", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_bool]),
    ("flx_get_access_token", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_bool]),
    # The _into getters write into a caller's buffer (ctypes.create_string_buffer) and return the
    # length, or -1 on error.
    ("flx_get_token_into", ctypes.c_int64, [ctypes.c_void_p, ctypes.c_bool, ctypes.c_char_p, ctypes.c_size_t]),
    ("flx_get_access_token_into", ctypes.c_int64, [ctypes.c_void_p, ctypes.c_bool, ctypes.c_char_p, ctypes.c_size_t]),
    ("flx_session_export", ctypes.c_void_p, [ctypes.c_void_p]),
    ("flx_session_import", ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p]),
    ("flx_client_clear", ctypes.c_int32, [ctypes.c_void_p]),
    ("flx_string_free", None, [ctypes.c_void_p]),
    ("flx_last_error_code", ctypes.c_int32, []),
    ("flx_last_error_message", ctypes.c_char_p, []),
    ("flx_status_str", ctypes.c_char_p, [ctypes.c_int32]),
    ("flx_client_set_log_callback", ctypes.c_int32, [ctypes.c_void_p, LOG_CALLBACK, ctypes.c_void_p]),
    ("flx_client_stats", ctypes.c_void_p, [ctypes.c_void_p]),
    (
        "flx_request",
        ctypes.c_int32,
        [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_bool,
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_void_p),
        ],
    ),
    ("flx_last_response_headers", ctypes.c_char_p, []),
    (
        "flx_is_access_token_expired",
        ctypes.c_bool,
        [ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64],
    ),
]

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def _declare(lib: ctypes.CDLL, where: str) -> ctypes.CDLL:
    for name, restype, argtypes in _PROTOTYPES:
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise LibraryLoadError(
                f"{where} was loaded but has no function {name}: not a compatible libflexiti_auth"
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def _try(path: str, tried: List[str], label: str) -> Optional[ctypes.CDLL]:
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        tried.append(f"{label}: {e}")
        return None


def _find() -> ctypes.CDLL:
    tried: List[str] = []
    env = os.environ.get(LIB_ENV, "")
    if env:
        lib = _try(env, tried, f"{LIB_ENV}={env}")
        if lib is None:
            raise LibraryLoadError(
                f"cannot load the flexiti-auth native library from {LIB_ENV}: {tried[0]}"
                f" (unset {LIB_ENV} to search next to the package and through the system loader)"
            )
        return _declare(lib, f"{LIB_ENV}={env}")
    tried.append(f"{LIB_ENV}: not set")

    bundled = False
    for name in _BUNDLED_NAMES:
        path = os.path.join(_PACKAGE_DIR, name)
        if not os.path.exists(path):
            continue
        bundled = True
        lib = _try(path, tried, path)
        if lib is not None:
            return _declare(lib, path)
    if not bundled:
        tried.append(
            f"{os.path.join(_PACKAGE_DIR, _FILE_NAMES[0])}: no such file (no library inside the package"
            f" {_PACKAGE_DIR}; `pip install ./bindings/python` with Rust, or a wheel of `make dist`, puts one there)"
        )

    names = list(reversed(_FILE_NAMES))  # the soname first
    found = ctypes.util.find_library("flexiti_auth")
    if found and found not in names:
        names.append(found)
    for name in names:
        lib = _try(name, tried, f"system loader {name!r}")
        if lib is not None:
            return _declare(lib, f"system loader {name!r}")

    raise LibraryLoadError(
        "cannot find the flexiti-auth native library (libflexiti_auth). Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nInstall a wheel that carries the library (`make dist`), or `pip install ./bindings/python`"
        f" on a machine with Rust; or set {LIB_ENV} to the library's path (e.g."
        " target/release/libflexiti_auth.so after `cargo build --release`), copy it next to the"
        " flexiti_auth package, or install it where the system loader finds it."
    )


def load() -> ctypes.CDLL:
    """The loaded native library (found and loaded on first use, then cached)."""
    global _lib
    lib = _lib
    if lib is None:
        with _lock:
            if _lib is None:
                _lib = _find()
            lib = _lib
    return lib


def take_string(lib: ctypes.CDLL, ptr: Optional[int]) -> str:
    """Read an owned string returned by the library and release it with flx_string_free."""
    if not ptr:
        raise ValueError("NULL string")
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.flx_string_free(ptr)
