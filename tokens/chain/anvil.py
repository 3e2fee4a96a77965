"""A local anvil node run as a child process (tests, the demo, benchmarks).

The binary comes from the npm package ``@foundry-rs/anvil`` and is started directly, never
through npx, so its PID is ours to stop.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Must accept every opcode of the evmVersion pinned in tokens/contracts/compile.js.
HARDFORK = "cancun"

_PLATFORM_PACKAGES = {
    ("Linux", "x86_64"): "anvil-linux-amd64",
    ("Linux", "aarch64"): "anvil-linux-arm64",
    ("Darwin", "x86_64"): "anvil-darwin-amd64",
    ("Darwin", "arm64"): "anvil-darwin-arm64",
}


class AnvilError(RuntimeError):
    pass


def anvil_binary() -> Path:
    override = os.environ.get("ANVIL_BIN")
    if override:
        return Path(override)
    package = _PLATFORM_PACKAGES.get((platform.system(), platform.machine()), "anvil-linux-amd64")
    return PROJECT_ROOT / "node_modules" / "@foundry-rs" / package / "bin" / "anvil"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """Start with ``Anvil(...).start()`` or ``with Anvil(...) as node:``; read ``node.rpc_url``.

    ``state_path`` makes the chain survive restarts (``--state``: loaded at start, written when
    the node stops and every ``state_interval`` seconds). ``accounts`` funded dev accounts are
    unlocked for ``eth_sendTransaction``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        state_path: str | os.PathLike[str] | None = None,
        state_interval: int | None = None,
        accounts: int = 10,
        chain_id: int = 31337,
        block_time: int | None = None,
        gas_limit: int | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.port = port or free_port()
        self.state_path = Path(state_path) if state_path else None
        self.state_interval = state_interval
        self.accounts = accounts
        self.chain_id = chain_id
        self.block_time = block_time
        self.gas_limit = gas_limit
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        cmd = [
            str(anvil_binary()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts),
            "--hardfork",
            HARDFORK,
            "--silent",
        ]
        if self.state_path:
            cmd += ["--state", str(self.state_path)]
            if self.state_interval:
                cmd += ["--state-interval", str(self.state_interval)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        if self.gas_limit:
            cmd += ["--gas-limit", str(self.gas_limit)]
        return cmd

    def start(self) -> Anvil:
        if self.process:
            return self
        binary = anvil_binary()
        if not binary.exists():
            raise AnvilError(f"anvil not found at {binary}; run `npm ci` first")
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.process = None
                raise AnvilError(f"anvil exited at start: {stderr.strip()}")
            try:
                chain_id = self.rpc("eth_chainId")
                if isinstance(chain_id, str) and int(chain_id, 16) == self.chain_id:
                    return self
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.05)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.rpc_url} within {self.startup_timeout}s")

    def rpc(self, method: str, params: list[object] | None = None) -> object:
        """A raw JSON-RPC call (snapshots, time travel) without needing web3."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        # Always plain HTTP to the loopback address the node was started on.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", "/", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            reply = json.loads(response.read())
        finally:
            connection.close()
        if "error" in reply:
            raise AnvilError(f"{method}: {reply['error']}")
        return reply["result"]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT first so anvil writes its --state file, then SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
        finally:
            if process.stderr:
                process.stderr.close()

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # A forgotten node must not outlive the interpreter that started it.
        if getattr(self, "process", None) is not None:
            self.stop(timeout=2.0)
