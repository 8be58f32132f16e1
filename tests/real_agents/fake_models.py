#!/usr/bin/env python3
"""Loopback fake model APIs for the opt-in real-CLI suite (`make real-agents`).

One HTTP server speaks the three APIs the pinned CLIs use, streaming with SSE:

- OpenAI Responses API  `POST /v1/responses`                         (codex 0.169.0)
- Anthropic Messages API `POST /v1/messages`                         (Claude Code 2.1.329)
- Gemini API `POST /v1beta/models/<m>:streamGenerateContent?alt=sse` (Gemini CLI 0.61.0)
  (and `:generateContent`, `:countTokens`)

The scenario is the model's name, which the test sets through `[adapters.<name>] model`:

- `tool`      the model runs one shell command that writes `hello.txt`, then answers;
- `ratelimit` the first request of the scenario gets a 429 with `retry-after: 1`, then `tool`;
- `quota`     every request gets the API's quota/billing error;
- `long`      a long answer streamed in many small deltas, no tool;
- `edit`      (Gemini) the model rewrites `README.md` with the CLI's file tool (`write_file`),
              then runs the shell command that writes `hello.txt`, then answers: in ACP mode
              the CLI reads and writes `README.md` through the client (`fs/read_text_file`,
              `fs/write_text_file`) and asks the client's permission before the edit and
              before the command.

Every response reports the same usage (USAGE below) so the test can check the totals. Each
request is appended to the log (one JSON object a line: path, model, scenario, status).
Usage: fake_models.py <port-file> <log-file>; the chosen port is written to <port-file>.
Standard library only.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"input": 1200, "cached": 200, "output": 80}
COMMAND = "printf 'hello from the fake model\\n' > hello.txt"
CONTENT = "hello, rewritten by the fake model\n"
FINAL_EDIT = "I rewrote README.md and wrote hello.txt. FINAL ANSWER"
FINAL = "I wrote hello.txt. FINAL ANSWER"
LONG = " ".join(f"word{i}" for i in range(400)) + " FINAL ANSWER"

counts = {}
lock = threading.Lock()
LOG = None


def log(entry):
    with lock:
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


def bump(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


def scenario_of(model):
    model = (model or "").lower()
    for s in ("ratelimit", "quota", "long", "edit", "tool"):
        if s in model:
            return s
    return "tool"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        text = ""
        if event:
            text += f"event: {event}\n"
        text += f"data: {json.dumps(data)}\n\n"
        self.wfile.write(text.encode())
        self.wfile.flush()

    def do_GET(self):
        log({"method": "GET", "path": self.path})
        self.send_json(404, {"error": {"message": "not here"}})

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self.body()
        if path.endswith("/responses"):
            return self.openai(body)
        if path.endswith("/messages"):
            return self.anthropic(body)
        if ":streamGenerateContent" in path or ":generateContent" in path:
            model = path.split("/models/")[-1].split(":")[0]
            return self.gemini(body, model, stream=":stream" in path)
        if ":countTokens" in path:
            log({"path": path, "api": "gemini", "kind": "countTokens"})
            return self.send_json(200, {"totalTokens": 42})
        log({"path": path, "unknown": True})
        self.send_json(404, {"error": {"message": f"no such endpoint {path}"}})

    # --- decisions shared by the three APIs -------------------------------------------------

    def decide(self, api, model, has_tool_result, tools=None, result=None):
        """What to answer: ('error', kind) | ('tool',) | ('final', text)."""
        s = scenario_of(model)
        n = bump((api, s))
        log({"path": self.path, "api": api, "model": model, "scenario": s, "n": n,
             "tool_result": has_tool_result, "tools": tools, "result": result})
        if s == "quota":
            return ("error", "quota")
        if s == "ratelimit" and n == 1:
            return ("error", "rate")
        if s == "long":
            return ("final", LONG)
        if has_tool_result:
            return ("final", FINAL)
        return ("tool",)

    # --- OpenAI Responses (codex) -----------------------------------------------------------

    def openai(self, body):
        items = body.get("input") or []
        has_result = any(isinstance(i, dict) and i.get("type") == "function_call_output"
                         for i in items)
        tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        outputs = [str(i.get("output"))[:300] for i in items
                   if isinstance(i, dict) and i.get("type") == "function_call_output"]
        what = self.decide("openai", body.get("model"), has_result, tools,
                           outputs[-1] if outputs else None)
        if what[0] == "error":
            if what[1] == "rate":
                return self.send_json(429, {"error": {
                    "message": "Rate limit reached for gpt-fake on requests per min (RPM): Limit 3, Used 3. Please try again in 1s.",
                    "type": "requests", "code": "rate_limit_exceeded"}},
                    {"retry-after": "1"})
            return self.send_json(429, {"error": {
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "type": "insufficient_quota", "code": "insufficient_quota"}})
        self.start_sse()
        rid = f"resp_{bump('openai-id')}"
        self.sse({"type": "response.created", "response": {"id": rid}}, "response.created")
        if what[0] == "tool":
            name, args = codex_tool(tools)
            item = {"type": "function_call", "id": f"fc_{rid}", "call_id": f"call_{rid}",
                    "name": name, "arguments": json.dumps(args)}
            self.sse({"type": "response.output_item.added", "output_index": 0, "item": item},
                     "response.output_item.added")
            self.sse({"type": "response.output_item.done", "output_index": 0, "item": item},
                     "response.output_item.done")
        else:
            text = what[1]
            mid = f"msg_{rid}"
            self.sse({"type": "response.output_item.added", "output_index": 0,
                      "item": {"type": "message", "id": mid, "role": "assistant", "content": []}},
                     "response.output_item.added")
            for chunk in chunks(text):
                self.sse({"type": "response.output_text.delta", "item_id": mid,
                          "output_index": 0, "content_index": 0, "delta": chunk},
                         "response.output_text.delta")
            self.sse({"type": "response.output_item.done", "output_index": 0,
                      "item": {"type": "message", "id": mid, "role": "assistant",
                               "content": [{"type": "output_text", "text": text,
                                            "annotations": []}]}},
                     "response.output_item.done")
        self.sse({"type": "response.completed", "response": {"id": rid, "usage": {
            "input_tokens": USAGE["input"],
            "input_tokens_details": {"cached_tokens": USAGE["cached"]},
            "output_tokens": USAGE["output"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": USAGE["input"] + USAGE["output"]}}}, "response.completed")

    # --- Anthropic Messages (claude) --------------------------------------------------------

    def anthropic(self, body):
        msgs = body.get("messages") or []
        has_result = False
        if msgs:
            last = msgs[-1]
            content = last.get("content")
            if isinstance(content, list):
                has_result = any(isinstance(c, dict) and c.get("type") == "tool_result"
                                 for c in content)
        model = body.get("model")
        tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        # Claude Code's side requests (titles, quota probes) have no tools: a short answer.
        if not tools and scenario_of(model) != "quota":
            log({"path": self.path, "api": "anthropic", "model": model, "side": True})
            return self.anthropic_final(body, "ok", stream=body.get("stream"))
        what = self.decide("anthropic", model, has_result)
        if what[0] == "error":
            if what[1] == "rate":
                return self.send_json(429, {"type": "error", "error": {
                    "type": "rate_limit_error",
                    "message": "Number of requests has exceeded your per-minute rate limit"}},
                    {"retry-after": "1"})
            return self.send_json(400, {"type": "error", "error": {
                "type": "invalid_request_error",
                "message": "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}})
        if what[0] == "tool":
            return self.anthropic_tool(body)
        return self.anthropic_final(body, what[1], stream=body.get("stream"))

    def anthropic_usage(self):
        return {"input_tokens": USAGE["input"] - USAGE["cached"],
                "cache_read_input_tokens": USAGE["cached"],
                "cache_creation_input_tokens": 0, "output_tokens": USAGE["output"]}

    def anthropic_start(self, body):
        mid = f"msg_{bump('anthropic-id')}"
        self.start_sse()
        usage = dict(self.anthropic_usage(), output_tokens=1)
        self.sse({"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}},
            "message_start")

    def anthropic_stop(self, reason):
        self.sse({"type": "message_delta", "delta": {"stop_reason": reason,
                  "stop_sequence": None}, "usage": {"output_tokens": USAGE["output"]}},
                 "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")

    def anthropic_tool(self, body):
        self.anthropic_start(body)
        tid = f"toolu_{bump('anthropic-tool')}"
        self.sse({"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": tid, "name": "Bash", "input": {}}}, "content_block_start")
        self.sse({"type": "content_block_delta", "index": 0, "delta": {
            "type": "input_json_delta",
            "partial_json": json.dumps({"command": COMMAND, "description": "write hello.txt"})}},
            "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.anthropic_stop("tool_use")

    def anthropic_final(self, body, text, stream):
        if not stream:
            return self.send_json(200, {
                "id": f"msg_{bump('anthropic-id')}", "type": "message", "role": "assistant",
                "model": body.get("model"), "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": self.anthropic_usage()})
        self.anthropic_start(body)
        self.sse({"type": "content_block_start", "index": 0,
                  "content_block": {"type": "text", "text": ""}}, "content_block_start")
        for chunk in chunks(text):
            self.sse({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "text_delta", "text": chunk}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.anthropic_stop("end_turn")

    # --- Gemini (gemini-cli) ----------------------------------------------------------------

    def gemini(self, body, model, stream):
        contents = body.get("contents") or []
        has_result = False
        if contents:
            parts = contents[-1].get("parts") or []
            has_result = any(isinstance(p, dict) and "functionResponse" in p for p in parts)
        decls = []
        for t in body.get("tools") or []:
            for d in t.get("functionDeclarations") or []:
                decls.append(d.get("name"))
        if not stream:
            # Side requests (next-speaker checks, routing, summaries): a plain JSON answer.
            log({"path": self.path, "api": "gemini", "model": model, "side": True})
            text = json.dumps({"next_speaker": "user", "reasoning": "the model is done"})
            return self.send_json(200, {"candidates": [{"content": {"role": "model",
                "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": gemini_usage()})
        what = self.decide("gemini", model, has_result)
        if what[0] == "error":
            if what[1] == "rate":
                return self.send_json(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                    "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in 1s.",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                            {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]}},
                    {"retry-after": "1"})
            return self.send_json(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                "message": "You exceeded your current quota, please check your plan and billing details. You have exhausted your daily quota on this model.",
                "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                     "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}})
        self.start_sse()
        if scenario_of(model) == "edit" and what[0] != "error":
            # The steps so far: one function response per tool run.
            done = sum(1 for c in contents for p in (c.get("parts") or [])
                       if isinstance(p, dict) and "functionResponse" in p)
            if done == 0:
                what = ("call", "write_file", {"file_path": "README.md", "content": CONTENT})
            elif done == 1:
                what = ("call", "run_shell_command",
                        {"command": COMMAND, "description": "write hello.txt"})
            else:
                what = ("final", FINAL_EDIT)
        if what[0] == "call":
            self.sse({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {
                "name": what[1], "args": what[2]}}]}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": gemini_usage(), "modelVersion": model})
            return
        if what[0] == "tool":
            name = "run_shell_command" if "run_shell_command" in decls or not decls else decls[0]
            self.sse({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {
                "name": name, "args": {"command": COMMAND, "description": "write hello.txt"}}}]},
                "finishReason": "STOP", "index": 0}], "usageMetadata": gemini_usage(),
                "modelVersion": model})
            return
        pieces = chunks(what[1])
        for i, chunk in enumerate(pieces):
            cand = {"content": {"role": "model", "parts": [{"text": chunk}]}, "index": 0}
            event = {"candidates": [cand], "modelVersion": model}
            if i == len(pieces) - 1:
                cand["finishReason"] = "STOP"
                event["usageMetadata"] = gemini_usage()
            self.sse(event)


def gemini_usage():
    return {"promptTokenCount": USAGE["input"], "cachedContentTokenCount": USAGE["cached"],
            "candidatesTokenCount": USAGE["output"],
            "totalTokenCount": USAGE["input"] + USAGE["output"]}


def codex_tool(tools):
    """Codex's shell tool as this version declares it."""
    if "exec_command" in tools:
        return "exec_command", {"cmd": COMMAND}
    if "shell_command" in tools:
        return "shell_command", {"command": COMMAND}
    return "shell", {"command": ["bash", "-lc", COMMAND]}


def chunks(text, size=12):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def main():
    global LOG
    port_file, LOG = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
