"""A PostgreSQL cluster private to this checkout (or to a test run), driven through initdb and pg_ctl."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from devtools.paths import PROJECT_ROOT
from shared.config import environment

LOCAL_DB_NAME = "ugig"
DEFAULT_PORT = 54322
SETTINGS_FILE = "ugig.conf"

# PostgreSQL refuses to run as root; this is the account Debian's packages create for it.
_SERVER_ACCOUNT = "postgres"
_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
# A Unix socket path must fit in sun_path (108 bytes with the NUL); the server appends this name.
_MAX_SOCKET_DIR_LEN = 107 - len("/.s.PGSQL.65535")
_PG_CTL_TIMEOUT = "60"


class ClusterError(RuntimeError):
    """Something about the local server the user can act on; the message says what."""


def _has_server_tools(bin_dir: Path) -> bool:
    return all((bin_dir / tool).is_file() for tool in _SERVER_TOOLS)


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def find_pg_bin() -> Path:
    override = os.environ.get("UGIG_PG_BIN")
    if override:
        if _has_server_tools(Path(override)):
            return Path(override)
        raise ClusterError(f"UGIG_PG_BIN={override} does not hold initdb, pg_ctl and postgres")
    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True):
        if _has_server_tools(bin_dir):
            return bin_dir
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bin_dir = Path(found.stdout.strip())
        if found.returncode == 0 and _has_server_tools(bin_dir):
            return bin_dir
    raise ClusterError(
        "PostgreSQL server binaries not found: run `bash scripts/setup.sh` to install them, "
        "or set UGIG_PG_BIN to the folder holding initdb, pg_ctl and postgres"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_account() -> pwd.struct_passwd | None:
    """The account to run the server as when we are root; None when we can run it ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_SERVER_ACCOUNT)
    except KeyError:
        raise ClusterError(
            f"running as root, but PostgreSQL refuses root and there is no '{_SERVER_ACCOUNT}' user "
            "to run it as (installing the postgresql package creates it)"
        ) from None


def _can_enter(directory: Path, account: pwd.struct_passwd, groups: set[int]) -> bool:
    # Only the first matching class of permission bits counts, as in the kernel's own check.
    info = directory.stat()
    if info.st_uid == account.pw_uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _blocked_dirs(path: Path, account: pwd.struct_passwd) -> list[Path]:
    """Existing folders on the way to `path` that `account` cannot enter."""
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if account.pw_name in g.gr_mem}
    return [d for d in (path, *path.parents) if d.is_dir() and not _can_enter(d, account, groups)]


