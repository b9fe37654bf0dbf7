"""Stop a rule's process when the Snakemake that started it is gone.

Snakemake killed with SIGKILL cannot stop its jobs: a rule script would run on as an orphan and
publish its outputs behind the back of the next run (which then finds "incomplete" files). The
guard watches the Snakemake ancestor of this process and, once it is gone, interrupts the main
thread: the step unwinds like a Ctrl-C, its atomic outputs are discarded, no provenance is
written, and the checkpoint stays for the next run to resume from. psutil (a Snakemake
dependency) does the process bookkeeping portably.
"""

from __future__ import annotations

import _thread
import logging
import os
import signal
import threading

import psutil

log = logging.getLogger("mednas")


def is_snakemake(argv: list[str]) -> bool:
    """Whether a command line starts Snakemake (``.../bin/snakemake ...`` or ``python -m snakemake``).

    Rule scripts live under ``.snakemake/scripts/``: only a program name counts, not a path that
    merely contains the word.
    """
    head = [os.path.basename(a) for a in argv[:2]]
    return "snakemake" in head or argv[1:3] == ["-m", "snakemake"]


def snakemake_ancestor() -> psutil.Process | None:
    """The nearest ancestor process that is Snakemake, or None (run outside Snakemake)."""
    for proc in psutil.Process().parents():
        try:
            if is_snakemake(proc.cmdline()):
                return proc
        except psutil.Error:
            continue
    return None


def _gone(proc: psutil.Process) -> bool:
    try:
        # A SIGKILLed parent may linger as a zombie until init reaps it: that is gone too.
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


class OrphanGuard:
    """Interrupt the main thread when ``watched`` (by default the Snakemake ancestor) exits."""

    def __init__(self, watched: psutil.Process | None = None, poll_seconds: float = 1.0,
                 grace_seconds: float = 60.0) -> None:
        self.watched = watched if watched is not None else snakemake_ancestor()
        self.poll_seconds, self.grace_seconds = poll_seconds, grace_seconds
        self.orphaned = threading.Event()
        self._stopped = threading.Event()

    def start(self) -> OrphanGuard:
        """Watch in a daemon thread. Call from the main thread.

        A process started in the background by a non-interactive shell (``nohup snakemake ... &``)
        inherits SIGINT as ignored, and then ``interrupt_main`` does nothing: Python's own handler
        is installed so that the interrupt reaches the step.
        """
        if self.watched is None:
            return self
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
            signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(target=self._watch, name="orphan-guard", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop watching (and, once fired, do not force the exit)."""
        self._stopped.set()

    def _watch(self) -> None:
        while not _gone(self.watched):
            if self._stopped.wait(self.poll_seconds):
                return
        self.orphaned.set()
        log.error("Snakemake (pid %d) that started this job is gone: stopping without publishing outputs "
                  "(a checkpoint stays for the next run to resume from)", self.watched.pid)
        _thread.interrupt_main()
        # The main thread may be inside a long native call; if it never unwinds, leave anyway.
        if not self._stopped.wait(self.grace_seconds):
            os._exit(1)
