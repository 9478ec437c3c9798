-- Register a workflow or activity type.
-- args[1] map: kind ('workflow'|'activity'), domain, name, version, description?,
--   defaults (map of default* member name to text; defaultTaskList is the list's name).
-- Result: 'REGISTERED'.
-- Faults: UnknownResourceFault (domain), DomainDeprecatedFault, TypeAlreadyExistsFault,
--   LimitExceededFault (10,000 types of one kind per domain, deprecated ones included).

local status = redis.call('HGET', K_DOMAIN, 'status')
if not status then return fault('UnknownResourceFault', 'Unknown domain: ' .. A.domain) end
if status == 'DEPRECATED' then return fault('DomainDeprecatedFault', A.domain) end

local key = k_type(A.kind, A.name, A.version)
local label = (A.kind == 'workflow' and 'WorkflowType' or 'ActivityType')
  .. '=[name=' .. A.name .. ', version=' .. A.version .. ']'
if redis.call('EXISTS', key) == 1 then return fault('TypeAlreadyExistsFault', label) end
if redis.call('ZCARD', k_types(A.kind)) >= 10000 then
  return fault('LimitExceededFault', 'The domain already has 10000 ' .. A.kind .. ' types')
end

local fields = {'name', A.name, 'version', A.version, 'status', 'REGISTERED',
  'creationDate', now_ms()}
if A.description then fields[#fields + 1] = 'description'; fields[#fields + 1] = A.description end
for member, value in pairs(A.defaults) do
  fields[#fields + 1] = member; fields[#fields + 1] = value
end
redis.call('HSET', key, unpack(fields))
redis.call('ZADD', k_types(A.kind), 0, A.name .. ':' .. A.version)
return cmsgpack.pack('REGISTERED')
