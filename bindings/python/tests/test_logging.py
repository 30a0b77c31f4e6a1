"""The library's log lines in Python's logging module, and the client's counters (stats)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

import flexiti_auth
from conftest import CLIENT_ID, CLIENT_SECRET, EXPIRES_IN, TOKEN_PATH
from flexiti_auth import AuthRejectedError, Client, InvalidArgumentError

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE_URL = "http://127.0.0.1:8765/"
LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (ERROR|WARN|INFO|DEBUG) flexiti-auth: (.*)")
INVALID_CLIENT = {"status": 400, "body": '{"error":"invalid_client","error_description":"bad credentials"}',
                  "headers": {"content-type": "application/json"}}
INVALID_GRANT = {"status": 400, "body": '{"error":"invalid_grant"}', "headers": {"content-type": "application/json"},
                 "grant_type": "refresh_token"}


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log() -> Iterator[ListHandler]:
    """A fresh logger (its own name, not propagating) with a handler that keeps every record;
    the logger is handler.logger, at DEBUG unless a test changes it."""
    logger = logging.getLogger(f"flexiti_auth_test.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = ListHandler()
    logger.addHandler(handler)
    handler.logger = logger  # type: ignore[attr-defined]
    yield handler
    logger.removeHandler(handler)


def messages(records: List[logging.LogRecord], level: Optional[int] = None) -> List[str]:
    return [r.getMessage() for r in records if level is None or r.levelno == level]


def file_levels(path: Path) -> set:
    """The levels of the lines the library appended to a log_file."""
    levels = set()
    for line in path.read_text().splitlines():
        m = LINE.fullmatch(line)
        assert m, line
        levels.add(m.group(1))
    return levels


def test_decisions_reach_the_flexiti_auth_logger_at_debug_and_info(token_server, caplog):
    caplog.set_level(logging.DEBUG, logger="flexiti_auth")
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as c:  # default logger and level
        assert c.logger is logging.getLogger("flexiti_auth")
        first = c.get_token()
        cached = c.get_token(use_cache=True)
        refreshed = c.get_token()
    assert cached == first and refreshed["access_token"] != first["access_token"]

    records = [r for r in caplog.records if r.name == "flexiti_auth"]
    decisions = [(r.levelno, r.getMessage()) for r in records if r.getMessage().startswith("decision=")]
    a, b = first["access_token"][:4], refreshed["access_token"][:4]
    assert len(decisions) == 3
    assert decisions[0] == (logging.INFO, f"decision=new access_token {a}… expires_in {EXPIRES_IN} s")
    assert decisions[1][0] == logging.DEBUG
    assert re.fullmatch(rf"decision=cached access_token {a}… age [01] s, valid for 11[34]\d s more", decisions[1][1])
    assert decisions[2] == (logging.INFO, f"decision=refreshed access_token {b}… expires_in {EXPIRES_IN} s")

    url = token_server.url + TOKEN_PATH.lstrip("/")
    posts = [m for m in messages(records, logging.DEBUG) if m.startswith("POST ")]
    assert len(posts) == 2
    assert re.fullmatch(rf"POST {re.escape(url)} grant_type=client_credentials attempt 1/3: HTTP 200 in \d+ ms", posts[0])
    assert re.fullmatch(rf"POST {re.escape(url)} grant_type=refresh_token attempt 1/3: HTTP 200 in \d+ ms", posts[1])

    for r in records:
        # logging adds its own time and level: the message is the library's text without them;
        # the whole line is kept as record.flexiti_line.
        m = LINE.fullmatch(r.flexiti_line)
        assert m, r.flexiti_line
        assert m.group(2) == r.getMessage()
        assert {"DEBUG": logging.DEBUG, "INFO": logging.INFO}[m.group(1)] == r.levelno
        assert r.threadName == threading.current_thread().name


def test_a_failure_is_an_error_record_and_a_retry_a_warning(token_server, log):
    token_server.faults({"status": 503, "count": 1}, INVALID_CLIENT)
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger) as c:
        with pytest.raises(AuthRejectedError) as err:
            c.get_token()
    (warning,) = messages(log.records, logging.WARNING)
    assert re.fullmatch(r"client_credentials grant attempt 1/3 failed \(FLX_ERR_HTTP_STATUS\); retry 1 in \d+ ms", warning)
    (error,) = messages(log.records, logging.ERROR)
    assert error == f"token request failed: FLX_ERR_AUTH_REJECTED: {err.value.message}"
    assert "invalid_client" in error
    assert [r.levelno for r in log.records if r.levelno >= logging.INFO] == [logging.WARNING, logging.ERROR]


def test_no_record_contains_a_secret_or_a_token(token_server, log):
    wrong_secret = "wrong-" + uuid.uuid4().hex
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger, max_retries=1) as c:
        c.get_token()                                   # new
        c.get_token(use_cache=True)                     # cached
        c.access_token(use_cache=True)
        c.get_token()                                   # refreshed
        token_server.faults(INVALID_GRANT)
        c.get_token()                                   # refresh refused: fallback
        token_server.faults({"status": 503, "count": 1})
        c.get_token()                                   # a retried refresh
        token_server.faults({"status": 503, "count": 2})
        with pytest.raises(flexiti_auth.HttpStatusError):
            c.get_token()                               # a refresh that fails for good
        c.import_session(c.export_session())
        c.get_token(use_cache=True)
        token_server.expire()
        c.get_token()                                   # the server refuses the expired refresh token
    with Client(token_server.url, CLIENT_ID, wrong_secret, logger=log.logger, max_retries=0) as bad:
        with pytest.raises(AuthRejectedError):
            bad.get_token()

    issued = token_server.issued()
    forms = [r["form"] for r in token_server.requests()]
    secrets = {CLIENT_SECRET, wrong_secret}
    secrets.update(issued["access_tokens"], issued["refresh_tokens"])
    secrets.update(f["refresh_token"] for f in forms if "refresh_token" in f)
    secrets.update(f["client_secret"] for f in forms)
    assert len(issued["access_tokens"]) >= 5 and len(issued["refresh_tokens"]) >= 5
    assert all(len(s) >= 16 for s in secrets)

    levels = {r.levelno for r in log.records}
    assert levels == {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR}
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s %(flexiti_line)s")
    for r in log.records:
        text = formatter.format(r) + repr(r.__dict__)
        for s in secrets:
            assert s not in text, f"a secret or token in a log record: {r.getMessage()!r}"


def test_level_off_produces_no_records_and_no_lines(token_server, log, tmp_path):
    log_file = tmp_path / "flx.log"
    # Explicitly off, with the logger at DEBUG.
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger, log_level="off",
                log_file=log_file, max_retries=1) as c:
        token_server.faults({"status": 503, "count": 1})
        c.get_token()
        c.get_token(use_cache=True)
        token_server.faults(INVALID_CLIENT)
        c.clear()
        with pytest.raises(AuthRejectedError):
            c.get_token()
    assert log.records == []
    assert log_file.read_text() == ""

    # A logger that lets nothing through (above ERROR): the library is set to off.
    log.logger.setLevel(logging.CRITICAL)
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger, log_file=log_file) as c:
        assert c.set_log_level() == "off"
        token_server.faults(INVALID_CLIENT)
        with pytest.raises(AuthRejectedError):
            c.get_token()
    assert log.records == []
    assert log_file.read_text() == ""


def _run_every_level(c: Client, token_server) -> None:
    """Make the library produce lines at all four levels."""
    token_server.faults({"status": 503, "count": 1})
    c.get_token()                 # WARN (retry), DEBUG (attempts), INFO (decision)
    c.get_token(use_cache=True)   # DEBUG (cached)
    c.clear()
    token_server.faults(INVALID_CLIENT)
    with pytest.raises(AuthRejectedError):
        c.get_token()             # ERROR


@pytest.mark.parametrize(
    "py_level, expected",
    [
        (logging.DEBUG, {"DEBUG", "INFO", "WARN", "ERROR"}),
        (logging.INFO, {"INFO", "WARN", "ERROR"}),
        (15, {"INFO", "WARN", "ERROR"}),
        (logging.WARNING, {"WARN", "ERROR"}),
        (logging.ERROR, {"ERROR"}),
        (logging.CRITICAL, set()),
    ],
)
def test_library_level_follows_the_loggers_effective_level(token_server, log, tmp_path, py_level, expected):
    # The level comes from a parent: the child logger, passed by name, is NOTSET.
    log.logger.setLevel(py_level)
    child = log.logger.name + ".child"
    log_file = tmp_path / "flx.log"  # what the library itself produced, whatever Python filters
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=child, log_file=log_file) as c:
        assert c.logger is logging.getLogger(child)
        _run_every_level(c, token_server)
    assert file_levels(log_file) == expected
    by_name = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARN", logging.ERROR: "ERROR"}
    assert {by_name[r.levelno] for r in log.records} == expected
    assert all(r.name == child for r in log.records)


def test_explicit_log_level_wins_over_the_logger(token_server, log, tmp_path):
    log.logger.setLevel(logging.CRITICAL)
    log_file = tmp_path / "debug.log"
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger, log_level="debug", log_file=log_file) as c:
        _run_every_level(c, token_server)
    assert file_levels(log_file) == {"DEBUG", "INFO", "WARN", "ERROR"}
    assert log.records == []  # Python still filters what its logger does not want

    log.logger.setLevel(logging.DEBUG)
    log_file = tmp_path / "warn.log"
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger, log_level=logging.WARNING, log_file=log_file) as c:
        _run_every_level(c, token_server)
    assert file_levels(log_file) == {"WARN", "ERROR"}
    assert {r.levelno for r in log.records} == {logging.WARNING, logging.ERROR}


def test_set_log_level_changes_it_later(token_server, log):
    log.logger.setLevel(logging.WARNING)
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger) as c:
        c.get_token()
        log.logger.setLevel(logging.DEBUG)  # the library level was set at construction: still warn
        c.get_token(use_cache=True)
        assert log.records == []

        assert c.set_log_level() == "debug"  # re-read from the logger
        c.get_token(use_cache=True)
        assert [r.levelno for r in log.records] == [logging.DEBUG]

        assert c.set_log_level("info") == "info"
        c.get_token(use_cache=True)
        c.get_token()
        assert [r.levelno for r in log.records[1:]] == [logging.INFO]
        assert log.records[1].getMessage().startswith("decision=refreshed ")

        assert c.set_log_level(logging.CRITICAL) == "off"
        c.get_token()
        assert len(log.records) == 2

        for bad in ("verbose", 1.5, True, b"debug"):
            with pytest.raises(InvalidArgumentError, match="log_level"):
                c.set_log_level(bad)  # type: ignore[arg-type]
        c.get_token()
        assert len(log.records) == 2  # still off after the refused changes

        assert c.set_log_level("WARNING") == "warn"
        assert c.set_log_level(" Debug ") == "debug"
        c.get_token(use_cache=True)
        assert len(log.records) == 3


def test_logger_argument_is_checked(token_server):
    with pytest.raises(InvalidArgumentError, match="logger"):
        Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=42)  # type: ignore[arg-type]


def test_records_come_from_the_calling_thread(token_server, log):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger) as c:
        c.get_token()
        del log.records[:]
        names = [f"flx-caller-{i}" for i in range(8)]
        barrier = threading.Barrier(len(names))

        def worker() -> None:
            barrier.wait()
            for _ in range(25):
                c.access_token(use_cache=True)

        threads = [threading.Thread(target=worker, name=n) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    cached = [r for r in log.records if r.getMessage().startswith("decision=cached ")]
    assert len(cached) == 8 * 25
    assert {r.threadName for r in cached} == set(names)
    counts = {n: sum(r.threadName == n for r in cached) for n in names}
    assert set(counts.values()) == {25}


def test_a_failing_handler_never_breaks_a_call(token_server, log):
    class Broken(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise RuntimeError("broken filter")

    broken = Broken()
    log.logger.addFilter(broken)
    try:
        with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger) as c:
            token = c.get_token()
            assert c.get_token(use_cache=True) == token
            assert token["access_token"] in token_server.issued()["access_tokens"]
    finally:
        log.logger.removeFilter(broken)
    assert log.records == []


def test_a_handler_may_call_the_client_back(token_server, log):
    seen: List[Dict] = []

    class Reentrant(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("decision="):
                seen.append(client.stats())

    log.logger.addHandler(Reentrant())
    client = Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger)
    done = threading.Event()

    def run() -> None:
        client.get_token()
        client.get_token(use_cache=True)
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert done.wait(20), "a log handler calling the client back deadlocked"
    client.close()
    assert [s["new_tokens"] for s in seen] == [1, 1]
    assert [s["cache_hits"] for s in seen] == [0, 1]


def test_ctrl_c_in_a_handler_is_raised_when_the_call_returns(token_server, log):
    """Ctrl-C pressed during a slow request surfaces in the first log callback: it cannot unwind
    through C, so the call raises it on return (the token it got is kept)."""

    class Interrupting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("decision=new "):
                raise KeyboardInterrupt

    handler = Interrupting()
    log.logger.addHandler(handler)
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, logger=log.logger) as c:
        with pytest.raises(KeyboardInterrupt):
            c.get_token()
        log.logger.removeHandler(handler)
        assert messages(log.records, logging.INFO)[0].startswith("decision=new ")  # the other handler ran
        (issued,) = token_server.issued()["access_tokens"]
        assert c.access_token(use_cache=True) == issued  # no new request: the token was kept
        assert len(token_server.requests()) == 1
        log.logger.addFilter(lambda r: sys.exit(3))
        with pytest.raises(SystemExit):
            c.access_token(use_cache=True)


def test_stats_count_a_scripted_flow(token_server):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=1) as c:
        s = c.stats()
        assert s["requests"] == {"client_credentials": 0, "refresh_token": 0}
        assert (s["cache_hits"], s["new_tokens"], s["refreshes"], s["fallbacks"], s["retries"]) == (0, 0, 0, 0, 0)
        assert set(s["failures"].values()) == {0} and "FLX_ERR_AUTH_REJECTED" in s["failures"]
        assert s["token_held"] is False and s["token_age_secs"] is None and s["last_error_time"] is None

        c.get_token()                                    # client_credentials
        for _ in range(3):
            c.get_token(use_cache=True)                  # cache hits
        c.access_token(use_cache=True)
        c.get_token()                                    # refresh_token
        token_server.faults(INVALID_GRANT)
        c.get_token()                                    # refresh_token refused, client_credentials
        c.clear()
        token_server.faults({"status": 503, "count": 1})
        c.get_token(use_cache=True)                      # client_credentials twice (one retry)
        held = c.stats()
        c.clear()
        token_server.faults(INVALID_CLIENT)
        with pytest.raises(AuthRejectedError):
            c.get_token()                                # client_credentials, failed
        s = c.stats()

    grants = [r["form"]["grant_type"] for r in token_server.requests()]
    assert s["requests"] == {
        "client_credentials": grants.count("client_credentials"),
        "refresh_token": grants.count("refresh_token"),
    } == {"client_credentials": 5, "refresh_token": 2}
    assert s["cache_hits"] == 4
    assert (s["new_tokens"], s["refreshes"], s["fallbacks"], s["retries"]) == (2, 1, 1, 1)
    assert s["failures"]["FLX_ERR_AUTH_REJECTED"] == 1
    assert sum(s["failures"].values()) == 1
    assert s["last_error_code"] == 4 and s["last_error_name"] == "FLX_ERR_AUTH_REJECTED"
    assert isinstance(s["last_error_time"], int) and s["last_error_time"] > 0
    assert s["token_held"] is False

    assert held["token_held"] is True
    assert held["token_expires_in"] == EXPIRES_IN
    assert held["token_age_secs"] in (0, 1)
    assert held["token_valid_for_secs"] == EXPIRES_IN - 60 - held["token_age_secs"]


def test_stats_of_a_closed_client_raise(token_server):
    c = Client(token_server.url, CLIENT_ID, CLIENT_SECRET)
    c.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        c.stats()


GC_SCRIPT = """
import gc, logging, sys
from flexiti_auth import Client, _native

