"""arq, an asyncio job queue on redis-py, running no-op jobs on the same Redis server.

Its jobs live in database 1, away from redswf's keys. The run rate is jobs completed per
second by one arq worker with ``max_jobs=W``, set against redswf's library activity
dispatch at the same W.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

from . import infra
from .activity_dispatch import levels
from .context import Context

SCENARIO = "arq no-op jobs"


async def run(ctx: Context) -> None:
    ctx.reset()
    python = infra.ensure_arq_venv()
    if python is None:
        ctx.add(SCENARIO, "arq", "not measured", 0, "", "the arq virtualenv could not be created")
        return
    jobs = ctx.size(3000, 10000)
    curve: dict[int, float] = {}
    for workers in levels(ctx):
        settings = {"socket": str(ctx.valkey.socket_path), "jobs": jobs, "workers": workers}
        command = [str(python), "-m", "benchmarks.arq_child", json.dumps(settings)]
        result = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=300, cwd=infra.REPO
        )
        if result.returncode != 0:
            raise RuntimeError(f"the arq process failed:\n{result.stderr[-2000:]}")
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        if measured["complete"] < jobs:
            raise RuntimeError(f"arq completed {measured['complete']} of {jobs} jobs")
        curve[workers] = measured["run_rate"]
        note = f"{jobs} jobs; enqueued at {measured['enqueue_rate']:,.0f}/s"
        ctx.add(SCENARIO, f"max_jobs={workers}", "jobs/s", measured["run_rate"], "jobs/s", note)
    ctx.raw.setdefault("dispatch_curves", {})["arq"] = curve
    ctx.facts["arq_max"] = max(curve.values())
