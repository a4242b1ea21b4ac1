"""Sending threads fed from one bounded queue: every item worked once, the first error raised,
nothing started after it or after `drop`."""

from __future__ import annotations

import threading

import pytest

from announcer.deliver.lanes import Lanes


def test_every_item_is_worked_once_over_every_lane() -> None:
    done: list[int] = []
    names: set[str] = set()
    lock = threading.Lock()
    gate = threading.Barrier(3)

    def work(item: int) -> None:
        if item < 3:
            gate.wait(timeout=10)  # the first three run at once: three lanes really work
        with lock:
            done.append(item)
            names.add(threading.current_thread().name)

    lanes = Lanes(3, work, ahead=2)
    for item in range(200):
        lanes.put(item)
    lanes.finish()
    assert sorted(done) == list(range(200))
    assert names == {"send-0", "send-1", "send-2"}


def test_the_first_error_is_raised_and_nothing_starts_after_it() -> None:
    started: list[int] = []
    six_waits = threading.Event()

    def work(item: int) -> None:
        started.append(item)
        if item == 5:
            assert six_waits.wait(timeout=10)  # an item already handed out when the error comes
            raise RuntimeError("the server cannot go on")

    def hand_out(lanes: Lanes[int]) -> None:
        for item in range(100):
            lanes.put(item)
            if item == 6:
                six_waits.set()
        lanes.finish()

    lanes = Lanes(1, work, ahead=1)
    with pytest.raises(RuntimeError, match="cannot go on"):  # from `put` or, if all were out, `finish`
        hand_out(lanes)
    lanes.drop()
    lanes.join()
    assert started == list(range(6)), "items handed out after the error are dropped"


def test_drop_leaves_what_waits_unstarted_and_the_item_in_hand_finishes() -> None:
    release = threading.Event()
    in_hand = threading.Event()
    finished: list[int] = []

    def work(item: int) -> None:
        in_hand.set()
        release.wait(timeout=10)
        finished.append(item)

    lanes = Lanes(1, work, ahead=4)
    for item in range(5):
        lanes.put(item)
    assert in_hand.wait(timeout=10)
    lanes.drop()
    release.set()
    lanes.join()
    assert finished == [0]
