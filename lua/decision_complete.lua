-- Apply a decider's answer to a started decision task (RespondDecisionTaskCompleted).
-- ARGV[1] map: runId, startedEventId (text), secret, decisions (list of {decisionType,
--   attrs}, already checked against the API's rules by the caller), executionContext?,
--   taskList? (name), taskListScheduleToStartTimeout?, dayMs (length of a retention day).
-- Result: 'OK'.
-- Events: DecisionTaskCompleted; then per decision, in order, its event or its `...Failed`
--   event; then DecisionTaskScheduled when the decider has something new to see (an event
--   arrived while the task was started, or a decision failed) and the run is still open.
-- Faults: UnknownResourceFault (token unknown or used, run closed).
--@include common
--@include execution

local run, err = leased_decision(A.runId, A.startedEventId, A.secret)
if not run then return err end

local now = now_ms()
local completed_attrs = {
  scheduledEventId = tonumber(run.dtScheduledId), startedEventId = tonumber(run.dtStartedId),
  executionContext = A.executionContext, taskListScheduleToStartTimeout = A.taskListScheduleToStartTimeout,
}
if A.taskList then completed_attrs.taskList = {name = A.taskList} end
local completed = append_event(run, 'DecisionTaskCompleted', completed_attrs, now)

-- Events that reached the history while the task was started are unseen by this decider.
local unseen_events = run.dtPending == '1'
due_remove('dts2c', run.runId, run.dtStartedId)
set_fields(run, 'dtState', '', 'dtPending', '0', 'dtToken', '', 'prevStartedId', run.dtStartedId)
if A.executionContext then set_fields(run, 'latestExecutionContext', A.executionContext) end
if A.taskList then
  set_fields(run, 'dtTaskList', A.taskList, 'dtScheduleToStart', A.taskListScheduleToStartTimeout or '')
end

-- decide_again: the decider must get a new decision task when this one is done.
local ctx = {decide_again = unseen_events, closed = false}

local function failed(event_type, attrs, cause)
  attrs.cause = cause
  attrs.decisionTaskCompletedEventId = completed
  append_event(run, event_type, attrs, now)
  ctx.decide_again = true
end

local function schedule_activity(d)
  local at = d.activityType
  local who = {activityType = at, activityId = d.activityId}
  local atype = hgetall(k_type('activity', at.name, at.version))
  if not atype then return failed('ScheduleActivityTaskFailed', who, 'ACTIVITY_TYPE_DOES_NOT_EXIST') end
  if atype.status == 'DEPRECATED' then return failed('ScheduleActivityTaskFailed', who, 'ACTIVITY_TYPE_DEPRECATED') end
  if redis.call('HEXISTS', k_actids(run.runId), d.activityId) == 1 then
    return failed('ScheduleActivityTaskFailed', who, 'ACTIVITY_ID_ALREADY_IN_USE')
  end
  if tonumber(run.openActivities) >= MAX_OPEN_ACTIVITIES then
    return failed('ScheduleActivityTaskFailed', who, 'OPEN_ACTIVITIES_LIMIT_EXCEEDED')
  end

  local function pick(value, default)
    if value ~= nil and value ~= '' then return value end
    if default ~= nil and default ~= '' then return default end
    return nil
  end
  local task_list = pick(d.taskList and d.taskList.name, atype.defaultTaskList)
  if not task_list then return failed('ScheduleActivityTaskFailed', who, 'DEFAULT_TASK_LIST_UNDEFINED') end
  local s2s = pick(d.scheduleToStartTimeout, atype.defaultTaskScheduleToStartTimeout)
  if not s2s then return failed('ScheduleActivityTaskFailed', who, 'DEFAULT_SCHEDULE_TO_START_TIMEOUT_UNDEFINED') end
  local s2c = pick(d.scheduleToCloseTimeout, atype.defaultTaskScheduleToCloseTimeout)
  if not s2c then return failed('ScheduleActivityTaskFailed', who, 'DEFAULT_SCHEDULE_TO_CLOSE_TIMEOUT_UNDEFINED') end
  local st2c = pick(d.startToCloseTimeout, atype.defaultTaskStartToCloseTimeout)
  if not st2c then return failed('ScheduleActivityTaskFailed', who, 'DEFAULT_START_TO_CLOSE_TIMEOUT_UNDEFINED') end
  -- SWF documents no requirement for a heartbeat timeout: without one there is none.
  local heartbeat = pick(d.heartbeatTimeout, atype.defaultTaskHeartbeatTimeout) or 'NONE'
  local priority = pick(d.taskPriority, atype.defaultTaskPriority) or '0'

  local sched = append_event(run, 'ActivityTaskScheduled', {
    activityType = at, activityId = d.activityId, taskList = {name = task_list},
    decisionTaskCompletedEventId = completed, input = d.input, control = d.control,
    scheduleToStartTimeout = s2s, scheduleToCloseTimeout = s2c, startToCloseTimeout = st2c,
    heartbeatTimeout = heartbeat, taskPriority = priority,
  }, now)
  local member = next_member(run.runId .. ':' .. sched)
  local fields = {'activityId', d.activityId, 'typeName', at.name, 'typeVersion', at.version,
    'taskList', task_list, 'taskPriority', priority, 'scheduleToStartTimeout', s2s,
    'scheduleToCloseTimeout', s2c, 'startToCloseTimeout', st2c, 'heartbeatTimeout', heartbeat,
    'state', 'scheduled', 'member', member, 'scheduledMs', now}
  if d.input then fields[#fields + 1] = 'input'; fields[#fields + 1] = d.input end
  redis.call('HSET', k_act(run.runId, sched), unpack(fields))
  redis.call('HSET', k_actids(run.runId), d.activityId, sched)
  redis.call('ZADD', k_atl(task_list), -tonumber(priority), member)
  set_fields(run, 'openActivities', tonumber(run.openActivities) + 1, 'latestActivityMs', now)
  due_add_seconds('as2s', run.runId, sched, now, s2s)
  due_add_seconds('as2c', run.runId, sched, now, s2c)
  wake('a', task_list)
end

local function record_marker(d)
  append_event(run, 'MarkerRecorded', {
    markerName = d.markerName, details = d.details, decisionTaskCompletedEventId = completed,
  }, now)
end

-- A close decision fails with UNHANDLED_DECISION when events reached the history after the
-- decision task started. Failures of decisions in this same batch do not count.
local function close_with(failed_type, event_type, close_status, attrs)
  if unseen_events then return failed(failed_type, {}, 'UNHANDLED_DECISION') end
  attrs.decisionTaskCompletedEventId = completed
  append_event(run, event_type, attrs, now)
  close_run(run, close_status, now, A.dayMs)
  ctx.closed = true
end

local handlers = {
  ScheduleActivityTask = schedule_activity,
  RecordMarker = record_marker,
  CompleteWorkflowExecution = function(d)
    close_with('CompleteWorkflowExecutionFailed', 'WorkflowExecutionCompleted', 'COMPLETED', {result = d.result})
  end,
  FailWorkflowExecution = function(d)
    close_with('FailWorkflowExecutionFailed', 'WorkflowExecutionFailed', 'FAILED',
      {reason = d.reason, details = d.details})
  end,
}

-- The caller has checked that a close decision, if any, is the last one.
for _, decision in ipairs(A.decisions) do
  handlers[decision.decisionType](decision.attrs or {})
end
if ctx.decide_again and not ctx.closed then schedule_decision(run, now) end
flush_wakes()
return cmsgpack.pack('OK')
