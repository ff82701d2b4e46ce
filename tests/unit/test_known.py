"""Known: a remembered answer stands in for one read, then reads go to AWS again."""

from __future__ import annotations

from rdsshare._known import Known


def test_an_answer_is_used_once_then_reads_happen() -> None:
    known: Known[str | None] = Known()
    reads: list[str] = []

    def read() -> str:
        reads.append("read")
        return "fresh"

    known.put("snap", None)  # "there is none" is an answer too
    assert known.take("snap", read) is None
    assert reads == []
    assert known.take("snap", read) == "fresh"
    assert reads == ["read"]


def test_pop_forgets_and_answers_none_when_not_told() -> None:
    known: Known[int] = Known()
    assert known.pop("key") is None
    known.put("key", 7)
    assert known.pop("key") == 7
    assert known.pop("key") is None
