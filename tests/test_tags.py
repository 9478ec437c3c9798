"""Resource tags of domains: TagResource, UntagResource, ListTagsForResource and the tags
given at RegisterDomain, with their limits and ARN checks."""

from __future__ import annotations

from typing import Any

import pytest

from redswf import AsyncClient

ACCOUNT = "123456789012"


def arn_of(domain: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:swf:{region}:{account}:/domain/{domain}"


def tag_list(count: int, prefix: str = "k") -> list[dict[str, str]]:
    return [{"key": f"{prefix}{i}", "value": f"v{i}"} for i in range(count)]


async def tags_of(client: AsyncClient, domain: str) -> dict[str, str]:
    result = await client.list_tags_for_resource(resourceArn=arn_of(domain))
    return {tag["key"]: tag["value"] for tag in result["tags"]}


def error_of(raised: pytest.ExceptionInfo[Any]) -> dict[str, str]:
    error: dict[str, str] = raised.value.response["Error"]
    return error


async def test_tags_from_register_domain(client: AsyncClient, domain: str) -> None:
    await client.register_domain(
        name=domain,
        workflowExecutionRetentionPeriodInDays="1",
        tags=[{"key": "team", "value": "payments"}, {"key": "env", "value": "test"}],
    )
    described = await client.describe_domain(name=domain)
    arn = described["domainInfo"]["arn"]
    assert arn == arn_of(domain)

    result = await client.list_tags_for_resource(resourceArn=arn)
    assert result["tags"] == [
        {"key": "env", "value": "test"},
        {"key": "team", "value": "payments"},
    ]


async def test_tag_overwrite_and_untag(client: AsyncClient, domain: str) -> None:
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    arn = arn_of(domain)
    assert await tags_of(client, domain) == {}

    await client.tag_resource(
        resourceArn=arn, tags=[{"key": "team", "value": "a"}, {"key": "env", "value": "dev"}]
    )
    assert await tags_of(client, domain) == {"team": "a", "env": "dev"}
    await client.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "b"}])
    assert await tags_of(client, domain) == {"team": "b", "env": "dev"}
    await client.tag_resource(resourceArn=arn, tags=[{"key": "empty"}])
    assert (await tags_of(client, domain))["empty"] == ""

    await client.untag_resource(resourceArn=arn, tagKeys=["env", "not-there"])
    assert await tags_of(client, domain) == {"team": "b", "empty": ""}
    await client.untag_resource(resourceArn=arn, tagKeys=["team", "empty"])
    assert await tags_of(client, domain) == {}


async def test_fifty_tags_at_most(client: AsyncClient, domain: str) -> None:
    await client.register_domain(
        name=domain, workflowExecutionRetentionPeriodInDays="1", tags=tag_list(45)
    )
    arn = arn_of(domain)

    with pytest.raises(client.exceptions.TooManyTagsFault):
        await client.tag_resource(resourceArn=arn, tags=tag_list(6, prefix="new"))
    assert len(await tags_of(client, domain)) == 45

    await client.tag_resource(resourceArn=arn, tags=tag_list(5, prefix="new"))
    assert len(await tags_of(client, domain)) == 50
    # Overwriting keys the domain has adds no tag.
    await client.tag_resource(resourceArn=arn, tags=[{"key": "k0", "value": "changed"}])
    assert (await tags_of(client, domain))["k0"] == "changed"
    with pytest.raises(client.exceptions.TooManyTagsFault):
        await client.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": ""}])
    assert "one-more" not in await tags_of(client, domain)

    with pytest.raises(client.exceptions.TooManyTagsFault):
        await client.tag_resource(resourceArn=arn, tags=tag_list(51))

    await client.untag_resource(resourceArn=arn, tagKeys=["k1"])
    await client.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": ""}])
    assert len(await tags_of(client, domain)) == 50


async def test_register_domain_tag_limits(client: AsyncClient, domain: str) -> None:
    with pytest.raises(client.exceptions.TooManyTagsFault):
        await client.register_domain(
            name=domain, workflowExecutionRetentionPeriodInDays="1", tags=tag_list(51)
        )
    with pytest.raises(client.exceptions.ClientError) as raised:
        await client.register_domain(
            name=domain,
            workflowExecutionRetentionPeriodInDays="1",
            tags=[{"key": "ok", "value": "fine"}, {"key": "bad#key", "value": "x"}],
        )
    error = error_of(raised)
    assert error["Code"] == "ValidationException"
    assert "tags.2.member.key" in error["Message"]
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.describe_domain(name=domain)


