"""The Client class: one Flexiti account's token, held by the native library."""

from __future__ import annotations

import atexit
import ctypes
import json
import json as _json
import logging
import math
import os
import re
import threading
import time
import weakref
from types import TracebackType
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, NoReturn, Optional, Tuple, Type, Union

from . import _native
from .errors import InternalError, InvalidArgumentError, Status, error_for

__all__ = [
    "Client",
    "Response",
    "LOGGER_NAME",
    "LogLevel",
    "OptionValue",
    "is_access_token_expired",
    "library_version",
    "status_str",
]

#: What an option may be given as: strings as they are, ints in decimal, bools as "1"/"0",
#: paths (os.PathLike) through os.fspath.
OptionValue = Union[str, int, bool, "os.PathLike[str]"]

#: What a log level may be given as: a library level name ("off", "error", "warn"/"warning",
#: "info", "debug") or a :mod:`logging` level (``logging.INFO``).
LogLevel = Union[str, int]

#: The logger that receives the library's log lines unless a client is given another.
LOGGER_NAME = "flexiti_auth"

# Library level (FlxLogLevel) -> logging level, and back by threshold.
_PY_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
_LIB_LEVELS = ((logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.WARNING, "warn"), (logging.ERROR, "error"))
# "2026-11-25T17:40:00Z INFO flexiti-auth: <message>": logging adds its own time and level.
_LINE_PREFIX = re.compile(r"\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\dZ (?:ERROR|WARN|INFO|DEBUG) flexiti-auth: ")
# Values of FLX_LOG that turn the library's stderr logging on (as the library parses them).
_FLX_LOG_ON = {"error", "1", "warn", "warning", "2", "info", "3", "debug", "4"}
# Callbacks of handles that could not be freed (still in use when garbage-collected): the native
# client may still call them, so they must outlive it.
_leaked_callbacks: List[Any] = []
# Per thread: a KeyboardInterrupt or SystemExit raised in a log handler during a library call.
_pending = threading.local()
# The Client of each persistent native handle (flx_client_persistent), by pointer: one per
# account and process, never closed. Keyed by the library's pointer, so no secret is a key here.
_persistent_clients: "Dict[int, Client]" = {}
_persistent_lock = threading.Lock()


def _persistent_lock_after_fork() -> None:
    # A thread of the parent may have held it at fork(): the child's only thread starts afresh.
    global _persistent_lock
    _persistent_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_persistent_lock_after_fork)
# Handles with a log callback, for the interpreter-exit hook (_stop_logging_at_exit).
_logging_handles: "weakref.WeakSet[_Handle]" = weakref.WeakSet()
_exiting = False
# A NULL FlxLogCallback (ctypes refuses None for a function pointer argument).
_NO_CALLBACK = _native.LOG_CALLBACK()

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Response:
    """What :meth:`Client.request` got back, whatever the status.

    ``status``: the HTTP status. ``headers``: every response header, names lower-case (repeated
    ones joined with ", "). ``body``: the body decoded as JSON, or the raw text when it is not
    JSON (an empty body: ""). ``raw``: the body as text. Also readable as a mapping
    (``response["status"]``, ``response["json"]``: the decoded JSON or None), and with the
    names of the requests library: ``status_code``, ``text``, ``json()``."""

    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: str = ""

    def __getitem__(self, key: str) -> Any:
        if key in ("status", "headers", "body", "raw"):
            return getattr(self, key)
        if key == "json":
            return self.body if _is_json(self.raw) else None
        raise KeyError(key)

    @property
    def status_code(self) -> int:
        """``status``, by the requests library's name."""
        return self.status

    @property
    def text(self) -> str:
        """``raw``, by the requests library's name."""
        return self.raw

    def json(self) -> Any:
        """The body decoded as JSON; ValueError when it is not JSON."""
        return _json.loads(self.raw)

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300


def _is_json(text: str) -> bool:
    try:
        _json.loads(text)
    except ValueError:
        return False
    return True


def _c_string(value: object, what: str) -> bytes:
    """UTF-8 bytes of a str argument; None, other types and embedded NUL raise InvalidArgumentError
    before anything reaches C."""
    if value is None:
        raise InvalidArgumentError(f"{what} must be a str, not None")
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgumentError(f"{what} contains a NUL character")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{what} is not encodable as UTF-8 (lone surrogate)") from None


