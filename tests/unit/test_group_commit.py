"""The web edge's group commit: a lone item commits at once, items arriving during a commit
share the next one, each caller gets its own result or its batch's error.

Held still by a gate inside the commit and by the observable count of waiting items, never
by sleeping.
"""

import threading

import pytest

from consumer.intake import GroupCommit
from tests.waiting import wait_for


class Gated:
    """A commit that records its batches and, while ``gate`` is closed, blocks inside."""

    def __init__(self, fail_on: object = None) -> None:
        self.batches: list[list[object]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.inside = threading.Event()
        self.fail_on = fail_on

    def __call__(self, batch):
        self.batches.append(list(batch))
        self.inside.set()
        self.gate.wait(10)
        if self.fail_on in batch:
            raise RuntimeError(f"refused {self.fail_on}")
        return [f"done {item}" for item in batch]


def submit_in_thread(group, item, answers):
    def run():
        try:
            answers[item] = group.submit(item)
        except RuntimeError as exc:
            answers[item] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_lone_item_commits_at_once_alone():
    commit = Gated()
    group = GroupCommit(commit)
    assert group.submit("a") == "done a"
    assert group.submit("b") == "done b"
    assert commit.batches == [["a"], ["b"]]


def test_items_arriving_during_a_commit_share_the_next_one():
    commit = Gated()
    commit.gate.clear()
    group = GroupCommit(commit)
    answers: dict = {}
    first = submit_in_thread(group, "a", answers)
    assert commit.inside.wait(10)
    others = [submit_in_thread(group, item, answers) for item in ("b", "c", "d")]
    wait_for(lambda: group.waiting == 3, "three items waiting behind the commit")
    commit.gate.set()
    for thread in (first, *others):
        thread.join(10)
    assert commit.batches[0] == ["a"]
    assert sorted(commit.batches[1]) == ["b", "c", "d"] and len(commit.batches) == 2
    assert answers == {item: f"done {item}" for item in "abcd"}
    assert group.waiting == 0


def test_a_failed_commit_fails_its_own_callers_only_and_the_next_batch_commits():
    commit = Gated(fail_on="b")
    commit.gate.clear()
    group = GroupCommit(commit, max_batch=2)
    answers: dict = {}
    first = submit_in_thread(group, "a", answers)
    assert commit.inside.wait(10)
    second = submit_in_thread(group, "b", answers)
    wait_for(lambda: group.waiting == 1, "b waiting")
    third = submit_in_thread(group, "c", answers)
    wait_for(lambda: group.waiting == 2, "b and c waiting")
    fourth = submit_in_thread(group, "d", answers)
    wait_for(lambda: group.waiting == 3, "b, c and d waiting")
    commit.gate.set()
    for thread in (first, second, third, fourth):
        thread.join(10)
    # max_batch 2: b and c together (refused together), then d alone.
    assert commit.batches == [["a"], ["b", "c"], ["d"]]
    assert answers["a"] == "done a" and answers["d"] == "done d"
    for item in ("b", "c"):
        assert isinstance(answers[item], RuntimeError) and "refused b" in str(answers[item])


def test_a_commit_that_answers_the_wrong_number_of_results_fails_loudly():
    group = GroupCommit(lambda batch: [])
    with pytest.raises(ValueError):
        group.submit("a")


def test_an_item_failed_on_its_own_fails_only_its_caller():
    def commit(batch):
        return [
            ValueError(f"{item} refused") if item == "bad" else f"done {item}" for item in batch
        ]

    group = GroupCommit(commit)
    assert group.submit("good") == "done good"
    with pytest.raises(ValueError, match="bad refused"):
        group.submit("bad")
    assert group.submit("after") == "done after"
