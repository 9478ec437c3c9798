"""Domains and types through the asyncio library client, against a real server."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from redswf import AsyncClient, Client
from tests.conftest import MAX_DOMAINS
from tests.helpers import ACTIVITY_TYPE, WORKFLOW_TYPE, register_all


async def test_domain_register_describe(client: AsyncClient, domain: str) -> None:
    await client.register_domain(
        name=domain, workflowExecutionRetentionPeriodInDays="7", description="orders"
    )
    detail = await client.describe_domain(name=domain)
    info = detail["domainInfo"]
    assert info["name"] == domain
    assert info["status"] == "REGISTERED"
    assert info["description"] == "orders"
    assert info["arn"] == f"arn:aws:swf:us-east-1:123456789012:/domain/{domain}"
    assert detail["configuration"] == {"workflowExecutionRetentionPeriodInDays": "7"}


async def test_domain_register_twice_fails(client: AsyncClient, domain: str) -> None:
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    with pytest.raises(client.exceptions.DomainAlreadyExistsFault) as caught:
        await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="2")
    assert caught.value.response["Error"]["Message"] == domain
    detail = await client.describe_domain(name=domain)
    assert detail["configuration"]["workflowExecutionRetentionPeriodInDays"] == "1"


async def test_domain_unknown(client: AsyncClient, domain: str) -> None:
    with pytest.raises(client.exceptions.UnknownResourceFault) as caught:
        await client.describe_domain(name=domain)
    assert caught.value.response["Error"]["Message"] == f"Unknown domain: {domain}"
    assert isinstance(caught.value, ClientError)


async def test_domain_deprecation_cycle(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    await client.deprecate_domain(name=domain)
    assert (await client.describe_domain(name=domain))["domainInfo"]["status"] == "DEPRECATED"

    with pytest.raises(client.exceptions.DomainDeprecatedFault):
        await client.deprecate_domain(name=domain)
    with pytest.raises(client.exceptions.DomainAlreadyExistsFault):
        await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    with pytest.raises(client.exceptions.DomainDeprecatedFault):
        await client.start_workflow_execution(
            domain=domain, workflowId="w", workflowType=WORKFLOW_TYPE
        )

    # Deprecating the domain deprecates its types too.
    workflow = await client.describe_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    assert workflow["typeInfo"]["status"] == "DEPRECATED"
    assert isinstance(workflow["typeInfo"]["deprecationDate"], datetime)

    await client.undeprecate_domain(name=domain)
    assert (await client.describe_domain(name=domain))["domainInfo"]["status"] == "REGISTERED"
    with pytest.raises(client.exceptions.DomainAlreadyExistsFault):
        await client.undeprecate_domain(name=domain)


async def test_list_domains_by_status_and_pages(client: AsyncClient) -> None:
    prefix = f"list-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        await client.register_domain(name=name, workflowExecutionRetentionPeriodInDays="1")
    await client.deprecate_domain(name=names[4])

    registered = await client.list_domains(registrationStatus="REGISTERED")
    listed = [d["name"] for d in registered["domainInfos"] if d["name"].startswith(prefix)]
    assert listed == names[:4]
    deprecated = await client.list_domains(registrationStatus="DEPRECATED")
    assert names[4] in [d["name"] for d in deprecated["domainInfos"]]

    seen: list[str] = []
    token = None
    for _ in range(100):
        kwargs: dict[str, Any] = {"nextPageToken": token} if token else {}
        page = await client.list_domains(
            registrationStatus="REGISTERED", maximumPageSize=2, reverseOrder=True, **kwargs
        )
        assert len(page["domainInfos"]) <= 2
        seen += [d["name"] for d in page["domainInfos"]]
        token = page.get("nextPageToken")
        if not token:
            break
    mine = [name for name in seen if name.startswith(prefix)]
    assert mine == list(reversed(names[:4]))
    assert seen == sorted(seen, reverse=True)


async def test_list_domains_bad_token(client: AsyncClient) -> None:
    with pytest.raises(ClientError) as caught:
        await client.list_domains(registrationStatus="REGISTERED", nextPageToken="garbage!")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == "Invalid token"


async def test_type_register_describe(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    detail = await client.describe_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    assert detail["typeInfo"]["activityType"] == ACTIVITY_TYPE
    assert detail["typeInfo"]["status"] == "REGISTERED"
    assert isinstance(detail["typeInfo"]["creationDate"], datetime)
    assert "deprecationDate" not in detail["typeInfo"]
    assert detail["configuration"] == {
        "defaultTaskList": {"name": "activities"},
        "defaultTaskScheduleToStartTimeout": "600",
        "defaultTaskScheduleToCloseTimeout": "900",
        "defaultTaskStartToCloseTimeout": "300",
        "defaultTaskHeartbeatTimeout": "NONE",
    }
    workflow = await client.describe_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    assert workflow["configuration"]["defaultChildPolicy"] == "TERMINATE"
    assert workflow["configuration"]["defaultTaskList"] == {"name": "decisions"}


async def test_type_faults(client: AsyncClient, domain: str) -> None:
    with pytest.raises(client.exceptions.UnknownResourceFault) as unknown_domain:
        await client.register_activity_type(domain=domain, name="a", version="1")
    assert unknown_domain.value.response["Error"]["Message"] == f"Unknown domain: {domain}"

    await register_all(client, domain)
    with pytest.raises(client.exceptions.TypeAlreadyExistsFault) as exists:
        await client.register_workflow_type(domain=domain, **WORKFLOW_TYPE)
    assert exists.value.response["Error"]["Message"] == (
        "WorkflowType=[name=orderFlow, version=1.0]"
    )
    with pytest.raises(client.exceptions.UnknownResourceFault) as unknown_type:
        await client.describe_workflow_type(
            domain=domain, workflowType={"name": "orderFlow", "version": "9"}
        )
    assert unknown_type.value.response["Error"]["Message"] == (
        "Unknown type: WorkflowType=[name=orderFlow, version=9]"
    )
    with pytest.raises(client.exceptions.TypeNotDeprecatedFault):
        await client.delete_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    with pytest.raises(client.exceptions.TypeAlreadyExistsFault):
        await client.undeprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)


async def test_type_deprecate_then_delete(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    await client.deprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    with pytest.raises(client.exceptions.TypeDeprecatedFault):
        await client.deprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    await client.undeprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    await client.deprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    await client.delete_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.describe_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    listed = await client.list_activity_types(domain=domain, registrationStatus="DEPRECATED")
    assert listed["typeInfos"] == []


async def test_list_types_by_name_sorted(client: AsyncClient, domain: str) -> None:
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    for name, version in [("b", "2"), ("a", "1"), ("b", "1"), ("c", "1")]:
        await client.register_workflow_type(domain=domain, name=name, version=version)
    await client.deprecate_workflow_type(domain=domain, workflowType={"name": "c", "version": "1"})

    listed = await client.list_workflow_types(domain=domain, registrationStatus="REGISTERED")
    pairs = [(t["workflowType"]["name"], t["workflowType"]["version"]) for t in listed["typeInfos"]]
    assert pairs == [("a", "1"), ("b", "1"), ("b", "2")]

    only_b = await client.list_workflow_types(
        domain=domain, registrationStatus="REGISTERED", name="b", reverseOrder=True
    )
    assert [t["workflowType"]["version"] for t in only_b["typeInfos"]] == ["2", "1"]

    first = await client.list_workflow_types(
        domain=domain, registrationStatus="REGISTERED", maximumPageSize=2
    )
    assert len(first["typeInfos"]) == 2
    rest = await client.list_workflow_types(
        domain=domain,
        registrationStatus="REGISTERED",
        maximumPageSize=2,
        nextPageToken=first["nextPageToken"],
    )
    assert [t["workflowType"]["version"] for t in rest["typeInfos"]] == ["2"]
    assert "nextPageToken" not in rest


async def test_domains_scoped_per_region(redis_url: str, domain: str) -> None:
    async with (
        AsyncClient(redis_url, region_name="us-east-1", max_domains=MAX_DOMAINS) as east,
        AsyncClient(redis_url, region_name="eu-west-1", max_domains=MAX_DOMAINS) as west,
    ):
        await east.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
        with pytest.raises(west.exceptions.UnknownResourceFault):
            await west.describe_domain(name=domain)
        await west.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="3")
        west_detail = await west.describe_domain(name=domain)
        east_detail = await east.describe_domain(name=domain)
    assert west_detail["domainInfo"]["arn"].startswith("arn:aws:swf:eu-west-1:")
    assert east_detail["configuration"]["workflowExecutionRetentionPeriodInDays"] == "1"
    assert west_detail["configuration"]["workflowExecutionRetentionPeriodInDays"] == "3"


async def test_validation_error_stores_nothing(client: AsyncClient, domain: str) -> None:
    with pytest.raises(ClientError) as caught:
        await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="91")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "workflowExecutionRetentionPeriodInDays" in caught.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.describe_domain(name=domain)


def test_sync_client_mirrors_boto3(redis_url: str, domain: str) -> None:
    with Client(redis_url, poll_hold=0.5, max_domains=MAX_DOMAINS) as client:
        client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
        detail = client.describe_domain(name=domain)
        assert detail["domainInfo"]["name"] == domain
        assert detail["ResponseMetadata"]["HTTPStatusCode"] == 200
        with pytest.raises(client.exceptions.DomainAlreadyExistsFault):
            client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
        empty = client.poll_for_activity_task(domain=domain, taskList={"name": "idle"})
        assert "taskToken" not in empty
        with pytest.raises(AttributeError):
            client.no_such_operation  # noqa: B018


async def test_domain_limit_setting(redis_url: str) -> None:
    region = f"limit-{uuid.uuid4().hex[:8]}"  # a region of this test alone, so it starts empty
    async with AsyncClient(redis_url, region_name=region, max_domains=2) as client:
        await client.register_domain(name="a", workflowExecutionRetentionPeriodInDays="1")
        await client.register_domain(name="b", workflowExecutionRetentionPeriodInDays="1")
        with pytest.raises(client.exceptions.LimitExceededFault) as caught:
            await client.register_domain(name="c", workflowExecutionRetentionPeriodInDays="1")
        assert caught.value.response["Error"]["Message"] == "The region already has 2 domains"
        with pytest.raises(client.exceptions.DomainAlreadyExistsFault):
            await client.register_domain(name="a", workflowExecutionRetentionPeriodInDays="1")


async def test_page_token_expires(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    page = await client.list_domains(registrationStatus="REGISTERED", maximumPageSize=1)
    token = page["nextPageToken"]
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 24 * 3600 + 5)
    with pytest.raises(ClientError) as caught:
        await client.list_domains(
            registrationStatus="REGISTERED", maximumPageSize=1, nextPageToken=token
        )
    assert caught.value.response["Error"]["Message"] == (
        "Specified token has exceeded its maximum lifetime"
    )
