"""The SWF JSON 1.0 protocol of `redswf serve`, through boto3 and through hand-made requests.

boto3 checks some members on the client side and drops output members that the service
model lacks, so the tests of malformed requests and exact response bodies send raw HTTP.
Every test that needs a domain registers its own on the session's server.
"""

from __future__ import annotations

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_boto3_client
from tests.helpers import (
    ACTIVITY_LIST,
    ACTIVITY_TYPE,
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    event_types,
    register_all_sync,
    schedule,
)

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "SimpleWorkflowService."
LEGACY_TARGET_PREFIX = "com.amazonaws.swf.service.model.SimpleWorkflowService."
FAULT_NAMESPACE = "com.amazonaws.swf.base.model#"
VALIDATION_TYPE = "com.amazon.coral.validate#ValidationException"
SERIALIZATION_TYPE = "com.amazon.coral.service#SerializationException"
UNKNOWN_OPERATION_TYPE = "com.amazon.coral.service#UnknownOperationException"

WHOLE_WORKFLOW_EVENTS = [
    "WorkflowExecutionStarted",
    "DecisionTaskScheduled",
    "DecisionTaskStarted",
    "DecisionTaskCompleted",
    "ActivityTaskScheduled",
    "ActivityTaskStarted",
    "ActivityTaskCompleted",
    "DecisionTaskScheduled",
    "DecisionTaskStarted",
    "DecisionTaskCompleted",
    "WorkflowExecutionCompleted",
]


# Raw HTTP.


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def post_raw(
    endpoint: str,
    operation: str,
    body: bytes | str | dict[str, Any],
    *,
    target_prefix: str = TARGET_PREFIX,
    content_type: str = CONTENT_TYPE,
    extra_headers: dict[str, str] | None = None,
) -> RawResponse:
    """Send one ``POST /`` to the endpoint, unsigned unless ``extra_headers`` has a signature.

    The server reads the region of a request from its SigV4 credential scope, and unsigned
    requests are in us-east-1.
    """
    if isinstance(body, dict):
        payload = json.dumps(body).encode()
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = body
    address = urlsplit(endpoint)
    assert address.hostname is not None
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/",
            body=payload,
            headers={
                "X-Amz-Target": target_prefix + operation,
                "Content-Type": content_type,
                **(extra_headers or {}),
            },
        )
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return RawResponse(response.status, headers, response.read())
    finally:
        connection.close()


def assert_error(response: RawResponse, wire_type: str) -> str:
    """Assert that a response is an HTTP 400 error of ``wire_type`` and return its message."""
    assert response.status == 400, f"expected HTTP 400, got {response.status}: {response.body!r}"
    document = response.json()
    assert document.get("__type") == wire_type, f"wrong __type in {document}"
    message = document.get("message")
    assert isinstance(message, str), f"no message in {document}"
    return message


def one_validation_error(value: str, path: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {value} at '{path}' "
        f"failed to satisfy constraint: {constraint}"
    )


# boto3 helpers.


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def error_message(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Message"])


def start(swf: Any, domain: str, workflow_id: str, **members: Any) -> dict[str, str]:
    """Start the test workflow type and return the execution as ``{workflowId, runId}``."""
    run_id = swf.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, **members
    )["runId"]
    return {"workflowId": workflow_id, "runId": run_id}


def history(swf: Any, domain: str, execution: dict[str, str]) -> list[dict[str, Any]]:
    """Return every event of an execution in one page."""
    page = swf.get_workflow_execution_history(
        domain=domain, execution=execution, maximumPageSize=1000
    )
    assert "nextPageToken" not in page, "the whole history should fit in one page"
    events: list[dict[str, Any]] = page["events"]
    return events


def poll_decision(swf: Any, domain: str, **members: Any) -> dict[str, Any]:
    task: dict[str, Any] = swf.poll_for_decision_task(
        domain=domain, taskList={"name": DECISION_LIST}, **members
    )
    assert task.get("taskToken"), f"expected a decision task, got an empty poll: {task}"
    return task


def poll_activity(swf: Any, domain: str) -> dict[str, Any]:
    task: dict[str, Any] = swf.poll_for_activity_task(
        domain=domain, taskList={"name": ACTIVITY_LIST}, identity="worker-1"
    )
    assert task.get("taskToken"), f"expected an activity task, got an empty poll: {task}"
    return task