def _option_string(name: str, value: object) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        path: Union[str, bytes] = os.fspath(value)
        if isinstance(path, bytes):
            try:
                return path.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidArgumentError(f"option {name}: path is not valid UTF-8") from None
        return path
    raise InvalidArgumentError(
        f"option {name} must be a str, int, bool or path, not "
        f"{'None' if value is None else type(value).__name__}"
    )


def _int64(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"{what} must be finite")
        value = math.floor(value)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidArgumentError(f"{what} is outside the 64-bit range")
    return int(value)


def _raise_last_error(lib: ctypes.CDLL, fallback: str) -> NoReturn:
    """Raise the exception for this thread's last failed library call."""
    code = int(lib.flx_last_error_code())
    raw = lib.flx_last_error_message()
    message = raw.decode("utf-8", "replace") if raw else ""
    if code == Status.OK:
        raise InternalError(f"{fallback} failed without an error code from the library")
    raise error_for(code, message or _status_text(lib, code))


def _status_text(lib: ctypes.CDLL, code: int) -> str:
    raw = lib.flx_status_str(code)
    return raw.decode("utf-8", "replace") if raw else f"status {code}"


def library_version() -> str:
    """The native library's version, e.g. "0.1.0"."""
    raw = _native.load().flx_version()
    return raw.decode("utf-8") if raw else ""


def status_str(code: int) -> str:
    """The library's "NAME: description" text for a status code."""
    return _status_text(_native.load(), int(code))


def is_access_token_expired(
    created_at: float,
    expires_in: float,
    now: Optional[float] = None,
    threshold: float = 60,
) -> bool:
    """The guide's isAccessTokenExpired: ``now - created_at >= expires_in - threshold``.

    All values are unix seconds (floats are rounded down); ``now`` defaults to the current time.
    A lifetime at or below the threshold is always expired. Computed by the native library.
    """
    c = _int64(created_at, "created_at")
    e = _int64(expires_in, "expires_in")
    n = _int64(time.time() if now is None else now, "now")
    t = _int64(threshold, "threshold")
    return bool(_native.load().flx_is_access_token_expired(c, e, n, t))


def _library_level(level: object) -> str:
    """The library's log_level string for a level name or a logging level."""
    if isinstance(level, str):
        name = level.strip().lower()
        return "warn" if name == "warning" else name  # the library checks the name
    if isinstance(level, int) and not isinstance(level, bool):
        for threshold, name in _LIB_LEVELS:
            if level <= threshold:
                return name
        return "off"
    raise InvalidArgumentError(
        "log_level must be a level name (off, error, warn, info, debug) or a logging level, not "
        f"{'None' if level is None else type(level).__name__}"
    )


def _level_of(logger: logging.Logger) -> str:
    """The most verbose library level whose lines ``logger`` would pass on (its effective level,
    ``logger.disabled`` and :func:`logging.disable` included)."""
    for py_level, name in _LIB_LEVELS:
        if logger.isEnabledFor(py_level):
            return name
    return "off"


def _log_callback(logger: logging.Logger) -> Any:
    """A FlxLogCallback sending each line to ``logger``. It holds no reference to the Client (so
    an unclosed Client can still be garbage-collected) and never raises into C."""

    def on_line(level: int, line: Optional[bytes], _user: Optional[int]) -> None:
        if _exiting:
            return
        try:
            text = line.decode("utf-8", "replace") if line else ""  # a copy: `line` dies on return
            prefix = _LINE_PREFIX.match(text)
            message = text[prefix.end():] if prefix else text
            py_level = _PY_LEVELS.get(level, logging.ERROR if level < 1 else logging.DEBUG)
            logger.log(py_level, message, extra={"flexiti_line": text})
        except (KeyboardInterrupt, SystemExit) as e:
            # Ctrl-C (or sys.exit) landed in a handler: raised again once the call is back in
            # Python (_Handle.use), as it cannot unwind through C.
            _pending.exception = e
        except BaseException:  # a broken handler or filter must not unwind through C
            pass

    return _native.LOG_CALLBACK(on_line)


