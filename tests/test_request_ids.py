"""Request ids: UUID-shaped, unique within a process and across forked processes."""

from __future__ import annotations

import os
import uuid
import warnings

from redswf import AsyncClient
from redswf.tokens import new_request_id
from tests.conftest import MAX_DOMAINS


def test_request_ids_are_uuids_and_unique() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for request_id in ids[:3] + ids[-3:]:
        assert str(uuid.UUID(request_id)) == request_id


def test_forked_child_draws_new_request_ids() -> None:
    read_end, write_end = os.pipe()
    # Python 3.12 warns on fork() in a process with threads; the child only writes and exits.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    try:
        child_id = os.read(read_end, 100).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    parent_id = new_request_id()
    assert str(uuid.UUID(child_id)) == child_id
    # The same count in both processes would differ only in the last digits.
    assert child_id[:24] != parent_id[:24]


async def test_library_results_carry_a_request_id(redis_url: str) -> None:
    async with AsyncClient(redis_url, max_domains=MAX_DOMAINS) as client:
        first = await client.list_domains(registrationStatus="REGISTERED", maximumPageSize=1)
        second = await client.list_domains(registrationStatus="REGISTERED", maximumPageSize=1)
    ids = [page["ResponseMetadata"]["RequestId"] for page in (first, second)]
    assert ids[0] != ids[1]
    assert all(str(uuid.UUID(i)) == i for i in ids)
