-- Undeprecate a domain. Its types keep their own status (undeprecate them one by one).
-- args[1] map: name. Result: 'REGISTERED'.
-- Faults: UnknownResourceFault, DomainAlreadyExistsFault (the domain is registered).

local status = redis.call('HGET', K_DOMAIN, 'status')
if not status then return fault('UnknownResourceFault', 'Unknown domain: ' .. A.name) end
if status == 'REGISTERED' then return fault('DomainAlreadyExistsFault', A.name) end

redis.call('HSET', K_DOMAIN, 'status', 'REGISTERED')
redis.call('HDEL', K_DOMAIN, 'deprecatedMs')
return cmsgpack.pack('REGISTERED')
