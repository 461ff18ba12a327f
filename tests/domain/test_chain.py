"""The hash check from a line's bytes agrees with the canonical one; where a split ends."""

from __future__ import annotations

import json

import pytest

from minireg.domain.chain import chain_problems, hash_checks_out, split_events
from minireg.domain.records import Draft, Event, chain


def _events(n: int, data: dict[str, object] | None = None) -> list[Event]:
    drafts = [Draft("register", "m", v, data or {"tags": {"hash": "x"}}) for v in range(1, n + 1)]
    return chain(drafts, head=None, time="2024-01-01T00:00:00Z", actor="a", tool="t")


def test_a_line_minireg_wrote_checks_out_from_its_bytes() -> None:
    event = _events(1, {"tags": {"hash": "looks like the field", "h": ',"hash":"'}})[0]
    assert hash_checks_out(event, event.to_line().encode())


def test_a_reformatted_line_is_checked_the_canonical_way() -> None:
    event = _events(1)[0]
    spaced = json.dumps(event.to_dict(), indent=1).encode()
    assert hash_checks_out(event, spaced)


@pytest.mark.parametrize("change", ["content", "empty hash", "other hash"])
def test_an_edited_line_does_not_check_out(change: str) -> None:
    event = _events(1)[0]
    if change == "content":
        edited = Event(**{**event.__dict__, "reason": "edited"})
    elif change == "empty hash":
        edited = Event(**{**event.__dict__, "hash": ""})
    else:
        edited = Event(**{**event.__dict__, "hash": "0" * 64})
    line = edited.to_line().encode()
    assert not hash_checks_out(edited, line)
    assert chain_problems([edited], lines=[line]) == chain_problems([edited])
    assert "content does not match its hash" in chain_problems([edited], lines=[line])[0]


def test_the_tail_is_checked_against_the_event_before_it() -> None:
    events = _events(3)
    lines = [e.to_line().encode() for e in events]
    assert chain_problems(events[1:], lines=lines[1:], after=events[0], after_number=1) == []
    wrong = chain_problems(events[2:], lines=lines[2:], after=events[0], after_number=1)
    assert wrong == [
        "line 2: prev does not match the hash of the line before (a line was deleted, "
        "inserted or moved)",
        "line 2: seq is 3, expected 2",
    ]


@pytest.mark.parametrize(
    ("data", "lines", "end", "tail_is_event"),
    [
        (b"", 0, 0, False),
        (b"A\n", 1, 2, False),
        (b"A\n\n\n", 1, 2, False),
        (b"\n\nA\nB\n", 2, 6, False),
        (b"A\nB\n{torn", 2, 4, False),
        (b"{torn", 0, 0, False),
    ],
)
def test_split_ends_after_the_last_event_line(
    data: bytes, lines: int, end: int, tail_is_event: bool
) -> None:
    split = split_events(data)
    assert (len(split.lines), split.end, split.tail_is_event) == (lines, end, tail_is_event)
    if split.lines:
        assert data[: split.end].endswith(split.head)


def test_an_unterminated_complete_event_is_the_head() -> None:
    event = _events(1)[0]
    data = b"\n" + event.to_line().encode()
    split = split_events(data)
    assert split.tail_is_event and split.end == len(data)
    assert split.head == event.to_line().encode()
