"""A throwaway PostgreSQL cluster from Debian's package, in a temporary folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The role every test database belongs to (initdb's superuser; trust authentication on the
# loopback only, so no password is involved).
USER = "trustshift"
# initdb refuses to run as root: as root, the cluster belongs to this (Debian's) account.
SERVICE_ACCOUNT = "postgres"


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/*/bin, or PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "postgres_bin: no pg_ctl in /usr/lib/postgresql/*/bin or on PATH. Install Debian's "
        "postgresql package (`make integration` does: apt-get install postgresql)."
    )


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running cluster: its folder, port and the command prefix that runs as its owner."""

    folder: Path
    port: int
    bin: Path
    as_owner: list[str]
    options: str = ""

    def url(self, database: str, *, driver: str = "postgresql") -> str:
        return f"{driver}://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new database in code-point order (what the warehouse needs); returns its URL."""
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            "--template=template0",
            "--locale=C",
            "--encoding=UTF8",
            name,
        )
        return self.url(name)

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop_server(self) -> None:
        """Stop the server, keeping its data (an outage; ``start_server`` ends it)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop")

    def start_server(self) -> None:
        """Start the server on its folder and port (waits until it accepts connections)."""
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-o",
            self.options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, timeout=120)


def start_cluster() -> PostgresCluster:
    """initdb and pg_ctl start on a free loopback port (fsync off: the data are throwaway)."""
    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="trustshift-postgres-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVICE_ACCOUNT)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", SERVICE_ACCOUNT, "--"]
    cluster = PostgresCluster(folder=folder, port=free_port(), bin=binaries, as_owner=as_owner)
    cluster._run(
        str(binaries / "initdb"),
        "-D",
        str(folder / "data"),
        "-U",
        USER,
        "-A",
        "trust",
        "--locale=C",
        "--encoding=UTF8",
    )
    cluster.options = (
        f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    cluster.start_server()
    return cluster