url, client_id, secret = sys.argv[1:4]
logger = logging.getLogger("gc-test")
logger.setLevel(logging.DEBUG)
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logger.addHandler(Keep())
decoy_calls = []
def decoy(level, line, user):
    decoy_calls.append(line)

c = Client(url, client_id, secret, logger=logger)
c.get_token()
del records[:]
decoys = []
for i in range(40):
    gc.collect()
    decoys.append(_native.LOG_CALLBACK(decoy))
    # Other clients with logging on come and go, closed or garbage-collected.
    other = Client(url, client_id, secret, logger=logger, log_level="off")
    if i % 2:
        other.close()
    del other
    gc.collect()
    c.access_token(use_cache=True)
c.close()
gc.collect()
print(len(records), sum(m.startswith("decision=cached ") for m in records), len(decoy_calls))
"""


def test_the_callback_survives_garbage_collection(token_server):
    """Only the Client keeps its callback alive. Freed ctypes callbacks have their code slot reused
    by the next ones made: if the client's were collected, its calls would land in a decoy or
    crash (hence a separate process)."""
    r = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", GC_SCRIPT, token_server.url, CLIENT_ID, CLIENT_SECRET],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}"
    assert r.stdout.split() == ["40", "40", "0"]  # 40 records, all cached decisions, no decoy call
    assert r.stderr == ""


def test_close_with_logging_on_is_clean(token_server, tmp_path):
    code = f"""
