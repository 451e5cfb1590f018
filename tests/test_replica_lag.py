"""How far behind a replica is, dated against the primary's sampled positions
(app/core/replicas.py `PositionHistory`): pure arithmetic, no server needed;
and how a user's write position is kept in Redis."""

import math
import os
import uuid

import pytest
from redis import Redis

from app.core.replicas import WRITE_POSITION_KEY, PositionHistory, ReplicaSet


def history(*samples, keep_s=10):
    positions = PositionHistory(keep_s=keep_s)
    for sampled_at, position in samples:
        positions.add(sampled_at, position)
    return positions


def test_a_replica_that_replayed_the_last_sample_is_not_behind():
    assert history((0, 100), (1, 200)).lag_s(replayed=200, now=1.5) == 0


def test_an_idle_primary_does_not_make_a_caught_up_replica_look_old():
    """No write for an hour: the position stands still, and so is the replica's."""
    idle = history(*((second, 500) for second in range(0, 3600, 1)), keep_s=10)
    assert idle.lag_s(replayed=500, now=3600) == 0


def test_a_replica_behind_is_as_old_as_the_newest_sample_it_has_passed():
    positions = history((0, 100), (1, 200), (2, 300), (3, 400))
    assert positions.lag_s(replayed=250, now=3.5) == 2.5  # it holds all before t=1


def test_a_replica_behind_every_kept_sample_is_too_far_behind():
    positions = history((0, 100), (20, 200), (30, 300), keep_s=10)  # t=0 dropped
    assert math.isinf(positions.lag_s(replayed=150, now=30))


def test_samples_older_than_kept_are_dropped():
    positions = history((0, 1), (5, 2), (11, 3), keep_s=10)
    assert [sampled_at for sampled_at, _ in positions.samples] == [5, 11]


@pytest.mark.redis
def test_a_users_earlier_write_never_replaces_their_later_position():
    """Two requests of one user finish in either order: the later position stays."""
    redis = Redis.from_url(os.environ["REDIS_URL"])
    positions = ReplicaSet([], None, max_lag_s=5, redis=redis)
    user_id = f"test-{uuid.uuid4().hex}"
    key = WRITE_POSITION_KEY.format(user_id)
    try:
        positions.remember(user_id, 2000)
        positions.remember(user_id, 1000)  # the earlier write's request, answered last
        assert int(redis.get(key)) == 2000
        assert 0 < redis.ttl(key) <= 10  # 2 x REPLICA_MAX_LAG_S
        positions.remember(user_id, 3000)
        assert int(redis.get(key)) == 3000
    finally:
        redis.delete(key)
        redis.close()
