-- Deprecate a domain and every workflow and activity type in it.
-- args[1] map: name. Result: 'DEPRECATED'.
-- Faults: UnknownResourceFault, DomainDeprecatedFault (already deprecated).
-- The loop over types is bounded by the limit of 10,000 types of each kind per domain.

local status = redis.call('HGET', K_DOMAIN, 'status')
if not status then return fault('UnknownResourceFault', 'Unknown domain: ' .. A.name) end
if status == 'DEPRECATED' then return fault('DomainDeprecatedFault', A.name) end

local now = now_ms()
redis.call('HSET', K_DOMAIN, 'status', 'DEPRECATED', 'deprecatedMs', now)
for _, kind in ipairs({'workflow', 'activity'}) do
  for _, member in ipairs(redis.call('ZRANGE', k_types(kind), 0, -1)) do
    local name, version = string.match(member, '^([^:]*):(.*)$')
    local key = k_type(kind, name, version)
    if redis.call('HGET', key, 'status') == 'REGISTERED' then
      redis.call('HSET', key, 'status', 'DEPRECATED', 'deprecationDate', now)
    end
  end
end
return cmsgpack.pack('DEPRECATED')