import gc, logging, sys, flexiti_auth
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(levelname)s %(message)s")
url = {token_server.url!r}
a = flexiti_auth.Client(url, {CLIENT_ID!r}, {CLIENT_SECRET!r})
a.get_token(); a.get_token(use_cache=True)
a.close(); a.close()
print("closed a")
try:
    a.get_token(use_cache=True)
except flexiti_auth.InvalidArgumentError as e:
    print("after close:", e)
b = flexiti_auth.Client(url, {CLIENT_ID!r}, {CLIENT_SECRET!r})
b.get_token(use_cache=True)
del b; gc.collect()  # never closed: released by the garbage collector
print("collected b")
with flexiti_auth.Client(url, {CLIENT_ID!r}, {CLIENT_SECRET!r}) as c:
    c.access_token(use_cache=True)
    keep = c  # interpreter exit with a live client too
keep2 = flexiti_auth.Client(url, {CLIENT_ID!r}, {CLIENT_SECRET!r})
keep2.get_token()
print("end")
"""
    env = dict(os.environ)
    env.pop("FLX_LOG", None)
    r = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout.splitlines()
    assert out[out.index("closed a") + 1] == "after close: this flexiti_auth.Client is closed"
    assert out[out.index("closed a") - 1].startswith("DEBUG decision=cached ")
    assert sum(line.startswith("INFO decision=new ") for line in out) == 4
    assert out[-1] == "end"


EXIT_SCRIPT = """
import logging, sys, threading, flexiti_auth
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(threadName)s %(message)s")
url = sys.argv[1]
clients = [flexiti_auth.Client(url, "flexiti-test-client", "flexiti-test-secret") for _ in range(2)]
for c in clients:
    c.get_token()
