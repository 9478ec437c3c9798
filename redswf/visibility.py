"""Visibility, pending-task counts and domain tags: the query side of the SWF API.

The List and Count operations read the visibility indexes (``docs/keys.md``): sorted sets
of run ids scored by start or close time, one set per state and filter value. The Lua
scripts update them in the same step as every start, close and expiry. A query picks the
one index that its filter names and reads a score range of it, so a count costs O(log N)
and a page O(log N + page size), however many executions the domain has. Pages resume after the
(score, run id) of the last entry they returned, so executions that start, close or
expire between two pages never make an execution that stays in the index throughout be
skipped or repeated.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from . import keys
from .errors import SWFError, validation_error
from .tokens import decode_page_token, encode_page_token

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from .service import CallContext, Service

MAX_PAGE_SIZE = 1000
MAX_TAGS = 50  # resource tags per domain

# The filters of which one query may give at most one, with the shape names that SWF puts
# in its error message, in the order it lists them.
EXCLUSIVE_FILTERS = (
    ("executionFilter", "WorkflowExecutionFilter"),
    ("typeFilter", "WorkflowTypeFilter"),
    ("tagFilter", "TagFilter"),
    ("closeStatusFilter", "CloseStatusFilter"),
)

# Index scores are milliseconds since the epoch. Bounds are clamped to the integers that a
# double (the sorted set score) represents exactly.
_SCORE_LIMIT = 2**53
_PAGE_TOKEN_KIND = "vis"

_DOMAIN_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):swf:(?P<region>[^:]*):(?P<account>[^:]*):/domain/(?P<name>.+)"
)
# AWS's tag pattern: Unicode letters (L), numbers (N) and separators such as spaces (Z),
# and these symbols.
_TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
_TAG_SYMBOLS = frozenset("_.:/=+-@")


# -- queries ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    """A List or Count request resolved to one index and a score range in milliseconds."""

    index: str
    low: int
    high: int | None  # None: no upper bound
    binding: str  # digest of what defines the result, so a page token fits one query

    @property
    def low_bound(self) -> str:
        return str(self.low)

    @property
    def high_bound(self) -> str:
        return "+inf" if self.high is None else str(self.high)

    def contains(self, score: int) -> bool:
        return self.low <= score and (self.high is None or score <= self.high)


def _clamp(ms: float) -> int:
    return int(max(-_SCORE_LIMIT, min(_SCORE_LIMIT, ms)))


def _first_ms_from(seconds: float) -> int:
    """Return the first whole millisecond at or after ``seconds`` (epoch seconds).

    Rounding to a microsecond first absorbs float error, so a start timestamp given back as
    a bound matches its own execution.
    """
    return _clamp(math.ceil(round(seconds * 1000, 3)))


def _last_ms_until(seconds: float) -> int:
    return _clamp(math.floor(round(seconds * 1000, 3)))


def _filter_part(p: dict[str, Any]) -> str:
    """Return the key part of the index that the request's exclusive filter selects."""
    if "executionFilter" in p:
        return f":wid:{p['executionFilter']['workflowId']}"
    if "typeFilter" in p:
        type_filter = p["typeFilter"]
        if type_filter.get("version"):
            return f":type:{type_filter['name']}:{type_filter['version']}"
        return f":typename:{type_filter['name']}"
    if "tagFilter" in p:
        return f":tag:{p['tagFilter']['tag']}"
    if "closeStatusFilter" in p:
        return f":status:{p['closeStatusFilter']['status']}"
    return ""


def plan_query(dk: keys.DomainKeys, p: dict[str, Any], closed: bool) -> ExecutionQuery:
    """Check the filters of a List or Count request and pick its index and time range.

    Raises ValidationException when the request gives more than one exclusive filter, or,
    for closed executions, not exactly one of startTimeFilter and closeTimeFilter. The
    service model has no closeStatusFilter or closeTimeFilter for open executions, so the
    request validation has already dropped them.
    """
    exclusive = [shape for member, shape in EXCLUSIVE_FILTERS if member in p]
    if len(exclusive) > 1:
        raise validation_error(
            "Cannot specify more than one exclusive filters in the same query: "
            f"[{', '.join(exclusive)}]"
        )
    if closed and "startTimeFilter" in p and "closeTimeFilter" in p:
        raise validation_error("Cannot specify both a startTimeFilter and a closeTimeFilter")
    if "startTimeFilter" not in p and "closeTimeFilter" not in p:
        raise validation_error("Must specify time filter")

    if not closed:
        index, window = "open", p["startTimeFilter"]
    elif "closeTimeFilter" in p:
        index, window = "closed:close", p["closeTimeFilter"]
    else:
        index, window = "closed:start", p["startTimeFilter"]
    low = _first_ms_from(window["oldestDate"])
    high = None if window.get("latestDate") is None else _last_ms_until(window["latestDate"])
    key = dk.visibility(index, _filter_part(p))
    reverse = bool(p.get("reverseOrder"))
    binding = hashlib.sha256(orjson.dumps([key, low, high, reverse])).hexdigest()[:32]
    return ExecutionQuery(key, low, high, binding)


