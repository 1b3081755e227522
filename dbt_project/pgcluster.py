"""A throwaway PostgreSQL cluster from the machine's binaries, for the test suite and the benchmark.

`initdb` and `pg_ctl` refuse to run as root, so when we are root they run as the `postgres` user.
If POSTGRES_HOST is set, an existing server is used instead and nothing is started.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
    "(Debian/Ubuntu: `apt-get install -y postgresql`) or point POSTGRES_HOST/POSTGRES_PORT/POSTGRES_USER/"
    "POSTGRES_PASSWORD/POSTGRES_DB at an existing server."
)


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path:
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and Path(c, "initdb").exists() and Path(c, "pg_ctl").exists():
            return Path(c)
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).resolve().parent
    raise PostgresUnavailable(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    datadir: Path | None = None  # set when we started it
    _as_user: list[str] | None = None
    _bindir: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"POSTGRES_HOST": self.host, "POSTGRES_PORT": str(self.port), "POSTGRES_USER": self.user,
                "POSTGRES_PASSWORD": self.password, "POSTGRES_DB": self.dbname}

    def stop(self) -> None:
        if self.datadir is None:
            return
        subprocess.run([*self._as_user, str(self._bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _wait_ready(host: str, port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise PostgresUnavailable(f"PostgreSQL did not accept connections on {host}:{port} within {timeout}s")


def _create_db(c: Cluster) -> None:
    import psycopg2

    for _ in range(50):
        try:
            con = psycopg2.connect(host=c.host, port=c.port, user=c.user, password=c.password or None,
                                   dbname="postgres", connect_timeout=5)
            break
        except psycopg2.OperationalError:
            time.sleep(0.2)
    else:
        raise PostgresUnavailable(f"cannot connect to the PostgreSQL server at {c.host}:{c.port}")
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (c.dbname,))
        if not cur.fetchone():
            # another process (a second test worker on the same server) may create it meanwhile
            with contextlib.suppress(psycopg2.errors.DuplicateDatabase):
                cur.execute(f'CREATE DATABASE "{c.dbname}"')
    con.close()


def start(dbname: str = "cdm") -> Cluster:
    """Use $POSTGRES_HOST if set, else initdb + start a private cluster on a free port."""
    if os.environ.get("POSTGRES_HOST"):
        c = Cluster(os.environ["POSTGRES_HOST"], int(os.environ.get("POSTGRES_PORT", "5432")),
                    os.environ.get("POSTGRES_USER", "postgres"), os.environ.get("POSTGRES_PASSWORD", ""),
                    os.environ.get("POSTGRES_DB", dbname))
        _create_db(c)
        return c
    bindir = _bindir()
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="cdm-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser") or shutil.which("su")
        if not runuser:
            raise PostgresUnavailable("running as root but neither runuser nor su is available to drop to postgres")
        as_user = [runuser, "-u", "postgres", "--"]
        try:
            shutil.chown(base, "postgres", "postgres")
        except LookupError as exc:
            raise PostgresUnavailable("running as root and there is no `postgres` user: " + INSTALL_HINT) from exc
    datadir = base / "data"
    run = lambda args: subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)  # noqa: E731
    out = run([str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
               "--no-locale", "--no-sync"])
    if out.returncode:
        raise PostgresUnavailable(f"initdb failed: {out.stderr.strip()}")
    for _attempt in range(3):  # another process (e.g. a second pytest worker) may take the port first
        port = _free_port()
        opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_wal_size=4GB -c shared_buffers=512MB -c work_mem=64MB "
                "-c maintenance_work_mem=256MB")
        out = run([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(base / "server.log"), "-w",
                   "start"])
        if not out.returncode:
            break
    if out.returncode:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed: {out.stderr.strip()} {log[-2000:]}")
    c = Cluster("127.0.0.1", port, "postgres", "", dbname, datadir, as_user, bindir)
    _wait_ready(c.host, c.port)
    _create_db(c)
    return c


def _admin(env: dict[str, str]):
    """An autocommit connection to the server's `postgres` database (CREATE/DROP DATABASE need one)."""
    import psycopg2

    con = psycopg2.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                           password=env.get("POSTGRES_PASSWORD") or None, dbname="postgres")
    con.autocommit = True
    return con


def recreate_database(env: dict[str, str], name: str, template: str | None = None) -> str:
    """Drop and create database `name` (a copy of `template` when given); returns the server version.
    The drop ends any session still connected to `name` (PostgreSQL 13+)."""
    con = _admin(env)
    with con.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    con.close()
    return version


def drop_database(env: dict[str, str], name: str) -> None:
    con = _admin(env)
    with con.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    con.close()
