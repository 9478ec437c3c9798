"""Operator commands of the ``redswf`` command line: inspect and steer workflows.

Each command opens a library client (:class:`redswf.AsyncClient`) on the Redis that
contains the redswf data, so it works with or without a running ``redswf serve``. Output is a
table for people, or with ``--json`` one JSON document for scripts (``history --follow
--json`` prints one JSON document per line instead, one per event). A fault prints
``Error: <fault name>: <message>`` on standard error and exits with status 1.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click
from botocore.exceptions import ClientError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .cli_options import redis_option
from .client import AsyncClient

T = TypeVar("T")
Command = Callable[..., Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 1000
DETAILS_WIDTH = 120  # characters of event attributes shown in a history table
CLOSE_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT")
CHILD_POLICIES = ("TERMINATE", "REQUEST_CANCEL", "ABANDON")
_AGO = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# -- options and plumbing -----------------------------------------------------------------


def parse_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Parse a point in time: ISO 8601 (UTC unless it names a zone), epoch seconds, or an
    age such as ``90s``, ``15m``, ``2h`` or ``7d`` before now."""
    if value is None:
        return None
    text = value.strip()
    age = _AGO.fullmatch(text)
    if age:
        seconds = float(age[1]) * _UNIT_SECONDS[age[2]]
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time: give ISO 8601 (2026-01-31T12:00:00), epoch seconds "
            "or an age such as 90s, 15m, 2h or 7d",
            ctx,
            param,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def connection_options(command: Command) -> Command:
    """Add ``--redis`` and ``--region``, the options every operator command takes."""
    command = click.option(
        "--region",
        default="us-east-1",
        show_default=True,
        help="Region of the domain; every region has its own domains.",
    )(command)
    return redis_option(command)


def json_option(command: Command) -> Command:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of a table."
    )(command)


def execution_filter_options(command: Command) -> Command:
    """Add the filters of ``executions`` and ``count``; SWF accepts at most one of
    --workflow-id, --type, --tag and --close-status in one query."""
    options = [
        click.option(
            "--closed", is_flag=True, help="Closed executions (default: open executions)."
        ),
        click.option("--workflow-id", help="Only runs of this workflow id."),
        click.option(
            "--type",
            "type_ref",
            metavar="NAME[:VERSION]",
            help="Only executions of this workflow type name (any version, or VERSION).",
        ),
        click.option("--tag", help="Only executions that carry this tag."),
        click.option(
            "--close-status",
            type=click.Choice(CLOSE_STATUSES, case_sensitive=False),
            help="Only closed executions that closed this way (implies --closed).",
        ),
        click.option(
            "--since",
            callback=parse_time,
            metavar="TIME",
            help="Earliest start (or close) time: ISO 8601 (UTC unless a zone is given), "
            "epoch seconds, or an age such as 15m, 2h or 7d. Default: no limit.",
        ),
        click.option(
            "--until",
            callback=parse_time,
            metavar="TIME",
            help="Latest start (or close) time, in the forms --since takes.",
        ),
        click.option(
            "--by",
            "time_field",
            type=click.Choice(["start", "close"]),
            help="Time that --since and --until filter and that orders the list. Open "
            "executions have only a start time; closed ones default to the close time.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_with_client(
    redis_url: str, region: str, action: Callable[[AsyncClient], Awaitable[T]]
) -> T:
    """Run ``action`` with a library client; turn faults and Redis errors into exit code 1."""

    async def main() -> T:
        async with AsyncClient(redis_url, region_name=region) as client:
            return await action(client)

    try:
        return asyncio.run(main())
    except ClientError as exc:
        error = exc.response["Error"]
        raise click.ClickException(f"{error['Code']}: {error['Message']}") from None
    except RedisConnectionError as exc:
        raise click.ClickException(
            f"Redis request failed: {exc}\nIs `redswf serve` running? For one started with "
            "--data-dir DIR, pass --redis unix://DIR/redis.sock or set REDSWF_DATA_DIR=DIR."
        ) from None
    except (RedisError, OSError) as exc:
        raise click.ClickException(f"Redis request failed: {exc}") from None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, default=_json_value, ensure_ascii=False, indent=2))


