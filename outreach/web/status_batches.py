"""Group commit for provider status callbacks.

A short code sending 100 texts a second gets 200 to 300 status callbacks a second back.
Written one transaction each, every callback waits for its own commit and its own round
trips; here the callbacks in flight together are written by one writer thread in one
transaction, and each request is answered only once its callback is committed, so a 204
still means "recorded". Under light load a batch is one callback and nothing waits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from datetime import UTC, datetime

from outreach.events import record_twilio_statuses
from outreach.web.events import shared_ledger

log = logging.getLogger(__name__)
# A batch is what arrived while the previous one was being written, up to this many.
MAX_BATCH = 500

Pending = tuple[str, dict[str, str], datetime, Future]


class StatusBatcher:
    def __init__(self, max_batch: int = MAX_BATCH):
        self.max_batch = max_batch
        self._queue: queue.Queue[Pending] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    async def record(self, step: str, form: dict[str, str]) -> str | None:
        """The attempt's status after this callback, once committed; None for a step the ledger does not know."""
        future: Future = Future()
        self._queue.put((step, form, datetime.now(UTC), future))
        self._start()
        return await asyncio.wrap_future(future)

    def _start(self) -> None:
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_forever, name="status-callbacks", daemon=True)
                self._writer.start()

    def _write_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    @staticmethod
    def _write(batch: list[Pending]) -> None:
        try:
            ledger = shared_ledger()
            keys = ledger.step_keys_for([step for step, _, _, _ in batch])
            answers = record_twilio_statuses(ledger, [(keys.get(step), form, at) for step, form, at, _ in batch])
        except Exception as exc:  # the provider gets a 500 and retries each callback
            log.exception("could not record %d status callback(s)", len(batch))
            for *_, future in batch:
                future.set_exception(exc)
            return
        for (*_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)


status_batcher = StatusBatcher()
