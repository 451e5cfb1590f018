"""Concurrent requests: the database, not luck, decides who wins."""

import threading

import pytest

from tests.conftest import PASSWORD


def run_concurrently(app, requests):
    """Fire each (method, path, kwargs) from its own thread at the same moment."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def worker(index, method, path, kwargs):
        client = app.test_client()
        barrier.wait()
        results[index] = getattr(client, method)(path, **kwargs)

    threads = [threading.Thread(target=worker, args=(i, *req)) for i, req in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("attempts", [2, 6])
def test_concurrent_registrations_of_one_email_give_one_201(app, attempts):
    requests = [
        (
            "post",
            "/auth/register",
            {"json": {"username": f"user{i}", "email": "SAME@example.com", "password": PASSWORD}},
        )
        for i in range(attempts)
    ]
    statuses = sorted(r.status_code for r in run_concurrently(app, requests))
    assert statuses == [201] + [409] * (attempts - 1)
