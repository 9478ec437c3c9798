"""Decision and activity tasks: long polls, leases, responses and heartbeats."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import keys
from .errors import validation_error
from .shapes import (
    camel_name,
    page_size,
    page_token_int,
    stored_events,
)
from .tokens import (
    TaskToken,
    decode_page_token,
    encode_page_token,
    new_run_id,
    new_secret,
    parse_task_token,
)

if TYPE_CHECKING:
    from .service import CallContext, Service

logger = logging.getLogger(__name__)

CLOSE_DECISIONS = frozenset(
    {
        "CompleteWorkflowExecution",
        "FailWorkflowExecution",
        "CancelWorkflowExecution",
        "ContinueAsNewWorkflowExecution",
    }
)

RUN_STARTING_DECISIONS = frozenset(
    {"StartChildWorkflowExecution", "ContinueAsNewWorkflowExecution"}
)


class TaskOperations:
    """Operation handlers for decision and activity tasks."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def op_poll_for_decision_task(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = self.service.domain_keys(ctx, p["domain"])
        if p.get("nextPageToken"):
            return await self._decision_task_page(dk, p, ctx.raw_events)
        reverse = bool(p.get("reverseOrder"))
        secret = new_secret()
        args = {
            "pageSize": page_size(p),
            "reverse": reverse,
            "fromPrevious": bool(p.get("startAtPreviousStartedEvent")),
        }
        task = await self._lease_or_wait(ctx, dk, p, "decision", secret, args)
        if task is None:
            return self._empty_poll(decision=True)
        token = str(
            TaskToken(
                ctx.region, p["domain"], task["runId"], "d", str(task["startedEventId"]), secret
            )
        )
        logger.debug(
            "decision task leased: runId=%s startedEventId=%s",
            task["runId"],
            task["startedEventId"],
        )
        result = self._decision_task(token, task, stored_events(task["events"], ctx.raw_events))
        if task["nextEventId"]:
            result["nextPageToken"] = self._decision_page_token(
                token, task, reverse, task["lo"], task["hi"], task["nextEventId"]
            )
        return result

    async def _lease_or_wait(
        self,
        ctx: CallContext,
        dk: keys.DomainKeys,
        p: dict[str, Any],
        kind: str,
        secret: str,
        extra_args: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Lease a task of ``kind`` ("decision" or "activity") now or within the poll hold.

        A lease whose client went away while the script ran is undone, so the task goes to
        another poller.
        """
        task_list = p["taskList"]["name"]
        args = {
            "domain": p["domain"],
            "taskList": task_list,
            "identity": p.get("identity"),
            "secret": secret,
            "dayMs": self.service.day_ms,
            **extra_args,
        }

        async def lease() -> dict[str, Any] | None:
            task: dict[str, Any] = await self.service.scripts.run(f"{kind}_lease", dk.prefix, args)
            if not task:
                return None
            if not ctx.alive() and await self._unlease(dk, kind, task, secret):
                return None
            return task

        return await self.service.dispatcher.wait_for_task(
            dk.wake_channel,
            kind[0],
            task_list,
            lease,
            self.service.settings.poll_hold,
            ctx.alive,
            lambda t: bool(t.get("more")),
        )

    def _empty_poll(self, decision: bool) -> dict[str, Any]:
        result: dict[str, Any] = {"startedEventId": 0}
        if decision:
            result["previousStartedEventId"] = 0
        if self.service.settings.empty_poll_token:
            result["taskToken"] = ""
        return result

    @staticmethod
    def _decision_task(token: str, task: dict[str, Any], events: Any) -> dict[str, Any]:
        return {
            "taskToken": token,
            "startedEventId": task["startedEventId"],
            "previousStartedEventId": task["previousStartedEventId"],
            "workflowExecution": {"workflowId": task["workflowId"], "runId": task["runId"]},
            "workflowType": {"name": task["typeName"], "version": task["typeVersion"]},
            "events": events,
        }

    @staticmethod
    def _decision_page_token(
        token: str, task: dict[str, Any], reverse: bool, lo: int, hi: int, next_id: int
    ) -> str:
        return encode_page_token(
            {
                "k": "d",
                "t": token,
                "w": task["workflowId"],
                "ty": [task["typeName"], task["typeVersion"]],
                "s": task["startedEventId"],
                "p": task["previousStartedEventId"],
                "v": reverse,
                "lo": lo,
                "hi": hi,
                "n": next_id,
            }
        )

    async def _decision_task_page(
        self, dk: keys.DomainKeys, p: dict[str, Any], raw: bool
    ) -> dict[str, Any]:
        """Return the next history page of an already leased decision task; no new lease."""
        data = decode_page_token(p["nextPageToken"], "d")
        reverse = bool(p.get("reverseOrder"))
        token_text = data.get("t")
        type_ref = data.get("ty")
        if (
            not isinstance(token_text, str)
            or not isinstance(type_ref, list)
            or len(type_ref) != 2
            or data.get("v") != reverse
        ):
            raise validation_error("Invalid token")
        token = parse_task_token(token_text, "d")
        if keys.for_domain(token.region, token.domain) != dk:
            raise validation_error("Invalid token")
        lo, hi, next_id = (
            page_token_int(data, "lo"),
            page_token_int(data, "hi"),
            page_token_int(data, "n"),
        )
        if reverse:
            hi = next_id
        else:
            lo = next_id
        events, following = await self.service.history_page(
            dk, token.run_id, lo, hi, reverse, page_size(p), raw
        )
        task = {
            "runId": token.run_id,
            "workflowId": data.get("w"),
            "typeName": type_ref[0],
            "typeVersion": type_ref[1],
            "startedEventId": page_token_int(data, "s"),
            "previousStartedEventId": page_token_int(data, "p"),
        }
        result = self._decision_task(token_text, task, events)
        if following:
            result["nextPageToken"] = self._decision_page_token(
                token_text,
                task,
                reverse,
                page_token_int(data, "lo"),
                page_token_int(data, "hi"),
                following,
            )
        return result

    async def op_respond_decision_task_completed(self, ctx: CallContext, p: dict[str, Any]) -> None:
        token = parse_task_token(p["taskToken"], "d")
        decisions = self._check_decisions(p.get("decisions") or [])
        args: dict[str, Any] = {
            "runId": token.run_id,
            "startedEventId": token.event_id,
            "secret": token.secret,
            "decisions": decisions,
            "executionContext": p.get("executionContext"),
            "taskList": (p.get("taskList") or {}).get("name"),
            "taskListScheduleToStartTimeout": p.get("taskListScheduleToStartTimeout"),
            "dayMs": self.service.day_ms,
        }
        await self.service.scripts.run(
            "decision_complete", keys.domain_prefix(token.region, token.domain), args
        )

    @staticmethod
    def _check_decisions(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Reject a batch the whole request must fail on; return the items for the script.

        Each item is ``{decisionType, attrs}``, plus a fresh ``newRunId`` for decisions that
        start a run.
        """
        checked = []
        for index, decision in enumerate(decisions, start=1):
            decision_type = decision["decisionType"]
            if decision_type in CLOSE_DECISIONS and index != len(decisions):
                raise validation_error("Close must be last decision in list")
            attrs = decision.get(camel_name(decision_type) + "DecisionAttributes") or {}
            item = {"decisionType": decision_type, "attrs": attrs}
            if decision_type in RUN_STARTING_DECISIONS:
                item["newRunId"] = new_run_id()
            checked.append(item)
        return checked

    async def op_poll_for_activity_task(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = self.service.domain_keys(ctx, p["domain"])
        secret = new_secret()
        task = await self._lease_or_wait(ctx, dk, p, "activity", secret, {})
        if task is None:
            return self._empty_poll(decision=False)
        token = TaskToken(
            ctx.region, p["domain"], task["runId"], "a", str(task["scheduledEventId"]), secret
        )
        result: dict[str, Any] = {
            "taskToken": str(token),
            "activityId": task["activityId"],
            "startedEventId": task["startedEventId"],
            "workflowExecution": {"workflowId": task["workflowId"], "runId": task["runId"]},
            "activityType": {"name": task["typeName"], "version": task["typeVersion"]},
        }
        if task.get("input") is not None:
            result["input"] = task["input"]
        return result

    async def _unlease(
        self, dk: keys.DomainKeys, kind: str, task: dict[str, Any], secret: str
    ) -> bool:
        args = {
            "kind": kind,
            "runId": task["runId"],
            "scheduledEventId": str(task.get("scheduledEventId", "")),
            "startedEventId": str(task["startedEventId"]),
            "secret": secret,
        }
        undone = bool(await self.service.scripts.run("task_unlease", dk.prefix, args))
        logger.info(
            "poller left before its %s task was sent: runId=%s lease %s",
            kind,
            task["runId"],
            "undone" if undone else "kept (history moved on)",
        )
        return undone

    async def _activity_script(self, script: str, p: dict[str, Any], **extra: Any) -> Any:
        token = parse_task_token(p["taskToken"], "a")
        args = {
            "runId": token.run_id,
            "scheduledEventId": token.event_id,
            "secret": token.secret,
            "dayMs": self.service.day_ms,
            **extra,
        }
        return await self.service.scripts.run(
            script, keys.domain_prefix(token.region, token.domain), args
        )

    async def op_respond_activity_task_completed(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._activity_script(
            "activity_close", p, outcome="completed", result=p.get("result")
        )

    async def op_respond_activity_task_failed(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._activity_script(
            "activity_close", p, outcome="failed", reason=p.get("reason"), details=p.get("details")
        )

    async def op_respond_activity_task_canceled(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._activity_script(
            "activity_close", p, outcome="canceled", details=p.get("details")
        )

    async def op_record_activity_task_heartbeat(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        cancel = await self._activity_script("activity_heartbeat", p, details=p.get("details"))
        return {"cancelRequested": bool(cancel)}
