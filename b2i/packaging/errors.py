"""Errors the user caused by the artifact they uploaded: a stable code and an actionable message."""

from __future__ import annotations

NOT_AN_ARCHIVE = "build:user:not-an-archive"
CORRUPT_ARCHIVE = "build:user:corrupt-archive"
ENCRYPTED_ARCHIVE = "build:user:encrypted-archive"
ZIP_BOMB = "build:user:zip-bomb"
TOO_MANY_ENTRIES = "build:user:too-many-entries"
UNSAFE_PATH = "build:user:unsafe-path"
NOT_EXECUTABLE_JAR = "build:user:not-executable-jar"
KIND_MISMATCH = "build:user:kind-mismatch"
NOT_A_LINUX_BINARY = "build:user:not-a-linux-binary"
UNSUPPORTED_ARCHITECTURE = "build:user:unsupported-architecture"
EMPTY_FILE = "build:user:empty-file"
UNKNOWN_KIND = "build:user:unknown-kind"
ENVIRONMENT_MISMATCH = "build:user:environment-mismatch"
BAD_CONTEXT_PATH = "build:user:bad-context-path"


class ArtifactError(Exception):
    """An artifact the build cannot use; `code` is stable, `message` says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """Return the error as a JSON-able mapping (`code`, `message`)."""
        return {"code": self.code, "message": self.message}
