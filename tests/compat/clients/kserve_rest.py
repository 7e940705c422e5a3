"""Drives kiln with kserve's own InferenceRESTClient (V1 and V2) and prints
what it got back as JSON. Runs in its own process: kserve registers the
`inference.*` protobuf messages, and so does tritonclient.grpc, which the
pytest process imports; one process cannot hold both.

stdin: {"url": ..., "calls": [{"op": ..., ...}, ...]}; stdout: one result per call.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


async def run_call(clients: dict, url: str, call: dict) -> dict:
    client = clients[call.get("protocol", "v2")]
    op = call["op"]
    try:
        if op == "server_ready":
            return {"value": await client.is_server_ready(url)}
        if op == "server_live":
            return {"value": await client.is_server_live(url)}
        if op == "model_ready":
            return {"value": await client.is_model_ready(url, call["model"])}
        if op == "infer_v1":
            out = await client.infer(url, {"instances": np.load(call["input"]).tolist()}, model_name=call["model"])
            return {"value": out}
        if op == "infer_v2":
            x = np.load(call["input"]).astype(call.get("numpy", "float32"))
            inp = InferInput(call.get("input_name", "input-0"), list(x.shape), call.get("datatype", "FP32"))
            inp.set_data_from_numpy(x, binary_data=call.get("binary", True))
            outputs = [RequestedOutput(n, {"binary_data": call.get("binary", True)}) for n in call.get("outputs", [])]
            req = InferRequest(call["model"], [inp], request_id=call.get("id"), request_outputs=outputs or None)
            res = await client.infer(url, req, model_name=call["model"])
            return {"id": res.id, "model_name": res.model_name,
                    "outputs": {o.name: {"shape": list(o.shape), "datatype": o.datatype,
                                         "data": np.asarray(o.as_numpy()).reshape(-1).tolist()}
                                for o in res.outputs}}
        raise ValueError(f"unknown op {op}")
    except httpx.HTTPStatusError as e:
        return {"http_status": e.response.status_code, "body": e.response.text}


async def main() -> None:
    spec = json.load(sys.stdin)
    clients = {p: InferenceRESTClient(RESTConfig(protocol=p, retries=0, timeout=30)) for p in ("v1", "v2")}
    try:
        results = [await run_call(clients, spec["url"], c) for c in spec["calls"]]
    finally:
        for c in clients.values():
            await c.close()
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
