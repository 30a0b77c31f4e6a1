"""is_access_token_expired: the guide's rule, from the native library."""

from __future__ import annotations

import time

import pytest

from flexiti_auth import Client, InvalidArgumentError, is_access_token_expired


def test_boundary_of_the_rule():
    # 1200 s lifetime, 60 s threshold: valid for ages 0..1139, expired from 1140 on.
    assert not is_access_token_expired(1000, 1200, now=1000 + 1139)
    assert is_access_token_expired(1000, 1200, now=1000 + 1140)
    assert not is_access_token_expired(1000, 1200, 1000)
    assert is_access_token_expired(1000, 1200, 1000 + 899, threshold=300) is False
    assert is_access_token_expired(1000, 1200, 1000 + 900, threshold=300) is True


def test_lifetime_at_or_below_threshold_is_always_expired():
    assert is_access_token_expired(0, 60, 0, 60)
    assert is_access_token_expired(0, 10, -100, 60)
    assert not is_access_token_expired(0, 61, 0, 60)


def test_now_defaults_to_the_current_time():
    t = int(time.time())
    assert not is_access_token_expired(t, 1200)
    assert is_access_token_expired(t - 1140, 1200)
    assert not is_access_token_expired(t - 1137, 1200)  # a tick or two of slack


def test_floats_are_rounded_down():
    assert not is_access_token_expired(1000.9, 1200, now=2139.99)
    assert is_access_token_expired(1000.0, 1200, now=2140.0)


def test_extreme_values_do_not_wrap():
    assert is_access_token_expired(-(2**63), 1200, 2**63 - 1, 60)
    assert not is_access_token_expired(2**63 - 1, 1200, -(2**63), 60)


@pytest.mark.parametrize("args", [(2**63, 1200, 0, 60), (0, "1200", 0, 60), (0, None, 0, 60), (0, 1200, float("nan"), 60), (True, 1200, 0, 60)])
def test_bad_values(args):
    with pytest.raises(InvalidArgumentError):
        is_access_token_expired(*args)


def test_also_a_static_method():
    assert Client.is_access_token_expired(1000, 1200, 2140) is True
    assert Client.is_access_token_expired(1000, 1200, 2139) is False