def print_table(title: str, columns: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """Print a table; cell text is shown as it is (no rich markup)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    # Off a terminal (a pipe, a file) rich would wrap at 80 columns and split long ids.
    width = None if sys.stdout.isatty() else 1000
    Console(highlight=False, width=width).print(table)


def show_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _without_metadata(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "ResponseMetadata"}


async def all_pages(
    call: Callable[..., Awaitable[dict[str, Any]]], member: str, **params: Any
) -> list[dict[str, Any]]:
    """Return ``member`` of every page of a paged operation."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        extra: dict[str, Any] = {"nextPageToken": token} if token else {}
        page = await call(**params, **extra)
        items += page[member]
        token = page.get("nextPageToken")
        if not token:
            return items


# -- domains and types --------------------------------------------------------------------


def register(group: click.Group) -> None:
    """Add the operator commands to the ``redswf`` command group."""
    for command in (domains, types, executions, count, history, signal, cancel, terminate):
        group.add_command(command)


@click.command()
@connection_options
@json_option
@click.option("--deprecated", is_flag=True, help="List deprecated domains instead.")
def domains(redis_url: str, region: str, as_json: bool, deprecated: bool) -> None:
    """List the domains of a region, with their retention periods."""
    status = "DEPRECATED" if deprecated else "REGISTERED"

    async def action(client: AsyncClient) -> list[dict[str, Any]]:
        infos = await all_pages(client.list_domains, "domainInfos", registrationStatus=status)
        for info in infos:
            detail = await client.describe_domain(name=info["name"])
            retention = detail["configuration"]["workflowExecutionRetentionPeriodInDays"]
            info["workflowExecutionRetentionPeriodInDays"] = retention
        return infos

    infos = run_with_client(redis_url, region, action)
    if as_json:
        print_json({"domainInfos": infos})
        return
    rows = [
        [
            info["name"],
            info["status"],
            info["workflowExecutionRetentionPeriodInDays"],
            info.get("description", ""),
        ]
        for info in infos
    ]
    title = f"{status.capitalize()} domains in {region}"
    print_table(title, ["Name", "Status", "Retention (days)", "Description"], rows)


@click.command()
@connection_options
@json_option
@click.option("--deprecated", is_flag=True, help="List deprecated types instead.")
@click.argument("domain")
def types(redis_url: str, region: str, as_json: bool, deprecated: bool, domain: str) -> None:
    """List the workflow types and activity types of DOMAIN."""
    status = "DEPRECATED" if deprecated else "REGISTERED"

    async def action(client: AsyncClient) -> dict[str, list[dict[str, Any]]]:
        params = {"domain": domain, "registrationStatus": status}
        return {
            "workflowTypes": await all_pages(client.list_workflow_types, "typeInfos", **params),
            "activityTypes": await all_pages(client.list_activity_types, "typeInfos", **params),
        }

    found = run_with_client(redis_url, region, action)
    if as_json:
        print_json(found)
        return
    rows = []
    for kind, member, key in (
        ("workflow", "workflowTypes", "workflowType"),
        ("activity", "activityTypes", "activityType"),
    ):
        for info in found[member]:
            rows.append(
                [
                    kind,
                    info[key]["name"],
                    info[key]["version"],
                    info["status"],
                    show_time(info["creationDate"]),
                    info.get("description", ""),
                ]
            )
    columns = ["Kind", "Name", "Version", "Status", "Created (UTC)", "Description"]
    print_table(f"{status.capitalize()} types of {domain}", columns, rows)


# -- executions ---------------------------------------------------------------------------


def execution_query(
    domain: str,
    closed: bool,
    workflow_id: str | None,
    type_ref: str | None,
    tag: str | None,
    close_status: str | None,
    since: datetime | None,
    until: datetime | None,
    time_field: str | None,
) -> dict[str, Any]:
    """Build the List/Count request of ``executions`` and ``count`` from their options."""
    if close_status:
        closed = True
    if time_field == "close" and not closed:
        raise click.UsageError("--by close needs --closed: open executions have no close time")
    window: dict[str, Any] = {"oldestDate": since or EPOCH}
    if until is not None:
        window["latestDate"] = until
    by_close = closed and time_field != "start"
    query: dict[str, Any] = {"domain": domain}
    query["closeTimeFilter" if by_close else "startTimeFilter"] = window
    if workflow_id:
        query["executionFilter"] = {"workflowId": workflow_id}
    if type_ref:
        name, _, version = type_ref.partition(":")
        query["typeFilter"] = {"name": name, **({"version": version} if version else {})}
    if tag is not None:
        query["tagFilter"] = {"tag": tag}
    if close_status:
        query["closeStatusFilter"] = {"status": close_status.upper()}
    query["closed"] = closed
    return query


def execution_row(info: dict[str, Any]) -> list[str]:
    workflow_type = info["workflowType"]
    return [
        info["execution"]["workflowId"],
        info["execution"]["runId"],
        f"{workflow_type['name']}:{workflow_type['version']}",
        info.get("closeStatus") or info["executionStatus"],
        show_time(info["startTimestamp"]),
        show_time(info.get("closeTimestamp")),
        ", ".join(info.get("tagList", [])),
    ]


@click.command()
@connection_options
@json_option
@execution_filter_options
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Maximum number of executions to show.",
)
@click.option("--oldest-first", is_flag=True, help="Oldest first (default: newest first).")
@click.argument("domain")
def executions(
    redis_url: str,
    region: str,
    as_json: bool,
    limit: int,
    oldest_first: bool,
    domain: str,
    **filters: Any,
) -> None:
    """List the open (or with --closed the closed) executions of DOMAIN, newest first."""
    query = execution_query(domain, **filters)
    closed = query.pop("closed")

    async def action(client: AsyncClient) -> tuple[list[dict[str, Any]], bool]:
        call = (
            client.list_closed_workflow_executions
            if closed
            else client.list_open_workflow_executions
        )
        infos: list[dict[str, Any]] = []
        token = None
        while len(infos) < limit:
            extra: dict[str, Any] = {"nextPageToken": token} if token else {}
            page = await call(
                **query,
                maximumPageSize=min(limit - len(infos), MAX_PAGE_SIZE),
                reverseOrder=oldest_first,
                **extra,
            )
            infos += page["executionInfos"]
            token = page.get("nextPageToken")
            if not token:
                break
        return infos, token is not None

    infos, more = run_with_client(redis_url, region, action)
    if as_json:
        print_json({"executionInfos": infos, "more": more})
        return
    columns = ["Workflow ID", "Run ID", "Type", "Status", "Started (UTC)", "Closed (UTC)", "Tags"]
    title = f"{'Closed' if closed else 'Open'} executions of {domain}"
    print_table(title, columns, [execution_row(info) for info in infos])
    if more:
        click.echo(f"More executions match; raise --limit (now {limit}) to see them.", err=True)


