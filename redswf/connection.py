"""Redis clients for redswf."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# Connections per process. Waiting long polls hold none; only running commands do, and a
# request that finds all of them busy waits up to POOL_TIMEOUT seconds for one.
MAX_CONNECTIONS = 64
POOL_TIMEOUT = 20.0


# NOTE: this is a client of one Redis server (or of a one-node Redis Cluster). The scripts
# and keys are ready for a multi-node cluster (one slot per domain), but the client for one,
# with sharded pub/sub per node, is not built yet.
def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> Redis:
    """Return an asyncio Redis client that owns its pool; the pool waits for a free connection."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=POOL_TIMEOUT, health_check_interval=30
    )
    return Redis.from_pool(pool)
