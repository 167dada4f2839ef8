"""Type aliases of the public API, as typeshed spells them for the standard
library (os.PathLike paths, objects with fileno(), buffers)."""
from __future__ import annotations

import os
from typing import Protocol, Union


class HasFileno(Protocol):
    """An object with fileno(): a file, a socket, a PipeIO, ..."""

    def fileno(self) -> int: ...


FileDescriptorLike = Union[int, HasFileno]
StrOrBytesPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
