"""The tracking URI: which ones MLflow can take, their credentials, and a quick reachability check.

No mlflow here: these run before MLflow is imported, so a wrong or unreachable
URI fails fast, and every message shows the URI with its credentials removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from minireg.errors import InvalidInput, RemoteError

SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")


def redact_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` replaced by ``***@``, safe to print or log."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***@", uri)
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """The URI without credentials, and the user name and password it carried."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) or None


def check_uri(uri: str) -> str:
    """The URI's scheme if MLflow can take it as a tracking and registry store.

    Raises:
        InvalidInput: not a server or database URI (a bare folder, ``file:``, ...).
    """
    scheme = urlsplit(uri).scheme.split("+", 1)[0].lower() if "://" in uri else ""
    if scheme not in SCHEMES:
        raise InvalidInput(
            f"Tracking URI {redact_uri(uri)!r} is not supported; use an MLflow server "
            "(http://host:5000) or a database such as sqlite:///mlflow.db."
        )
    return scheme


def sqlite_missing(uri: str) -> bool:
    """True for a ``sqlite:///path`` whose file does not exist yet."""
    if not uri.lower().startswith("sqlite:///"):
        return False
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return path not in ("", ":memory:") and not Path(path).exists()


def probe(clean_uri: str, timeout: float = 5.0) -> str | None:
    """Why an MLflow server cannot be reached at all, or None if something answers.

    MLflow's client retries a refused connection for minutes (its default
    backoff); one quick look at ``/health`` first lets an unreachable server
    fail fast. Anything that answers (even with an error or a TLS complaint)
    is left to MLflow to judge.
    """
    import socket
    import urllib.error
    import urllib.request

    url = clean_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (ConnectionError, socket.gaierror, TimeoutError, socket.timeout)):
            return f"{type(reason).__name__}: {reason}"
        return None
    except (ConnectionError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except (OSError, ValueError):
        return None


def detail(exc: BaseException, hidden: Sequence[str]) -> str:
    """The first line of an error, short, without URI credentials or any ``hidden`` string."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = re.sub(r"//[^/@\s]*@", "//***@", text)
    for secret in hidden:
        if secret:
            text = text.replace(secret, "***")
    text = text.rstrip(".")
    return text if len(text) <= 200 else text[:199] + "…"


def secrets(uri: str) -> list[str]:
    """The user name and password a URI carries: what no message may show."""
    _, user, password = split_credentials(uri)
    return [x for x in (user, password) if x]


def check_reachable(uri: str) -> None:
    """For a server URI, fail fast when nothing answers there.

    Raises:
        RemoteError: the server cannot be reached; nothing was exported.
    """
    if check_uri(uri) not in ("http", "https"):
        return
    why = probe(split_credentials(uri)[0])
    if why is not None:
        raise RemoteError(
            f"MLflow at {redact_uri(uri)} is unreachable "
            f"({detail(RuntimeError(why), secrets(uri))}); "
            "nothing was exported: check the tracking URI and re-run."
        )