@click.command()
@connection_options
@json_option
@execution_filter_options
@click.argument("domain")
def count(redis_url: str, region: str, as_json: bool, domain: str, **filters: Any) -> None:
    """Count the open (or with --closed the closed) executions of DOMAIN."""
    query = execution_query(domain, **filters)
    closed = query.pop("closed")

    async def action(client: AsyncClient) -> dict[str, Any]:
        if closed:
            return await client.count_closed_workflow_executions(**query)
        return await client.count_open_workflow_executions(**query)

    result = _without_metadata(run_with_client(redis_url, region, action))
    if as_json:
        print_json(result)
        return
    noun = "execution" if result["count"] == 1 else "executions"
    click.echo(f"{result['count']} {'closed' if closed else 'open'} {noun}")


# -- history ------------------------------------------------------------------------------


async def find_run(client: AsyncClient, domain: str, workflow_id: str) -> str:
    """Return the open run of ``workflow_id``, else its run that closed last."""
    by_id = {"domain": domain, "executionFilter": {"workflowId": workflow_id}}
    found = await client.list_open_workflow_executions(
        startTimeFilter={"oldestDate": EPOCH}, **by_id
    )
    if not found["executionInfos"]:
        found = await client.list_closed_workflow_executions(
            closeTimeFilter={"oldestDate": EPOCH}, maximumPageSize=1, **by_id
        )
    if not found["executionInfos"]:
        raise click.ClickException(
            f"UnknownResourceFault: no execution of workflow id {workflow_id} in domain {domain}"
        )
    run_id: str = found["executionInfos"][0]["execution"]["runId"]
    return run_id


