"""How ``minireg gc --remote`` shows what it found: names on stdout, counts on stderr."""

from __future__ import annotations

from minireg.cli import render
from minireg.service.remote_gc import RemoteCollection


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def remote_garbage(found: RemoteCollection, json_out: bool) -> None:
    """``minireg gc --remote``: the names to delete (or JSON) on stdout, the counts on stderr."""
    if json_out:
        render.as_json(found.to_dict())
    else:
        for entry in (*found.unreferenced, *found.leftovers):
            render.line(f"{found.url}/{entry.name}\t{entry.size}")
    where = (
        f"{render.plural(found.commits, 'commit')} on every ref and "
        f"{render.plural(found.worktrees, 'working tree')} read"
        if found.in_git
        else "not in a git repository: only this trail read"
    )
    verb = "Would delete" if found.dry_run else "Deleted"
    render.message(
        f"{verb} {render.plural(len(found.unreferenced), 'unreferenced object')} and "
        f"{render.plural(len(found.leftovers), 'upload leftover')} ({_mib(found.bytes)}) "
        f"from {found.url}; kept {found.referenced} that versions need ({where})."
    )
    if found.young or found.undated:
        render.message(
            f"Kept {len(found.young)} unreferenced younger than {found.grace:g} s (--grace: a "
            f"registration may be in flight, or not pushed yet) and {len(found.undated)} "
            "whose age the remote does not say."
        )
    if found.dry_run and (found.unreferenced or found.leftovers):
        render.message("Nothing was deleted: run it again with --yes to delete them.")
