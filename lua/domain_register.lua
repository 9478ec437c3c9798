-- Register a domain.
-- args[1] map: name, retention (days as text, or 'NONE'), description?, tags ({key, value}
--   pairs; the caller has checked the limit of 50)
-- Result: 'REGISTERED'. Faults: DomainAlreadyExistsFault (registered or deprecated).

if redis.call('EXISTS', K_DOMAIN) == 1 then
  return fault('DomainAlreadyExistsFault', A.name)
end

local now = now_ms()
redis.call('HSET', K_DOMAIN, 'name', A.name, 'status', 'REGISTERED', 'retention', A.retention,
  'description', A.description or '', 'createdMs', now)
for _, tag in ipairs(A.tags or {}) do
  redis.call('HSET', P .. ':tags', tag[1], tag[2])
end
return cmsgpack.pack('REGISTERED')
