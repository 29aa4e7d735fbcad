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
_lock = threading.Lock()
_holders = 0  # blocks inside the limit now, in any thread: the first sets it, the last restores
_limit = None


@contextlib.contextmanager
def blas_threads(rows: int | None = None):
    """BLAS held at :data:`BLAS_THREADS` inside the block (not for fewer than SMALL rows).

    The limit is process-wide, so blocks running at once (a prediction calling another, or
    two threads) share one: the first to enter sets it, the last to leave gives the pool back.
    """
    if BLAS_THREADS is None or (rows is not None and rows < SMALL):
        yield
        return
    global _controller, _holders, _limit
    with _lock:
        if _holders == 0:
            if _controller is None:  # found once: the BLAS libraries this process has loaded
                from threadpoolctl import ThreadpoolController
                _controller = ThreadpoolController()
            _limit = _controller.limit(limits=BLAS_THREADS, user_api="blas")
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _limit.restore_original_limits()
                _limit = None


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