async def events_after(
    client: AsyncClient, domain: str, execution: dict[str, str], last_id: int
) -> list[dict[str, Any]]:
    """Return the events after event ``last_id``, oldest first, reading newest first so
    that the cost follows the number of new events."""
    newer: list[dict[str, Any]] = []
    token = None
    while True:
        extra: dict[str, Any] = {"nextPageToken": token} if token else {}
        page = await client.get_workflow_execution_history(
            domain=domain, execution=execution, reverseOrder=True, maximumPageSize=100, **extra
        )
        for event in page["events"]:
            if event["eventId"] <= last_id:
                return newer[::-1]
            newer.append(event)
        token = page.get("nextPageToken")
        if not token:
            return newer[::-1]


def event_attributes(event: dict[str, Any]) -> dict[str, Any]:
    name = event["eventType"][0].lower() + event["eventType"][1:] + "EventAttributes"
    attributes: dict[str, Any] = event.get(name, {})
    return attributes


def event_row(event: dict[str, Any]) -> list[str]:
    details = json.dumps(event_attributes(event), default=_json_value, ensure_ascii=False)
    if len(details) > DETAILS_WIDTH:
        details = details[: DETAILS_WIDTH - 3] + "..."
    return [str(event["eventId"]), show_time(event["eventTimestamp"]), event["eventType"], details]


def print_event_line(event: dict[str, Any], as_json: bool) -> None:
    """Print one event as it arrives while following a history."""
    if as_json:
        click.echo(json.dumps(event, default=_json_value, ensure_ascii=False))
    else:
        click.echo("  ".join(event_row(event)))
    sys.stdout.flush()


async def follow_history(
    client: AsyncClient,
    domain: str,
    execution: dict[str, str],
    as_json: bool,
    interval: float,
    timeout: float,
) -> None:
    """Print every event of the run as it is written, until the run closes.

    Each round first reads the run's status, then the events after the last one printed,
    so the round that finds the run closed also prints its closing event.
    """
    deadline = time.monotonic() + timeout
    last_id = 0
    while True:
        detail = await client.describe_workflow_execution(domain=domain, execution=execution)
        for event in await events_after(client, domain, execution, last_id):
            print_event_line(event, as_json)
            last_id = event["eventId"]
        if detail["executionInfo"]["executionStatus"] == "CLOSED":
            return
        if time.monotonic() >= deadline:
            raise click.ClickException(
                f"Stopped following after {timeout:g} s: run {execution['runId']} is still open"
            )
        await asyncio.sleep(interval)


