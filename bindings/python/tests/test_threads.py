"""One client shared by many threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List

from conftest import CLIENT_ID, CLIENT_SECRET
from flexiti_auth import Client, InvalidArgumentError

THREADS = 16
CALLS = 50


def test_many_threads_share_one_client(token_server):
    barrier = threading.Barrier(THREADS)
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as c:

        def worker(n: int) -> List[str]:
            barrier.wait()
            got = []
            for i in range(CALLS):
                kind = (n + i) % 4
                if kind == 0:
                    got.append(c.access_token(use_cache=False))
                elif kind == 1:
                    got.append(c.get_token(use_cache=False)["access_token"])
                elif kind == 2:
                    got.append(c.get_token(use_cache=True)["access_token"])
                else:
                    got.append(c.access_token(use_cache=True))
            return got

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(worker, range(THREADS)))
        final = c.access_token(use_cache=True)

    tokens = [t for r in results for t in r]
    assert len(tokens) == THREADS * CALLS
    issued = set(token_server.issued()["access_tokens"])
    assert set(tokens) <= issued  # every token returned was issued by the server
    assert final in issued
    reqs = token_server.requests()
    assert all(r["status"] == 200 for r in reqs)  # no refresh token was ever reused
    assert reqs[0]["form"]["grant_type"] == "client_credentials"
    assert all(r["form"]["grant_type"] == "refresh_token" for r in reqs[1:])
    # at most one request per uncached call (concurrent callers may share one)
    assert len(reqs) <= THREADS * CALLS // 2 + 1


def test_threads_with_their_own_errors(token_server):
    """The library's last error is per thread: each thread sees its own failure."""
    barrier = threading.Barrier(8)
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as good, Client(token_server.url, CLIENT_ID, "wrong", max_retries=0) as bad:

        def worker(n: int) -> str:
            barrier.wait()
            out = []
            for _ in range(20):
                if n % 2:
                    try:
                        bad.get_token()
                        out.append("bad-succeeded")
                    except Exception as e:  # noqa: BLE001
                        out.append(type(e).__name__)
                else:
                    good.access_token(use_cache=True)
                    try:
                        good.import_session("{}")
                        out.append("import-succeeded")
                    except Exception as e:  # noqa: BLE001
                        out.append(type(e).__name__)
            return ",".join(sorted(set(out)))

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(worker, range(8)))
    assert results == ["SessionError", "AuthRejectedError"] * 4


def test_close_while_other_threads_call(token_server):
    """close() never frees the handle under a running call; later calls are refused cleanly."""
    c = Client(token_server.url, CLIENT_ID, CLIENT_SECRET)
    c.get_token()
    started = threading.Barrier(9)
    outcomes: List[str] = []
    lock = threading.Lock()

    def worker() -> None:
        started.wait()
        while True:
            try:
                c.access_token(use_cache=False)
                with lock:
                    outcomes.append("token")
            except InvalidArgumentError as e:
                assert "closed" in e.message
                with lock:
                    outcomes.append("closed")
                return

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    started.wait()
    while True:
        with lock:
            if outcomes.count("token") >= 8:
                break
        time.sleep(0.001)
    c.close()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert outcomes.count("closed") == 8
    assert c.closed
