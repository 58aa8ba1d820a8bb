"""The log channel: records what would have been sent, to a JSON-lines outbox file.

Recipients are masked in the file; the full address stays in the ledger only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path

from outreach.channels.base import OutboundMessage, SendResult
from outreach.masking import mask_address


class LogChannel:
    name = "log"

    def __init__(self, outbox: Path):
        self.outbox = outbox

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        results = []
        with self.outbox.open("a", encoding="utf-8") as handle:
            for message in batch:
                message_id = f"LOG{uuid.uuid4().hex}"
                record = {
                    "id": message_id,
                    "step_key": message.step_key,
                    "channel": message.channel,
                    "to": mask_address(message.channel, message.to),
                    "locale": message.locale,
                    "subject": message.subject,
                    "body": message.body,
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                results.append(SendResult(message.step_key, "sent", provider_message_id=message_id))
        return results
