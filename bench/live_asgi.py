"""The product's ASGI application plus B12's reference consumer (bench/live.py only).

`/ws/bench-relay?org=<id>&frames=<n>` joins the organization's live group with no
authentication and, on each data change, sends n small JSON frames with a sequence number:
what a consumer that only relays costs, against which the product's consumer
(`/ws/bi-dashboard`, which also computes the numbers) is measured. Never routed in the product.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter

from config.asgi import application as product  # sets Django up before the models are imported
from insights import live


class RelayConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        self.group = live.group_name(int(query["org"][0]))
        self.frames = int(query.get("frames", ["1"])[0])
        self.seq = 0
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def org_data_changed(self, event: dict) -> None:
        for index in range(self.frames):
            self.seq += 1
            await self.send_json(
                {"type": "metrics", "metric_type": live.METRIC_TYPES[index], "seq": self.seq}
            )


relay = RelayConsumer.as_asgi()
product_sockets = product.application_mapping["websocket"]


async def sockets(scope, receive, send):
    # The reference route; everything else goes through the product's stack as served
    # (origin check, session, its routes).
    app = relay if scope["path"] == "/ws/bench-relay" else product_sockets
    return await app(scope, receive, send)


application = ProtocolTypeRouter({"http": product.application_mapping["http"], "websocket": sockets})
