"""DESIGN.md's layer rules hold: import-linter checks the contracts in pyproject.toml.

Blueprints never import each other; services never import blueprints or
schemas, directly or through another module; models never import services,
blueprints or schemas; core never imports a blueprint, a service or a schema
(the exceptions are named in pyproject.toml). A change that breaks one fails
here with the import chain that broke it.
"""

import subprocess
import sys
from pathlib import Path

from config import BASE_DIR


def test_the_layer_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=BASE_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
