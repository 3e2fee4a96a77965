"""`make lint` runs `lint-imports` with the contracts in pyproject.toml: the tree keeps them, and a planted
forbidden import breaks the contract it offends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # lint-imports puts its working directory first on the path, so a package there stands in for the tree's.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_import_contract(tmp_path: Path) -> None:
    result = _lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


LAYERS = "Domain apps depend downwards only"
KERNEL = "core is the kernel"


@pytest.mark.parametrize(
    ("package", "planted", "broken"),
    [
        ("core", "import offerings.models", {LAYERS, KERNEL}),
        ("core", "import tokens.models", {KERNEL}),
        ("investors", "import compliance.models", {LAYERS}),
        ("registry", "import distributions.models", {LAYERS}),
        ("registry", "import web3", {"Only tokens.chain imports web3"}),
        ("registry", "import eth_account", {"Only tokens.chain imports web3"}),
        ("registry", "import stripe", {"Only offerings.payments.stripe imports stripe"}),
        ("registry", "from tokens.outbox import outbox_flush", {"Other apps use tokens through tokens.services"}),
        # demo.seed declares the demo's dividend, so through it registry would also reach distributions, above it.
        ("registry", "import demo.seed", {"demo may import anything; nothing imports demo", LAYERS}),
    ],
)
def test_a_planted_forbidden_import_fails_lint(tmp_path: Path, package: str, planted: str, broken: set[str]) -> None:
    # A stand-in for one app of the tree, holding nothing but the planted import.
    app = tmp_path / package
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "planted.py").write_text(planted + "\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    broken_lines = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert {name for name in broken for line in broken_lines if line.startswith(name)} == broken, result.stdout
    assert len(broken_lines) == len(broken), result.stdout
    assert f"{package}.planted -> " in result.stdout
