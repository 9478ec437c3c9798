-- Fire the due items of one domain whose time has come (the timer service's sweep).
-- args[1] map: limit (max items this call), dayMs (length of a retention day in ms).
-- Result: map fired (items taken), more (bool: due items remain).
-- Each item is removed as it is taken, inside this script, so it fires exactly once however
-- many timer services sweep the domain. Each handler checks that the state the item names
-- still stands; a stale item does nothing.
-- Events: WorkflowExecutionTimedOut, DecisionTaskTimedOut, ActivityTaskTimedOut, TimerFired,
--   WorkflowExecutionTerminated / WorkflowExecutionCancelRequested (child policy), each
--   followed by what SWF does next; retention deletes a closed run, its history and
--   its index entries.

local now = now_ms()
local day_ms = A.dayMs

-- Items due at the same time sort by kind and run id, so the items of one run tend to come
-- together, and the run read for one item is kept for the next. This is safe because every
-- change to a run goes through helpers that keep its table in step with Redis. A handler
-- changes another run (the parent) only through a fresh table, while the kept run is the
-- child, so the kept table is never stale.
local last_run
local function open_run(run_id)
  local run = last_run
  if not run or run.runId ~= run_id then
    run = hgetall(k_run(run_id))
    last_run = run
  end
  if run and run.status == 'OPEN' then return run end
  return nil
end

local function fire_execution_timeout(run_id)
  local run = open_run(run_id)
  if not run then return end
  append_event(run, 'WorkflowExecutionTimedOut', {timeoutType = 'START_TO_CLOSE', childPolicy = run.childPolicy}, now)
  close_run(run, 'TIMED_OUT', now, day_ms, {timeoutType = 'START_TO_CLOSE'}, run.childPolicy)
end

-- A decision task that timed out is replaced at once. A temporary task list override ends
-- with it, so the replacement goes to the run's own task list.
local function fire_decision_timeout(run_id, id, timeout_type)
  local run = open_run(run_id)
  if not run then return end
  local attrs
  if timeout_type == 'SCHEDULE_TO_START' then
    if run.dtState ~= 'scheduled' or run.dtScheduledId ~= id then return end
    redis.call('ZREM', k_dtl(decision_task_list(run)), run.dtMember)
    attrs = {timeoutType = timeout_type, scheduledEventId = tonumber(id), startedEventId = 0}
  else
    if run.dtState ~= 'started' or run.dtStartedId ~= id then return end
    attrs = {timeoutType = timeout_type, scheduledEventId = tonumber(run.dtScheduledId), startedEventId = tonumber(id)}
  end
  if terminate_if_full(run, 2, now, day_ms) then return end
  append_event(run, 'DecisionTaskTimedOut', attrs, now)
  set_fields(run, 'dtState', '', 'dtPending', '0', 'dtToken', '', 'dtMember', '')
  if run.dtScheduleToStart ~= nil and run.dtScheduleToStart ~= '' then
    set_fields(run, 'dtTaskList', '', 'dtScheduleToStart', '')
  end
  schedule_decision(run, now)
end

local ACTIVITY_TIMEOUTS = {
  as2s = 'SCHEDULE_TO_START', as2c = 'SCHEDULE_TO_CLOSE', ast2c = 'START_TO_CLOSE', ahb = 'HEARTBEAT',
}

local function fire_activity_timeout(run_id, sched, kind)
  local run = open_run(run_id)
  if not run then return end
  local act = hgetall(k_act(run_id, sched))
  if not act then return end
  local needs_start = kind == 'ast2c' or kind == 'ahb'
  if kind == 'as2s' and act.state ~= 'scheduled' then return end
  if needs_start and act.state ~= 'started' then return end
  if terminate_if_full(run, 2, now, day_ms) then return end
  append_event(run, 'ActivityTaskTimedOut', {
    timeoutType = ACTIVITY_TIMEOUTS[kind], scheduledEventId = tonumber(sched),
    startedEventId = tonumber(act.startedId or '0') or 0, details = act.heartbeatDetails,
  }, now)
  drop_activity(run, sched, act)
  schedule_decision(run, now)
end

-- `id` is `<started>|<timer id>`, or `<started>` alone in an item of the older form. For
-- the older form the TimerStarted event gives the timer id.
local function fire_timer(run_id, id)
  local run = open_run(run_id)
  if not run then return end
  local started, timer_id = string.match(id, '^(%d+)|(.*)$')
  if not started then
    started = id
    local entry = redis.call('LINDEX', k_hist(run_id), tonumber(started) - 1)
    if not entry then return end
    local _, _, _, attrs = parse_event(entry)
    timer_id = cjson.decode(attrs).timerId
  end
  if redis.call('HGET', k_timers(run_id), timer_id) ~= started then return end
  if terminate_if_full(run, 2, now, day_ms) then return end
  append_event(run, 'TimerFired', {timerId = timer_id, startedEventId = tonumber(started)}, now)
  redis.call('HDEL', k_timers(run_id), timer_id)
  set_fields(run, 'openTimers', tonumber(run.openTimers) - 1)
  schedule_decision(run, now)
end

-- The parent closed with child policy TERMINATE or REQUEST_CANCEL. A terminated child
-- applies its own policy to its own children, one due item each.
local function fire_child_policy(run_id, policy)
  local run = open_run(run_id)
  if not run then return end
  if terminate_if_full(run, 2, now, day_ms) then return end
  if policy == 'TERMINATE' then
    append_event(run, 'WorkflowExecutionTerminated', {childPolicy = run.childPolicy, cause = 'CHILD_POLICY_APPLIED'}, now)
    close_run(run, 'TERMINATED', now, day_ms, {}, run.childPolicy)
  else
    append_event(run, 'WorkflowExecutionCancelRequested', {cause = 'CHILD_POLICY_APPLIED'}, now)
    set_fields(run, 'cancelRequested', '1')
    schedule_decision(run, now)
  end
end

-- Retention expiry: delete a closed run, its history and its visibility index entries.
-- Closing already removed its tasks, leases, timers, children and due items. UNLINK frees a
-- large history in a background thread, so freeing it does not block Redis.
local function expire_run(run_id)
  local run = hgetall(k_run(run_id))
  if not run or run.status ~= 'CLOSED' then return end
  vis_remove_closed(run)
  redis.call('UNLINK', k_run(run_id), k_hist(run_id))
end

local items = redis.call('ZRANGEBYSCORE', K_TIMEOUTS, '-inf', now, 'LIMIT', 0, A.limit)
for _, item in ipairs(items) do
  redis.call('ZREM', K_TIMEOUTS, item)
  local kind, run_id, id = string.match(item, '^([^|]+)|([^|]+)|(.*)$')
  if kind == 'wfs2c' then fire_execution_timeout(run_id)
  elseif kind == 'dts2c' then fire_decision_timeout(run_id, id, 'START_TO_CLOSE')
  elseif kind == 'dts2s' then fire_decision_timeout(run_id, id, 'SCHEDULE_TO_START')
  elseif ACTIVITY_TIMEOUTS[kind] then fire_activity_timeout(run_id, id, kind)
  elseif kind == 'timer' then fire_timer(run_id, id)
  elseif kind == 'childpolicy' then fire_child_policy(run_id, id)
  elseif kind == 'retention' then expire_run(run_id)
  end
end
flush_wakes()
return cmsgpack.pack({fired = #items, more = #items == A.limit})
