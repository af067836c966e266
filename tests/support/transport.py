"""A socket's side of uvicorn's HTTP protocol, in memory: for driving the protocol (the
connection guard and its lane) without a socket, in tests and in bench/connection.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PEER = ("127.0.0.1", 50000)


@dataclass
class MemoryTransport:
    """What uvicorn's protocol needs of a socket; keeps what is written to it, in order."""

    written: list[bytes] = field(default_factory=list)
    closed: bool = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def writelines(self, data: Iterable[bytes]) -> None:
        self.written.append(b"".join(data))  # one write, as a socket's writev is one call

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": PEER}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False