async def test_tag_text_rules(client: AsyncClient, domain: str) -> None:
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    arn = arn_of(domain)
    allowed = [
        {"key": "Größe", "value": "数字 ٣ ok"},
        {"key": "a_b.c:d/e=f+g-h@i", "value": "with spaces"},
        {"key": "k" * 128, "value": "v" * 256},
    ]
    await client.tag_resource(resourceArn=arn, tags=allowed)
    assert len(await tags_of(client, domain)) == 3

    rejected = [
        ({"key": "bad!", "value": "x"}, "tags.1.member.key"),
        ({"key": "k", "value": "semi;colon"}, "tags.1.member.value"),
        ({"key": "k", "value": "new\nline"}, "tags.1.member.value"),
        ({"key": "", "value": "x"}, "tags.1.member.key"),
        ({"key": "k" * 129, "value": "x"}, "tags.1.member.key"),
        ({"key": "k", "value": "v" * 257}, "tags.1.member.value"),
    ]
    for tag, path in rejected:
        with pytest.raises(client.exceptions.ClientError) as raised:
            await client.tag_resource(resourceArn=arn, tags=[tag])
        error = error_of(raised)
        assert error["Code"] == "ValidationException", tag
        assert path in error["Message"], tag
    with pytest.raises(client.exceptions.ClientError) as raised:
        await client.untag_resource(resourceArn=arn, tagKeys=["fine", "bad*"])
    error = error_of(raised)
    assert error["Code"] == "ValidationException"
    assert "tagKeys.2.member" in error["Message"]
    assert len(await tags_of(client, domain)) == 3


async def test_arn_faults(client: AsyncClient, domain: str) -> None:
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    malformed = [
        "not-an-arn",
        f"arn:aws:swf:us-east-1:{ACCOUNT}:domain/{domain}",
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:/domain/{domain}",
        f"arn:aws:swf:us-east-1:{ACCOUNT}:/workflow/{domain}",
        f"arn:aws:swf:us-east-1:{ACCOUNT}:/domain/",
    ]
    for arn in malformed:
        with pytest.raises(client.exceptions.ClientError) as raised:
            await client.list_tags_for_resource(resourceArn=arn)
        assert error_of(raised)["Code"] == "ValidationException", arn

    unknown = [
        arn_of(domain, account="210987654321"),
        arn_of(domain, region="eu-west-1"),
        f"arn:aws-cn:swf:us-east-1:{ACCOUNT}:/domain/{domain}",
        arn_of(domain + "-none"),
    ]
    for arn in unknown:
        with pytest.raises(client.exceptions.UnknownResourceFault):
            await client.list_tags_for_resource(resourceArn=arn)
        with pytest.raises(client.exceptions.UnknownResourceFault):
            await client.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
        with pytest.raises(client.exceptions.UnknownResourceFault):
            await client.untag_resource(resourceArn=arn, tagKeys=["k"])
    with pytest.raises(client.exceptions.UnknownResourceFault) as raised:
        await client.list_tags_for_resource(resourceArn=arn_of(domain + "-none"))
    assert error_of(raised)["Message"] == f"Unknown domain: {domain}-none"


async def test_deprecated_domain_keeps_tags(client: AsyncClient, domain: str) -> None:
    await client.register_domain(
        name=domain, workflowExecutionRetentionPeriodInDays="1", tags=tag_list(1)
    )
    await client.deprecate_domain(name=domain)
    await client.tag_resource(resourceArn=arn_of(domain), tags=[{"key": "state", "value": "old"}])
    assert await tags_of(client, domain) == {"k0": "v0", "state": "old"}


async def test_domain_name_with_braces(client: AsyncClient, domain: str) -> None:
    name = f"{domain}{{x}}"
    await client.register_domain(name=name, workflowExecutionRetentionPeriodInDays="1")
    await client.tag_resource(resourceArn=arn_of(name), tags=[{"key": "k", "value": "v"}])
    assert await tags_of(client, name) == {"k": "v"}


def test_tags_over_boto3(swf: Any, domain: str) -> None:
    swf.register_domain(
        name=domain,
        workflowExecutionRetentionPeriodInDays="1",
        tags=[{"key": "team", "value": "a"}],
    )
    arn = swf.describe_domain(name=domain)["domainInfo"]["arn"]
    swf.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}])
    assert swf.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "env", "value": "prod"},
        {"key": "team", "value": "a"},
    ]
    swf.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert swf.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "prod"}]
    with pytest.raises(swf.exceptions.TooManyTagsFault):
        swf.tag_resource(resourceArn=arn, tags=tag_list(50))
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.list_tags_for_resource(resourceArn=arn_of(domain, account="999999999999"))
    with pytest.raises(swf.exceptions.ClientError) as raised:
        swf.tag_resource(resourceArn=arn, tags=[{"key": "a|b", "value": ""}])
    assert error_of(raised)["Code"] == "ValidationException"
