"""The remote for objects, as settings: its URL checked, shown without secrets, its keys.

A remote is any URL the fsspec ecosystem understands (``s3://bucket/prefix``,
``gs://…``, ``az://…``, ``file:///mnt/shared/models``). It holds the same
content-addressed layout as ``objects/`` (``<prefix>/sha256/ab/cdef…``), so a
remote object is checked by its name alone. Credentials never live in the URL:
they come from the backend's own sources (AWS environment or profile, ...), so
nothing secret is ever written to ``minireg.toml``, the output or the logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from minireg.errors import InvalidInput


@dataclass(frozen=True)
class Backend:
    """The package that speaks a protocol, and the extra that installs it."""

    package: str
    extra: str


# The backends minireg ships an extra for; any other fsspec protocol works when its
# package is installed (fsspec itself names it).
BACKENDS = {
    "s3": Backend("s3fs", "minireg[s3]"),
    "s3a": Backend("s3fs", "minireg[s3]"),
    "gs": Backend("gcsfs", "minireg[gcs]"),
    "gcs": Backend("gcsfs", "minireg[gcs]"),
    "az": Backend("adlfs", "minireg[azure]"),
    "abfs": Backend("adlfs", "minireg[azure]"),
    "abfss": Backend("adlfs", "minireg[azure]"),
    "file": Backend("fsspec", "minireg[shared]"),
}
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})
"""Protocols whose PUT makes an object appear whole or not at all (S3, GCS, Azure Blob);
any other remote (a shared folder) is written under a temporary name, then renamed."""

# Query parameters that carry secrets in the URLs of common stores (Azure SAS tokens,
# signed URLs, key/secret pairs). Any of them makes the URL refused.
_SECRET_PARAMS = re.compile(
    r"(key|secret|token|password|passwd|pwd|sig|signature|credential|sas|auth)", re.IGNORECASE
)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
WAY_OUT = (
    "credentials come from the backend's own sources (for S3: AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws, AWS_ENDPOINT_URL for S3-compatible stores)"
)


def protocol_of(url: str) -> str:
    """The protocol of ``url`` in lower case (``s3``), "" when it has none."""
    found = _SCHEME.match(url)
    return found.group(1).lower() if found else ""


def shown(url: str) -> str:
    """``url`` as it may be printed: no ``user:password@``, no query string."""
    from urllib.parse import urlsplit  # here: opening a registry never pays for it

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    hidden = "***@" if "@" in parts.netloc else ""
    query = "?***" if parts.query else ""
    return f"{parts.scheme}://{hidden}{host}{parts.path}{query}"


def scrub(text: str, url: str) -> str:
    """``text`` (a library's error message) with ``url``'s secrets, and any URL's, masked."""
    text = text.replace(url, shown(url)) if url else text
    return re.sub(r"(://)[^/@\s\"']+@", r"\1***@", text)


def check_remote_url(url: str, where: str = "") -> str:
    """``url`` stripped, when it can name a remote for objects.

    Raises:
        InvalidInput: not a ``protocol://`` URL, a ``file://`` URL without an
            absolute path, or a URL that carries credentials (user:password@,
            or a key/secret/token/signature parameter). The message never repeats
            the secret.
    """
    from urllib.parse import parse_qsl, urlsplit

    url = url.strip()
    protocol = protocol_of(url)
    if not protocol:
        raise InvalidInput(
            f"{where}The remote {url!r} is not a URL; write s3://bucket/prefix, gs://…, az://… "
            "or file:///shared/folder."
        )
    if any(ord(c) < 32 or c == "\x7f" for c in url):
        raise InvalidInput(f"{where}The remote URL has a control character; write it plainly.")
    parts = urlsplit(url)
    secret_params = [
        name for name, _ in parse_qsl(parts.query, keep_blank_values=True)
        if _SECRET_PARAMS.search(name)
    ]  # fmt: skip
    if ":" in parts.netloc.rpartition("@")[0] or secret_params:
        raise InvalidInput(
            f"{where}The remote {shown(url)} carries credentials in its URL, which minireg "
            f"never stores; remove them: {WAY_OUT}."
        )
    if parts.query or parts.fragment:
        raise InvalidInput(
            f"{where}The remote {shown(url)} has a query or fragment; give the bucket and "
            "prefix alone (settings come from the backend's environment)."
        )
    if protocol == "file" and (parts.netloc not in ("", "localhost") or not parts.path):
        raise InvalidInput(
            f"{where}The remote {shown(url)} needs an absolute path: file:///mnt/shared/models."
        )
    if not parts.netloc and protocol != "file":
        raise InvalidInput(
            f"{where}The remote {shown(url)} names no bucket or container; write "
            f"{protocol}://bucket/prefix."
        )
    return url.rstrip("/") if len(url.rstrip("/")) > len(f"{protocol}://") else url


def object_key(digest: str) -> str:
    """Where object ``digest`` lives under the remote's prefix: ``sha256/ab/cdef…``."""
    return f"sha256/{digest[:2]}/{digest[2:]}"


def digest_of_key(key: str) -> str | None:
    """The digest a key under the prefix names (``sha256/ab/cdef…``), None for anything else."""
    parts = key.strip("/").split("/")
    if len(parts) < 3 or parts[-3] != "sha256" or parts[-1].startswith("."):
        return None
    digest = parts[-2] + parts[-1]
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        return None
    return digest


def with_remote(text: str, url: str) -> str:
    """The ``minireg.toml`` text with ``[objects] remote = url`` (comments kept).

    Replaces the ``remote`` line of an ``[objects]`` table, adds one to the table,
    or appends the table.
    """
    import json

    line = f"remote = {json.dumps(url, ensure_ascii=False)}"  # a valid TOML basic string
    lines = text.splitlines()
    start = next((i for i, one in enumerate(lines) if one.strip() == "[objects]"), None)
    if start is None:
        tail = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{tail}\n[objects]\n{line}\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    for i in range(start + 1, end):
        if re.match(r"^\s*remote\s*=", lines[i]):
            lines[i] = line
            break
    else:
        lines.insert(start + 1, line)
    return "\n".join(lines) + "\n"
