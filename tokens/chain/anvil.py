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


def port_answers(port: int) -> bool:
    """Whether something already accepts connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _listening_socket_inodes(port: int) -> set[str] | None:
    """The inodes of the sockets listening on `port` (Linux's /proc/net tables); None where there is no /proc."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    inodes: set[str] = set()
    for table in tables:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def serves_port(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds the socket listening on `port`; None when this system cannot tell.

    Another process (an earlier node, another test run's node) can be listening on the port a new node was
    given, and it answers the same chain id: only the socket's owner says whose node answered."""
    inodes = _listening_socket_inodes(port)
    if inodes is None:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) in wanted:
                return True
        except OSError:
            continue
    return False


class Anvil:
    """Start with ``Anvil(...).start()`` or ``with Anvil(...) as node:``; read ``node.rpc_url``.

    ``state_path`` makes the chain survive restarts (``--state``: loaded at start, written when
    the node stops and every ``state_interval`` seconds). ``accounts`` funded dev accounts are
    unlocked for ``eth_sendTransaction``. Two nodes started with the same ``genesis_timestamp`` (by
    default, the second they start in) have the same genesis block.
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
        genesis_timestamp: int | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.chosen_port = port is not None
        self.port = port or free_port()
        self.state_path = Path(state_path) if state_path else None
        self.state_interval = state_interval
        self.accounts = accounts
        self.chain_id = chain_id
        self.block_time = block_time
        self.gas_limit = gas_limit
        self.genesis_timestamp = genesis_timestamp
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
        if self.genesis_timestamp is not None:
            cmd += ["--timestamp", str(self.genesis_timestamp)]
        return cmd

    def start(self) -> Anvil:
        """Start the node and wait until it answers; a port taken by another process is never mistaken for ours.

        A port chosen here (none given) that another process takes first is replaced by a fresh one; a port
        the caller gave that is taken is an error naming it."""
        if self.process:
            return self
        binary = anvil_binary()
        if not binary.exists():
            raise AnvilError(f"anvil not found at {binary}; run `npm ci` first")
        attempts = 1 if self.chosen_port else 5
        failure = ""
        for attempt in range(attempts):
            if port_answers(self.port):
                failure = f"port {self.port} is already served by another process"
            else:
                outcome = self._spawn_and_wait()
                if outcome is None:
                    return self
                failure = outcome
            if attempt + 1 < attempts:
                self.port = free_port()
        raise AnvilError(failure)

    def _spawn_and_wait(self) -> str | None:
        """Spawn anvil on self.port; None once it answers as itself, else why not (the process is stopped)."""
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                process, self.process = self.process, None
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                if process.stderr:
                    process.stderr.close()
                return f"anvil exited at start on port {self.port}: {stderr.strip()}"
            try:
                chain_id = self.rpc("eth_chainId")
            except (OSError, http.client.HTTPException, ValueError, AnvilError):
                chain_id = None
            if isinstance(chain_id, str) and int(chain_id, 16) == self.chain_id:
                if serves_port(self.process.pid, self.port) is not False:
                    return None
                self.stop()
                return f"port {self.port} is served by another process, not the anvil started here"
            time.sleep(0.05)
        self.stop()
        return f"anvil did not answer on {self.rpc_url} within {self.startup_timeout}s"

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
