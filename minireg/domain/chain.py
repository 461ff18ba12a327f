"""Reading and checking the hash chain of ``events.jsonl`` lines."""

from __future__ import annotations

from dataclasses import dataclass

from minireg.domain.records import GENESIS, Event


def is_complete_event(line: str) -> bool:
    """True when ``line`` is a whole event whose hash checks out (a torn write is not)."""
    try:
        event = Event.from_line(line)
    except (ValueError, KeyError, TypeError):
        return False
    return event.compute_hash() == event.hash


@dataclass(frozen=True)
class Trail:
    """The lines of ``events.jsonl`` and what its end looks like.

    ``tail`` is what follows the last newline ("" when the file ends with one).
    The rule, in one place: an unterminated last line that is a complete,
    hash-valid event *is* an event (an editor that trims the final newline must
    not erase it; the next write adds the newline). Anything else after the last
    newline is a torn write (a writer killed mid-append): it was never
    acknowledged, readers ignore it and the next writer cuts it off.
    """

    lines: list[str]
    tail: str = ""
    tail_is_event: bool = False

    @property
    def torn(self) -> bool:
        """True when the file ends in a piece of a line that is not an event."""
        return bool(self.tail) and not self.tail_is_event


def split_trail(data: bytes) -> Trail:
    """Split the bytes of ``events.jsonl`` into its event lines; see :class:`Trail`."""
    text = data.decode("utf-8", errors="replace")
    pieces = text.split("\n")
    lines = [line for line in pieces[:-1] if line != ""]
    tail = pieces[-1]
    if tail and is_complete_event(tail):
        return Trail([*lines, tail], tail, True)
    return Trail(lines, tail, False)


def parse_events(lines: list[str]) -> tuple[list[Event], list[str]]:
    """Parse and check event lines; return the events read and every problem found.

    A problem names the 1-based line. Checking goes on after a bad line so that
    every problem is listed; a line that cannot be parsed is left out of the events.
    """
    events: list[Event] = []
    numbers: list[int] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>", "|||||||")):
            problems.append(
                f"line {number}: git conflict marker; finish the merge (install the minireg "
                "merge driver with `minireg install-merge-driver`) or resolve it by hand"
            )
            continue
        try:
            events.append(Event.from_line(line))
            numbers.append(number)
        except (ValueError, KeyError, TypeError):
            problems.append(f"line {number}: not a valid event (malformed JSON or missing fields)")
    problems.extend(chain_problems(events, numbers))
    problems.sort(key=lambda p: int(p.split(":", 1)[0].split()[1]))
    return events, problems


def chain_problems(events: list[Event], numbers: list[int] | None = None) -> list[str]:
    """What breaks the hash chain of ``events``: edited content, broken links, wrong seq.

    ``numbers`` are the events' 1-based line numbers (default: 1, 2, ...). A line
    that could not be parsed most likely held the next event, so a gap in the
    line numbers does not blame the following seq too.
    """
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    last_number = 0
    for index, event in enumerate(events):
        number = numbers[index] if numbers is not None else index + 1
        expected_seq += number - last_number - 1
        last_number = number
        if event.compute_hash() != event.hash:
            problems.append(
                f"line {number}: content does not match its hash (the event was edited)"
            )
        if event.prev != prev:
            problems.append(
                f"line {number}: prev does not match the hash of the line before "
                "(a line was deleted, inserted or moved)"
            )
        if event.seq != expected_seq:
            problems.append(f"line {number}: seq is {event.seq}, expected {expected_seq}")
        prev = event.hash
        expected_seq = event.seq + 1
    return problems
