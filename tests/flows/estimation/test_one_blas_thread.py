"""The effect tables run with one BLAS thread, and the thread count is restored after."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from flows.estimation.design_inference import with_one_blas_thread


def _blas_threads() -> list[int]:
    return [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_a_function_with_one_blas_thread_sees_one_and_the_count_is_restored_after() -> None:
    import numpy  # noqa: F401  (loads OpenBLAS)

    @with_one_blas_thread
    def inside(value: int) -> tuple[int, list[int]]:
        return value, _blas_threads()

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        assert inside(3) == (3, [1] * len(before))
        assert _blas_threads() == before

    @with_one_blas_thread
    def failing() -> None:
        raise RuntimeError("stop")

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with pytest.raises(RuntimeError):
            failing()
        assert _blas_threads() == before
