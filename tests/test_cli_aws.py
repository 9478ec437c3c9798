"""The real AWS CLI against `redswf serve`.

Each call starts a new Python process that takes about a second, so the tests make few calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

AWS_CLI = Path(sys.executable).with_name("aws")


def run_aws(endpoint: str, home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``aws swf <arguments>`` with dummy keys and no user or instance configuration."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    command = [
        str(AWS_CLI),
        "swf",
        *arguments,
        "--endpoint-url",
        endpoint,
        "--region",
        "us-east-1",
        "--output",
        "json",
    ]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def output_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, f"aws exited with {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def test_cli_registers_lists_describes(endpoint: str, domain: str, tmp_path: Path) -> None:
    registered = run_aws(
        endpoint,
        tmp_path,
        "register-domain",
        "--name",
        domain,
        "--workflow-execution-retention-period-in-days",
        "7",
        "--description",
        "registered by the AWS CLI",
    )
    assert registered.returncode == 0, f"register-domain failed: {registered.stderr}"
    assert registered.stdout.strip() == "", "register-domain has no output"

    listed = output_json(
        run_aws(endpoint, tmp_path, "list-domains", "--registration-status", "REGISTERED")
    )
    matches = [info for info in listed["domainInfos"] if info["name"] == domain]
    assert len(matches) == 1, f"{domain} not listed once in {listed}"
    assert matches[0]["status"] == "REGISTERED"
    assert matches[0]["description"] == "registered by the AWS CLI"

    described = output_json(run_aws(endpoint, tmp_path, "describe-domain", "--name", domain))
    assert described["domainInfo"]["name"] == domain
    assert described["domainInfo"]["arn"] == f"arn:aws:swf:us-east-1:123456789012:/domain/{domain}"
    assert described["configuration"] == {"workflowExecutionRetentionPeriodInDays": "7"}


def test_cli_unknown_domain_fails(endpoint: str, domain: str, tmp_path: Path) -> None:
    result = run_aws(endpoint, tmp_path, "describe-domain", "--name", domain)

    # AWS CLI version 2 exits with 254 on a service error and version 1 with 255.
    assert result.returncode in (254, 255), f"expected exit code 254 or 255: {result}"
    assert "UnknownResourceFault" in result.stderr, result.stderr
    assert domain in result.stderr, "the error should name the domain"
    assert result.stdout == ""