@atexit.register
def _stop_logging_at_exit() -> None:
    """Before Python (< 3.14) finalises, unregister every live client's callback: afterwards a
    daemon thread taking the GIL is ended with pthread_exit, and inside a callback that unwinds
    through the native library's frames and aborts the process."""
    global _exiting
    _exiting = True  # callbacks still running return at once
    for handle in list(_logging_handles):
        handle.stop_logging()


class _Handle:
    """The native FlxClient pointer, guarded so it is never freed while a call uses it and never
    used once freed. It also keeps the log callback alive for as long as the native client may
    call it."""

    __slots__ = ("_lib", "_ptr", "_cond", "_users", "_log_callback", "_persistent", "__weakref__")

    def __init__(self, lib: ctypes.CDLL, ptr: int, persistent: bool = False) -> None:
        self._lib = lib
        self._ptr: Optional[int] = ptr
        self._persistent = persistent
        self._cond = threading.Condition(threading.Lock())
        self._users = 0
        self._log_callback: Any = None

    def set_log_callback(self, callback: Any) -> None:
        """Register ``callback`` (a LOG_CALLBACK) and keep it referenced by this handle."""
        with self.use() as ptr:
            if self._lib.flx_client_set_log_callback(ptr, callback, None) != Status.OK:
                _raise_last_error(self._lib, "flx_client_set_log_callback")
            self._log_callback = callback
            _logging_handles.add(self)

    def stop_logging(self) -> None:
        """Stop the library's logging while other threads may be using the handle. Level off
        first (no new line starts), then the callback unregistered: the library returns once no
        call of it is running (releasing the GIL meanwhile, so they can finish)."""
        if self._log_callback is None:
            return
        try:
            with self.use() as ptr:
                self._lib.flx_client_set_option(ptr, b"log_level", b"off")
                self._lib.flx_client_set_log_callback(ptr, _NO_CALLBACK, None)
        except InvalidArgumentError:  # closed meanwhile: close() unregistered it
            pass

    @property
    def closed(self) -> bool:
        return self._ptr is None

    @contextmanager
    def use(self) -> Iterator[int]:
        with self._cond:
            ptr = self._ptr
            if ptr is None:
                raise InvalidArgumentError("this flexiti_auth.Client is closed")
            self._users += 1
        try:
            yield ptr
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()
            pending = _pending.__dict__.pop("exception", None)
            if pending is not None:
                raise pending

    def close(self, wait: bool = True) -> None:
        """Free the handle once no call is using it. New calls are refused at once. With
        wait=False (garbage collection) a handle still in use by another thread is left alone.
        A persistent handle is never closed: it belongs to the process."""
        if self._persistent:
            return
        with self._cond:
            ptr = self._ptr
            if ptr is None:
                return
            self._ptr = None
            while self._users:
                if not wait:
                    if self._log_callback is not None:
                        _leaked_callbacks.append(self._log_callback)
                    return
                self._cond.wait()
        try:
            if self._log_callback is not None:
                # No call is running: once unregistered, nothing calls the callback any more.
                self._lib.flx_client_set_log_callback(ptr, _NO_CALLBACK, None)
        finally:
            self._lib.flx_client_free(ptr)
            self._log_callback = None


def _finalize(handle: _Handle) -> None:
    # Runs when a Client is garbage-collected without close(). Not at interpreter exit: daemon
    # threads may still be inside a call then, and the process's memory goes away anyway.
    # Never raises, never blocks.
    try:
        handle.close(wait=False)
    except Exception:  # pragma: no cover - nothing sensible to do during finalisation
        pass


def _check_logger(logger: Union[logging.Logger, str, None]) -> logging.Logger:
    if logger is None:
        return logging.getLogger(LOGGER_NAME)
    if isinstance(logger, str):
        return logging.getLogger(logger)
    if not isinstance(logger, (logging.Logger, logging.LoggerAdapter)):
        raise InvalidArgumentError(f"logger must be a logging.Logger or a name, not {type(logger).__name__}")
    return logger  # type: ignore[return-value]


