"""The embedded default's broker: kombu's file-system transport, with messages written atomically.

kombu's own transport creates the message file in the queue folder and writes it afterwards, so a
consumer polling the folder can take an empty or half-written file, fail to decode it and stop the
whole worker ("Unrecoverable error"). Here each message is written under a name consumers ignore
and renamed into place: a consumer sees whole messages or none, in the order they were sent.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic_ns

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps

ALIAS = "dermrelayfs"


def rename_into_queue(partial: str, final: str) -> None:
    """The moment a message becomes visible to consumers (atomic within one file system)."""
    os.replace(partial, final)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # Consumers take files in name order: a zero-padded nanosecond clock keeps that the order sent.
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")  # not '<queue>.msg': never consumed
        try:
            with open(partial, "wb") as handle:
                handle.write(dumps(payload).encode())
            rename_into_queue(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Make `dermrelayfs://` a broker URL in this process (done by dermrelay.celery)."""
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
