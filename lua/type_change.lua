-- Deprecate, undeprecate or delete a workflow or activity type.
-- args[1] map: kind ('workflow'|'activity'), action ('deprecate'|'undeprecate'|'delete'),
--   domain, name, version.
-- Result: the new status, or 'DELETED'.
-- Faults: UnknownResourceFault; TypeDeprecatedFault (deprecate a deprecated type);
--   TypeAlreadyExistsFault (undeprecate a registered type); TypeNotDeprecatedFault
--   (delete a registered type). Running executions and tasks of the type go on.

if redis.call('EXISTS', K_DOMAIN) == 0 then
  return fault('UnknownResourceFault', 'Unknown domain: ' .. A.domain)
end
local key = k_type(A.kind, A.name, A.version)
local label = (A.kind == 'workflow' and 'WorkflowType' or 'ActivityType')
  .. '=[name=' .. A.name .. ', version=' .. A.version .. ']'
local status = redis.call('HGET', key, 'status')
if not status then return fault('UnknownResourceFault', 'Unknown type: ' .. label) end

if A.action == 'deprecate' then
  if status == 'DEPRECATED' then return fault('TypeDeprecatedFault', label) end
  redis.call('HSET', key, 'status', 'DEPRECATED', 'deprecationDate', now_ms())
  return cmsgpack.pack('DEPRECATED')
elseif A.action == 'undeprecate' then
  if status == 'REGISTERED' then return fault('TypeAlreadyExistsFault', label) end
  redis.call('HSET', key, 'status', 'REGISTERED')
  redis.call('HDEL', key, 'deprecationDate')
  return cmsgpack.pack('REGISTERED')
end

if status ~= 'DEPRECATED' then
  return fault('TypeNotDeprecatedFault',
    'The type is currently registered and cannot be deleted in its current state: ' .. label)
end
redis.call('DEL', key)
redis.call('ZREM', k_types(A.kind), A.name .. ':' .. A.version)
return cmsgpack.pack('DELETED')
