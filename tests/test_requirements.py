"""The pinned requirements are compiled from the *.in files (`make requirements`).

Installs read requirements*.txt; people edit requirements*.in. A direct pin
changed in a *.in file without recompiling would install the old version
silently: these tests catch that without the network pip-compile needs.
"""

import re

import pytest

from config import BASE_DIR

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)")


def pins(name):
    found = {}
    for line in (BASE_DIR / name).read_text().splitlines():
        if match := PIN.match(line.split("#")[0].strip()):
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


@pytest.mark.parametrize(
    ("source", "compiled"),
    [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")],
)
def test_every_direct_pin_is_compiled_as_written(source, compiled):
    direct, resolved = pins(source), pins(compiled)
    assert direct, source
    assert {name: resolved.get(name) for name in direct} == direct


def test_the_dev_set_installs_the_same_runtime_versions():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_compiled_files_name_no_local_package_index():
    for compiled in ("requirements.txt", "requirements-dev.txt"):
        text = (BASE_DIR / compiled).read_text()
        assert "--find-links" not in text and "--index-url" not in text, compiled