def _make_dirs(path: Path, mode: int) -> None:
    # mkdir's mode is filtered through the umask; a root umask of 077 would lock the server out.
    missing = [d for d in (path, *path.parents) if not d.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for directory in missing:
        directory.chmod(mode)


def _tail(text: str) -> str:
    """The line of server output most worth showing on one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "FATAL" in line or "ERROR" in line or "error" in line:
            return line
    return lines[-1] if lines else "no output"


def _conf_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class LocalCluster:
    def __init__(self, data_dir: Path, port: int, socket_dir: Path, *, fast: bool = False) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.socket_dir = Path(socket_dir).resolve()
        self.fast = fast
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"
        # Set by default_cluster when it had to move the cluster; `ugig db status` shows it.
        self.note: str | None = None
        self._bin: Path | None = None

    def __repr__(self) -> str:
        return f"LocalCluster(data_dir={self.data_dir!s}, port={self.port}, socket_dir={self.socket_dir!s})"

    # -- running the PostgreSQL tools -------------------------------------------------------------

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        if self._bin is None:
            self._bin = find_pg_bin()
        command = [str(self._bin / tool), *args]
        account = _server_account()
        if account is not None:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            command = [runuser, "-u", account.pw_name, "--", *command]
        # cwd "/": the tools look up their own path from the cwd, which the server user may not enter.
        return subprocess.run(command, cwd="/", capture_output=True, text=True, check=False)

    # -- folders and files --------------------------------------------------------------------------

    def blocked_dirs(self) -> list[Path]:
        """Folders the server account cannot enter and that we will not open up for it.

        Folders we own inside the system temp folder (pytest's and mkdtemp's are 0700) and the folders
        holding the cluster are opened for traversal only (o+x: enter, not list). Anything else,
        such as a 0700 home folder, is left alone: default_cluster moves the cluster instead.
        """
        account = _server_account()
        if account is None:
            return []
        return [d for d in self._blocked(account) if not self._may_open(d)]

    def _blocked(self, account: pwd.struct_passwd) -> list[Path]:
        seen: dict[Path, None] = {}
        for path in (self.data_dir, self.socket_dir, self.log_file.parent):
            seen.update(dict.fromkeys(_blocked_dirs(path, account)))
        return list(seen)

    def _may_open(self, directory: Path) -> bool:
        if directory.stat().st_uid != os.geteuid():
            return False
        temp_root = Path(tempfile.gettempdir()).resolve()
        holders = {self.data_dir.parent, self.socket_dir.parent, self.data_dir, self.socket_dir}
        return directory in holders or temp_root in directory.parents

    def _prepare_dirs(self) -> None:
        if len(str(self.socket_dir)) > _MAX_SOCKET_DIR_LEN:
            raise ClusterError(
                f"socket folder path too long for a Unix socket ({len(str(self.socket_dir))} > "
                f"{_MAX_SOCKET_DIR_LEN} characters): {self.socket_dir}"
            )
        account = _server_account()
        if account is not None:
            blocked = self.blocked_dirs()
            if blocked:
                raise ClusterError(
                    f"the '{account.pw_name}' user cannot enter {blocked[0]}, so PostgreSQL cannot use "
                    f"{self.data_dir}; choose a folder it can reach"
                )
            for directory in self._blocked(account):
                directory.chmod(stat.S_IMODE(directory.stat().st_mode) | stat.S_IXGRP | stat.S_IXOTH)
        _make_dirs(self.data_dir.parent, 0o755)
        _make_dirs(self.socket_dir.parent, 0o755)
        initialized = self.initialized
        for directory, mode in ((self.data_dir, 0o700), (self.socket_dir, 0o755)):
            if not directory.exists():
                directory.mkdir()
                directory.chmod(mode)
            # An initialized data dir already belongs to whoever runs the server: leave it be.
            if account is not None and not (directory == self.data_dir and initialized):
                os.chown(directory, account.pw_uid, account.pw_gid)
        self.log_file.touch()
        if account is not None:
            os.chown(self.log_file, account.pw_uid, account.pw_gid)

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def _settings(self) -> str:
        lines = [
            "# Written by devtools/cluster.py on every start; edit LocalCluster, not this file.",
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = {_conf_string(str(self.socket_dir))}",
            # Logical decoding lets tests read what Supabase Realtime would receive.
            "wal_level = logical",
            "max_wal_senders = 10",
            "max_replication_slots = 10",
            "max_connections = 200",
            "shared_buffers = 128MB",
            # Supabase databases run in UTC; local results should not depend on the machine's zone.
            "timezone = 'UTC'",
        ]
        if self.fast:
            # Throwaway test clusters: durability buys nothing and costs most of the write time.
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        return "\n".join(lines) + "\n"

    def _write_settings(self) -> None:
        account = _server_account()
        settings = self.data_dir / SETTINGS_FILE
        settings.write_text(self._settings(), encoding="utf-8")
        if account is not None:
            os.chown(settings, account.pw_uid, account.pw_gid)
        main_conf = self.data_dir / "postgresql.conf"
        include = f"include_if_exists = '{SETTINGS_FILE}'"
        if include not in main_conf.read_text(encoding="utf-8"):
            with main_conf.open("a", encoding="utf-8") as conf:
                conf.write(f"\n{include}\n")

    # -- the interface --------------------------------------------------------------------------------

    def init(self) -> None:
        self._prepare_dirs()
        if not self.initialized:
            if any(self.data_dir.iterdir()):
                raise ClusterError(f"{self.data_dir} is not empty and holds no PostgreSQL cluster")
            self._initdb()
        self._write_settings()

    def _initdb(self) -> None:
        args = ["-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        if self.fast:
            args.append("--no-sync")
        result: subprocess.CompletedProcess[str] | None = None
        # C.UTF-8 sorts bytewise like Supabase's default; some systems only have plain C.
        for locale in ("C.UTF-8", "C"):
            result = self._run("initdb", *args, f"--locale={locale}")
            if result.returncode == 0:
                return
        assert result is not None
        raise ClusterError(f"initdb failed for {self.data_dir}: {_tail(result.stderr + result.stdout)}")

    def start(self) -> None:
        if self.is_running():
            return
        # init is cheap once initialized and rewrites the settings, so a changed port takes effect.
        self.init()
        result = self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", _PG_CTL_TIMEOUT
        )
        if result.returncode != 0:
            log = self.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]
            reason = _tail(log) if log.strip() else _tail(result.stderr + result.stdout)
            raise ClusterError(f"PostgreSQL did not start on port {self.port}: {reason} (log: {self.log_file})")

    def stop(self) -> None:
        if not self.is_running():
            return
        result = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", _PG_CTL_TIMEOUT)
        if result.returncode != 0:
            # A shutdown slowed by a loaded machine: insist. A start right after must not find the
            # old postmaster's lock file, so wait until it is really gone.
            result = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + 30
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_file.exists() and self.is_running():
            raise ClusterError(f"PostgreSQL did not stop: {_tail(result.stderr + result.stdout)}")

    def is_running(self) -> bool:
        # No pid file means stopped for sure; pg_ctl settles stale ones left by a crash.
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir)).returncode == 0

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"


def _setting(name: str) -> str:
    """From the environment, else the checkout's .env: read as the API's settings read them."""
    return environment([name.lower()], str(PROJECT_ROOT / ".env")).get(name.lower(), "").strip()


def _port_from_env() -> int:
    raw = _setting("UGIG_DB_PORT")
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ClusterError(f"UGIG_DB_PORT={raw} is not a TCP port")
    return int(raw)


def default_cluster() -> LocalCluster:
    """The checkout's own cluster: `.ugig/db` (or $UGIG_LOCAL_DIR/db), socket in `.ugig/run`."""
    base = Path(_setting("UGIG_LOCAL_DIR") or PROJECT_ROOT / ".ugig").resolve()
    port = _port_from_env()
    cluster = LocalCluster(base / "db", port, base / "run")
    socket_too_long = len(str(cluster.socket_dir)) > _MAX_SOCKET_DIR_LEN
    blocked = cluster.blocked_dirs()
    if not socket_too_long and not blocked:
        return cluster
    # Keyed by the checkout's path so two checkouts never share a cluster.
    key = hashlib.sha256(str(base).encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()).resolve() / f"ugig-{key}"
    moved = LocalCluster(fallback / "db", port, fallback / "run")
    why = f"the postgres user cannot enter {blocked[0]}" if blocked else "the socket path would be too long"
    moved.note = f"cluster kept under {fallback} because {why}"
    if fallback.exists() and fallback.stat().st_uid != os.geteuid():
        raise ClusterError(f"{fallback} belongs to another user; set UGIG_LOCAL_DIR to a folder of yours")
    return moved
