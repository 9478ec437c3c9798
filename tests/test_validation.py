"""Unit tests of SWF request validation against the botocore service model."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from redswf.errors import SWFError
from redswf.validation import OPERATIONS, validate_request

NAME_CONSTRAINT = (
    "Member must not contain ':', '/', '|', control characters or the literal string 'arn'"
)
DECISION_TYPES = (
    "[CompleteWorkflowExecution, StartTimer, RequestCancelExternalWorkflowExecution, "
    "SignalExternalWorkflowExecution, CancelTimer, RecordMarker, ScheduleActivityTask, "
    "ContinueAsNewWorkflowExecution, ScheduleLambdaFunction, FailWorkflowExecution, "
    "RequestCancelActivityTask, StartChildWorkflowExecution, CancelWorkflowExecution]"
)


def one_error(value: str, path: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {value} at '{path}' "
        f"failed to satisfy constraint: {constraint}"
    )


def start_request(**members: Any) -> dict[str, Any]:
    """Return a valid StartWorkflowExecution body with ``members`` replaced or added."""
    request: dict[str, Any] = {
        "domain": "orders",
        "workflowId": "order-1",
        "workflowType": {"name": "ProcessOrder", "version": "1.0"},
    }
    request.update(members)
    return request


def decisions_request(*decisions: Any) -> dict[str, Any]:
    return {"taskToken": "token", "decisions": list(decisions)}


def start_timer(**attributes: Any) -> dict[str, Any]:
    return {
        "decisionType": "StartTimer",
        "startTimerDecisionAttributes": {"timerId": "t1", "startToFireTimeout": "30", **attributes},
    }


# (test id, operation, request body, expected error code, expected message)
BAD_REQUESTS: list[tuple[str, str, object, str, str]] = [
    (
        "missing domain",
        "DescribeWorkflowType",
        {"workflowType": {"name": "w", "version": "1"}},
        "ValidationException",
        one_error("null", "domain", "Member must not be null"),
    ),
    (
        "null required member",
        "DescribeDomain",
        {"name": None},
        "ValidationException",
        one_error("null", "name", "Member must not be null"),
    ),
    (
        "missing nested member",
        "PollForActivityTask",
        {"domain": "orders", "taskList": {}},
        "ValidationException",
        one_error("null", "taskList.name", "Member must not be null"),
    ),
    (
        "empty domain",
        "DescribeDomain",
        {"name": ""},
        "ValidationException",
        one_error("''", "name", "Member must have length greater than or equal to 1"),
    ),
    (
        "domain of 257 characters",
        "DescribeDomain",
        {"name": "d" * 257},
        "ValidationException",
        one_error(
            "'" + "d" * 100 + "...'",
            "name",
            "Member must have length less than or equal to 256",
        ),
    ),
    (
        "version of 65 characters",
        "DescribeActivityType",
        {"domain": "orders", "activityType": {"name": "a", "version": "v" * 65}},
        "ValidationException",
        one_error(
            "'" + "v" * 65 + "'",
            "activityType.version",
            "Member must have length less than or equal to 64",
        ),
    ),
    (
        "bad registration status",
        "ListDomains",
        {"registrationStatus": "ACTIVE"},
        "ValidationException",
        one_error(
            "'ACTIVE'",
            "registrationStatus",
            "Member must satisfy enum value set: [REGISTERED, DEPRECATED]",
        ),
    ),
    (
        "bad child policy",
        "StartWorkflowExecution",
        start_request(childPolicy="KILL"),
        "ValidationException",
        one_error(
            "'KILL'",
            "childPolicy",
            "Member must satisfy enum value set: [TERMINATE, REQUEST_CANCEL, ABANDON]",
        ),
    ),
    (
        "page size 1001",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": 1001},
        "ValidationException",
        one_error("1001", "maximumPageSize", "Member must have value less than or equal to 1000"),
    ),
    (
        "page size -1",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": -1},
        "ValidationException",
        one_error("-1", "maximumPageSize", "Member must have value greater than or equal to 0"),
    ),
    (
        "six tags",
        "StartWorkflowExecution",
        start_request(tagList=["a", "b", "c", "d", "e", "f"]),
        "ValidationException",
        one_error(
            "'[a, b, c, d, e, f]'", "tagList", "Member must have length less than or equal to 5"
        ),
    ),
    (
        "null list element",
        "UntagResource",
        {"resourceArn": "arn:aws:swf:us-east-1:1:/domain/d", "tagKeys": ["k", None]},
        "ValidationException",
        one_error("null", "tagKeys.2.member", "Member must not be null"),
    ),
    (
        "negative duration",
        "RegisterActivityType",
        {
            "domain": "orders",
            "name": "Charge",
            "version": "1",
            "defaultTaskHeartbeatTimeout": "-5",
        },
        "ValidationException",
        one_error(
            "'-5'",
            "defaultTaskHeartbeatTimeout",
            "Member must be a whole number of seconds or NONE",
        ),
    ),
    (
        "fractional duration",
        "StartWorkflowExecution",
        start_request(taskStartToCloseTimeout="1.5"),
        "ValidationException",
        one_error(
            "'1.5'",
            "taskStartToCloseTimeout",
            "Member must be a whole number of seconds or NONE",
        ),
    ),
    (
        "NONE execution timeout",
        "StartWorkflowExecution",
        start_request(executionStartToCloseTimeout="NONE"),
        "ValidationException",
        one_error(
            "'NONE'",
            "executionStartToCloseTimeout",
            "Member must be a whole number of seconds from 0 to 31536000",
        ),
    ),
    (
        "execution timeout over one year",
        "StartWorkflowExecution",
        start_request(executionStartToCloseTimeout="31536001"),
        "ValidationException",
        one_error(
            "'31536001'",
            "executionStartToCloseTimeout",
            "Member must be a whole number of seconds from 0 to 31536000",
        ),
    ),
    (
        "NONE default execution timeout",
        "RegisterWorkflowType",
        {
            "domain": "orders",
            "name": "ProcessOrder",
            "version": "1",
            "defaultExecutionStartToCloseTimeout": "NONE",
        },
        "ValidationException",
        one_error(
            "'NONE'",
            "defaultExecutionStartToCloseTimeout",
            "Member must be a whole number of seconds from 0 to 31536000",
        ),
    ),
    (
        "retention 91 days",
        "RegisterDomain",
        {"name": "orders", "workflowExecutionRetentionPeriodInDays": "91"},
        "ValidationException",
        one_error(
            "'91'",
            "workflowExecutionRetentionPeriodInDays",
            "Member must be a whole number of days from 0 to 90 or NONE",
        ),
    ),
    (
        "retention not a number",
        "RegisterDomain",
        {"name": "orders", "workflowExecutionRetentionPeriodInDays": "week"},
        "ValidationException",
        one_error(
            "'week'",
            "workflowExecutionRetentionPeriodInDays",
            "Member must be a whole number of days from 0 to 90 or NONE",
        ),
    ),
    (
        "priority above int range",
        "StartWorkflowExecution",
        start_request(taskPriority="2147483648"),
        "ValidationException",
        one_error(
            "'2147483648'",
            "taskPriority",
            "Member must be an integer from -2147483648 to 2147483647",
        ),
    ),
    (
        "priority below int range",
        "RegisterActivityType",
        {
            "domain": "orders",
            "name": "Charge",
            "version": "1",
            "defaultTaskPriority": "-2147483649",
        },
        "ValidationException",
        one_error(
            "'-2147483649'",
            "defaultTaskPriority",
            "Member must be an integer from -2147483648 to 2147483647",
        ),
    ),
    (
        "priority not a number",
        "StartWorkflowExecution",
        start_request(taskPriority="high"),
        "ValidationException",
        one_error(
            "'high'", "taskPriority", "Member must be an integer from -2147483648 to 2147483647"
        ),
    ),
    (
        "domain with colon",
        "DescribeDomain",
        {"name": "a:b"},
        "ValidationException",
        one_error("'a:b'", "name", NAME_CONSTRAINT),
    ),
    (
        "workflow id arn",
        "StartWorkflowExecution",
        start_request(workflowId="arn"),
        "ValidationException",
        one_error("'arn'", "workflowId", NAME_CONSTRAINT),
    ),
    (
        "type name with slash",
        "DescribeWorkflowType",
        {"domain": "orders", "workflowType": {"name": "a/b", "version": "1"}},
        "ValidationException",
        one_error("'a/b'", "workflowType.name", NAME_CONSTRAINT),
    ),
    (
        "version with control character",
        "DescribeWorkflowType",
        {"domain": "orders", "workflowType": {"name": "w", "version": "1\x85"}},
        "ValidationException",
        one_error("'1\x85'", "workflowType.version", NAME_CONSTRAINT),
    ),
    (
        "domain with leading space",
        "DescribeDomain",
        {"name": " orders"},
        "ValidationException",
        one_error("' orders'", "name", "Member must not start or end with whitespace"),
    ),
    (
        "task list with trailing tab",
        "PollForDecisionTask",
        {"domain": "orders", "taskList": {"name": "main\t"}},
        "ValidationException",
        "2 validation errors detected: "
        "Value 'main\t' at 'taskList.name' failed to satisfy constraint: "
        f"{NAME_CONSTRAINT}; "
        "Value 'main\t' at 'taskList.name' failed to satisfy constraint: "
        "Member must not start or end with whitespace",
    ),
    (
        "number for string",
        "DescribeDomain",
        {"name": 12},
        "SerializationException",
        "Value 12 at 'name' has the wrong type: expected a string",
    ),
    (
        "boolean for string",
        "DescribeDomain",
        {"name": True},
        "SerializationException",
        "Value true at 'name' has the wrong type: expected a string",
    ),
    (
        "object for string",
        "DescribeDomain",
        {"name": {"value": "orders"}},
        "SerializationException",
        """Value {"value":"orders"} at 'name' has the wrong type: expected a string""",
    ),
    (
        "list for string",
        "DescribeDomain",
        {"name": ["orders"]},
        "SerializationException",
        """Value ["orders"] at 'name' has the wrong type: expected a string""",
    ),
    (
        "string for object",
        "PollForActivityTask",
        {"domain": "orders", "taskList": "main"},
        "SerializationException",
        "Value 'main' at 'taskList' has the wrong type: expected an object",
    ),
    (
        "string for list",
        "StartWorkflowExecution",
        start_request(tagList="a"),
        "SerializationException",
        "Value 'a' at 'tagList' has the wrong type: expected a list",
    ),
    (
        "string for integer",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": "10"},
        "SerializationException",
        "Value '10' at 'maximumPageSize' has the wrong type: expected an integer",
    ),
    (
        "float for integer",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": 10.0},
        "SerializationException",
        "Value 10.0 at 'maximumPageSize' has the wrong type: expected an integer",
    ),
    (
        "boolean for integer",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": True},
        "SerializationException",
        "Value true at 'maximumPageSize' has the wrong type: expected an integer",
    ),
    (
        "integer beyond 32 bits",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": 2**31},
        "SerializationException",
        "Value 2147483648 at 'maximumPageSize' has the wrong type: expected a 32-bit integer",
    ),
    (
        "string for boolean",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "reverseOrder": "true"},
        "SerializationException",
        "Value 'true' at 'reverseOrder' has the wrong type: expected a boolean",
    ),
    (
        "string for timestamp",
        "CountOpenWorkflowExecutions",
        {"domain": "orders", "startTimeFilter": {"oldestDate": "2024-01-01"}},
        "SerializationException",
        "Value '2024-01-01' at 'startTimeFilter.oldestDate' has the wrong type: expected a number",
    ),
    (
        "list as body",
        "DescribeDomain",
        ["orders"],
        "SerializationException",
        """Value ["orders"] of the request body has the wrong type: expected an object""",
    ),
    (
        "wrong type inside decision",
        "RespondDecisionTaskCompleted",
        decisions_request(start_timer(), start_timer(timerId=7)),
        "SerializationException",
        "Value 7 at 'decisions.2.member.startTimerDecisionAttributes.timerId' "
        "has the wrong type: expected a string",
    ),
    (
        "wrong type beats validation",
        "DescribeWorkflowType",
        {"domain": "", "workflowType": {"name": "w", "version": 1}},
        "SerializationException",
        "Value 1 at 'workflowType.version' has the wrong type: expected a string",
    ),
    (
        "bad decision type",
        "RespondDecisionTaskCompleted",
        decisions_request({"decisionType": "Sleep"}),
        "ValidationException",
        one_error(
            "'Sleep'",
            "decisions.1.member.decisionType",
            f"Member must satisfy enum value set: {DECISION_TYPES}",
        ),
    ),
    (
        "missing decision type",
        "RespondDecisionTaskCompleted",
        decisions_request({}),
        "ValidationException",
        one_error("null", "decisions.1.member.decisionType", "Member must not be null"),
    ),
    (
        "missing timer attributes",
        "RespondDecisionTaskCompleted",
        decisions_request(start_timer(), {"decisionType": "StartTimer"}),
        "ValidationException",
        one_error(
            "null",
            "decisions.2.member.startTimerDecisionAttributes",
            "Member must not be null",
        ),
    ),
    (
        "null timer attributes",
        "RespondDecisionTaskCompleted",
        decisions_request({"decisionType": "StartTimer", "startTimerDecisionAttributes": None}),
        "ValidationException",
        one_error(
            "null",
            "decisions.1.member.startTimerDecisionAttributes",
            "Member must not be null",
        ),
    ),
    (
        "missing timer id",
        "RespondDecisionTaskCompleted",
        decisions_request(
            start_timer(),
            start_timer(),
            {
                "decisionType": "StartTimer",
                "startTimerDecisionAttributes": {"startToFireTimeout": "5"},
            },
        ),
        "ValidationException",
        one_error(
            "null",
            "decisions.3.member.startTimerDecisionAttributes.timerId",
            "Member must not be null",
        ),
    ),
    (
        "NONE timer duration",
        "RespondDecisionTaskCompleted",
        decisions_request(start_timer(startToFireTimeout="NONE")),
        "ValidationException",
        one_error(
            "'NONE'",
            "decisions.1.member.startTimerDecisionAttributes.startToFireTimeout",
            "Member must be a whole number of seconds",
        ),
    ),
    (
        "activity id with pipe",
        "RespondDecisionTaskCompleted",
        decisions_request(
            {
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {
                    "activityType": {"name": "Charge", "version": "1"},
                    "activityId": "a|1",
                },
            }
        ),
        "ValidationException",
        one_error(
            "'a|1'",
            "decisions.1.member.scheduleActivityTaskDecisionAttributes.activityId",
            NAME_CONSTRAINT,
        ),
    ),
    (
        "several errors",
        "StartWorkflowExecution",
        {
            "workflowId": "w" * 257,
            "workflowType": {"name": "ProcessOrder", "version": "1"},
            "childPolicy": "KILL",
        },
        "ValidationException",
        "3 validation errors detected: "
        "Value null at 'domain' failed to satisfy constraint: Member must not be null; "
        "Value '" + "w" * 100 + "...' at 'workflowId' failed to satisfy constraint: "
        "Member must have length less than or equal to 256; "
        "Value 'KILL' at 'childPolicy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [TERMINATE, REQUEST_CANCEL, ABANDON]",
    ),
    (
        "errors across decisions",
        "RespondDecisionTaskCompleted",
        decisions_request(
            {"decisionType": "CancelTimer"},
            start_timer(timerId="t:2", startToFireTimeout="soon"),
        ),
        "ValidationException",
        "3 validation errors detected: "
        "Value null at 'decisions.1.member.cancelTimerDecisionAttributes' "
        "failed to satisfy constraint: Member must not be null; "
        "Value 't:2' at 'decisions.2.member.startTimerDecisionAttributes.timerId' "
        f"failed to satisfy constraint: {NAME_CONSTRAINT}; "
        "Value 'soon' at 'decisions.2.member.startTimerDecisionAttributes.startToFireTimeout' "
        "failed to satisfy constraint: Member must be a whole number of seconds",
    ),
    (
        "unknown operation",
        "DescribeEverything",
        {},
        "UnknownOperationException",
        "Unknown SWF operation: 'DescribeEverything'",
    ),
]


@pytest.mark.parametrize(
    ("operation", "request_body", "code", "message"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_request_rejected(
    operation: str, request_body: object, code: str, message: str
) -> None:
    with pytest.raises(SWFError) as caught:
        validate_request(operation, request_body)
    assert caught.value.code == code
    assert caught.value.message == message


# (test id, operation, request body, expected result)
GOOD_REQUESTS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "list domains",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "maximumPageSize": 1000, "reverseOrder": True},
        {"registrationStatus": "REGISTERED", "maximumPageSize": 1000, "reverseOrder": True},
    ),
    (
        "page size 0",
        "ListDomains",
        {"registrationStatus": "DEPRECATED", "maximumPageSize": 0},
        {"registrationStatus": "DEPRECATED", "maximumPageSize": 0},
    ),
    (
        "top-level nulls dropped",
        "ListDomains",
        {"registrationStatus": "REGISTERED", "nextPageToken": None, "maximumPageSize": None},
        {"registrationStatus": "REGISTERED"},
    ),
    (
        "nested nulls dropped",
        "RegisterDomain",
        {
            "name": "orders",
            "description": None,
            "workflowExecutionRetentionPeriodInDays": "NONE",
            "tags": [{"key": "team", "value": None}],
        },
        {
            "name": "orders",
            "workflowExecutionRetentionPeriodInDays": "NONE",
            "tags": [{"key": "team"}],
        },
    ),
    (
        "unknown members ignored",
        "DescribeDomain",
        {"name": "orders", "color": 12},
        {"name": "orders"},
    ),
    (
        "retention 90 days",
        "RegisterDomain",
        {"name": "orders", "workflowExecutionRetentionPeriodInDays": "90"},
        {"name": "orders", "workflowExecutionRetentionPeriodInDays": "90"},
    ),
    (
        "full start request",
        "StartWorkflowExecution",
        start_request(
            taskList={"name": "main queue"},
            taskPriority="-2147483648",
            input="x" * 32768,
            executionStartToCloseTimeout="31536000",
            tagList=["a", "b", "c", "d", "e"],
            taskStartToCloseTimeout="NONE",
            childPolicy="ABANDON",
            lambdaRole=None,
        ),
        start_request(
            taskList={"name": "main queue"},
            taskPriority="-2147483648",
            input="x" * 32768,
            executionStartToCloseTimeout="31536000",
            tagList=["a", "b", "c", "d", "e"],
            taskStartToCloseTimeout="NONE",
            childPolicy="ABANDON",
        ),
    ),
    (
        "empty optional duration",
        "RegisterActivityType",
        {
            "domain": "orders",
            "name": "Charge",
            "version": "1",
            "defaultTaskHeartbeatTimeout": "",
            "defaultTaskPriority": "+7",
        },
        {
            "domain": "orders",
            "name": "Charge",
            "version": "1",
            "defaultTaskHeartbeatTimeout": "",
            "defaultTaskPriority": "+7",
        },
    ),
    (
        "float and integer timestamps",
        "CountClosedWorkflowExecutions",
        {
            "domain": "orders",
            "startTimeFilter": {"oldestDate": 1700000000.25, "latestDate": 1800000000},
            "closeStatusFilter": {"status": "TIMED_OUT"},
        },
        {
            "domain": "orders",
            "startTimeFilter": {"oldestDate": 1700000000.25, "latestDate": 1800000000},
            "closeStatusFilter": {"status": "TIMED_OUT"},
        },
    ),
    (
        "decisions",
        "RespondDecisionTaskCompleted",
        decisions_request(
            start_timer(control=None),
            {"decisionType": "CompleteWorkflowExecution"},
            {
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {
                    "activityType": {"name": "Charge", "version": "1"},
                    "activityId": "charge-1",
                    "taskList": {"name": "payments"},
                    "heartbeatTimeout": "NONE",
                },
                "startTimerDecisionAttributes": None,
            },
        ),
        decisions_request(
            start_timer(),
            {"decisionType": "CompleteWorkflowExecution"},
            {
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {
                    "activityType": {"name": "Charge", "version": "1"},
                    "activityId": "charge-1",
                    "taskList": {"name": "payments"},
                    "heartbeatTimeout": "NONE",
                },
            },
        ),
    ),
    (
        "names with arn inside",
        "DescribeWorkflowType",
        {"domain": "arnold", "workflowType": {"name": "barn", "version": "arn-1"}},
        {"domain": "arnold", "workflowType": {"name": "barn", "version": "arn-1"}},
    ),
]


@pytest.mark.parametrize(
    ("operation", "request_body", "expected"),
    [case[1:] for case in GOOD_REQUESTS],
    ids=[case[0] for case in GOOD_REQUESTS],
)
def test_good_request_accepted(
    operation: str, request_body: dict[str, Any], expected: dict[str, Any]
) -> None:
    original = copy.deepcopy(request_body)
    assert validate_request(operation, request_body) == expected
    assert request_body == original


def test_result_is_new_dict() -> None:
    request = {"name": "orders"}
    assert validate_request("DescribeDomain", request) is not request


def test_operations_match_model() -> None:
    assert len(OPERATIONS) == 39
    assert "RespondDecisionTaskCompleted" in OPERATIONS
    assert "TagResource" in OPERATIONS


def test_long_value_truncated_in_message() -> None:
    with pytest.raises(SWFError) as caught:
        validate_request("RecordActivityTaskHeartbeat", {"taskToken": "t", "details": "z" * 5000})
    assert len(caught.value.message) < 300
    assert "'" + "z" * 100 + "...'" in caught.value.message


def test_huge_priority_rejected() -> None:
    with pytest.raises(SWFError) as caught:
        validate_request("StartWorkflowExecution", start_request(taskPriority="9" * 10000))
    assert caught.value.code == "ValidationException"
    assert caught.value.message.endswith("Member must be an integer from -2147483648 to 2147483647")