class Client:
    """One Flexiti account's access token, obtained and kept valid by the native library.

    ``Client(api_url, client_id, client_secret, **options)``; options are set by name (see
    :meth:`set_option`), e.g. ``max_retries=0, timeout_ms=5000, scope="merchant"``.

    The library's log lines go to ``logger`` (a :class:`logging.Logger` or a logger name;
    default: ``logging.getLogger("flexiti_auth")``) at ERROR, WARNING, INFO and DEBUG. The
    library produces lines down to ``log_level`` (a name, "off" to "debug", or a logging level);
    by default, down to what ``logger`` lets through when the client is created (unless the
    FLX_LOG environment variable sets the level); :meth:`set_log_level` changes it later.

    Use it as a context manager (or call :meth:`close`). One client may be used from several
    threads at once; concurrent callers share one token request.
    """

    def __init__(
        self,
        api_url: str,
        client_id: str,
        client_secret: str,
        *,
        logger: Union[logging.Logger, str, None] = None,
        log_level: Optional[LogLevel] = None,
        **options: OptionValue,
    ) -> None:
        logger = _check_logger(logger)
        url_b = _c_string(api_url, "api_url")
        id_b = _c_string(client_id, "client_id")
        secret_b = _c_string(client_secret, "client_secret")
        lib = _native.load()
        ptr = lib.flx_client_new(url_b, id_b, secret_b)
        if not ptr:
            _raise_last_error(lib, "flx_client_new")
        self._setup(lib, _Handle(lib, ptr), api_url, client_id)
        try:
            self._configure(logger, log_level, options)
        except BaseException:
            self.close()
            raise

    @classmethod
    def persistent(
        cls,
        api_url: str,
        client_id: str,
        client_secret: str,
        *,
        logger: Union[logging.Logger, str, None] = None,
        log_level: Optional[LogLevel] = None,
        **options: OptionValue,
    ) -> "Client":
        """The process-wide client of one account (``flx_client_persistent``): every call in this
        process with the same api_url, client_id and client_secret returns the same Client, over
        one native handle, so its token, options and kept-alive connection are shared by every
        caller and outlive each of them (a worker process serving many jobs asks Flexiti once).

        Options and ``log_level`` are set on each call (a value the client already has costs
        nothing: the connection stays) and stay set for later callers; ``logger`` (when given)
        replaces the client's logger. :meth:`close` (and leaving a ``with`` block) does nothing:
        the client belongs to the process. :meth:`clear` forgets the token for every caller.
        After ``os.fork()`` the child's client opens its own connections. At most 64 accounts per
        process: the 65th raises InvalidArgumentError."""
        url_b = _c_string(api_url, "api_url")
        id_b = _c_string(client_id, "client_id")
        secret_b = _c_string(client_secret, "client_secret")
        checked = None if logger is None else _check_logger(logger)
        lib = _native.load()
        with _persistent_lock:
            ptr = lib.flx_client_persistent(url_b, id_b, secret_b)
            if not ptr:
                _raise_last_error(lib, "flx_client_persistent")
            client = _persistent_clients.get(ptr)
            if client is None:
                client = cls.__new__(cls)
                client._setup(lib, _Handle(lib, ptr, persistent=True), api_url, client_id)
                client._configure(checked or logging.getLogger(LOGGER_NAME), log_level, options)
                _persistent_clients[ptr] = client
                return client
        if checked is not None and checked is not client._logger:
            client._logger = checked
            client._handle.set_log_callback(_log_callback(checked))
        if log_level is not None:
            client.set_log_level(log_level)
        for name, value in options.items():
            client.set_option(name, value)
        return client

    def _setup(self, lib: ctypes.CDLL, handle: _Handle, api_url: str, client_id: str) -> None:
        self._lib = lib
        self._handle = handle
        self._finalizer = weakref.finalize(self, _finalize, self._handle)
        self._finalizer.atexit = False
        self._api_url = api_url
        self._client_id = client_id

    def _configure(self, logger: logging.Logger, log_level: Optional[LogLevel], options: Dict[str, OptionValue]) -> None:
        self._logger: logging.Logger = logger
        self._handle.set_log_callback(_log_callback(self._logger))
        if log_level is not None:
            self.set_log_level(log_level)
        elif os.environ.get("FLX_LOG", "").strip().lower() not in _FLX_LOG_ON:
            self.set_log_level()
        for name, value in options.items():
            self.set_option(name, value)

    @property
    def is_persistent(self) -> bool:
        """True for the process-wide client of :meth:`Client.persistent`."""
        return self._handle._persistent

    # ---- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the native client (its token and secret are wiped). Idempotent. Waits for calls
        running in other threads to finish; later calls raise InvalidArgumentError."""
        self._handle.close()
        self._finalizer.detach()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._handle.closed

    def __enter__(self) -> "Client":
        if self._handle.closed:
            raise InvalidArgumentError("this flexiti_auth.Client is closed")
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<flexiti_auth.Client {self._api_url!r} client_id={self._client_id!r} {state}>"

    # ---- configuration ----------------------------------------------------------------------

    @property
    def logger(self) -> logging.Logger:
        """The logger receiving the library's log lines."""
        return self._logger

    def set_log_level(self, level: Optional[LogLevel] = None) -> str:
        """Set how much the library logs, and return the level set ("off" ... "debug").

        None: down to what :attr:`logger` lets through now (call it after changing the logger's
        level). A name: "off", "error", "warn" (or "warning"), "info", "debug". A logging level
        (``logging.INFO``): the library logs what that level lets through. Raises
        InvalidArgumentError for anything else."""
        name = _level_of(self._logger) if level is None else _library_level(level)
        self.set_option("log_level", name)
        return name

    def set_option(self, name: str, value: OptionValue) -> None:
        """Set one option by name: expiration_threshold_secs, connect_timeout_ms, timeout_ms,
        max_retries, token_path, scope, proxy ("none": no proxy), ca_file, user_agent, log_level
        (prefer :meth:`set_log_level`), log_file (also append every log line to this file;
        "": stop), token_store ("file:/abs/dir" or an absolute directory: processes using it share
        one token and one request; "none": in-process only), refresh_min_age_secs (a non-cache
        call refreshes only a token at least this old; 60 is recommended with a token_store).
        Raises InvalidArgumentError naming the option for an unknown name or a bad value, or
        StoreError for a token_store directory that is not this user's alone (0700), is not a
        directory or cannot be created (the option then keeps its previous value)."""
        name_b = _c_string(name, "option name")
        value_b = _c_string(_option_string(name, value), f"option {name}")
        with self._handle.use() as ptr:
            if self._lib.flx_client_set_option(ptr, name_b, value_b) != Status.OK:
                _raise_last_error(self._lib, "flx_client_set_option")

    # ---- tokens -----------------------------------------------------------------------------

    def _owned_string(self, fn_name: str, *args: Any) -> str:
        fn = getattr(self._lib, fn_name)
        with self._handle.use() as ptr:
            result = fn(ptr, *args)
            if not result:
                _raise_last_error(self._lib, fn_name)
            return _native.take_string(self._lib, result)  # freed even if use() raises on exit

    def get_token(self, use_cache: bool = False) -> Dict[str, Any]:
        """A valid token: every field of the server's token response plus ``created_at``.

        use_cache=True returns a still-valid held token with no request; use_cache=False
        refreshes a valid token (falling back once to client_credentials if the refresh is
        refused). Raises NetworkError, HttpStatusError, AuthRejectedError, BadResponseError;
        on error the held token is unchanged."""
        token = json.loads(self._owned_string("flx_get_token", bool(use_cache)))
        if not isinstance(token, dict):
            raise InternalError("flx_get_token returned JSON that is not an object")
        return token

    def access_token(self, use_cache: bool = False) -> str:
        """Like :meth:`get_token`, but only the access_token (for "Authorization: Bearer ...")."""
        return self._owned_string("flx_get_access_token", bool(use_cache))

    def export_session(self) -> str:
        """The held token as session JSON ``{"token":{...},"created_at":N,"expires_in":N}``.
        Raises SessionError when no token is held. It holds secrets: store it like a password."""
        return self._owned_string("flx_session_export")

    def import_session(self, session_json: str) -> None:
        """Replace the held token with one from :meth:`export_session` (possibly another client's
        or another process's). Raises SessionError for JSON that cannot be imported, leaving the
        held token unchanged."""
        data = _c_string(session_json, "session_json")
        with self._handle.use() as ptr:
            if self._lib.flx_session_import(ptr, data) != Status.OK:
                _raise_last_error(self._lib, "flx_session_import")

    def clear(self) -> None:
        """Forget the held token: the next get_token asks for a new one."""
        with self._handle.use() as ptr:
            if self._lib.flx_client_clear(ptr) != Status.OK:
                _raise_last_error(self._lib, "flx_client_clear")

    # ---- POS-API calls ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: Optional[Union[Mapping[str, str], Iterable[Tuple[str, str]]]] = None,
        use_cache: bool = True,
    ) -> "Response":
        """An authenticated POS-API call through the library (flx_request): ``method`` (GET,
        POST, PUT, PATCH, DELETE, HEAD) to ``path`` joined to api_url, with the bearer token
        :meth:`get_token` would give for ``use_cache``, a fresh x-reference-id, Accept and (with a
        body) Content-Type application/json, over the handle's kept-alive connection.

        ``json``: the request body, serialised with :func:`json.dumps` (None: no body).
        ``headers``: extra request headers, a mapping or (name, value) pairs; Authorization and
        Host are refused, and so are line breaks (InvalidArgumentError, nothing sent).

        Every HTTP status comes back as a :class:`Response` (4xx/5xx included). The library
        resends once after a 401 invalid_token (with a new token) and retries transient failures
        of GET/HEAD/PUT/DELETE; this method adds no retry of its own. Raises NetworkError (no
        answer), BadResponseError (an answer over the max_response_bytes option), the token
        request's errors, or InvalidArgumentError."""
        method_b = _c_string(method, "method")
        path_b = _c_string(path, "path")
        body_b: Optional[bytes] = None
        if json is not None:
            try:
                body = _json.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as e:
                raise InvalidArgumentError(f"json cannot be serialised as JSON: {e}") from None
            body_b = _c_string(body, "json")
        headers_b: Optional[bytes] = None
        if headers:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            lines = []
            for pair in pairs:
                name, value = pair
                if not isinstance(name, str) or not isinstance(value, str):
                    raise InvalidArgumentError("headers must map str names to str values")
                if any(c in name or c in value for c in "\r\n"):
                    raise InvalidArgumentError(f"header {name!r} contains a line break")
                lines.append(f"{name}: {value}")
            headers_b = _c_string("\n".join(lines), "headers")
        status = ctypes.c_int32(0)
        body_p = ctypes.c_void_p(None)
        with self._handle.use() as ptr:
            rc = self._lib.flx_request(
                ptr, method_b, path_b, body_b, headers_b, bool(use_cache), ctypes.byref(status), ctypes.byref(body_p)
            )
            if rc != Status.OK:
                _raise_last_error(self._lib, "flx_request")
            try:
                raw = ctypes.string_at(body_p.value).decode("utf-8", "replace") if body_p.value else ""
            finally:
                self._lib.flx_string_free(body_p)
            header_text = (self._lib.flx_last_response_headers() or b"").decode("utf-8", "replace")
        response_headers: Dict[str, str] = {}
        for line in header_text.split("\n"):
            name, sep, value = line.partition(": ")
            if sep:
                response_headers[name] = f"{response_headers[name]}, {value}" if name in response_headers else value
        try:
            decoded: Any = _json.loads(raw)
        except ValueError:
            decoded = raw
        return Response(status=int(status.value), headers=response_headers, body=decoded, raw=raw)

    # ---- observability ----------------------------------------------------------------------

    def stats(self) -> Dict[str, Any]:
        """Counters, cheap enough for every health check: ``requests`` (``client_credentials``,
        ``refresh_token``: every HTTP attempt), ``cache_hits``, ``new_tokens``, ``refreshes``,
        ``fallbacks``, ``retries``, ``failures`` (failed token calls by status name, e.g.
        ``"FLX_ERR_NETWORK"``), ``last_error_time``/``last_error_code``/``last_error_name``,
        ``token_held`` and the held token's ``token_age_secs``, ``token_expires_in``,
        ``token_time_left_secs``, ``token_valid_for_secs`` (None when no token is held)."""
        stats = json.loads(self._owned_string("flx_client_stats"))
        if not isinstance(stats, dict):
            raise InternalError("flx_client_stats returned JSON that is not an object")
        return stats

    #: The module-level :func:`is_access_token_expired`, also reachable from the class.
    is_access_token_expired = staticmethod(is_access_token_expired)
