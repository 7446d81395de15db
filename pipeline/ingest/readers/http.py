"""Fetch a URL with timeouts and a size cap, streamed, so no server can hang or flood a run."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

from pipeline.ingest.readers.common import CHUNK, Blob, InputError, read_capped

USER_AGENT = "storyflow-ingest/0.1"


def fetch(url: str, max_bytes: int, timeout_s: float) -> Blob:
    """GET `url`; `timeout_s` bounds the connection, every read, and the whole transfer."""
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise InputError(f"response too large: {length} bytes > limit {max_bytes}")

            def chunks():
                while chunk := response.read(CHUNK):
                    yield chunk
                    if time.monotonic() > deadline:
                        raise InputError(f"fetch timed out after {timeout_s:g} s (body still arriving)")

            blob = read_capped(chunks(), max_bytes, "response")
            blob.charset = response.headers.get_content_charset()
            blob.content_type = response.headers.get_content_type()
            return blob
    except InputError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        raise InputError(f"HTTP {exc.code} {exc.reason}") from exc
    except (TimeoutError, socket.timeout) as exc:
        raise InputError(f"fetch timed out after {timeout_s:g} s") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise InputError(f"fetch timed out after {timeout_s:g} s") from exc
        raise InputError(f"cannot fetch: {exc.reason}") from exc
    except (OSError, ValueError) as exc:  # connection reset, bad URL, broken chunked encoding
        raise InputError(f"cannot fetch: {exc}") from exc
