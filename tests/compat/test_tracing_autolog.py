"""GenAI autologging into the tracking server: the unmodified `openai` client,
instrumented by `mlflow.openai.autolog()`, calls a local OpenAI-compatible
endpoint (a canned chat completion: the LLM is not what is under test), and
the trace MLflow records lands in the target server and reads back.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mlflow
import openai
import pytest

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "kiln is an MLOps server."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
}


class _Chat(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(COMPLETION).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def llm_endpoint():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Chat)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_openai_autolog_trace_reaches_server(unique, llm_endpoint):
    mlflow.set_experiment(unique("autolog"))
    mlflow.openai.autolog()
    try:
        client = openai.OpenAI(base_url=llm_endpoint, api_key="test-key")
        reply = client.chat.completions.create(model="gpt-4o-mini",
                                               messages=[{"role": "user", "content": "What is kiln?"}])
        assert reply.choices[0].message.content == "kiln is an MLOps server."
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()
    finally:
        mlflow.openai.autolog(disable=True)
    trace = mlflow.get_trace(trace_id)
    assert trace is not None and trace.info.state.value == "OK"
    (span,) = trace.data.spans
    assert span.span_type == "CHAT_MODEL"
    assert span.inputs["messages"] == [{"role": "user", "content": "What is kiln?"}]
    assert span.outputs["choices"][0]["message"]["content"] == "kiln is an MLOps server."
    found = mlflow.search_traces(filter_string="span.type = 'CHAT_MODEL'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]