def _page_cursor(p: dict[str, Any], query: ExecutionQuery) -> tuple[int, str] | None:
    """Return the (score, run id) after which the requested page starts, or None."""
    if not p.get("nextPageToken"):
        return None
    data = decode_page_token(p["nextPageToken"], _PAGE_TOKEN_KIND)
    score, run_id = data.get("s"), data.get("r")
    if (
        data.get("q") != query.binding
        or not isinstance(score, int)
        or isinstance(score, bool)
        or not isinstance(run_id, str)
        or not query.contains(score)
    ):
        raise validation_error("Invalid token")
    return score, run_id


def _queue_range(
    pipe: Pipeline, key: str, low: str, high: str, descending: bool, count: int | None = None
) -> None:
    """Queue ZRANGE BYSCORE of ``key`` between ``low`` and ``high``, with scores."""
    limit: dict[str, Any] = {"offset": 0, "num": count} if count is not None else {}
    if descending:
        pipe.zrange(key, high, low, desc=True, byscore=True, withscores=True, **limit)
    else:
        pipe.zrange(key, low, high, byscore=True, withscores=True, **limit)


# -- resource tags ------------------------------------------------------------------------


def _tag_problem(value: str, path: str) -> str | None:
    bad = [c for c in value if c not in _TAG_SYMBOLS and unicodedata.category(c)[0] not in "LNZ"]
    if bad:
        return (
            f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {_TAG_PATTERN}"
        )
    return None


def check_tag_texts(texts: list[tuple[str, str]]) -> None:
    """Raise ValidationException listing every (path, text) of a tag with a character
    outside Unicode letters, numbers, separators and ``_ . : / = + - @``."""
    problems = [problem for path, text in texts if (problem := _tag_problem(text, path))]
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        summary = f"{len(problems)} validation {noun} detected: "
        raise validation_error(summary + "; ".join(problems))


def check_resource_tags(tags: list[dict[str, str]], member: str = "tags") -> None:
    """Check the characters of the keys and values of a ``ResourceTag`` list."""
    texts: list[tuple[str, str]] = []
    for index, tag in enumerate(tags, 1):
        texts.append((f"{member}.{index}.member.key", tag["key"]))
        texts.append((f"{member}.{index}.member.value", tag.get("value", "")))
    check_tag_texts(texts)


# -- operations ---------------------------------------------------------------------------


