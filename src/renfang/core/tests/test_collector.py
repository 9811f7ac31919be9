"""The cyclic collector is off while a bulk job runs and on again after it, however it ends."""

from __future__ import annotations

import gc

import pytest

from renfang.core.collector import collector_calm


def test_the_collector_is_off_inside_nested_jobs_and_on_after_the_outer_one() -> None:
    assert gc.isenabled()
    with collector_calm():
        assert not gc.isenabled()
        with collector_calm():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_job_that_failed() -> None:
    with pytest.raises(ValueError, match="bad file"), collector_calm():
        raise ValueError("bad file")
    assert gc.isenabled()


def test_a_collector_turned_off_before_the_job_stays_off() -> None:
    gc.disable()
    try:
        with collector_calm():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