logging_threads = set()
busy = threading.Event()
class Watch(logging.Filter):
    def filter(self, record):
        if record.threadName != "MainThread":
            logging_threads.add(record.threadName)
            if len(logging_threads) == 4:  # every spinner is logging
                busy.set()
        return True
logging.getLogger("flexiti_auth").addFilter(Watch())
def spin(c):
    while True:  # every call logs a DEBUG line through the callback
        c.access_token(use_cache=True)
for i in range(4):
    threading.Thread(target=spin, args=(clients[i % 2],), daemon=True).start()
assert busy.wait(20)
print("exiting")
"""


def test_interpreter_exit_while_daemon_threads_log_is_clean(token_server):
    """Python < 3.14 ends daemon threads that take the GIL after finalisation began: inside a log
    callback that would abort the process. The callbacks are unregistered at exit first."""
    for _ in range(5):
        r = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, token_server.url], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}"
        assert r.stderr == ""
        assert "exiting" in r.stdout
        assert "decision=cached " in r.stdout


def test_without_logging_configured_nothing_is_printed_but_flx_log_still_works(token_server):
    code = f"""
import flexiti_auth
with flexiti_auth.Client({token_server.url!r}, {CLIENT_ID!r}, "wrong-secret", max_retries=1) as c:
    try:
        c.get_token()
    except flexiti_auth.AuthRejectedError:
        print("rejected")
