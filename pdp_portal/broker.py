"""The embedded default's message broker: kombu's filesystem transport, made safe for concurrent use.

kombu's own `filesystem` transport creates a message file under its final name and only then
writes into it. A worker listing the folder in between reads an empty or half-written file and
dies with `JSONDecodeError('Expecting value: line 1 column 1 (char 0)')` in `_get`. Here:

- a message is written whole to `<broker>/tmp/` and then renamed into the queue folder, so a
  `.msg` file is complete the moment it appears (rename is atomic within one filesystem);
- a consumer claims a message by renaming it into `<broker>/claimed/` (same filesystem, not the
  system's temporary folder), so of two consumers exactly one wins, and no copy is left behind;
- a file that still cannot be read (written by an older version, or a disk that lost data) is
  moved to `<broker>/rejected/` and logged, and the worker goes on with the next message;
- the exchange tables under the control folder are replaced atomically too.

Message names and the folder layout are kombu's, so messages already queued are still delivered.
"""

import json
import logging
import os
import time
import uuid

from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)


def _write_atomically(path, data, tmp_dir):
    """Write `data` to `path` through a temporary file in `tmp_dir` (same filesystem) and a rename."""
    tmp = os.path.join(tmp_dir, f".{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Channel(filesystem.Channel):
    @property
    def _broker_dir(self):
        return os.path.dirname(os.path.abspath(self.data_folder_in))

    def _folder(self, name):
        # One stat per call when the folder exists; not cached, so a folder removed while the
        # worker runs is made again instead of every claim failing as if another consumer won.
        folder = os.path.join(self._broker_dir, name)
        os.makedirs(folder, exist_ok=True)
        return folder

    def _put(self, queue, payload, **kwargs):
        """Put a message on `queue`: written whole elsewhere, then renamed into the queue folder."""
        # Consumers take the names in sorted order: a fixed-width wall-clock stamp keeps that order
        # first in, first out, across processes and restarts (kombu's unpadded monotonic
        # milliseconds sort "12…" before "9…" and start again at each boot).
        filename = f"{time.time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_atomically(
                os.path.join(self.data_folder_out, filename), dumps(payload).encode(), self._folder("tmp")
            )
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {filename!r} to directory") from exc

    def _get(self, queue):
        """Take the oldest message of `queue`: claim it by a rename, read it, remove it."""
        wanted = f"{queue}.msg"
        claimed = self._folder("claimed")
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            path = os.path.join(claimed, filename)
            try:
                os.rename(os.path.join(self.data_folder_in, filename), path)
            except OSError:
                continue  # another consumer claimed it first
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
            except OSError as exc:
                raise filesystem.ChannelError(f"Cannot read file {path!r} from queue.") from exc
            try:
                payload = loads(raw.decode())
            except (UnicodeDecodeError, ValueError):
                rejected = os.path.join(self._folder("rejected"), filename)
                os.replace(path, rejected)
                logger.error(
                    "Unreadable broker message (%d bytes) moved to %s; it was not delivered.", len(raw), rejected
                )
                continue
            os.remove(path)
            return payload
        raise filesystem.Empty()

    def _write_table(self, exchange, queues):
        file = self._exchange_file(exchange)
        _write_atomically(str(file), dumps(queues).encode(), self._folder("tmp"))

    def _read_table(self, exchange):
        try:
            text = self._exchange_file(exchange).read_text()
        except FileNotFoundError:
            return []
        try:
            return [filesystem.exchange_queue_t(*q) for q in json.loads(text)]
        except ValueError:
            logger.error("Unreadable exchange table for %r; starting it afresh.", exchange)
            return []

    def _table_lock(self, exchange):
        self.control_folder.mkdir(parents=True, exist_ok=True)
        return open(self.control_folder / f"{exchange}.lock", "wb")

    def get_table(self, exchange):
        return self._read_table(exchange)

    def _update_table(self, exchange, change):
        """Rewrite `exchange`'s table as `change(queues)` under its lock; `None` leaves it as it is."""
        with self._table_lock(exchange) as lock_file:
            filesystem.lock(lock_file, filesystem.LOCK_EX)
            try:
                queues = change(self._read_table(exchange))
                if queues is not None:
                    self._write_table(exchange, queues)
            finally:
                filesystem.unlock(lock_file)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda queues: None if entry in queues else [entry, *queues])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        # The virtual channel's own bookkeeping, then the table on disk (kombu's parent rewrites it in place).
        super(filesystem.Channel, self)._delete(queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda queues: [q for q in queues if q != entry] if entry in queues else None)


class Transport(filesystem.Transport):
    Channel = Channel
