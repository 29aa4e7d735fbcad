"""One recompute of a book at a time: an operating-system lock, held for the whole run.

The lock is taken on a small hidden file beside the book (``.BOOK.xlsx.clv-lock``) with
``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows. The operating system lets go of
it when the process ends, however it ends (kill -9 included), so a crash never leaves a book
locked: the file's existence means nothing, only the lock on it does. The file is removed
when the run ends (POSIX); a waiting run that then finds its open file no longer at that
path takes the lock anew, so two runs never both hold it.

The book itself cannot carry the lock: the run replaces it with a new file, and a lock on
the old one would not stop a run that opens the new one.
"""

from __future__ import annotations

import os
import time
import weakref
from pathlib import Path

from ..book.io import BookError

#: How long a second run waits for the first before refusing, in seconds.
WAIT_SECONDS = 120.0
_POLL_SECONDS = 0.2


class BusyError(BookError):
    """Another run holds the book's lock (the message says which book and what to do)."""


def lock_path(book: Path) -> Path:
    return book.with_name(f".{book.name}.clv-lock")


class RunLock:
    """The lock of one book, taken by :meth:`acquire` and let go by :meth:`release` (or when
    the object is collected, or the process ends)."""

    def __init__(self, book: Path) -> None:
        self.book = Path(book)
        self.path = lock_path(self.book)
        self._fd: int | None = None
        self._finalizer = None

    def acquire(self, wait: float | None = None, on_wait=None) -> None:
        """Take the lock, waiting up to ``wait`` seconds (default :data:`WAIT_SECONDS`) for
        another run to finish; ``on_wait(message)`` is called once if it has to wait."""
        wait = WAIT_SECONDS if wait is None else wait
        deadline = time.monotonic() + wait
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            if _try_lock(fd) and _still_at(fd, self.path):
                self._fd = fd
                self._finalizer = weakref.finalize(self, _let_go, fd, self.path)
                return
            os.close(fd)
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"another recompute of {self.book.name} is running (waited {wait:.0f} s): "
                    "run again when it has finished")
            if not told and on_wait is not None:
                on_wait(f"waiting for another recompute of {self.book.name} to finish "
                        f"(up to {wait:.0f} s)...")
                told = True
            time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _still_at(fd: int, path: Path) -> bool:
    """Whether the file open as ``fd`` is still the one at ``path`` (a run that ended may
    have removed it between our open and our lock)."""
    if os.name != "posix":
        return True
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _let_go(fd: int, path: Path) -> None:
    if os.name == "posix":
        try:
            os.unlink(path)  # while still held: a waiter then sees it gone and retries
        except OSError:
            pass
    try:
        _unlock(fd)
    finally:
        os.close(fd)
    if os.name != "posix":
        try:
            os.unlink(path)
        except OSError:  # another run has it open: it is harmless and reused
            pass


if os.name == "posix":
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
else:  # Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
