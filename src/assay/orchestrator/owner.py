"""Who holds a lease: `host:pid:nonce`, so a dead holder on this host is seen at once."""

from __future__ import annotations

import os
import socket
import uuid

HOST = socket.gethostname()


def process_owner() -> str:
    """A fresh owner id for this process (the nonce tells two lives of one pid apart)."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when the owner ran on this host and its process is gone.

    Such an owner can never renew its lease, so its work is recovered at once rather
    than after the lease expires. Owners on other hosts are judged by lease alone.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
