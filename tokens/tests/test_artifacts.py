"""The committed bytecode must be what the reviewed sources compile to."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_committed_artifacts_match_sources() -> None:
    result = subprocess.run(
        ["node", "tokens/contracts/compile.js", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_compiler_settings_are_pinned() -> None:
    import json

    artifact = json.loads((ROOT / "tokens/contracts/build/SecurityToken.json").read_text())
    settings = artifact["compiler"]["settings"]
    assert artifact["compiler"]["version"].startswith("0.8.30")
    assert settings["evmVersion"] == "cancun"
    assert settings["optimizer"]["enabled"] is True
