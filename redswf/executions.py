"""Workflow executions: start, describe, read the history, signal, cancel, terminate."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import keys
from .errors import SWFError, validation_error
from .shapes import ms_to_timestamp, page_size, page_token_int, text_map
from .tokens import decode_page_token, encode_page_token, new_run_id

if TYPE_CHECKING:
    from .service import CallContext, Service

logger = logging.getLogger(__name__)


class ExecutionOperations:
    """Operation handlers for workflow executions."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def op_start_workflow_execution(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        args = dict(p)
        args["runId"] = new_run_id()
        if p.get("taskList"):
            args["taskList"] = p["taskList"]["name"]
        run_id = await self.service.scripts.run(
            "execution_start", self.service.domain_keys(ctx, p["domain"]).prefix, args
        )
        return {"runId": run_id}

    async def _run(self, dk: keys.DomainKeys, p: dict[str, Any]) -> dict[str, str]:
        execution = p["execution"]
        raw: Any = await self.service.redis.hgetall(dk.run(execution["runId"]))
        run = text_map(raw)
        if not run or run["workflowId"] != execution["workflowId"]:
            await self.service.require_domain(dk, p["domain"])
            raise SWFError(
                "UnknownResourceFault",
                "Unknown execution: WorkflowExecution=[workflowId="
                f"{execution['workflowId']}, runId={execution['runId']}]",
            )
        return run

    async def op_describe_workflow_execution(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        run = await self._run(self.service.domain_keys(ctx, p["domain"]), p)
        configuration: dict[str, Any] = {
            "taskStartToCloseTimeout": run["taskTimeout"],
            "executionStartToCloseTimeout": run["execTimeout"],
            "taskList": {"name": run["taskList"]},
            "childPolicy": run["childPolicy"],
            "taskPriority": run["taskPriority"],
        }
        if run.get("lambdaRole"):
            configuration["lambdaRole"] = run["lambdaRole"]
        detail: dict[str, Any] = {
            "executionInfo": self.service.execution_info(run),
            "executionConfiguration": configuration,
            "openCounts": {
                "openActivityTasks": int(run.get("openActivities", 0)),
                "openDecisionTasks": 1 if run.get("dtState") in ("scheduled", "started") else 0,
                "openTimers": int(run.get("openTimers", 0)),
                "openChildWorkflowExecutions": int(run.get("openChildren", 0)),
                "openLambdaFunctions": 0,
            },
        }
        if run.get("latestActivityMs"):
            detail["latestActivityTaskTimestamp"] = ms_to_timestamp(run["latestActivityMs"])
        if "latestExecutionContext" in run:
            detail["latestExecutionContext"] = run["latestExecutionContext"]
        return detail

    async def op_get_workflow_execution_history(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = self.service.domain_keys(ctx, p["domain"])
        run = await self._run(dk, p)
        reverse = bool(p.get("reverseOrder"))
        lo, hi = 1, int(run["lastEventId"])
        if p.get("nextPageToken"):
            token = decode_page_token(p["nextPageToken"], "h")
            if token.get("r") != run["runId"] or token.get("v") != reverse:
                raise validation_error("Invalid token")
            if reverse:
                hi = page_token_int(token, "n")
            else:
                lo = page_token_int(token, "n")
        events, next_id = await self.service.history_page(
            dk, run["runId"], lo, hi, reverse, page_size(p), ctx.raw_events
        )
        result: dict[str, Any] = {"events": events}
        if next_id:
            result["nextPageToken"] = encode_page_token(
                {"k": "h", "r": run["runId"], "v": reverse, "n": next_id}
            )
        return result

    async def op_signal_workflow_execution(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._execution_script(ctx, "execution_signal", {**p, "dayMs": self.service.day_ms})

    async def op_request_cancel_workflow_execution(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> None:
        await self._execution_script(
            ctx, "execution_request_cancel", {**p, "dayMs": self.service.day_ms}
        )

    async def op_terminate_workflow_execution(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._execution_script(
            ctx, "execution_terminate", {**p, "dayMs": self.service.day_ms}
        )

    async def _execution_script(self, ctx: CallContext, script: str, p: dict[str, Any]) -> None:
        dk = self.service.domain_keys(ctx, p["domain"])
        try:
            await self.service.scripts.run(script, dk.prefix, p)
        except SWFError as exc:
            if exc.code == "UnknownResourceFault":
                await self.service.require_domain(dk, p["domain"])
            raise
