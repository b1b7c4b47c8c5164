"""Create the Kafka topics CallPulse uses, with a fixed partition count, before anyone writes.

Relying on broker auto-creation would give the events topic whatever default the broker has;
partitions are the unit of scale-out (one worker per partition at most), so we choose them.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream.publish import bootstrap_servers


async def ensure_topics(broker: str, topics: dict[str, int], *, attempts: int = 20) -> None:
    """Create each ``{name: partitions}`` topic that does not exist yet (idempotent)."""
    last: Exception | None = None
    for _ in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker))
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [NewTopic(n, p, 1) for n, p in topics.items() if n not in existing]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
            return
        except Exception as e:  # noqa: BLE001 - broker still starting: try again
            last = e
            await asyncio.sleep(0.25)
        finally:
            await admin.close()
    msg = f"could not create topics {sorted(topics)} on {broker}: {last}"
    raise RuntimeError(msg)