@click.command()
@connection_options
@json_option
@click.option(
    "--follow", is_flag=True, help="Print new events as they are written until the run closes."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between two reads while following.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.0),
    default=3600.0,
    show_default=True,
    help="Seconds after which --follow stops (exit status 1) if the run is still open.",
)
@click.argument("domain")
@click.argument("workflow_id")
@click.argument("run_id", required=False)
def history(
    redis_url: str,
    region: str,
    as_json: bool,
    follow: bool,
    interval: float,
    timeout: float,
    domain: str,
    workflow_id: str,
    run_id: str | None,
) -> None:
    """Print the history of a run: RUN_ID, else the open run of WORKFLOW_ID, else its run
    that closed last. With --follow --json, each event is one JSON document on its own line.
    """

    async def action(client: AsyncClient) -> dict[str, Any] | None:
        chosen_run = run_id or await find_run(client, domain, workflow_id)
        execution = {"workflowId": workflow_id, "runId": chosen_run}
        if follow:
            await follow_history(client, domain, execution, as_json, interval, timeout)
            return None
        events = await all_pages(
            client.get_workflow_execution_history,
            "events",
            domain=domain,
            execution=execution,
            maximumPageSize=MAX_PAGE_SIZE,
        )
        return {"execution": execution, "events": events}

    result = run_with_client(redis_url, region, action)
    if result is None:
        return
    if as_json:
        print_json(result)
        return
    execution = result["execution"]
    title = f"History of {execution['workflowId']} run {execution['runId']}"
    columns = ["ID", "Time (UTC)", "Event", "Attributes"]
    print_table(title, columns, [event_row(event) for event in result["events"]])


# -- signal, cancel, terminate ------------------------------------------------------------


def run_id_option(command: Command) -> Command:
    return click.option(
        "--run-id", help="The run to address (default: the open run of WORKFLOW_ID)."
    )(command)


def _run_params(run_id: str | None) -> dict[str, str]:
    return {"runId": run_id} if run_id else {}


@click.command()
@connection_options
@run_id_option
@click.option("--input", "input_text", help="Input sent with the signal.")
@click.argument("domain")
@click.argument("workflow_id")
@click.argument("signal_name")
def signal(
    redis_url: str,
    region: str,
    run_id: str | None,
    input_text: str | None,
    domain: str,
    workflow_id: str,
    signal_name: str,
) -> None:
    """Send signal SIGNAL_NAME to the open run of WORKFLOW_ID."""
    params: dict[str, Any] = {"domain": domain, "workflowId": workflow_id, **_run_params(run_id)}
    if input_text is not None:
        params["input"] = input_text

    async def action(client: AsyncClient) -> None:
        await client.signal_workflow_execution(signalName=signal_name, **params)

    run_with_client(redis_url, region, action)
    click.echo(f"Signaled {workflow_id} with {signal_name}")


@click.command()
@connection_options
@run_id_option
@click.argument("domain")
@click.argument("workflow_id")
def cancel(redis_url: str, region: str, run_id: str | None, domain: str, workflow_id: str) -> None:
    """Request cancellation of the open run of WORKFLOW_ID; its decider decides what to do."""

    async def action(client: AsyncClient) -> None:
        await client.request_cancel_workflow_execution(
            domain=domain, workflowId=workflow_id, **_run_params(run_id)
        )

    run_with_client(redis_url, region, action)
    click.echo(f"Requested cancellation of {workflow_id}")


@click.command()
@connection_options
@run_id_option
@click.option("--reason", help="Reason recorded in the WorkflowExecutionTerminated event.")
@click.option("--details", help="Details recorded in the WorkflowExecutionTerminated event.")
@click.option(
    "--child-policy",
    type=click.Choice(CHILD_POLICIES),
    help="What happens to open child executions (default: the run's child policy).",
)
@click.argument("domain")
@click.argument("workflow_id")
def terminate(
    redis_url: str,
    region: str,
    run_id: str | None,
    reason: str | None,
    details: str | None,
    child_policy: str | None,
    domain: str,
    workflow_id: str,
) -> None:
    """Terminate the open run of WORKFLOW_ID at once."""
    params: dict[str, Any] = {"domain": domain, "workflowId": workflow_id, **_run_params(run_id)}
    for name, value in (("reason", reason), ("details", details), ("childPolicy", child_policy)):
        if value is not None:
            params[name] = value

    async def action(client: AsyncClient) -> None:
        await client.terminate_workflow_execution(**params)

    run_with_client(redis_url, region, action)
    click.echo(f"Terminated {workflow_id}")
