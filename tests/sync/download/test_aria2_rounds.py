"""When the aria2 status board asks again: every ``interval``, or, in the tail (nothing left
waiting for a slot), when the last download will have finished at its present speed, so a
sync of small files does not wait a whole interval after its last byte."""

from __future__ import annotations

from comfylock.sync.download.aria2_rpc import SOONEST, next_round


def _status(status: str, total: int, done: int, speed: int) -> dict:
    return {
        "status": status,
        "totalLength": str(total),
        "completedLength": str(done),
        "downloadSpeed": str(speed),
    }


def test_the_tail_is_asked_when_its_last_download_should_be_done():
    answers = [_status("active", 100, 90, 1000), _status("active", 100, 80, 1000)]
    assert next_round(answers, 0.05) == 0.02  # 20 bytes left at 1000 B/s


def test_a_download_still_waiting_for_a_slot_keeps_the_interval():
    answers = [_status("active", 100, 99, 1000), _status("waiting", 100, 0, 0)]
    assert next_round(answers, 0.05) == 0.05


def test_the_wait_is_never_longer_than_the_interval_nor_shorter_than_the_floor():
    assert next_round([_status("active", 10**9, 0, 1000)], 0.05) == 0.05
    assert next_round([_status("active", 100, 99, 10**9)], 0.05) == SOONEST


def test_an_unknown_speed_or_an_odd_answer_keeps_the_interval():
    assert next_round([_status("active", 100, 50, 0)], 0.05) == 0.05
    assert next_round([{"error": "gone"}], 0.05) == 0.05
    assert next_round([_status("complete", 100, 100, 0)], 0.05) == 0.05


class _FakeRpc:
    """aria2c's answers to the board's multicall: every gid waiting for a slot (the board's
    next round is then a whole interval away)."""

    def __init__(self) -> None:
        self.rounds = 0

    def multicall(self, calls):
        self.rounds += 1
        return [_status("waiting", 100, 0, 0) for name, _ in calls if name == "aria2.tellStatus"]


def test_a_new_waiter_is_answered_without_waiting_out_the_interval():
    # a worker that takes its next download (often finished already in aria2c's queue)
    # gets its status from a round made for it, not up to a whole interval later
    from comfylock.sync.download.aria2_rpc import StatusBoard

    board = StatusBoard(_FakeRpc(), interval=60)
    try:
        board.watch("first")
        status, seen = board.wait("first", 0, timeout=10)
        assert status is not None
        board.watch("second")
        status, _ = board.wait("second", seen, timeout=10)
        assert status is not None and status["status"] == "waiting"
    finally:
        board.close()