def forge_token(token: str) -> str:
    """Return a token that differs from a real one only in its last character."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def start_timer(start_to_fire_timeout: str) -> dict[str, Any]:
    return {
        "decisionType": "StartTimer",
        "startTimerDecisionAttributes": {
            "timerId": "timer-1",
            "startToFireTimeout": start_to_fire_timeout,
        },
    }


# A whole workflow.


def test_whole_workflow_through_boto3(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "order-1", input='{"order": 1}')

    first = poll_decision(swf, domain, identity="decider-1")
    first_events = first["events"]
    assert event_types(first_events) == WHOLE_WORKFLOW_EVENTS[:3], first_events
    assert [e["eventId"] for e in first_events] == [1, 2, 3]
    assert first["startedEventId"] == 3
    assert first["previousStartedEventId"] == 0
    assert first["workflowExecution"] == execution
    assert first["workflowType"] == WORKFLOW_TYPE
    started_attributes = first_events[0]["workflowExecutionStartedEventAttributes"]
    assert started_attributes["input"] == '{"order": 1}'
    assert started_attributes["taskList"] == {"name": DECISION_LIST}
    assert first_events[2]["decisionTaskStartedEventAttributes"]["identity"] == "decider-1"

    swf.respond_decision_task_completed(
        taskToken=first["taskToken"],
        decisions=[schedule("charge-1", "card 4111", control="decider-only")],
    )

    activity = poll_activity(swf, domain)
    assert activity["activityId"] == "charge-1"
    assert activity["input"] == "card 4111"
    assert "control" not in activity, f"control reached the worker: {activity}"
    assert activity["activityType"] == ACTIVITY_TYPE
    assert activity["workflowExecution"] == execution
    assert activity["startedEventId"] == 6

    heartbeat = swf.record_activity_task_heartbeat(
        taskToken=activity["taskToken"], details="half way"
    )
    assert heartbeat["cancelRequested"] is False

    swf.respond_activity_task_completed(taskToken=activity["taskToken"], result="charged")

    second = poll_decision(swf, domain, identity="decider-2")
    assert second["previousStartedEventId"] == 3
    assert second["startedEventId"] == 9
    assert event_types(second["events"]) == WHOLE_WORKFLOW_EVENTS[:9]
    completed = second["events"][6]["activityTaskCompletedEventAttributes"]
    assert completed["result"] == "charged"

    swf.respond_decision_task_completed(taskToken=second["taskToken"], decisions=[complete("ok")])

    events = history(swf, domain, execution)
    assert event_types(events) == WHOLE_WORKFLOW_EVENTS
    assert [e["eventId"] for e in events] == list(range(1, 12))
    timestamps = [e["eventTimestamp"] for e in events]
    assert timestamps == sorted(timestamps), f"timestamps go back in time: {timestamps}"

    def attributes(event_id: int) -> dict[str, Any]:
        event = events[event_id - 1]
        name = event["eventType"][0].lower() + event["eventType"][1:] + "EventAttributes"
        found: dict[str, Any] = event[name]
        return found

    assert attributes(3)["scheduledEventId"] == 2
    assert attributes(4)["scheduledEventId"] == 2
    assert attributes(4)["startedEventId"] == 3
    assert attributes(5)["decisionTaskCompletedEventId"] == 4
    assert attributes(5)["activityId"] == "charge-1"
    assert attributes(5)["input"] == "card 4111"
    assert attributes(5)["control"] == "decider-only"
    assert attributes(5)["taskList"] == {"name": ACTIVITY_LIST}
    assert attributes(6)["scheduledEventId"] == 5
    assert attributes(6)["identity"] == "worker-1"
    assert attributes(7)["scheduledEventId"] == 5
    assert attributes(7)["startedEventId"] == 6
    assert attributes(7)["result"] == "charged"
    assert attributes(9)["scheduledEventId"] == 8
    assert attributes(10)["scheduledEventId"] == 8
    assert attributes(10)["startedEventId"] == 9
    assert attributes(11)["decisionTaskCompletedEventId"] == 10
    assert attributes(11)["result"] == "ok"

    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    info = detail["executionInfo"]
    assert info["executionStatus"] == "CLOSED"
    assert info["closeStatus"] == "COMPLETED"
    assert info["execution"] == execution
    assert info["closeTimestamp"] >= info["startTimestamp"]
    for name, count in detail["openCounts"].items():
        assert count == 0, f"openCounts.{name} is {count} after the workflow closed"


def test_activity_poll_body_omits_control(swf: Any, endpoint: str, domain: str) -> None:
    register_all_sync(swf, domain)
    start(swf, domain, "control-1")
    task = poll_decision(swf, domain)
    swf.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=[schedule("a1", "payload", control="secret")]
    )

    response = post_raw(
        endpoint,
        "PollForActivityTask",
        {"domain": domain, "taskList": {"name": ACTIVITY_LIST}},
    )

    assert response.status == 200, response.body
    document = response.json()
    assert document.get("input") == "payload", document
    assert "control" not in document, f"control reached the worker: {document}"


# History paging.


def signaled_execution(swf: Any, domain: str, workflow_id: str, signals: int) -> dict[str, str]:
    """Start an execution and signal it ``signals`` times, so its history has 2 + signals events."""
    execution = start(swf, domain, workflow_id)
    for number in range(signals):
        swf.signal_workflow_execution(
            domain=domain, signalName=f"signal-{number}", input=str(number), **execution
        )
    return execution


def test_history_signals_add_one_event_each(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = signaled_execution(swf, domain, "signals-1", signals=4)

    events = history(swf, domain, execution)

    assert event_types(events) == [
        "WorkflowExecutionStarted",
        "DecisionTaskScheduled",
        *["WorkflowExecutionSignaled"] * 4,
    ]
    assert [e["eventId"] for e in events] == [1, 2, 3, 4, 5, 6]


def test_history_paginator_pages(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = signaled_execution(swf, domain, "paginated-1", signals=4)
    paginator = swf.get_paginator("get_workflow_execution_history")

    pages = list(
        paginator.paginate(domain=domain, execution=execution, PaginationConfig={"PageSize": 2})
    )
    assert [[e["eventId"] for e in page["events"]] for page in pages] == [[1, 2], [3, 4], [5, 6]]

    reverse_pages = list(
        paginator.paginate(
            domain=domain,
            execution=execution,
            reverseOrder=True,
            PaginationConfig={"PageSize": 4},
        )
    )
    assert [[e["eventId"] for e in page["events"]] for page in reverse_pages] == [
        [6, 5, 4, 3],
        [2, 1],
    ]

    whole = paginator.paginate(domain=domain, execution=execution).build_full_result()
    assert [e["eventId"] for e in whole["events"]] == [1, 2, 3, 4, 5, 6]


def test_history_pages_by_hand(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = signaled_execution(swf, domain, "by-hand-1", signals=4)

    for reverse, expected in ((False, [[1, 2], [3, 4], [5, 6]]), (True, [[6, 5], [4, 3], [2, 1]])):
        pages: list[list[int]] = []
        request: dict[str, Any] = {
            "domain": domain,
            "execution": execution,
            "maximumPageSize": 2,
            "reverseOrder": reverse,
        }
        while True:
            page = swf.get_workflow_execution_history(**request)
            pages.append([e["eventId"] for e in page["events"]])
            assert len(pages) <= 3, f"more pages than events allow: {pages}"
            if "nextPageToken" not in page:
                break
            request["nextPageToken"] = page["nextPageToken"]
        assert pages == expected, f"reverseOrder={reverse}"


def test_history_exactly_full_page_ends(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = signaled_execution(swf, domain, "full-page-1", signals=4)

    page = swf.get_workflow_execution_history(domain=domain, execution=execution, maximumPageSize=6)

    assert len(page["events"]) == 6
    assert "nextPageToken" not in page, "a page that holds the last event must not continue"


def test_history_token_of_other_execution(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    first = signaled_execution(swf, domain, "token-owner", signals=2)
    second = signaled_execution(swf, domain, "token-thief", signals=2)
    token = swf.get_workflow_execution_history(domain=domain, execution=first, maximumPageSize=1)[
        "nextPageToken"
    ]

    with pytest.raises(ClientError) as error:
        swf.get_workflow_execution_history(
            domain=domain, execution=second, maximumPageSize=1, nextPageToken=token
        )
    assert error_code(error) == "ValidationException"
    assert error_message(error) == "Invalid token"

    with pytest.raises(ClientError) as reversed_error:
        swf.get_workflow_execution_history(
            domain=domain,
            execution=first,
            maximumPageSize=1,
            nextPageToken=token,
            reverseOrder=True,
        )
    assert error_code(reversed_error) == "ValidationException", "token of the other direction"

    with pytest.raises(ClientError) as garbage_error:
        swf.get_workflow_execution_history(
            domain=domain, execution=first, nextPageToken="not a page token"
        )
    assert error_code(garbage_error) == "ValidationException"
    assert error_message(garbage_error) == "Invalid token"


def test_decision_task_pages_keep_lease(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    paged = signaled_execution(swf, domain, "paged-task", signals=3)

    first = poll_decision(swf, domain, maximumPageSize=1)
    assert first["workflowExecution"] == paged
    assert first["startedEventId"] == 6
    assert [e["eventId"] for e in first["events"]] == [1]
    assert "nextPageToken" in first, "a one-event page of a six-event task must continue"

    # A second execution now has a scheduled decision task that a new lease would take, and
    # a signal reaches the paged execution after its task started.
    waiting = start(swf, domain, "waiting-task")
    swf.signal_workflow_execution(domain=domain, signalName="late", **paged)

    seen = [e["eventId"] for e in first["events"]]
    page = first
    while "nextPageToken" in page:
        page = swf.poll_for_decision_task(
            domain=domain,
            taskList={"name": DECISION_LIST},
            maximumPageSize=1,
            nextPageToken=page["nextPageToken"],
        )
        assert page["taskToken"] == first["taskToken"], "a page must belong to the same task"
        assert page["workflowExecution"] == paged
        assert page["startedEventId"] == 6
        assert page["previousStartedEventId"] == 0
        assert len(page["events"]) == 1
        seen.extend(e["eventId"] for e in page["events"])
        assert len(seen) <= 6, f"pages went past the task's started event: {seen}"
    assert seen == [1, 2, 3, 4, 5, 6]

    waiting_events = history(swf, domain, waiting)
    assert event_types(waiting_events) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"], (
        "paging leased the other execution's decision task"
    )
    paged_events = history(swf, domain, paged)
    assert event_types(paged_events).count("DecisionTaskStarted") == 1

    swf.respond_decision_task_completed(taskToken=first["taskToken"], decisions=[])
    other = poll_decision(swf, domain)
    assert other["workflowExecution"] == waiting, "the next lease should be the waiting task"


def test_decision_page_token_direction_checked(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    signaled_execution(swf, domain, "direction-1", signals=2)
    first = poll_decision(swf, domain, maximumPageSize=1)

    with pytest.raises(ClientError) as error:
        swf.poll_for_decision_task(
            domain=domain,
            taskList={"name": DECISION_LIST},
            maximumPageSize=1,
            nextPageToken=first["nextPageToken"],
            reverseOrder=True,
        )

    assert error_code(error) == "ValidationException"
    assert error_message(error) == "Invalid token"


# Raw HTTP: the wire protocol.


def test_malformed_json_rejected(endpoint: str) -> None:
    response = post_raw(endpoint, "DescribeDomain", b'{"name": ')

    assert_error(response, SERIALIZATION_TYPE)


def test_body_not_object_rejected(endpoint: str) -> None:
    response = post_raw(endpoint, "DescribeDomain", b'["name"]')

    assert_error(response, SERIALIZATION_TYPE)


@pytest.mark.parametrize(
    ("operation", "body", "member"),
    [
        ("RegisterDomain", {"name": 5, "workflowExecutionRetentionPeriodInDays": "1"}, "name"),
        (
            "ListDomains",
            {"registrationStatus": "REGISTERED", "maximumPageSize": "5"},
            "maximumPageSize",
        ),
        (
            "ListDomains",
            {"registrationStatus": "REGISTERED", "reverseOrder": "true"},
            "reverseOrder",
        ),
        ("PollForActivityTask", {"domain": "d", "taskList": "activities"}, "taskList"),
    ],
)
def test_wrong_json_type_rejected(
    endpoint: str, operation: str, body: dict[str, Any], member: str
) -> None:
    response = post_raw(endpoint, operation, body)

    message = assert_error(response, SERIALIZATION_TYPE)
    assert f"'{member}'" in message, f"the message should name the member: {message}"


def test_unknown_members_ignored(endpoint: str, domain: str) -> None:
    response = post_raw(
        endpoint,
        "RegisterDomain",
        {
            "name": domain,
            "workflowExecutionRetentionPeriodInDays": "1",
            "description": None,
            "color": "blue",
        },
    )

    assert response.status == 200, response.body
    described = post_raw(endpoint, "DescribeDomain", {"name": domain, "color": 5})
    assert described.status == 200, described.body
    assert "description" not in described.json()["domainInfo"]


@pytest.mark.parametrize(
    "target",
    [
        "SimpleWorkflowService.LaunchRocket",
        "SimpleWorkflowService.",
        "OtherService.DescribeDomain",
        "DescribeDomain",
        "",
    ],
)
def test_unknown_operation_rejected(endpoint: str, target: str) -> None:
    response = post_raw(endpoint, target, {"name": "x"}, target_prefix="")

    assert_error(response, UNKNOWN_OPERATION_TYPE)


def test_missing_member_rejected(endpoint: str) -> None:
    response = post_raw(endpoint, "DescribeDomain", {})

    message = assert_error(response, VALIDATION_TYPE)
    assert message == one_validation_error("null", "name", "Member must not be null")


def test_bad_enum_rejected(endpoint: str) -> None:
    response = post_raw(endpoint, "ListDomains", {"registrationStatus": "ACTIVE"})

    message = assert_error(response, VALIDATION_TYPE)
    assert message == one_validation_error(
        "'ACTIVE'",
        "registrationStatus",
        "Member must satisfy enum value set: [REGISTERED, DEPRECATED]",
    )


def test_long_domain_name_rejected(endpoint: str) -> None:
    name = "d" * 257

    response = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": name, "workflowExecutionRetentionPeriodInDays": "1"},
    )

    message = assert_error(response, VALIDATION_TYPE)
    assert message.startswith("1 validation error detected: Value '"), message
    assert message.endswith(
        "' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 256"
    ), message


def test_length_counts_characters(endpoint: str) -> None:
    accepted = f"é-{uuid.uuid4().hex}".ljust(256, "é")
    rejected = accepted + "é"

    too_long = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": rejected, "workflowExecutionRetentionPeriodInDays": "1"},
    )
    just_fits = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": accepted, "workflowExecutionRetentionPeriodInDays": "1"},
    )

    message = assert_error(too_long, VALIDATION_TYPE)
    assert "Member must have length less than or equal to 256" in message
    assert just_fits.status == 200, f"256 two-byte characters were rejected: {just_fits.body!r}"


def test_longest_domain_name_accepted(endpoint: str) -> None:
    name = f"longest-{uuid.uuid4().hex}".ljust(256, "n")

    response = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": name, "workflowExecutionRetentionPeriodInDays": "1"},
    )

    assert response.status == 200, response.body
    described = post_raw(endpoint, "DescribeDomain", {"name": name})
    assert described.json()["domainInfo"]["name"] == name


def test_page_size_over_limit_rejected(endpoint: str) -> None:
    response = post_raw(
        endpoint, "ListDomains", {"registrationStatus": "REGISTERED", "maximumPageSize": 1001}
    )

    message = assert_error(response, VALIDATION_TYPE)
    assert message == one_validation_error(
        "1001", "maximumPageSize", "Member must have value less than or equal to 1000"
    )


def test_several_problems_in_one_message(endpoint: str) -> None:
    response = post_raw(endpoint, "ListDomains", {"maximumPageSize": 1001})

    message = assert_error(response, VALIDATION_TYPE)
    assert message.startswith("2 validation errors detected: "), message
    assert "at 'registrationStatus' failed to satisfy constraint" in message
    assert "at 'maximumPageSize' failed to satisfy constraint" in message


def test_legacy_target_and_json_type(endpoint: str, domain: str) -> None:
    registered = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": domain, "workflowExecutionRetentionPeriodInDays": "3"},
        target_prefix=LEGACY_TARGET_PREFIX,
    )
    assert registered.status == 200, registered.body

    described = post_raw(
        endpoint,
        "DescribeDomain",
        {"name": domain},
        content_type="application/json",
    )
    assert described.status == 200, described.body
    assert described.json()["configuration"] == {"workflowExecutionRetentionPeriodInDays": "3"}

    legacy_json = post_raw(
        endpoint,
        "DescribeDomain",
        {"name": domain},
        target_prefix=LEGACY_TARGET_PREFIX,
        content_type="application/json",
    )
    assert legacy_json.status == 200, legacy_json.body
    assert legacy_json.json()["domainInfo"]["name"] == domain


def test_void_operation_empty_body(endpoint: str, domain: str) -> None:
    response = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": domain, "workflowExecutionRetentionPeriodInDays": "1"},
    )

    assert response.status == 200, response.body
    assert response.body == b""
    assert response.headers.get("content-length") == "0"
    assert response.headers.get("x-amzn-requestid"), f"no request id in {response.headers}"


def test_request_ids_differ(endpoint: str) -> None:
    first = post_raw(endpoint, "ListDomains", {"registrationStatus": "REGISTERED"})
    second = post_raw(endpoint, "DescribeDomain", {})

    assert first.status == 200
    assert second.status == 400
    assert first.headers["x-amzn-requestid"] != second.headers["x-amzn-requestid"]


def test_output_operation_json_body(endpoint: str, domain: str) -> None:
    post_raw(
        endpoint, "RegisterDomain", {"name": domain, "workflowExecutionRetentionPeriodInDays": "1"}
    )

    response = post_raw(endpoint, "DescribeDomain", {"name": domain})

    assert response.status == 200
    assert response.headers.get("content-type", "").startswith(CONTENT_TYPE)
    assert response.json()["domainInfo"] == {
        "name": domain,
        "status": "REGISTERED",
        "arn": f"arn:aws:swf:us-east-1:123456789012:/domain/{domain}",
    }


def test_fault_type_namespaced(endpoint: str, domain: str) -> None:
    response = post_raw(endpoint, "DescribeDomain", {"name": domain})

    message = assert_error(response, FAULT_NAMESPACE + "UnknownResourceFault")
    assert domain in message, f"the message should name the domain: {message}"


def test_history_wire_types(swf: Any, endpoint: str, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "wire-1", input="payload")

    response = post_raw(
        endpoint, "GetWorkflowExecutionHistory", {"domain": domain, "execution": execution}
    )

    assert response.status == 200, response.body
    events = response.json()["events"]
    assert [event["eventId"] for event in events] == [1, 2]
    for event in events:
        assert isinstance(event["eventTimestamp"], int | float), f"timestamp not a number: {event}"
    started = events[0]["workflowExecutionStartedEventAttributes"]
    assert started["input"] == "payload"
    assert started["workflowType"] == WORKFLOW_TYPE


def test_idle_decision_poll_shape(swf: Any, endpoint: str, domain: str) -> None:
    register_all_sync(swf, domain)

    response = post_raw(
        endpoint, "PollForDecisionTask", {"domain": domain, "taskList": {"name": "idle"}}
    )

    assert response.status == 200, response.body
    assert response.json() == {"startedEventId": 0, "previousStartedEventId": 0}


def test_idle_activity_poll_shape(swf: Any, endpoint: str, domain: str) -> None:
    register_all_sync(swf, domain)

    response = post_raw(
        endpoint, "PollForActivityTask", {"domain": domain, "taskList": {"name": "idle"}}
    )

    assert response.status == 200, response.body
    assert response.json() == {"startedEventId": 0}


def test_request_over_size_limit_rejected(endpoint: str, domain: str) -> None:
    body = {
        "name": domain,
        "workflowExecutionRetentionPeriodInDays": "1",
        "description": "d" * (1024 * 1024),
    }

    response = post_raw(endpoint, "RegisterDomain", body)

    message = assert_error(response, VALIDATION_TYPE)
    assert "larger than" in message, message


# Faults through boto3.


def test_unknown_domain_fault(swf: Any, domain: str) -> None:
    with pytest.raises(swf.exceptions.UnknownResourceFault) as error:
        swf.describe_domain(name=domain)
    assert domain in error_message(error)

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.start_workflow_execution(domain=domain, workflowId="w", workflowType=WORKFLOW_TYPE)

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})


def test_unknown_execution_fault(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "known-1")
    unknown_run = {"workflowId": "known-1", "runId": "no-such-run"}
    wrong_workflow = {"workflowId": "other-1", "runId": execution["runId"]}

    for missing in (unknown_run, wrong_workflow):
        with pytest.raises(swf.exceptions.UnknownResourceFault):
            swf.describe_workflow_execution(domain=domain, execution=missing)
        with pytest.raises(swf.exceptions.UnknownResourceFault):
            swf.get_workflow_execution_history(domain=domain, execution=missing)

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.signal_workflow_execution(domain=domain, workflowId="never-started", signalName="s")


def test_forged_task_tokens_fault(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "forged-1")
    task = poll_decision(swf, domain)
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[schedule("a1")])
    activity = poll_activity(swf, domain)
    before = len(history(swf, domain, execution))

    for token in ("not-a-token", forge_token(activity["taskToken"])):
        with pytest.raises(swf.exceptions.UnknownResourceFault):
            swf.respond_activity_task_completed(taskToken=token, result="forged")
        with pytest.raises(swf.exceptions.UnknownResourceFault):
            swf.record_activity_task_heartbeat(taskToken=token)
    with pytest.raises(swf.exceptions.UnknownResourceFault) as error:
        swf.respond_activity_task_failed(taskToken=forge_token(activity["taskToken"]))
    assert error_message(error) == "Unknown activity, scheduledEventId = 5"

    assert len(history(swf, domain, execution)) == before, "a forged token changed the history"

    swf.respond_activity_task_completed(taskToken=activity["taskToken"], result="real")
    assert event_types(history(swf, domain, execution))[-2:] == [
        "ActivityTaskCompleted",
        "DecisionTaskScheduled",
    ]


def test_used_task_tokens_fault(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "used-1")
    task = poll_decision(swf, domain)
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[schedule("a1")])
    activity = poll_activity(swf, domain)
    swf.respond_activity_task_completed(taskToken=activity["taskToken"], result="once")
    before = len(history(swf, domain, execution))

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[])
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_activity_task_completed(taskToken=activity["taskToken"], result="twice")
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_activity_task_canceled(taskToken=activity["taskToken"])
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.record_activity_task_heartbeat(taskToken=activity["taskToken"])

    assert len(history(swf, domain, execution)) == before, "a used token changed the history"


def test_domain_already_exists_fault(swf: Any, domain: str) -> None:
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")

    with pytest.raises(swf.exceptions.DomainAlreadyExistsFault):
        swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="2")

    configuration = swf.describe_domain(name=domain)["configuration"]
    assert configuration["workflowExecutionRetentionPeriodInDays"] == "1"


def test_type_already_exists_fault(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)

    with pytest.raises(swf.exceptions.TypeAlreadyExistsFault):
        swf.register_workflow_type(domain=domain, **WORKFLOW_TYPE)
    with pytest.raises(swf.exceptions.TypeAlreadyExistsFault):
        swf.register_activity_type(domain=domain, **ACTIVITY_TYPE)


def test_second_open_run_rejected(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    first = start(swf, domain, "single-1")

    with pytest.raises(swf.exceptions.WorkflowExecutionAlreadyStartedFault):
        start(swf, domain, "single-1")

    swf.terminate_workflow_execution(domain=domain, reason="make room", **first)
    second = start(swf, domain, "single-1")
    assert second["runId"] != first["runId"]
    detail = swf.describe_workflow_execution(domain=domain, execution=first)
    assert detail["executionInfo"]["closeStatus"] == "TERMINATED"
    second_detail = swf.describe_workflow_execution(domain=domain, execution=second)
    assert second_detail["executionInfo"]["executionStatus"] == "OPEN"


def test_missing_default_fault(swf: Any, domain: str) -> None:
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    bare_type = {"name": "bare", "version": "1"}
    swf.register_workflow_type(domain=domain, **bare_type)
    supplied_settings: dict[str, Any] = {}
    settings = [
        ("taskList", {"name": DECISION_LIST}),
        ("executionStartToCloseTimeout", "600"),
        ("taskStartToCloseTimeout", "60"),
        ("childPolicy", "TERMINATE"),
    ]

    for setting, value in settings:
        with pytest.raises(swf.exceptions.DefaultUndefinedFault) as error:
            swf.start_workflow_execution(
                domain=domain, workflowId="bare-1", workflowType=bare_type, **supplied_settings
            )
        assert setting in error_message(error), f"the message should name {setting}"
        supplied_settings[setting] = value

    run_id = swf.start_workflow_execution(
        domain=domain, workflowId="bare-1", workflowType=bare_type, **supplied_settings
    )["runId"]
    assert run_id


def test_deprecated_type_faults(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)

    with pytest.raises(swf.exceptions.TypeNotDeprecatedFault):
        swf.delete_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    with pytest.raises(swf.exceptions.TypeNotDeprecatedFault):
        swf.delete_activity_type(domain=domain, activityType=ACTIVITY_TYPE)

    swf.deprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    with pytest.raises(swf.exceptions.TypeDeprecatedFault):
        start(swf, domain, "deprecated-1")

    swf.undeprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    assert start(swf, domain, "deprecated-1")["runId"]


def test_deprecated_domain_fault(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    swf.deprecate_domain(name=domain)

    with pytest.raises(swf.exceptions.DomainDeprecatedFault):
        start(swf, domain, "deprecated-domain-1")


# Decision and activity outcomes through boto3.


def test_failed_schedules_recorded(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "schedules-1")
    task = poll_decision(swf, domain)
    unknown_type = {
        "decisionType": "ScheduleActivityTask",
        "scheduleActivityTaskDecisionAttributes": {
            "activityType": {"name": "noSuchActivity", "version": "1.0"},
            "activityId": "missing-1",
        },
    }
    marker = {
        "decisionType": "RecordMarker",
        "recordMarkerDecisionAttributes": {"markerName": "checkpoint", "details": "step 1"},
    }

    swf.respond_decision_task_completed(
        taskToken=task["taskToken"],
        decisions=[schedule("a1"), schedule("a1"), unknown_type, marker],
    )

    events = history(swf, domain, execution)
    assert event_types(events)[3:] == [
        "DecisionTaskCompleted",
        "ActivityTaskScheduled",
        "ScheduleActivityTaskFailed",
        "ScheduleActivityTaskFailed",
        "MarkerRecorded",
        "DecisionTaskScheduled",
    ]
    duplicate = events[5]["scheduleActivityTaskFailedEventAttributes"]
    assert duplicate["cause"] == "ACTIVITY_ID_ALREADY_IN_USE"
    assert duplicate["activityId"] == "a1"
    assert duplicate["decisionTaskCompletedEventId"] == 4
    unknown = events[6]["scheduleActivityTaskFailedEventAttributes"]
    assert unknown["cause"] == "ACTIVITY_TYPE_DOES_NOT_EXIST"
    assert unknown["activityType"] == {"name": "noSuchActivity", "version": "1.0"}
    recorded = events[7]["markerRecordedEventAttributes"]
    assert recorded["markerName"] == "checkpoint"
    assert recorded["details"] == "step 1"
    assert recorded["decisionTaskCompletedEventId"] == 4
    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["openCounts"]["openActivityTasks"] == 1
    assert detail["openCounts"]["openDecisionTasks"] == 1


def test_close_with_unseen_events_fails(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "unseen-1")
    task = poll_decision(swf, domain)
    swf.signal_workflow_execution(domain=domain, signalName="late", **execution)

    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[complete("x")])

    events = history(swf, domain, execution)
    assert event_types(events)[3:] == [
        "WorkflowExecutionSignaled",
        "DecisionTaskCompleted",
        "CompleteWorkflowExecutionFailed",
        "DecisionTaskScheduled",
    ]
    failed = events[5]["completeWorkflowExecutionFailedEventAttributes"]
    assert failed["cause"] == "UNHANDLED_DECISION"
    assert failed["decisionTaskCompletedEventId"] == 5
    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["executionInfo"]["executionStatus"] == "OPEN"

    retry = poll_decision(swf, domain)
    assert retry["previousStartedEventId"] == 3
    swf.respond_decision_task_completed(taskToken=retry["taskToken"], decisions=[complete("y")])
    closed = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert closed["executionInfo"]["closeStatus"] == "COMPLETED"


def test_activity_failure_then_workflow_failure(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "failing-1")
    task = poll_decision(swf, domain)
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[schedule("a1")])
    activity = poll_activity(swf, domain)

    swf.respond_activity_task_failed(
        taskToken=activity["taskToken"], reason="card declined", details="code 51"
    )
    task = poll_decision(swf, domain)
    failed_activity = task["events"][6]
    assert failed_activity["eventType"] == "ActivityTaskFailed"
    failed_attributes = failed_activity["activityTaskFailedEventAttributes"]
    assert failed_attributes["reason"] == "card declined"
    assert failed_attributes["details"] == "code 51"
    assert failed_attributes["scheduledEventId"] == 5
    assert failed_attributes["startedEventId"] == 6

    fail_workflow = {
        "decisionType": "FailWorkflowExecution",
        "failWorkflowExecutionDecisionAttributes": {"reason": "payment", "details": "declined"},
    }
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[fail_workflow])

    events = history(swf, domain, execution)
    assert events[-1]["eventType"] == "WorkflowExecutionFailed"
    closed = events[-1]["workflowExecutionFailedEventAttributes"]
    assert closed["reason"] == "payment"
    assert closed["details"] == "declined"
    assert closed["decisionTaskCompletedEventId"] == events[-2]["eventId"]
    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["executionInfo"]["closeStatus"] == "FAILED"


def test_terminated_run_rejects_tokens(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "terminated-1")
    task = poll_decision(swf, domain)
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[schedule("a1")])
    activity = poll_activity(swf, domain)
    swf.signal_workflow_execution(domain=domain, signalName="wake", **execution)
    task = poll_decision(swf, domain)

    swf.terminate_workflow_execution(domain=domain, reason="operator", **execution)
    after_terminate = history(swf, domain, execution)
    assert after_terminate[-1]["eventType"] == "WorkflowExecutionTerminated"

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[])
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_activity_task_completed(taskToken=activity["taskToken"])
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.record_activity_task_heartbeat(taskToken=activity["taskToken"])
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.signal_workflow_execution(domain=domain, signalName="too late", **execution)
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.terminate_workflow_execution(domain=domain, **execution)

    assert history(swf, domain, execution) == after_terminate
    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["executionInfo"]["closeStatus"] == "TERMINATED"
    for name, count in detail["openCounts"].items():
        assert count == 0, f"openCounts.{name} is {count} after termination"


def test_cancel_request_reaches_decider(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "cancel-1")
    task = poll_decision(swf, domain)
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[])

    swf.request_cancel_workflow_execution(domain=domain, **execution)

    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["executionInfo"]["cancelRequested"] is True
    task = poll_decision(swf, domain)
    assert event_types(task["events"])[-3:] == [
        "WorkflowExecutionCancelRequested",
        "DecisionTaskScheduled",
        "DecisionTaskStarted",
    ]


def test_decision_task_reverse_pages(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    signaled_execution(swf, domain, "reverse-task", signals=2)

    page = poll_decision(swf, domain, maximumPageSize=2, reverseOrder=True)
    task_token = page["taskToken"]
    pages = [[e["eventId"] for e in page["events"]]]
    while "nextPageToken" in page:
        page = swf.poll_for_decision_task(
            domain=domain,
            taskList={"name": DECISION_LIST},
            maximumPageSize=2,
            reverseOrder=True,
            nextPageToken=page["nextPageToken"],
        )
        assert page["taskToken"] == task_token
        pages.append([e["eventId"] for e in page["events"]])
        assert len(pages) <= 3, f"more pages than events allow: {pages}"

    assert pages == [[5, 4], [3, 2], [1]]


def test_two_pollers_one_task(endpoint: str, swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "contended-1")
    pollers = [make_boto3_client(endpoint) for _ in range(2)]

    with ThreadPoolExecutor(max_workers=2) as executor:
        futures = [
            executor.submit(
                poller.poll_for_decision_task, domain=domain, taskList={"name": DECISION_LIST}
            )
            for poller in pollers
        ]
        results = [future.result(timeout=60) for future in futures]

    leased = [result for result in results if result.get("taskToken")]
    assert len(leased) == 1, f"one decision task went to {len(leased)} pollers"
    assert leased[0]["workflowExecution"] == execution
    assert event_types(history(swf, domain, execution)).count("DecisionTaskStarted") == 1


def test_task_during_poll_delivered(endpoint: str, swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    poller = make_boto3_client(endpoint)

    with ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(
            poller.poll_for_decision_task, domain=domain, taskList={"name": DECISION_LIST}
        )
        execution = start(swf, domain, "arriving-1")
        task = future.result(timeout=60)

    assert task.get("taskToken"), f"the poll missed a task that arrived while it waited: {task}"
    assert task["workflowExecution"] == execution


# Rejected requests leave the state unchanged.


@pytest.mark.parametrize(
    ("decisions", "message_part"),
    [
        pytest.param(
            [schedule("a1"), start_timer("soon")],
            "Value 'soon' at 'decisions.2.member.startTimerDecisionAttributes.startToFireTimeout'",
            id="invalid-timer",
        ),
        pytest.param(
            [complete("early"), schedule("a1")],
            "Close must be last decision in list",
            id="close-not-last",
        ),
        pytest.param(
            [schedule("a1"), {"decisionType": "ScheduleActivityTask"}],
            "Value null at 'decisions.2.member.scheduleActivityTaskDecisionAttributes'",
            id="attributes-missing",
        ),
        pytest.param(
            [{"decisionType": "LaunchRocket"}],
            "Value 'LaunchRocket' at 'decisions.1.member.decisionType'",
            id="unknown-type",
        ),
    ],
)
def test_rejected_decisions_change_nothing(
    swf: Any, domain: str, decisions: list[dict[str, Any]], message_part: str
) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "batch-1")
    task = poll_decision(swf, domain)
    before = history(swf, domain, execution)

    with pytest.raises(ClientError) as error:
        swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=decisions)
    assert error_code(error) == "ValidationException"
    assert message_part in error_message(error)

    assert history(swf, domain, execution) == before, "a rejected batch changed the history"
    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["openCounts"]["openActivityTasks"] == 0
    assert detail["executionInfo"]["executionStatus"] == "OPEN"

    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[schedule("a1")])
    assert event_types(history(swf, domain, execution))[len(before) :] == [
        "DecisionTaskCompleted",
        "ActivityTaskScheduled",
    ], "the same task token should still work after a rejected batch"


def test_forged_decision_token_changes_nothing(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "forged-decision-1")
    task = poll_decision(swf, domain)
    before = history(swf, domain, execution)

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_decision_task_completed(
            taskToken=forge_token(task["taskToken"]), decisions=[complete("forged")]
        )

    assert history(swf, domain, execution) == before, "a forged token changed the history"
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[complete("real")])
    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["executionInfo"]["closeStatus"] == "COMPLETED"


def test_oversize_input_starts_nothing(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    existing = start(swf, domain, "existing-1")
    before = history(swf, domain, existing)

    for workflow_id in ("existing-1", "fresh-1"):
        with pytest.raises(ClientError) as error:
            start(swf, domain, workflow_id, input="x" * 32769)
        assert error_code(error) == "ValidationException"
        assert (
            "at 'input' failed to satisfy constraint: "
            "Member must have length less than or equal to 32768"
        ) in error_message(error)

    assert history(swf, domain, existing) == before, "a rejected start changed the open run"
    # No run of fresh-1 is open, so a valid start of it succeeds with a new history.
    fresh = start(swf, domain, "fresh-1", input="x" * 32768)
    assert len(history(swf, domain, fresh)) == 2


# Regions.


def test_domains_scoped_by_region(swf: Any, endpoint: str, domain: str) -> None:
    europe = make_boto3_client(endpoint, "eu-west-1")
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")

    with pytest.raises(europe.exceptions.UnknownResourceFault):
        europe.describe_domain(name=domain)
    listed = europe.list_domains(registrationStatus="REGISTERED", maximumPageSize=1000)
    assert domain not in [d["name"] for d in listed["domainInfos"]]

    europe.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="2")

    american = swf.describe_domain(name=domain)
    european = europe.describe_domain(name=domain)
    assert american["domainInfo"]["arn"] == f"arn:aws:swf:us-east-1:123456789012:/domain/{domain}"
    assert european["domainInfo"]["arn"] == f"arn:aws:swf:eu-west-1:123456789012:/domain/{domain}"
    assert american["configuration"]["workflowExecutionRetentionPeriodInDays"] == "1"
    assert european["configuration"]["workflowExecutionRetentionPeriodInDays"] == "2"


def test_executions_scoped_by_region(swf: Any, endpoint: str, domain: str) -> None:
    europe = make_boto3_client(endpoint, "eu-west-1")
    register_all_sync(swf, domain)
    register_all_sync(europe, domain)
    execution = start(swf, domain, "regional-1")

    with pytest.raises(europe.exceptions.UnknownResourceFault):
        europe.describe_workflow_execution(domain=domain, execution=execution)
    assert start(europe, domain, "regional-1")["runId"] != execution["runId"]


def test_region_from_credential_scope(swf: Any, endpoint: str, domain: str) -> None:
    signature = (
        "AWS4-HMAC-SHA256 Credential=testing/20250101/ap-south-1/swf/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
    )

    response = post_raw(
        endpoint,
        "RegisterDomain",
        {"name": domain, "workflowExecutionRetentionPeriodInDays": "1"},
        extra_headers={"Authorization": signature, "X-Amz-Date": "20250101T000000Z"},
    )

    assert response.status == 200, response.body
    india = make_boto3_client(endpoint, "ap-south-1")
    arn = india.describe_domain(name=domain)["domainInfo"]["arn"]
    assert arn == f"arn:aws:swf:ap-south-1:123456789012:/domain/{domain}"
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.describe_domain(name=domain)


# Unusual domain names.

UNUSUAL_NAMES = [
    pytest.param("braces {tag} here", id="braces"),
    pytest.param("}{ reversed", id="reversed-braces"),
    pytest.param("100% sure", id="percent"),
    pytest.param("%7Btag%7D", id="escaped-braces"),
    pytest.param("spaces   inside", id="spaces"),
    pytest.param("ünïcødé 域名 🚀", id="unicode"),
]


@pytest.mark.parametrize("prefix", UNUSUAL_NAMES)
def test_unusual_domain_name_works(swf: Any, prefix: str) -> None:
    name = f"{prefix} {uuid.uuid4().hex[:8]}"
    register_all_sync(swf, name)
    execution = start(swf, name, "unusual-1", input=name)

    task = poll_decision(swf, name)
    assert task["workflowExecution"] == execution
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[schedule("a1")])
    activity = poll_activity(swf, name)
    assert activity["workflowExecution"] == execution
    swf.respond_activity_task_completed(taskToken=activity["taskToken"], result=name)
    task = poll_decision(swf, name)
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[complete(name)])

    assert swf.describe_domain(name=name)["domainInfo"]["name"] == name
    detail = swf.describe_workflow_execution(domain=name, execution=execution)
    assert detail["executionInfo"]["closeStatus"] == "COMPLETED"
    assert event_types(history(swf, name, execution)) == WHOLE_WORKFLOW_EVENTS
    listed = swf.list_domains(registrationStatus="REGISTERED", maximumPageSize=1000)
    assert name in [d["name"] for d in listed["domainInfos"]]


def test_escaped_and_literal_braces_differ(swf: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    literal = f"{{tag}} {suffix}"
    escaped = f"%7Btag%7D {suffix}"
    register_all_sync(swf, literal)

    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.describe_domain(name=escaped)

    swf.register_domain(name=escaped, workflowExecutionRetentionPeriodInDays="5")
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.describe_workflow_type(domain=escaped, workflowType=WORKFLOW_TYPE)
    literal_days = swf.describe_domain(name=literal)["configuration"]
    assert literal_days["workflowExecutionRetentionPeriodInDays"] == "1"


# Events go out as their stored JSON; their content must come back exactly as the library
# reads it, whatever characters it holds.
AWKWARD_TEXT = 'quote " backslash \\ newline \n tab \t nul-ish \u0001 pipe | ünïcødé 🚀 </tag>'


async def test_http_events_match_the_library_events(swf: Any, client: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    execution = start(swf, domain, "awkward", input=AWKWARD_TEXT, tagList=["t|1"])
    for index in range(3):
        swf.signal_workflow_execution(
            domain=domain, workflowId="awkward", signalName=f"s{index}|x", input=AWKWARD_TEXT
        )
    library_events = (
        await client.get_workflow_execution_history(domain=domain, execution=execution)
    )["events"]
    assert library_events[0]["workflowExecutionStartedEventAttributes"]["input"] == AWKWARD_TEXT
    http_events = history(swf, domain, execution)
    assert http_events == library_events

    backwards = swf.get_workflow_execution_history(
        domain=domain, execution=execution, reverseOrder=True, maximumPageSize=2
    )
    assert backwards["events"] == library_events[::-1][:2]

    task = poll_decision(swf, domain, reverseOrder=True)
    started_id = task["startedEventId"]
    library_after = (
        await client.get_workflow_execution_history(domain=domain, execution=execution)
    )["events"]
    assert task["events"] == library_after[::-1]
    assert task["events"][0]["eventId"] == started_id
    assert task["events"][-1]["workflowExecutionStartedEventAttributes"]["input"] == AWKWARD_TEXT
