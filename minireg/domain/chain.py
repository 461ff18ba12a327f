"""Reading and checking the hash chain of ``events.jsonl`` lines."""

from __future__ import annotations

from minireg.domain.records import GENESIS, Event


def parse_events(lines: list[str]) -> tuple[list[Event], list[str]]:
    """Parse and check event lines; return the events read and every problem found.

    A problem names the 1-based line. Checking goes on after a bad line so that
    every problem is listed; a line that cannot be parsed is left out of the events.
    """
    events: list[Event] = []
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for number, line in enumerate(lines, start=1):
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>", "|||||||")):
            problems.append(
                f"line {number}: git conflict marker; finish the merge (install the minireg "
                "merge driver with `minireg install-merge-driver`) or resolve it by hand"
            )
            continue
        try:
            event = Event.from_line(line)
        except (ValueError, KeyError, TypeError):
            problems.append(f"line {number}: not a valid event (malformed JSON or missing fields)")
            # The line most likely held the next event: don't blame the following seq too.
            expected_seq += 1
            continue
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
        events.append(event)
    return events, problems
