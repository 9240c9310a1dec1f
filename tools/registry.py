"""The one tool registry.

A tool is a plain function ``fn(ctx, arg: type = default, ...)`` (or an ``async def`` one, for tools
that wait on the network rather than on a thread). Its name, description and JSON
argument schema come from its signature and docstring (Google-style ``Args:``), and the same
schema feeds the LLM's function calling and the router's slot filling. Every tool declares whether
it moves money (and so needs confirmation) and has a timeout. A failure is a :class:`ToolResult`
with an error, never an exception that kills the session.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from common.errors import CodedError
from tools.errors import ToolError

_ARG_LINE = re.compile(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.+)$")


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    data: Any = None
    error: dict[str, Any] | None = None  # {"code": ..., "message": ..., "retryable": ...}
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    fn: Callable[..., Any]
    args_model: type[BaseModel]
    moves_money: bool = False
    timeout_s: float = 5.0
    internal: bool = False  # run by the dialogue policy only; never offered to the LLM
    pool: str = "db"  # the named thread pool a blocking tool runs in (assistant/pools.py)
    param_docs: dict[str, str] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments, with per-argument descriptions from the docstring."""
        schema = self.args_model.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            prop.pop("title", None)
            if name in self.param_docs:
                prop["description"] = self.param_docs[name]
        schema.pop("title", None)
        return schema

    def function_spec(self) -> dict[str, Any]:
        """OpenAI-style function-calling spec (what litellm sends as ``tools``)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                  "parameters": self.schema()}}


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    summary_lines, params, in_args = [], {}, False
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args:
            match = _ARG_LINE.match(line)
            if match:
                params[match.group(1)] = match.group(2).strip()
            elif line.strip() and not line.startswith("    "):
                in_args = False
        elif not params:
            summary_lines.append(line.strip())
    summary = " ".join(part for part in summary_lines if part).strip()
    return summary, params


def _args_model(fn: Callable[..., Any]) -> type[BaseModel]:
    signature = inspect.signature(fn)
    hints = inspect.get_annotations(fn, eval_str=True)
    fields: dict[str, Any] = {}
    for index, (name, param) in enumerate(signature.parameters.items()):
        if index == 0:  # the ToolContext
            continue
        annotation = hints.get(name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    config = ConfigDict(extra="forbid")
    return create_model(f"{fn.__name__}_args", __config__=config, **fields)


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(
        self, fn: Callable[..., Any] | None = None, *, moves_money: bool = False,
        timeout_s: float = 5.0, name: str | None = None, internal: bool = False, pool: str = "db",
    ):
        """Register a function as a tool; usable as ``@registry.register`` or with options."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            summary, params = _parse_docstring(inspect.getdoc(func) or "")
            tool = Tool(
                name=name or func.__name__, description=summary, fn=func, args_model=_args_model(func),
                moves_money=moves_money, timeout_s=timeout_s, internal=internal, param_docs=params, pool=pool,
            )
            if tool.name in self._tools:
                raise ValueError(f"tool {tool.name!r} registered twice")
            self._tools[tool.name] = tool
            return func

        return decorate(fn) if fn is not None else decorate

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def function_specs(self) -> list[dict[str, Any]]:
        return [self._tools[n].function_spec() for n in self.names() if not self._tools[n].internal]

    def validate(self, name: str, args: dict[str, Any]) -> tuple[BaseModel | None, dict[str, Any] | None]:
        """Check arguments against the tool's schema: (parsed, None) or (None, error)."""
        tool = self._tools.get(name)
        if tool is None:
            return None, {"code": "unknown-tool", "message": f"no tool named {name!r}", "retryable": False}
        try:
            return tool.args_model.model_validate(args or {}), None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in exc.errors())
            return None, {"code": "invalid-arguments", "message": problems, "retryable": False}

    async def call(self, name: str, args: dict[str, Any], ctx: Any, pools: Any = None) -> ToolResult:
        """Validate and run a tool, bounded by its timeout: an ``async`` tool on the event loop (the
        timeout cancels it), a blocking one in its named pool of ``pools`` (``asyncio.to_thread``
        without them)."""
        started = time.perf_counter()
        parsed, error = self.validate(name, args)
        if error is not None:
            return ToolResult(ok=False, error=error)
        tool = self._tools[name]
        kwargs = {k: getattr(parsed, k) for k in tool.args_model.model_fields}
        try:
            if inspect.iscoroutinefunction(tool.fn):
                running = tool.fn(ctx, **kwargs)
            elif pools is not None:
                running = pools.run(tool.pool, tool.fn, ctx, **kwargs)
            else:
                running = asyncio.to_thread(tool.fn, ctx, **kwargs)
            data = await asyncio.wait_for(running, tool.timeout_s)
        except ToolError as exc:
            error = {"code": exc.code, "message": exc.message, "retryable": exc.retryable}
        except TimeoutError:
            error = {"code": "tool-timeout", "message": f"{name} took longer than {tool.timeout_s}s",
                     "retryable": True}
        except CodedError as exc:  # a coded failure of a service the tool uses (the LLM, the vector store)
            error = {"code": exc.code, "message": f"{name} failed: {exc.code}", "retryable": exc.retryable}
        except Exception as exc:  # a bug in a tool is reported, not raised into the session
            error = {"code": "tool-failed", "message": f"{name} failed: {type(exc).__name__}", "retryable": True}
        elapsed = (time.perf_counter() - started) * 1000
        if error is not None:
            return ToolResult(ok=False, error=error, duration_ms=elapsed)
        return ToolResult(ok=True, data=data, duration_ms=elapsed)
