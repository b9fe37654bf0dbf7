"""A real single-node SLURM on this machine, for tests: munge, MariaDB + slurmdbd, slurmctld, slurmd.

Everything lives under one scratch folder and is started as root without systemd; the
daemons are stopped by the process ids they were started with. Accounting (slurmdbd on a
local MariaDB) is there because snakemake-executor-plugin-slurm asks ``sacct`` for job
status: without it the plugin loses its jobs and waits forever.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["munge", "slurmctld", "slurmd", "slurm-client", "slurmdbd", "mariadb-server"]
BINARIES = ["munged", "slurmctld", "slurmd", "slurmdbd", "sbatch", "sacct", "sacctmgr", "mariadbd",
            "mariadb-install-db"]


class Unavailable(RuntimeError):
    """SLURM cannot be had on this machine (reason in the message)."""


def _which(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
                                       if p.exists()), None)


def ensure_installed(timeout: int = 600) -> None:
    """Install Debian's SLURM, munge and MariaDB packages where they are missing."""
    if all(_which(b) for b in BINARIES):
        return
    if os.geteuid() != 0:
        raise Unavailable("SLURM packages are missing and installing them needs root")
    if not shutil.which("apt-get"):
        raise Unavailable("SLURM packages are missing and there is no apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"`{' '.join(cmd)}` timed out after {timeout} s") from None
        if res.returncode != 0:
            raise Unavailable(f"`{' '.join(cmd)}` failed: {res.stderr.strip()[-500:]}")
    missing = [b for b in BINARIES if not _which(b)]
    if missing:
        raise Unavailable(f"installed packages but still missing {missing}")


def _wait(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def _ok(cmd: list[str], env: dict | None = None) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20, env=env).returncode == 0
    except subprocess.TimeoutExpired:
        return False


class LocalSlurm:
    """One node (this machine) in partitions ``cpu`` and ``gpu`` (a fake GPU), with accounting."""

    CLUSTER, ACCOUNT = "mednastest", "mednas"
    DB_PORT = 3399  # MariaDB over TCP on loopback (slurmdbd would look for the system socket otherwise)

    CONFIGS = ("slurm.conf", "gres.conf", "slurmdbd.conf")

    def __init__(self, base: Path, etc: Path = Path("/etc/slurm")):
        # The configuration must sit where SLURM looks by default: the job-step plugin strips
        # SLURM_* variables (SLURM_CONF included) before its nested srun. What was there is
        # put back by stop().
        self.base, self.etc = Path(base), Path(etc)
        self.conf = self.etc / "slurm.conf"
        self.pids: dict[str, int] = {}
        self.children: dict[str, subprocess.Popen] = {}
        self.node = socket.gethostname().split(".")[0]
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    # -- configuration ----------------------------------------------------------------
    def _write_configs(self) -> None:
        etc, state = self.etc, self.base / "state"
        for d in (etc, state / "ctld", state / "d", self.base / "log", self.base / "etc-backup"):
            d.mkdir(parents=True, exist_ok=True)
        for name in self.CONFIGS:
            if (etc / name).exists():
                shutil.move(etc / name, self.base / "etc-backup" / name)
        mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 * 3 // 4
        cpus = os.cpu_count() or 1
        self.conf.write_text(f"""ClusterName={self.CLUSTER}
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
StateSaveLocation={state / 'ctld'}
SlurmdSpoolDir={state / 'd'}
SlurmctldPidFile={self.base / 'slurmctld.pid'}
SlurmdPidFile={self.base / 'slurmd.pid'}
SlurmctldLogFile={self.base / 'log' / 'slurmctld.log'}
SlurmdLogFile={self.base / 'log' / 'slurmd.log'}
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
MinJobAge=300
ReturnToService=2
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={self.node} MaxTime=INFINITE State=UP
""")
        (etc / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null\n")
        dbd = etc / "slurmdbd.conf"
        dbd.write_text(f"""AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile={self.base / 'slurmdbd.pid'}
LogFile={self.base / 'log' / 'slurmdbd.log'}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.DB_PORT}
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmtest
""")
        dbd.chmod(0o600)

    # -- daemons --------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], **kw) -> None:
        log = open(self.base / "log" / f"{name}.out", "ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True, **kw)
        self.pids[name] = proc.pid
        self.children[name] = proc  # reaped in stop()

    def _pidfile(self, name: str, path: Path) -> None:
        _wait(lambda: path.exists() and path.read_text().strip().isdigit(), f"{name} pid file")
        self.pids[name] = int(path.read_text().strip())

    def start(self) -> None:
        self._write_configs()
        # munge: the package ships a key; its socket folder must belong to munge
        run = Path("/run/munge")
        run.mkdir(parents=True, exist_ok=True)
        shutil.chown(run, "munge", "munge")
        munge_pid = self.base / "munged.pid"
        subprocess.run(["runuser", "-u", "munge", "--", _which("munged"), "--pid-file", "/run/munge/test.pid"],
                       check=True, timeout=30)
        self._pidfile("munged", Path("/run/munge/test.pid"))
        munge_pid.write_text(str(self.pids["munged"]))
        # MariaDB in a private data folder
        data = self.base / "mysql"
        # Run as root: the scratch folder usually sits under a private (0700) temporary folder
        # that user mysql could not enter.
        sock_dir = self.base / "mysqld"
        sock_dir.mkdir(parents=True, exist_ok=True)
        if not data.exists():
            res = subprocess.run([_which("mariadb-install-db"), "--user=root", f"--datadir={data}", "--skip-test-db",
                                  "--auth-root-authentication-method=socket"], capture_output=True, text=True,
                                 timeout=120)
            if res.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed: {(res.stdout + res.stderr)[-2000:]}")
        self._spawn("mariadbd", [_which("mariadbd"), "--no-defaults", "--user=root", f"--datadir={data}",
                                 f"--socket={sock_dir / 'mysqld.sock'}", f"--pid-file={sock_dir / 'test.pid'}",
                                 "--skip-networking=0", "--bind-address=127.0.0.1", f"--port={self.DB_PORT}"])
        _wait(lambda: _ok(["mariadb-admin", f"--socket={sock_dir / 'mysqld.sock'}", "ping"]), "MariaDB")
        sql = "CREATE DATABASE IF NOT EXISTS slurm_acct_db; " + " ".join(
            f"CREATE USER IF NOT EXISTS 'slurm'@'{host}' IDENTIFIED BY 'slurmtest'; "
            f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'{host}';" for host in ("localhost", "127.0.0.1")
        ) + " FLUSH PRIVILEGES;"
        subprocess.run(["mariadb", f"--socket={sock_dir / 'mysqld.sock'}", "-e", sql], check=True, timeout=30)
        subprocess.run([_which("slurmdbd")], check=True, env=self.env, timeout=30)
        self._pidfile("slurmdbd", self.base / "slurmdbd.pid")
        _wait(lambda: _ok(["sacctmgr", "-n", "list", "cluster"], self.env), "slurmdbd")
        for args in (["add", "cluster", self.CLUSTER], ["add", "account", self.ACCOUNT],
                     ["add", "user", "root", f"account={self.ACCOUNT}"]):
            subprocess.run(["sacctmgr", "-i", *args], env=self.env, capture_output=True, timeout=30)
        subprocess.run([_which("slurmctld")], check=True, env=self.env, timeout=30)
        self._pidfile("slurmctld", self.base / "slurmctld.pid")
        _wait(lambda: _ok(["scontrol", "ping"], self.env), "slurmctld")
        subprocess.run([_which("slurmd")], check=True, env=self.env, timeout=30)
        self._pidfile("slurmd", self.base / "slurmd.pid")

        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=self.env,
                                 timeout=20).stdout
            return "idle" in out

        _wait(idle, "the node to be idle")

    def stop(self) -> None:
        """Stop every daemon this object started, newest first, by its process id."""
        for name, pid in reversed(list(self.pids.items())):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.pids.clear()
        for proc in self.children.values():
            proc.wait(timeout=30)
        self.children.clear()
        backup = self.base / "etc-backup"
        for name in self.CONFIGS:
            (self.etc / name).unlink(missing_ok=True)
            if (backup / name).exists():
                shutil.move(backup / name, self.etc / name)

    def log_tail(self, n: int = 40) -> str:
        out = []
        for f in sorted((self.base / "log").glob("*")):
            lines = f.read_text(errors="replace").splitlines()[-n:]
            out.append(f"== {f.name}\n" + "\n".join(lines))
        return "\n".join(out)
