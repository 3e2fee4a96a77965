"""Compiled contract artifacts committed under tokens/contracts/build/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

BUILD_DIR = Path(__file__).resolve().parents[1] / "contracts" / "build"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


@cache
def load_artifact(name: str) -> Artifact:
    path = BUILD_DIR / f"{name}.json"
    if not path.exists():
        raise LookupError(f"no artifact {name!r} in {BUILD_DIR}")
    data = json.loads(path.read_text())
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
    )


def artifact_names() -> list[str]:
    return sorted(p.stem for p in BUILD_DIR.glob("*.json"))
