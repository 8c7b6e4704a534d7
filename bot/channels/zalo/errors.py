"""Zalo Bot API errors. The text names the API method, never the URL (it holds the token).

    ZaloError(method, code, description)
      ├─ ZaloBadRequest      400
      ├─ ZaloAuthError       401 the token was rejected
      ├─ ZaloForbidden       403
      ├─ ZaloNotFound        404
      ├─ ZaloTimeout         408 an idle long poll: normal, not a failure
      ├─ ZaloRateLimited     429 quota exceeded: back off
      └─ ZaloNetworkError    no answer at all (connect, read timeout, broken connection)
"""

from __future__ import annotations

from ...logs import redact

__all__ = ["ZaloAuthError", "ZaloBadRequest", "ZaloError", "ZaloForbidden", "ZaloNetworkError",
           "ZaloNotFound", "ZaloRateLimited", "ZaloTimeout", "error_for", "gone"]


class ZaloError(Exception):
    """A failed Bot API call."""

    def __init__(self, method: str, code: int, description: str) -> None:
        self.method = method
        self.code = code
        self.description = redact(description)[:300]
        super().__init__(f"zalo {method} failed: {code} {self.description}".rstrip())


class ZaloBadRequest(ZaloError):
    pass


class ZaloAuthError(ZaloError):
    pass


class ZaloForbidden(ZaloError):
    pass


class ZaloNotFound(ZaloError):
    pass


class ZaloTimeout(ZaloError):
    pass


class ZaloRateLimited(ZaloError):
    pass


class ZaloNetworkError(ZaloError):
    def __init__(self, method: str, description: str) -> None:
        super().__init__(method, 0, description)


_ERRORS: dict[int, type[ZaloError]] = {
    400: ZaloBadRequest,
    401: ZaloAuthError,
    403: ZaloForbidden,
    404: ZaloNotFound,
    408: ZaloTimeout,
    429: ZaloRateLimited,
}


def error_for(method: str, code: int, description: str) -> ZaloError:
    return _ERRORS.get(code, ZaloError)(method, code, description)


def gone(exc: ZaloError) -> bool:
    """True when retrying cannot help: a bad request, an unknown chat, a refusal about the user.

    The API lists 403 as a server error, so a 403 gives up only when it names the chat or user.
    """
    if isinstance(exc, ZaloBadRequest | ZaloNotFound):
        return True
    words = ("chat", "user", "block", "allow", "permission")
    return isinstance(exc, ZaloForbidden) and any(w in exc.description.lower() for w in words)
