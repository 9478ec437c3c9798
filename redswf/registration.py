"""Domains and workflow and activity types: register, describe, list, (un)deprecate, delete."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import keys
from .errors import SWFError, validation_error
from .shapes import ms_to_timestamp, page_size, text_map
from .tokens import decode_page_token, encode_page_token
from .visibility import check_resource_tags

if TYPE_CHECKING:
    from .service import CallContext, Service

logger = logging.getLogger(__name__)

_WORKFLOW_DEFAULTS = (
    "defaultTaskStartToCloseTimeout",
    "defaultExecutionStartToCloseTimeout",
    "defaultTaskPriority",
    "defaultChildPolicy",
    "defaultLambdaRole",
)
_ACTIVITY_DEFAULTS = (
    "defaultTaskStartToCloseTimeout",
    "defaultTaskHeartbeatTimeout",
    "defaultTaskPriority",
    "defaultTaskScheduleToStartTimeout",
    "defaultTaskScheduleToCloseTimeout",
)


class RegistrationOperations:
    """Operation handlers for domains and types."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def _arn(self, region: str, domain: str) -> str:
        return f"arn:aws:swf:{region}:{self.service.settings.account_id}:/domain/{domain}"

    async def op_register_domain(self, ctx: CallContext, p: dict[str, Any]) -> None:
        name = p["name"]
        registry = keys.registry_key(ctx.region)
        tags = p.get("tags") or []
        check_resource_tags(tags)
        if len(tags) > 50:
            raise SWFError("TooManyTagsFault", "A domain can have at most 50 tags")
        limit = self.service.settings.max_domains
        if await self.service.redis.hlen(
            registry
        ) >= limit and not await self.service.redis.hexists(registry, name):
            raise SWFError("LimitExceededFault", f"The region already has {limit} domains")
        dk = self.service.domain_keys(ctx, name)
        args = {
            "name": name,
            "retention": p["workflowExecutionRetentionPeriodInDays"],
            "description": p.get("description"),
            "tags": [[t["key"], t.get("value", "")] for t in tags],
        }
        try:
            await self.service.scripts.run("domain_register", dk.prefix, args)
        finally:
            # The registry lives in another slot: written after the domain's own script,
            # and again on every later registration attempt, so a crash between the two
            # writes heals itself.
            if await self.service.redis.exists(dk.domain):
                await self.service.redis.hset(registry, name, "1")

    async def op_describe_domain(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p["name"]
        domain = await self.service.require_domain(self.service.domain_keys(ctx, name), name)
        return self._domain_detail(ctx.region, domain)

    def _domain_info(self, region: str, domain: dict[str, str]) -> dict[str, Any]:
        info = {
            "name": domain["name"],
            "status": domain["status"],
            "arn": self._arn(region, domain["name"]),
        }
        if domain.get("description"):
            info["description"] = domain["description"]
        return info

    def _domain_detail(self, region: str, domain: dict[str, str]) -> dict[str, Any]:
        return {
            "domainInfo": self._domain_info(region, domain),
            "configuration": {"workflowExecutionRetentionPeriodInDays": domain["retention"]},
        }

    async def op_deprecate_domain(self, ctx: CallContext, p: dict[str, Any]) -> None:
        dk = self.service.domain_keys(ctx, p["name"])
        await self.service.scripts.run("domain_deprecate", dk.prefix, {"name": p["name"]})

    async def op_undeprecate_domain(self, ctx: CallContext, p: dict[str, Any]) -> None:
        dk = self.service.domain_keys(ctx, p["name"])
        await self.service.scripts.run("domain_undeprecate", dk.prefix, {"name": p["name"]})

    async def op_list_domains(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        registered: Any = await self.service.redis.hkeys(keys.registry_key(ctx.region))
        names = sorted(n.decode() for n in registered)
        # Statuses come from each domain's own hash, the source of truth.
        async with self.service.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self.service.domain_keys(ctx, name).domain)
            rows = await pipe.execute()
        domains = [{k.decode(): v.decode() for k, v in row.items()} for row in rows if row]
        wanted = [d for d in domains if d["status"] == p["registrationStatus"]]
        page, token = self._name_page(wanted, p, "domains", lambda d: [d["name"]])
        result: dict[str, Any] = {"domainInfos": [self._domain_info(ctx.region, d) for d in page]}
        if token:
            result["nextPageToken"] = token
        return result

    def _name_page(
        self,
        items: list[dict[str, str]],
        p: dict[str, Any],
        kind: str,
        sort_key: Callable[[dict[str, str]], list[str]],
    ) -> tuple[list[dict[str, str]], str | None]:
        """Sort by ``sort_key`` (reversed on request) and cut one page after the token's key."""
        reverse = bool(p.get("reverseOrder"))
        items.sort(key=sort_key, reverse=reverse)
        if p.get("nextPageToken"):
            after = decode_page_token(p["nextPageToken"], kind).get("after")
            if not isinstance(after, list):
                raise validation_error("Invalid token")
            if reverse:
                items = [i for i in items if sort_key(i) < after]
            else:
                items = [i for i in items if sort_key(i) > after]
        size = page_size(p)
        if len(items) <= size:
            return items, None
        page = items[:size]
        return page, encode_page_token({"k": kind, "after": sort_key(page[-1])})

    async def _register_type(
        self, ctx: CallContext, p: dict[str, Any], kind: str, members: tuple[str, ...]
    ) -> None:
        defaults = {m: p[m] for m in members if p.get(m) is not None}
        if p.get("defaultTaskList"):
            defaults["defaultTaskList"] = p["defaultTaskList"]["name"]
        args = {
            "kind": kind,
            "domain": p["domain"],
            "name": p["name"],
            "version": p["version"],
            "description": p.get("description"),
            "defaults": defaults,
        }
        await self.service.scripts.run(
            "type_register", self.service.domain_keys(ctx, p["domain"]).prefix, args
        )

    async def op_register_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._register_type(ctx, p, "workflow", _WORKFLOW_DEFAULTS)

    async def op_register_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._register_type(ctx, p, "activity", _ACTIVITY_DEFAULTS)

    async def _change_type(
        self, ctx: CallContext, p: dict[str, Any], kind: str, action: str
    ) -> None:
        t = p[f"{kind}Type"]
        args = {
            "kind": kind,
            "action": action,
            "domain": p["domain"],
            "name": t["name"],
            "version": t["version"],
        }
        await self.service.scripts.run(
            "type_change", self.service.domain_keys(ctx, p["domain"]).prefix, args
        )

    async def op_deprecate_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "workflow", "deprecate")

    async def op_undeprecate_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "workflow", "undeprecate")

    async def op_delete_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "workflow", "delete")

    async def op_deprecate_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "activity", "deprecate")

    async def op_undeprecate_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "activity", "undeprecate")

    async def op_delete_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "activity", "delete")

    @staticmethod
    def _type_info(kind: str, t: dict[str, str]) -> dict[str, Any]:
        info: dict[str, Any] = {
            f"{kind}Type": {"name": t["name"], "version": t["version"]},
            "status": t["status"],
            "creationDate": ms_to_timestamp(t["creationDate"]),
        }
        if t.get("description"):
            info["description"] = t["description"]
        if t.get("deprecationDate"):
            info["deprecationDate"] = ms_to_timestamp(t["deprecationDate"])
        return info

    async def _describe_type(
        self, ctx: CallContext, p: dict[str, Any], kind: str, members: tuple[str, ...]
    ) -> dict[str, Any]:
        dk = self.service.domain_keys(ctx, p["domain"])
        ref = p[f"{kind}Type"]
        raw: Any = await self.service.redis.hgetall(dk.type(kind, ref["name"], ref["version"]))
        if not raw:
            await self.service.require_domain(dk, p["domain"])
            label = "WorkflowType" if kind == "workflow" else "ActivityType"
            raise SWFError(
                "UnknownResourceFault",
                f"Unknown type: {label}=[name={ref['name']}, version={ref['version']}]",
            )
        t = text_map(raw)
        configuration: dict[str, Any] = {m: t[m] for m in members if m in t}
        if "defaultTaskList" in t:
            configuration["defaultTaskList"] = {"name": t["defaultTaskList"]}
        return {"typeInfo": self._type_info(kind, t), "configuration": configuration}

    async def op_describe_workflow_type(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._describe_type(ctx, p, "workflow", _WORKFLOW_DEFAULTS)

    async def op_describe_activity_type(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._describe_type(ctx, p, "activity", _ACTIVITY_DEFAULTS)

    async def _list_types(self, ctx: CallContext, p: dict[str, Any], kind: str) -> dict[str, Any]:
        dk = self.service.domain_keys(ctx, p["domain"])
        await self.service.require_domain(dk, p["domain"])
        stored: Any = await self.service.redis.zrange(dk.types(kind), 0, -1)
        members = [m.decode() for m in stored]
        if p.get("name"):
            members = [m for m in members if m.split(":", 1)[0] == p["name"]]
        async with self.service.redis.pipeline(transaction=False) as pipe:
            for member in members:
                name, version = member.split(":", 1)
                pipe.hgetall(dk.type(kind, name, version))
            rows = await pipe.execute()
        types = [text_map(row) for row in rows if row]
        wanted = [t for t in types if t["status"] == p["registrationStatus"]]
        page, token = self._name_page(
            wanted, p, f"{kind}types", lambda t: [t["name"], t["version"]]
        )
        result: dict[str, Any] = {"typeInfos": [self._type_info(kind, t) for t in page]}
        if token:
            result["nextPageToken"] = token
        return result

    async def op_list_workflow_types(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return await self._list_types(ctx, p, "workflow")

    async def op_list_activity_types(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return await self._list_types(ctx, p, "activity")
