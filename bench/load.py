"""Driving wrk and reading what it says.

Each scenario is one wrk run (`-t1 -c16` by default) after a short warm-up, with
a generated Lua script when the request needs headers or a body. Only
127.0.0.1 is ever targeted.
"""

import re
import subprocess
import tempfile
from dataclasses import dataclass, field

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Lua: print the percentiles and counts wrk knows, in a line this module parses
# (wrk counts answers with status 400 or above in errors.status; timeouts, requests
# unanswered after --timeout, are among the socket errors and also on their own).
DONE = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %.1f %.1f %d\\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50),
    latency:percentile(99), summary.errors.timeout))
end
"""
CREATE_POST = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"title": "Bench post %d %d", "body": "%s", '
    .. '"status": "published", "tags": ["bench", "python"]}',
    counter, math.random(1, 1000000000), string.rep("Some words for the body. ", 40))
  return wrk.format("POST", nil, nil, body)
end
"""

# A client revalidating its copy: the first answer's ETag, sent back in
# If-None-Match on every request after it (so all but one answer is a 304).
REVALIDATE = """
local etag = nil
request = function()
  if etag then wrk.headers["If-None-Match"] = etag end
  return wrk.format()
end
response = function(status, headers, body)
  if etag == nil then etag = headers["ETag"] or headers["etag"] end
end
"""
GZIP = 'wrk.headers["Accept-Encoding"] = "gzip"'


@dataclass
class Scenario:
    name: str
    path: str
    token: bool = False
    method: str = "GET"
    lua: str = ""
    target: str = "folio"  # or "floor"
    note: str = ""
    result: dict = field(default_factory=dict)


def lua_script(scenario, token):
    lines = [f'wrk.method = "{scenario.method}"']
    if scenario.method != "GET":
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    if scenario.token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    return "\n".join([*lines, scenario.lua, DONE])


def run_wrk(url, script, *, seconds, connections):
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            lua.name,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    output = done.stdout
    return parse(output, seconds)


def parse(output, seconds):
    """Requests/s, p50/p99 (ms), non-2xx and socket errors from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests, failed, errors, p50_us, p99_us, timeouts = re.search(
        r"BENCH (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", output
    ).groups()
    return {
        "rps": round(rps, 1),
        "p50_ms": round(float(p50_us) / 1000, 2),
        "p99_ms": round(float(p99_us) / 1000, 2),
        "requests": int(requests),
        "errors_4xx_5xx": int(failed),
        "socket_errors": int(errors),
        "timeouts": int(timeouts),
        "seconds": seconds,
    }


def measure(base_url, scenario, token, *, warmup, seconds, connections):
    script = lua_script(scenario, token)
    url = f"{base_url}{scenario.path}"
    run_wrk(url, script, seconds=warmup, connections=connections)
    return run_wrk(url, script, seconds=seconds, connections=connections)


def median_round(results):
    """The round with the median requests/s (its latencies with it), and every
    round's requests/s beside it."""
    ordered = sorted(results, key=lambda result: result["rps"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["rounds_rps"] = [result["rps"] for result in results]
    median["errors_4xx_5xx"] = sum(result["errors_4xx_5xx"] for result in results)
    median["socket_errors"] = sum(result["socket_errors"] for result in results)
    return median
