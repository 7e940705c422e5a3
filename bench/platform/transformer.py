#!/usr/bin/env python3
"""The peer's transformer: what KServe's Feast transformer sample does
(docs/samples/v1beta1/transformer/feast in kserve/kserve), as a minimal standalone service.

Per request `{"entities": {"driver_id": [id, ...]}}` on POST /predict:
  1. POST feast serve's /get-online-features with the feature refs and those entities,
  2. build one row per entity in the model's feature order (refusing a missing value with a 502
     naming the driver and feature: no silent zero, as kiln does),
  3. POST the rows to MLServer's Open Inference V2 /v2/models/<model>/infer as FP32 [n, F],
  4. answer `{"predictions": [...]}`.

Written for speed, so the peer is at its best: one aiohttp server on uvloop, one keep-alive
connection pool per upstream (the sample opens a new blocking http.client connection per call),
no logging per request. Runs in its own venv (bench/.work/platform-transformer-venv: aiohttp,
uvloop); only the standard library besides those.
"""
import argparse
import asyncio
import json

import aiohttp
import uvloop
from aiohttp import web


class Transformer:
    def __init__(self, feast_url, mlserver_url, model, entity, refs):
        self.feast_url = feast_url.rstrip("/") + "/get-online-features"
        self.infer_url = f"{mlserver_url.rstrip('/')}/v2/models/{model}/infer"
        self.entity = entity
        self.refs = refs
        self.names = [r.split(":", 1)[1] for r in refs]  # the model's column order
        self.session = None

    async def start(self, app):
        # Unbounded pool of keep-alive connections per upstream (limit=0): never a queue in the
        # transformer itself.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
                                             timeout=aiohttp.ClientTimeout(total=30))

    async def stop(self, app):
        await self.session.close()

    async def predict(self, request):
        try:
            body = await request.json()
            ids = body["entities"][self.entity]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": f"expected {{\"entities\": {{\"{self.entity}\": [...]}}}}"}, status=400)
        freq = {"features": self.refs, "entities": {self.entity: ids}}
        async with self.session.post(self.feast_url, json=freq) as r:
            if r.status != 200:
                return web.json_response({"error": f"feast serve: {r.status} {(await r.text())[:300]}"}, status=502)
            feats = await r.json(content_type=None)
        cols = dict(zip(feats["metadata"]["feature_names"], feats["results"]))
        n = len(ids)
        data = []
        for i in range(n):
            for name in self.names:
                col = cols.get(name)
                v = None if col is None else col["values"][i]
                if v is None or col["statuses"][i] != "PRESENT":
                    return web.json_response({"error": f"{self.entity}={ids[i]}: feature {name} missing"}, status=502)
                data.append(v)
        ireq = {"inputs": [{"name": "input-0", "shape": [n, len(self.names)], "datatype": "FP32", "data": data}]}
        async with self.session.post(self.infer_url, json=ireq) as r:
            if r.status != 200:
                return web.json_response({"error": f"MLServer: {r.status} {(await r.text())[:300]}"}, status=502)
            out = await r.json(content_type=None)
        return web.json_response({"predictions": out["outputs"][0]["data"]})

    async def health(self, request):
        return web.Response(text="OK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--feast", required=True, help="feast serve's base URL")
    ap.add_argument("--mlserver", required=True, help="MLServer's REST base URL")
    ap.add_argument("--model", default="xgb")
    ap.add_argument("--entity", default="driver_id")
    ap.add_argument("--features", required=True, help="JSON list of feature refs view:feature, in the model's order")
    a = ap.parse_args()
    t = Transformer(a.feast, a.mlserver, a.model, a.entity, json.loads(a.features))
    app = web.Application()
    app.on_startup.append(t.start)
    app.on_cleanup.append(t.stop)
    app.router.add_post("/predict", t.predict)
    app.router.add_get("/health", t.health)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=a.port, access_log=None, print=None)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    main()
