-- Lease the next decision task of a task list to one poller (PollForDecisionTask).
-- args[1] map: domain, taskList, identity?, secret (the lease's random part of the task token),
--   pageSize, reverse (bool), fromPrevious (bool: startAtPreviousStartedEvent), dayMs.
-- Result: {} when the list is empty, else a map: runId, workflowId, typeName, typeVersion,
--   startedEventId, previousStartedEventId, events (first page of stored entries, see
--   history_page),
--   nextEventId (0 when the page is the last), lo, hi (the page bounds), more (bool: tasks
--   remain in the list).
-- Faults: UnknownResourceFault (domain).
-- Events: DecisionTaskStarted. Due items: dts2c (the decision task's start-to-close).

if redis.call('EXISTS', K_DOMAIN) == 0 then
  return fault('UnknownResourceFault', 'Unknown domain: ' .. A.domain)
end

local queue = k_dtl(A.taskList)
-- Every member belongs to a scheduled decision task: close and lease remove theirs. The bound
-- only guards against members left behind by a bug.
for _ = 1, 100 do
  local head = redis.call('ZRANGE', queue, 0, 0)
  if #head == 0 then return cmsgpack.pack({}) end
  local member = head[1]
  redis.call('ZREM', queue, member)
  local run = hgetall(k_run(string.match(member, '^%d+:(.*)$')))
  local now = now_ms()
  if run and run.status == 'OPEN' and terminate_if_full(run, 1, now, A.dayMs) then run = nil end
  if run and run.status == 'OPEN' and run.dtState == 'scheduled' and run.dtMember == member then
    local started = append_event(run, 'DecisionTaskStarted', {
      scheduledEventId = tonumber(run.dtScheduledId), identity = A.identity,
    }, now)
    set_fields(run, 'dtState', 'started', 'dtStartedId', started, 'dtToken', A.secret,
      'dtPending', '0', 'dtMember', '', 'dtLastMember', member)
    due_remove('dts2s', run.runId, run.dtScheduledId)
    due_add_seconds('dts2c', run.runId, started, now, run.taskTimeout)

    local lo, hi = 1, started
    if A.fromPrevious and tonumber(run.prevStartedId) > 0 then lo = tonumber(run.prevStartedId) end
    local events, next_id = history_page(run.runId, lo, hi, A.reverse, A.pageSize)
    return cmsgpack.pack({
      runId = run.runId, workflowId = run.workflowId, typeName = run.typeName,
      typeVersion = run.typeVersion, startedEventId = started,
      previousStartedEventId = tonumber(run.prevStartedId), events = events,
      nextEventId = next_id, lo = lo, hi = hi, more = redis.call('ZCARD', queue) > 0,
    })
  end
end
return cmsgpack.pack({})
