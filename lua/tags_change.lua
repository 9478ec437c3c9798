-- Add, overwrite or remove resource tags of a domain (TagResource, UntagResource).
-- args[1] map: domain, set ({key, value} pairs, at most 50 distinct keys; a later pair with
--   the same key wins), remove (tag keys; keys the domain does not have are ignored).
-- Result: the number of tags the domain has afterwards.
-- Faults: UnknownResourceFault (domain), TooManyTagsFault (the domain would have more than
--   50 tags). Both are raised before the first write.

local MAX_TAGS = 50
local K_TAGS = P .. ':tags'

if redis.call('EXISTS', K_DOMAIN) == 0 then
  return fault('UnknownResourceFault', 'Unknown domain: ' .. A.domain)
end

-- The caller sends at most 50 distinct keys to set, and a domain has at most 50 tags, so
-- each loop below runs at most 50 times with a Redis call.
local count = redis.call('HLEN', K_TAGS)
local counted = {}
for _, tag in ipairs(A.set or {}) do
  if not counted[tag[1]] and redis.call('HEXISTS', K_TAGS, tag[1]) == 0 then
    count = count + 1
  end
  counted[tag[1]] = true
end
if count > MAX_TAGS then
  return fault('TooManyTagsFault', 'A domain can have at most ' .. MAX_TAGS .. ' tags; this '
    .. 'request would give ' .. A.domain .. ' ' .. count)
end

for _, tag in ipairs(A.set or {}) do
  redis.call('HSET', K_TAGS, tag[1], tag[2])
end

local removing = {}
for _, key in ipairs(A.remove or {}) do removing[key] = true end
for _, key in ipairs(redis.call('HKEYS', K_TAGS)) do
  if removing[key] then redis.call('HDEL', K_TAGS, key) end
end
return cmsgpack.pack(redis.call('HLEN', K_TAGS))
