"""The one exception tree. Each class carries the exit code the CLI maps it to.

    ComfylockError (exit 2 unless overridden)
    ├── UsageError                 2  bad option combination, nothing to do
    ├── InputError                 2  a file we were given is unreadable or invalid
    │   ├── WorkflowError          2  broken JSON, truncated PNG
    │   │   └── NotAWorkflowError  2  readable, but holds no workflow
    │   ├── LockfileError          2  comfy.lock / comfylock.toml invalid or too new
    │   ├── UnsafePathError        2  a name that would escape its folder
    │   └── InsecureUrlError       2  plain http to a host not allowed (also a UsageError)
    ├── FindingError               1  a check failed: stale, missing, unpinned, ambiguous
    │   └── NoWorkflowsError       1  a project folder holds no workflow at all
    ├── RemoteError                3  network or server failure after retries
    │   ├── AuthError              3  401/403: a token is missing or refused
    │   ├── NoNetworkError         3  the network itself is not there (no DNS, no route)
    │   └── NotFoundError          3  404: a named repo, file, version or pack does not exist
    ├── IntegrityError             4  hash or size mismatch, corrupt store (also ValueError)
    ├── ConflictError              5  a user's own file is in the way; nothing was changed
    ├── DiskSpaceError             6  not enough free space for the downloads (checked first)
    └── Interrupted              130  Ctrl-C; partial downloads are kept for resume

Messages are one line and say how to fix the problem (``hint``). Library code raises;
only ``cli.main`` prints and exits.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ComfylockError",
    "ConflictError",
    "DiskSpaceError",
    "FindingError",
    "InputError",
    "InsecureUrlError",
    "IntegrityError",
    "Interrupted",
    "LockfileError",
    "NoNetworkError",
    "NoWorkflowsError",
    "NotAWorkflowError",
    "NotFoundError",
    "RemoteError",
    "UnsafePathError",
    "UsageError",
    "WorkflowError",
    "describe_os_error",
]


class ComfylockError(Exception):
    """Root of comfylock's errors: a one-line message, an optional hint, an exit code."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class UsageError(ComfylockError):
    exit_code = 2


class InputError(ComfylockError):
    exit_code = 2


class WorkflowError(InputError):
    """A workflow file that cannot be read; ``path`` names it."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class NotAWorkflowError(WorkflowError):
    """A readable file that holds no workflow (an image without metadata, other JSON).
    Inside a directory such files are skipped; named explicitly they are exit 2."""


class InsecureUrlError(UsageError, InputError):
    """A download or repo URL that breaks the https-only rule (SPEC §6)."""


class LockfileError(InputError):
    pass


class UnsafePathError(InputError, ValueError):
    pass


class FindingError(ComfylockError):
    exit_code = 1


class NoWorkflowsError(FindingError):
    """Nothing to resolve or check: no file under the project is a workflow."""


class RemoteError(ComfylockError):
    exit_code = 3


class AuthError(RemoteError):
    pass


class NoNetworkError(RemoteError):
    """No network at all (a name does not resolve, no route): retrying cannot help, and a
    command that can work offline says so (``resolve --offline``)."""


class NotFoundError(RemoteError):
    """The remote says a thing we were told to pin does not exist (lookups return None instead)."""


class IntegrityError(ComfylockError, ValueError):
    exit_code = 4


class ConflictError(ComfylockError):
    exit_code = 5


class DiskSpaceError(ComfylockError):
    """Like an OSError (exit 6), raised before any download starts."""

    exit_code = 6


class Interrupted(ComfylockError):
    exit_code = 130


def describe_os_error(exc: OSError) -> str:
    """One line for a local filesystem failure, with what to do about it."""
    import errno

    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    if exc.errno == errno.ENOSPC:
        return f"disk full{where}; free some space and run again (partial downloads are kept)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{where}; check the directory's owner and mode"
    if exc.errno == errno.EROFS:
        return f"read-only filesystem{where}"
    return f"{exc.strerror or exc}{where}"
