"""Tool calls written as text: what small local models (llama.cpp's ``llama-server``, Ollama) often do.

Asked for a function call, such a model may answer with the JSON in the message content instead of
a tool-call message: bare, inside a ```json fence, or with prose around it; as
``{"name": ..., "arguments": {...}}``, ``{"tool": ..., "args": ...}``, the OpenAI wire form, a list
of those, or (for a forced call, or in JSON mode) the arguments alone. ``calls_in_text`` reads
them as (name, arguments) pairs; what the calls say is validated by the caller exactly as for a
native call. Nothing here raises: text that holds no call gives ``[]``.
"""

from __future__ import annotations

import json
import re
from typing import Any

FENCE = re.compile(r"```[A-Za-z]*\s*(.*?)```", re.S)
CALL_KEYS = re.compile(r'"(?:name|tool|tool_name|function|arguments|args|parameters|tool_calls)"\s*:')
NAME_KEYS = ("name", "tool", "tool_name", "function")
ARG_KEYS = ("arguments", "args", "parameters", "input")
MAX_STARTS = 64  # '{' / '[' positions tried in one text: prose full of braces costs no more than this


def json_values(text: str) -> list[Any]:
    """The JSON objects and arrays in ``text``: the whole text or a fenced block when one parses,
    else every value that decodes from a ``{`` or ``[`` in the prose, in order."""
    text = (text or "").strip()
    if not text:
        return []
    for candidate in (text, *(m.group(1).strip() for m in FENCE.finditer(text))):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict | list):
            return [value]
    decoder = json.JSONDecoder()
    found: list[Any] = []
    at, tries = 0, 0
    while tries < MAX_STARTS:
        start = min((p for p in (text.find("{", at), text.find("[", at)) if p >= 0), default=-1)
        if start < 0:
            break
        tries += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            at = start + 1
            continue
        if isinstance(value, dict | list):
            found.append(value)
            at = end
        else:
            at = start + 1
    return found


def _as_call(item: Any) -> tuple[str, str] | None:
    """One call-shaped object → (name, raw arguments JSON), else None."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # the OpenAI wire form
        item = item["function"]
    name = next((item[k] for k in NAME_KEYS if isinstance(item.get(k), str) and item[k].strip()), None)
    if name is None:
        return None
    args = next((item[k] for k in ARG_KEYS if k in item), None)
    if args is None:
        if set(item) - {*NAME_KEYS, "type", "id"}:  # {"name": "Li", "age": 3} is data, not a call
            return None
        args = {}
    raw = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return name.strip(), raw


def calls_in_text(text: str, forced: str | None = None) -> list[tuple[str, str]]:
    """The tool calls written in ``text`` as (name, raw arguments JSON), or ``[]``.

    With ``forced`` (the one function the model was told to call), a JSON object that is not
    call-shaped is read as that function's arguments."""
    for value in json_values(text):
        items = value if isinstance(value, list) else value.get("tool_calls", [value])
        items = items if isinstance(items, list) else [value]
        calls = [c for c in map(_as_call, items) if c is not None]
        if calls:
            return calls
        if forced and isinstance(value, dict):
            return [(forced, json.dumps(value, ensure_ascii=False))]
    return []


def looks_like_call(text: str) -> bool:
    """Whether ``text`` seems to hold a tool call written as JSON (parsable or not)."""
    return bool(text) and "{" in text and CALL_KEYS.search(text) is not None


# --- JSON mode: a forced call asked for as a JSON answer instead --------------------------------
def forced_name(tools: list[dict[str, Any]] | None, tool_choice: Any) -> str | None:
    """The one function ``tool_choice`` forces (the object form, or "required" with one tool)."""
    if not tools:
        return None
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name")
        return name if isinstance(name, str) else None
    if tool_choice == "required" and len(tools) == 1:
        return tools[0].get("function", {}).get("name")
    return None


def plain_messages(messages: list[dict[str, Any]], note: str, *, names: bool) -> list[dict[str, Any]]:
    """``messages`` for a request without tools: ``note`` appended to the system message, earlier
    calls written as the JSON the model is asked for (with ``names``: ``{"name", "arguments"}``, else
    the arguments alone), tool results as user messages."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            said = []
            for call in message["tool_calls"]:
                function = call.get("function", {})
                raw = function.get("arguments") or "{}"
                said.append(f'{{"name": {json.dumps(function.get("name"))}, "arguments": {raw}}}' if names else raw)
            out.append({"role": "assistant", "content": "\n".join(filter(None, [message.get("content"), *said]))})
        elif role == "tool":
            out.append({"role": "user", "content": f"Tool result: {message.get('content') or ''}"})
        else:
            out.append(dict(message))
    if not note:
        return out
    if out and out[0].get("role") == "system":
        out[0]["content"] = f"{out[0].get('content') or ''}\n{note}".strip()
    else:
        out.insert(0, {"role": "system", "content": note})
    return out


def json_mode_request(messages: list[dict[str, Any]], tool: dict[str, Any], *,
                      response_format: bool) -> dict[str, Any]:
    """The request parts that ask for ``tool``'s arguments as one JSON object, without tools: the
    instruction appended to the system message, earlier calls and tool results as plain text, and
    (unless the provider refused it) a ``json_schema`` response format with the tool's schema."""
    function = tool.get("function", {})
    schema = function.get("parameters") or {"type": "object"}
    note = (f"Answer with one JSON object and nothing else: the arguments of `{function.get('name')}` "
            f"({function.get('description', '')}), following this JSON schema: "
            + json.dumps(schema, ensure_ascii=False))
    request: dict[str, Any] = {"messages": plain_messages(messages, note, names=False)}
    if response_format:
        request["response_format"] = {"type": "json_schema", "json_schema": {
            "name": str(function.get("name") or "answer"), "schema": schema}}
    return request


def tools_as_text(messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: Any) -> list[dict[str, Any]]:
    """``messages`` for a provider that refuses ``tools`` (llama-server without ``--jinja``): the
    tools described in the system message, calls asked for as JSON text (none with "none")."""
    if tool_choice == "none":
        return plain_messages(messages, "", names=True)
    lines = ["You can call these tools:"]
    for tool in tools:
        function = tool.get("function", {})
        lines.append(f"- {function.get('name')}: {function.get('description', '')} Arguments (JSON schema): "
                     + json.dumps(function.get("parameters") or {}, ensure_ascii=False))
    lines.append('To call a tool, answer with only a JSON object {"name": <tool name>, "arguments": {...}} '
                 "(a JSON list of them for several calls). Otherwise answer the user in plain text.")
    return plain_messages(messages, "\n".join(lines), names=True)
