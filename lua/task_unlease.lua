-- Undo a lease whose poller went away before its answer could be sent, so that the task goes
-- to another poller, back in its old place in the queue. Only possible while the Started event is still the last event of the
-- history; otherwise the lease stands and the task's timeouts recover it.
-- args[1] map: kind ('activity'|'decision'), runId, scheduledEventId (text, activity only),
--   startedEventId (text), secret.
-- Result: true when the lease was undone, else false.

local run = hgetall(k_run(A.runId))
if not run or run.status ~= 'OPEN' or run.lastEventId ~= A.startedEventId then
  return cmsgpack.pack(false)
end

local task_list, priority, member
if A.kind == 'activity' then
  local key = k_act(A.runId, A.scheduledEventId)
  local act = hgetall(key)
  if not act or act.state ~= 'started' or act.token ~= A.secret then return cmsgpack.pack(false) end
  task_list, priority = act.taskList, act.taskPriority
  member = act.lastMember or next_member(A.runId .. ':' .. A.scheduledEventId)
  redis.call('HSET', key, 'state', 'scheduled', 'member', member, 'startedId', '0', 'token', '')
  due_remove('ast2c', A.runId, A.scheduledEventId)
  due_remove('ahb', A.runId, A.scheduledEventId)
  due_add_seconds('as2s', A.runId, A.scheduledEventId, tonumber(act.scheduledMs), act.scheduleToStartTimeout)
  redis.call('ZADD', k_atl(task_list), -tonumber(priority), member)
  wake('a', task_list)
else
  if run.dtState ~= 'started' or run.dtStartedId ~= A.startedEventId or run.dtToken ~= A.secret then
    return cmsgpack.pack(false)
  end
  task_list = decision_task_list(run)
  member = run.dtLastMember or next_member(A.runId)
  set_fields(run, 'dtState', 'scheduled', 'dtStartedId', '0', 'dtToken', '', 'dtMember', member)
  due_remove('dts2c', A.runId, A.startedEventId)
  redis.call('ZADD', k_dtl(task_list), -tonumber(run.taskPriority), member)
  wake('d', task_list)
end

-- Drop the Started event, the last one of the history; the next event takes its id.
redis.call('RPOP', k_hist(A.runId))
redis.call('HINCRBY', k_run(A.runId), 'lastEventId', -1)
flush_wakes()
return cmsgpack.pack(true)
