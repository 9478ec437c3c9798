-- Lease the next activity task of a task list to one poller (PollForActivityTask).
-- args[1] map: domain, taskList, identity?, secret (the lease's random part of the task token),
--   dayMs (length of a retention day in ms).
-- Result: {} when the list is empty, else a map: runId, workflowId, scheduledEventId,
--   startedEventId, activityId, typeName, typeVersion, input?, more (bool).
-- Faults: UnknownResourceFault (domain).
-- Events: ActivityTaskStarted. Due items: ast2c, ahb (start-to-close, heartbeat); the
--   schedule-to-start item is removed.

if redis.call('EXISTS', K_DOMAIN) == 0 then
  return fault('UnknownResourceFault', 'Unknown domain: ' .. A.domain)
end

local queue = k_atl(A.taskList)
for _ = 1, 100 do
  local head = redis.call('ZRANGE', queue, 0, 0)
  if #head == 0 then return cmsgpack.pack({}) end
  local member = head[1]
  redis.call('ZREM', queue, member)
  local run_id, sched = string.match(member, '^%d+:([^:]+):(%d+)$')
  local run = hgetall(k_run(run_id))
  local act = run and run.status == 'OPEN' and hgetall(k_act(run_id, sched))
  local now = now_ms()
  if act and terminate_if_full(run, 1, now, A.dayMs) then act = nil end
  if act and act.state == 'scheduled' and act.member == member then
    local started = append_event(run, 'ActivityTaskStarted', {
      scheduledEventId = tonumber(sched), identity = A.identity,
    }, now)
    redis.call('HSET', k_act(run_id, sched), 'state', 'started', 'startedId', started,
      'token', A.secret, 'member', '', 'lastMember', member, 'startedMs', now)
    due_remove('as2s', run_id, sched)
    due_add_seconds('ast2c', run_id, sched, now, act.startToCloseTimeout)
    due_add_seconds('ahb', run_id, sched, now, act.heartbeatTimeout)
    return cmsgpack.pack({
      runId = run_id, workflowId = run.workflowId, scheduledEventId = tonumber(sched),
      startedEventId = started, activityId = act.activityId, typeName = act.typeName,
      typeVersion = act.typeVersion, input = act.input, more = redis.call('ZCARD', queue) > 0,
    })
  end
end
return cmsgpack.pack({})
