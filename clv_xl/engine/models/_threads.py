"""Fits and predictions run on one BLAS thread.

The likelihoods and predictions reduce long vectors with ``@`` (BLAS dot and gemm). On a
machine whose cores are busy (Excel, other work, several recomputes), OpenBLAS's worker
threads wait for each other on every product: a fit then costs several times its work
(``python bench/threads.py``). Each fit and each large prediction therefore holds the BLAS
pool of this process at one thread for its own duration (threadpoolctl), and gives it back.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

BLAS_THREADS: int | None = 1
"""Threads a fit or prediction allows BLAS; None leaves the pool as it is (for the bench)."""

SMALL = 2_000
"""Predictions for fewer rows than this skip the limit: BLAS does not start threads for them."""

_controller = None
_inside = threading.local()  # this thread is inside a limited block (a prediction calling another)


@contextlib.contextmanager
def blas_threads(rows: int | None = None):
    """BLAS held at :data:`BLAS_THREADS` inside the block (not for fewer than SMALL rows).

    OpenBLAS's pthreads pool is process-wide: threadpoolctl lets one thread at a time set it
    and gives the pool back when that thread's block ends (another thread's block meanwhile
    runs with the pool as it finds it).
    """
    if (BLAS_THREADS is None or (rows is not None and rows < SMALL)
            or getattr(_inside, "on", False) or _blas_controller() is None):
        yield
        return
    _inside.on = True
    try:
        with _blas_controller().limit(limits=BLAS_THREADS, user_api="blas"):
            yield
    finally:
        _inside.on = False


def _blas_controller():
    """threadpoolctl's view of the BLAS libraries this process has loaded, found once; None
    where threadpoolctl is not installed (Pyodide, in xlwings Lite: one thread, nothing to hold)."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
    return _controller or None


def one_blas_thread(method):
    """Decorator: ``method`` runs under :func:`blas_threads`, sized by its largest argument."""

    @functools.wraps(method)
    def limited(*args, **kwargs):
        rows = max([np.size(a) for a in (*args, *kwargs.values())
                    if isinstance(a, (np.ndarray, list, tuple)) or hasattr(a, "__array__")]
                   or [0])
        with blas_threads(rows):
            return method(*args, **kwargs)

    return limited
