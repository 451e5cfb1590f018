"""bench/report.py judges issue 8's targets on exact ratios from one run, each
scenario's figure being its median round (bench/load.py)."""

import pytest

from bench import layers, load, report


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


def test_wrk_timeouts_are_read_on_their_own():
    output = "Requests/sec:   120.50\nBENCH 603 0 7 8100.0 10000000.0 5\n"
    result = load.parse(output, 5)
    assert (result["requests"], result["socket_errors"], result["timeouts"]) == (603, 7, 5)
    assert result["p99_ms"] == 10000.0


def layer_figures(shipped=1500.0, single=4000.0, bare=900.0):
    figures = {f"without {layer}": shipped - 100.0 for layer in layers.LAYERS}
    figures["without limiter"] = shipped - 300.0
    return {
        layers.SHIPPED: shipped,
        **figures,
        layers.BARE: bare,
        "single post, as shipped": single,
    }


def test_a_layer_costs_the_shipped_figure_minus_the_figure_without_it():
    result = layers.costs(layer_figures())
    assert result["layers_us"]["limiter"] == 300.0
    assert result["layers_us"]["CORS"] == 100.0
    assert result["stack_us"] == 600.0
    assert result["stack_share_of_single_post"] == 0.15


@pytest.mark.parametrize(("single", "met"), [(4000.0, "yes"), (3990.0, "no")])
def test_the_stack_target_is_at_most_fifteen_percent_of_a_single_post(single, met):
    result = {
        "endpoint": "/api/v1/tags",
        "cpu_us_per_request": layer_figures(single=single),
        **layers.costs(layer_figures(single=single)),
    }
    assert report.layers_table(result).splitlines()[-1].endswith(f"at most 0.15: {met} |")


def test_every_layer_is_off_in_the_bare_configuration_and_only_its_own_in_its_own():
    configurations = layers.configurations()
    bare = configurations[layers.BARE]
    assert set(bare["BENCH_LAYERS_OFF"].split(",")) == {"metrics", "request_id", "security_headers"}
    assert (bare["RATELIMIT_ENABLED"], bare["LOG_LEVEL"], bare["CORS_ORIGINS"]) == (
        "false",
        "WARNING",
        "",
    )
    assert configurations[layers.SHIPPED] == {}
    assert configurations["without metrics"] == {"BENCH_LAYERS_OFF": "metrics"}


def test_conduit_endpoints_are_held_against_the_floor():
    rows = report.ratios(
        {
            "floor list page 1": {"rps": 1000.0},
            "floor single post": {"rps": 2000.0},
            "Conduit feed": {"rps": 499.0},
            "Conduit GET /api/tags": {"rps": 1000.0},
        }
    )
    assert target(rows, "Conduit feed vs floor list")["met"] is False
    assert target(rows, "Conduit GET /api/tags vs floor single")["met"] is True
    assert target(rows, "Conduit single article vs floor single")["met"] is None


def test_a_layer_server_keeps_its_one_worker_for_the_whole_scenario():
    """gunicorn.conf.py recycles a worker after about 10,000 requests as shipped; a
    recycled worker's CPU count leaves with it, and the layer's figure with it."""
    env = layers.layer_env({"GUNICORN_MAX_REQUESTS": "10000"}, {"LOG_LEVEL": "WARNING"}, 8711)
    assert env["GUNICORN_MAX_REQUESTS"] == "0"
    assert (env["WEB_CONCURRENCY"], env["PORT"], env["LOG_LEVEL"]) == ("1", "8711", "WARNING")


@pytest.mark.parametrize(
    ("scenario", "of", "target_name", "rps", "met"),
    [
        ("GET /tags", "floor single post", "GET /tags vs floor single", (499, 1000), False),
        ("GET /tags", "floor single post", "GET /tags vs floor single", (500, 1000), True),
        (
            "Conduit offset 2000",
            "Conduit /api/articles",
            "Conduit offset 2,000 vs its first page",
            (79, 100),
            False,
        ),
    ],
)
def test_issue_15s_budget_lines_are_judged_from_the_runs_own_ratios(
    scenario, of, target_name, rps, met
):
    rows = report.ratios({scenario: {"rps": rps[0]}, of: {"rps": rps[1]}})
    assert target(rows, target_name)["met"] is met
