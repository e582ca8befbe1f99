"""Linux executable facts read from the bytes: ELF header and program headers, or a shebang."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from b2i.packaging.errors import (
    NOT_A_LINUX_BINARY,
    UNSUPPORTED_ARCHITECTURE,
    ArtifactError,
)

ELF_MAGIC = b"\x7fELF"
Linkage = Literal["static", "dynamic", "script"]
_MACHINES = {0x3E: "amd64", 0xB7: "arm64"}
_OTHER_MACHINES = {0x03: "i386", 0x28: "arm (32-bit)", 0xF3: "riscv", 0x15: "ppc64", 0x16: "s390x"}
_LINUX_ABIS = {0, 3}  # System V (what Linux toolchains write) and GNU/Linux
_ET_EXEC, _ET_DYN = 2, 3
_PT_INTERP = 3
_MAX_INTERPRETER = 4096
_MAX_PROGRAM_HEADERS = 4096


@dataclass(frozen=True)
class BinaryFacts:
    """What a Linux executable needs from its base image: architecture, libc, interpreter."""

    linkage: Linkage
    architecture: str | None
    interpreter: str | None
    position_independent: bool

    def describe(self) -> str:
        """Return a short human description, e.g. "static Linux binary · amd64"."""
        if self.linkage == "script":
            return f"script · #!{self.interpreter}"
        text = f"{self.linkage} Linux binary · {self.architecture}"
        return f"{text} · {self.interpreter}" if self.interpreter else text


def looks_like_elf(head: bytes) -> bool:
    """Return True when the bytes start with the ELF magic number."""
    return head.startswith(ELF_MAGIC)


def looks_like_script(head: bytes) -> bool:
    """Return True when the bytes start with a `#!` interpreter line."""
    return head.startswith(b"#!")


def analyse_binary(path: Path) -> BinaryFacts:
    """Return the facts of an ELF executable or a shebang script; refuse anything else."""
    with path.open("rb") as handle:
        head = handle.read(64)
        if looks_like_script(head):
            handle.seek(0)
            return _script_facts(handle.read(_MAX_INTERPRETER))
        if not looks_like_elf(head):
            raise ArtifactError(
                NOT_A_LINUX_BINARY,
                "not a Linux executable: the file is neither an ELF binary nor a script "
                "starting with #!. Upload the compiled program for linux/amd64 or linux/arm64.",
            )
        return _elf_facts(handle, head)


def _script_facts(head: bytes) -> BinaryFacts:
    line = head.split(b"\n", 1)[0][2:].strip()
    interpreter = line.split()[0].decode("utf-8", "replace") if line.split() else ""
    if not interpreter.startswith("/"):
        raise ArtifactError(
            NOT_A_LINUX_BINARY,
            "the script's #! line does not name an absolute interpreter path (e.g. #!/bin/sh).",
        )
    return BinaryFacts(
        linkage="script", architecture=None, interpreter=interpreter, position_independent=False
    )


def _elf_facts(handle: BinaryIO, head: bytes) -> BinaryFacts:
    if len(head) < 64 or head[4] != 2 or head[5] != 1:
        raise ArtifactError(
            UNSUPPORTED_ARCHITECTURE,
            "only 64-bit little-endian ELF binaries (linux/amd64, linux/arm64) are supported.",
        )
    if head[7] not in _LINUX_ABIS:
        raise ArtifactError(NOT_A_LINUX_BINARY, "the ELF binary is not built for Linux.")
    elf_type, machine = struct.unpack_from("<HH", head, 16)
    if elf_type not in (_ET_EXEC, _ET_DYN):
        raise ArtifactError(
            NOT_A_LINUX_BINARY,
            "the ELF file is not an executable (an object file or core dump?); link it first.",
        )
    if machine not in _MACHINES:
        name = _OTHER_MACHINES.get(machine, f"machine 0x{machine:x}")
        raise ArtifactError(
            UNSUPPORTED_ARCHITECTURE,
            f"the binary is built for {name}; build it for linux/amd64 or linux/arm64.",
        )
    interpreter = _elf_interpreter(handle, head)
    return BinaryFacts(
        linkage="dynamic" if interpreter else "static",
        architecture=_MACHINES[machine],
        interpreter=interpreter,
        position_independent=elf_type == _ET_DYN,
    )


def _elf_interpreter(handle: BinaryIO, head: bytes) -> str | None:
    (phoff,) = struct.unpack_from("<Q", head, 32)
    entry_size, count = struct.unpack_from("<HH", head, 54)
    if entry_size < 56 or count > _MAX_PROGRAM_HEADERS:
        raise ArtifactError(NOT_A_LINUX_BINARY, "the ELF program headers are malformed.")
    handle.seek(phoff)
    table = handle.read(entry_size * count)
    if len(table) != entry_size * count:
        raise ArtifactError(NOT_A_LINUX_BINARY, "the ELF file is truncated.")
    for index in range(count):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", table, index * entry_size
        )
        if p_type == _PT_INTERP:
            handle.seek(p_offset)
            raw = handle.read(min(p_filesz, _MAX_INTERPRETER))
            return raw.split(b"\0", 1)[0].decode("utf-8", "replace") or None
    return None
