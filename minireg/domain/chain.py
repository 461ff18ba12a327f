"""Reading and checking the hash chain of ``events.jsonl`` lines."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import accumulate

from minireg.domain.records import GENESIS, Event


def is_complete_event(line: str) -> bool:
    """True when ``line`` is a whole event whose hash checks out (a torn write is not)."""
    try:
        event = Event.from_line(line)
    except (ValueError, KeyError, TypeError):
        return False
    return event.compute_hash() == event.hash


@dataclass(frozen=True)
class Split:
    """The event lines of some bytes of ``events.jsonl``, and what their end looks like.

    ``tail`` is what follows the last newline (empty when the bytes end with one).
    The rule, in one place: an unterminated last line that is a complete,
    hash-valid event *is* an event (an editor that trims the final newline must
    not erase it; the next write adds the newline). Anything else after the last
    newline is a torn write (a writer killed mid-append): it was never
    acknowledged, readers ignore it and the next writer cuts it off. Blank lines
    are skipped.
    """

    lines: list[bytes]
    tail: bytes = b""
    tail_is_event: bool = False
    end: int = 0
    """How many bytes the event lines take: through the last event line, with its
    newline when it has one (blank lines and a torn tail after it are not counted)."""
    starts: list[int] | None = None
    """Where each line begins (when asked for)."""

    @property
    def head(self) -> bytes:
        """The bytes of the last event line as stored (with its newline when it has one)."""
        if not self.lines:
            return b""
        return self.lines[-1] if self.tail_is_event else self.lines[-1] + b"\n"


def split_events(data: bytes, starts: bool = False) -> Split:
    """Split bytes of ``events.jsonl`` (the whole file, or what follows a line) into event
    lines; with ``starts``, also where each begins."""
    pieces = data.split(b"\n")
    at: list[int] | None = None
    if starts:
        offsets = accumulate(map(len, pieces), lambda total, n: total + n + 1, initial=0)
        at = [start for start, piece in zip(offsets, pieces) if piece]
    tail = pieces.pop()
    lines = [line for line in pieces if line]
    if tail and is_complete_event(tail.decode("utf-8", errors="replace")):
        return Split([*lines, tail], tail, True, len(data), at)
    if at is not None and tail:
        at.pop()  # the torn tail is no line
    if not lines:
        return Split(lines, tail, False, 0, at)
    end = len(data) - len(tail)  # just after the last newline; step back over blank lines
    while end > 1 and data[end - 2] == 0x0A:
        end -= 1
    return Split(lines, tail, False, end, at)


@dataclass(frozen=True)
class Trail:
    """The lines of ``events.jsonl`` as text, and what its end looks like (see :class:`Split`)."""

    lines: list[str]
    tail: str = ""
    tail_is_event: bool = False

    @property
    def torn(self) -> bool:
        """True when the file ends in a piece of a line that is not an event."""
        return bool(self.tail) and not self.tail_is_event


def split_trail(data: bytes) -> Trail:
    """Split the bytes of ``events.jsonl`` into its event lines; see :class:`Split`."""
    split = split_events(data)
    text = [line.decode("utf-8", errors="replace") for line in split.lines]
    return Trail(text, split.tail.decode("utf-8", errors="replace"), split.tail_is_event)


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


_HASH_FIELD = b',"hash":"'


def hash_checks_out(event: Event, line: bytes | None = None) -> bool:
    """True when ``event.hash`` is the sha256 of the canonical JSON of its body.

    ``line``, the bytes the event was read from, makes the usual case cheap: a
    line minireg wrote *is* the canonical JSON of the event, so without its
    ``"hash"`` field it is the canonical body, and hashing those bytes answers
    without serialising the event again (several times faster). Any other line
    (reformatted, edited) is checked the canonical way.
    """
    if line is not None and _line_hashes([event], [line]) == [event.hash]:
        return True
    return event.compute_hash() == event.hash


def _line_hashes(events: list[Event], lines: list[bytes]) -> list[str | None]:
    """For each line, the sha256 of its bytes without its ``"hash"`` field (None if it has
    none): :func:`hash_checks_out` in one tight loop, for a trail of 100,000 events."""
    sha256, field = hashlib.sha256, _HASH_FIELD
    out: list[str | None] = []
    for event, line in zip(events, lines):
        at = line.rfind(field)
        if at > 0 and line[at + 9 : at + 74] == f'{event.hash}"'.encode():
            out.append(sha256(line[:at] + line[at + 74 :]).hexdigest())
        else:
            out.append(None)
    return out


def chain_problems(
    events: list[Event],
    numbers: list[int] | None = None,
    *,
    lines: list[bytes] | None = None,
    after: Event | None = None,
    after_number: int = 0,
) -> list[str]:
    """What breaks the hash chain of ``events``: edited content, broken links, wrong seq.

    ``numbers`` are the events' 1-based line numbers (default: the ones after
    ``after_number``). A line that could not be parsed most likely held the next
    event, so a gap in the line numbers does not blame the following seq too.
    ``after`` is the event just before the first (the end of a trail checked
    earlier, on line ``after_number``); None starts the chain. ``lines``, the
    bytes the events were read from, make the hash check cheap (see
    :func:`hash_checks_out`).
    """
    problems: list[str] = []
    prev = after.hash if after is not None else GENESIS
    expected_seq = after.seq + 1 if after is not None else 1
    last_number = after_number
    hashed = _line_hashes(events, lines) if lines is not None else [None] * len(events)
    for index, event in enumerate(events):
        number = numbers[index] if numbers is not None else after_number + index + 1
        expected_seq += number - last_number - 1
        last_number = number
        if hashed[index] != event.hash and event.compute_hash() != event.hash:
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