with flexiti_auth.Client({token_server.url!r}, {CLIENT_ID!r}, {CLIENT_SECRET!r}) as c:
    c.get_token(); c.get_token(use_cache=True)
"""
    env = dict(os.environ)
    env.pop("FLX_LOG", None)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "rejected\n"
    assert r.stderr == ""  # a library's records are the application's to print

    # FLX_LOG (the library's own stderr switch) is not overridden by the default logger level.
    env["FLX_LOG"] = "debug"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert all(LINE.fullmatch(line) for line in lines), r.stderr
    assert any(" ERROR flexiti-auth: token request failed: FLX_ERR_AUTH_REJECTED" in line for line in lines)
    assert any(" DEBUG flexiti-auth: decision=cached " in line for line in lines)
    assert "wrong-secret" not in r.stderr and CLIENT_SECRET not in r.stderr


def test_readme_logging_example_runs(token_server, tmp_path):
    text = README.read_text()
    section = text.split("## Logging", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Logging section has one python example"
    code = blocks[0]
    assert EXAMPLE_URL in code
    script = tmp_path / "logging_example.py"
    script.write_text(code.replace(EXAMPLE_URL, token_server.url))
    env = dict(os.environ)
    env.pop("FLX_LOG", None)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    assert any(re.search(r"INFO flexiti_auth: decision=new access_token \S+… expires_in 1200 s$", l) for l in err), r.stderr
    assert any(re.search(r"DEBUG flexiti_auth: decision=cached ", l) for l in err), r.stderr
    assert any(re.search(r"INFO flexiti_auth: decision=refreshed ", l) for l in err), r.stderr
    stats = json.loads(r.stdout.splitlines()[-1])
    assert stats["requests"] == {"client_credentials": 1, "refresh_token": 1}
    assert stats["cache_hits"] == 1
    for secret in [CLIENT_SECRET, *token_server.issued()["access_tokens"], *token_server.issued()["refresh_tokens"]]:
        assert secret not in r.stderr + r.stdout