class VisibilityOperations:
    """Operation handlers ``op_<snake name>(context, request)`` for the query operations."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.redis = service.redis

    # executions

    async def op_list_open_workflow_executions(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._list_executions(ctx, p, closed=False)

    async def op_list_closed_workflow_executions(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._list_executions(ctx, p, closed=True)

    async def op_count_open_workflow_executions(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._count_executions(ctx, p, closed=False)

    async def op_count_closed_workflow_executions(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._count_executions(ctx, p, closed=True)

    async def _count_executions(
        self, ctx: CallContext, p: dict[str, Any], closed: bool
    ) -> dict[str, Any]:
        dk = keys.for_domain(ctx.region, p["domain"])
        query = plan_query(dk, p, closed)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.exists(dk.domain)
            pipe.zcount(query.index, query.low_bound, query.high_bound)
            exists, count = await pipe.execute()
        if not exists:
            raise _unknown_domain(p["domain"])
        # Counts read an index, not a scan, so they are exact and never truncated.
        return {"count": count, "truncated": False}

    async def _list_executions(
        self, ctx: CallContext, p: dict[str, Any], closed: bool
    ) -> dict[str, Any]:
        dk = keys.for_domain(ctx.region, p["domain"])
        query = plan_query(dk, p, closed)
        cursor = _page_cursor(p, query)
        size = int(p.get("maximumPageSize") or MAX_PAGE_SIZE)
        # Index order is (score, run id); SWF lists newest first unless reverseOrder is set.
        descending = not p.get("reverseOrder")

        exists, entries = await self._index_page(dk, query, descending, cursor, size + 1)
        if not exists:
            raise _unknown_domain(p["domain"])
        page = entries[:size]
        runs = await self._runs(dk, [run_id for run_id, _ in page])
        status = "CLOSED" if closed else "OPEN"
        # A run may have closed or expired since the index was read; it is left out.
        infos = [
            self.service.execution_info(run) for run in runs if run and run.get("status") == status
        ]
        result: dict[str, Any] = {"executionInfos": infos}
        if len(entries) > size:
            last_id, last_score = page[-1]
            result["nextPageToken"] = encode_page_token(
                {"k": _PAGE_TOKEN_KIND, "q": query.binding, "s": last_score, "r": last_id}
            )
        return result

    async def _index_page(
        self,
        dk: keys.DomainKeys,
        query: ExecutionQuery,
        descending: bool,
        cursor: tuple[int, str] | None,
        count: int,
    ) -> tuple[bool, list[tuple[str, int]]]:
        """Read up to ``count`` index entries (run id, score) past ``cursor``, in one
        MULTI so that all reads see the same moment.

        Past a cursor the read has two parts: the entries that share the cursor's score
        (members of one score sort by run id), and the entries strictly beyond it. The first
        part costs time in proportion to the runs that started or closed in that one
        millisecond.
        """
        low, high = query.low_bound, query.high_bound
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(dk.domain)
            if cursor is None:
                _queue_range(pipe, query.index, low, high, descending, count)
            else:
                score = str(cursor[0])
                _queue_range(pipe, query.index, score, score, descending)
                if descending:
                    _queue_range(pipe, query.index, low, f"({score}", descending, count)
                else:
                    _queue_range(pipe, query.index, f"({score}", high, descending, count)
            replies: list[Any] = await pipe.execute()

        entries = [(member.decode(), int(score)) for member, score in replies[-1]]
        if cursor is not None:
            after = cursor[1]
            ties = [member.decode() for member, _ in replies[1]]
            later = [m for m in ties if (m < after if descending else m > after)]
            entries = [(m, cursor[0]) for m in later] + entries
        return bool(replies[0]), entries[:count]

    async def _runs(self, dk: keys.DomainKeys, run_ids: list[str]) -> list[dict[str, str]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hgetall(dk.run(run_id))
            rows: list[Any] = await pipe.execute()
        return [{k.decode(): v.decode() for k, v in row.items()} for row in rows]

    # pending tasks

    async def op_count_pending_activity_tasks(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = keys.for_domain(ctx.region, p["domain"])
        return await self._count_pending(dk, p, dk.activity_queue(p["taskList"]["name"]))

    async def op_count_pending_decision_tasks(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = keys.for_domain(ctx.region, p["domain"])
        return await self._count_pending(dk, p, dk.decision_queue(p["taskList"]["name"]))

    async def _count_pending(
        self, dk: keys.DomainKeys, p: dict[str, Any], queue: str
    ) -> dict[str, Any]:
        """Count the scheduled, not yet started tasks of a queue; an unused list has none."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.exists(dk.domain)
            pipe.zcard(queue)
            exists, count = await pipe.execute()
        if not exists:
            raise _unknown_domain(p["domain"])
        return {"count": count, "truncated": False}

    # resource tags

    async def op_tag_resource(self, ctx: CallContext, p: dict[str, Any]) -> None:
        dk, name = self._tagged_domain(ctx, p["resourceArn"])
        tags = p["tags"]
        check_resource_tags(tags)
        pairs = [[tag["key"], tag.get("value", "")] for tag in tags]
        if len({key for key, _ in pairs}) > MAX_TAGS:
            raise SWFError("TooManyTagsFault", f"A domain can have at most {MAX_TAGS} tags")
        await self.service.scripts.run("tags_change", dk.prefix, {"domain": name, "set": pairs})

    async def op_untag_resource(self, ctx: CallContext, p: dict[str, Any]) -> None:
        dk, name = self._tagged_domain(ctx, p["resourceArn"])
        tag_keys = p["tagKeys"]
        check_tag_texts([(f"tagKeys.{i}.member", key) for i, key in enumerate(tag_keys, 1)])
        args = {"domain": name, "remove": sorted(set(tag_keys))}
        await self.service.scripts.run("tags_change", dk.prefix, args)

    async def op_list_tags_for_resource(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk, name = self._tagged_domain(ctx, p["resourceArn"])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(dk.domain)
            pipe.hgetall(dk.tags)
            exists, stored = await pipe.execute()
        if not exists:
            raise _unknown_domain(name)
        tags = sorted((k.decode(), v.decode()) for k, v in stored.items())
        return {"tags": [{"key": key, "value": value} for key, value in tags]}

    def _tagged_domain(self, ctx: CallContext, arn: str) -> tuple[keys.DomainKeys, str]:
        """Return the keys and name of the domain that a resource ARN names.

        Raises ValidationException for text that is not an SWF domain ARN, and
        UnknownResourceFault for the ARN of another partition, account or region.
        """
        match = _DOMAIN_ARN.fullmatch(arn)
        if match is None:
            raise validation_error(
                f"Invalid resource ARN: {arn!r}; expected "
                "arn:aws:swf:<region>:<account id>:/domain/<domain name>"
            )
        account = self.service.settings.account_id
        where = (match["partition"], match["region"], match["account"])
        if where != ("aws", ctx.region, account):
            raise SWFError(
                "UnknownResourceFault",
                f"Unknown resource: {arn} is not a domain of account {account} "
                f"in region {ctx.region}",
            )
        name = match["name"]
        return keys.for_domain(ctx.region, name), name


def _unknown_domain(name: str) -> SWFError:
    return SWFError("UnknownResourceFault", f"Unknown domain: {name}")
