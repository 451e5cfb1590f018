"""bench/report.py judges issue 8's targets on exact ratios from one run, each
scenario's figure being its median round (bench/load.py)."""

import pytest

from bench import load, report


def results(**rps):
    names = {
        "list": "list page 1 (cursor)",
        "floor_list": "floor list page 1",
        "conduit": "Conduit /api/articles",
    }
    return {names[key]: {"rps": value} for key, value in rps.items()}


def target(rows, starts):
    return next(row for row in rows if row["target"].startswith(starts))


def test_a_ratio_just_under_its_target_is_not_met():
    rows = report.ratios(results(list=497.0, floor_list=1000.0))
    assert target(rows, "list page 1") == {
        "target": "list page 1 vs floor",
        "ratio": 0.497,
        "at_least": 0.5,
        "met": False,
    }


@pytest.mark.parametrize(("floor", "conduit", "met"), [(2200, 900, True), (1100, 449, False)])
def test_the_peer_figure_scales_with_this_runs_floor(floor, conduit, met):
    """On the peers' machine (floor 2,200/s) 10x is 900/s; where the floor is half
    as fast, 10x is 450/s."""
    rows = report.ratios(results(floor_list=float(floor), conduit=float(conduit)))
    scaled = target(rows, "Conduit articles vs peers (90/s scaled")
    assert scaled["met"] is met
    assert scaled["ratio"] == pytest.approx(conduit / (90 * floor / 2200), abs=0.001)
    quoted = target(rows, "Conduit articles vs peers (90/s as quoted")
    assert quoted["ratio"] == round(conduit / 90, 3)
    assert quoted["met"] is None  # for reference only


def test_a_scenario_that_did_not_run_leaves_its_target_undecided():
    rows = report.ratios(results(list=500.0))
    assert target(rows, "list page 1")["met"] is None
    assert target(rows, "Conduit articles vs peers (90/s scaled")["met"] is None


def test_a_scenario_counts_its_median_round_and_every_error():
    rounds = [
        {"rps": rps, "p50_ms": p50, "errors_4xx_5xx": errors, "socket_errors": 0}
        for rps, p50, errors in ((500.0, 30.0, 0), (300.0, 50.0, 2), (450.0, 33.0, 1))
    ]
    median = load.median_round(rounds)
    assert (median["rps"], median["p50_ms"]) == (450.0, 33.0)
    assert median["rounds_rps"] == [500.0, 300.0, 450.0]
    assert median["errors_4xx_5xx"] == 3
    assert load.median_round(rounds[:2])["rps"] == 300.0  # even: the lower middle
