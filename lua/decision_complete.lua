-- Apply a decider's answer to a started decision task (RespondDecisionTaskCompleted).
-- args[1] map: runId, startedEventId (text), secret, decisions (list of {decisionType,
--   attrs, newRunId?}, already checked against the API's rules by the caller; newRunId is a
--   fresh run id for StartChildWorkflowExecution and ContinueAsNewWorkflowExecution),
--   executionContext?, taskList? (name), taskListScheduleToStartTimeout?, dayMs (length of a
--   retention day in ms).
-- Result: 'OK'.
-- Events: DecisionTaskCompleted; then per decision, in order, its events or its `...Failed`
--   event; then DecisionTaskScheduled when the decider has something new to see and the run
--   is still open. Signals, cancel requests and child starts reach their target run within
--   this script, because all runs of a domain share its slot.
-- Faults: UnknownResourceFault (token unknown or used, run closed).

local run, err = leased_decision(A.runId, A.startedEventId, A.secret)
if not run then return err end

local now = now_ms()
-- A deprecated domain starts no new run or activity task, even of a type undeprecated since,
-- so its types count as deprecated here.
local domain_deprecated = redis.call('HGET', K_DOMAIN, 'status') == 'DEPRECATED'
-- Room for the largest batch: three events a decision plus the task's own events.
if terminate_if_full(run, 3 * #A.decisions + 3, now, A.dayMs) then
  flush_wakes()
  return cmsgpack.pack('OK')
end

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

-- decide_again: the decider gets a new decision task when this one is done.
local ctx = {decide_again = unseen_events, closed = false}

local function record(event_type, attrs)
  attrs.decisionTaskCompletedEventId = completed
  return append_event(run, event_type, attrs, now)
end

local function failed(event_type, attrs, cause)
  attrs.cause = cause
  record(event_type, attrs)
  ctx.decide_again = true
end

local function pick(value, default)
  if value ~= nil and value ~= '' then return value end
  if default ~= nil and default ~= '' then return default end
  return nil
end

local function schedule_activity(d)
  local at = d.activityType
  local who = {activityType = at, activityId = d.activityId}
  local atype = hgetall(k_type('activity', at.name, at.version))
  if not atype then return failed('ScheduleActivityTaskFailed', who, 'ACTIVITY_TYPE_DOES_NOT_EXIST') end
  if atype.status == 'DEPRECATED' or domain_deprecated then return failed('ScheduleActivityTaskFailed', who, 'ACTIVITY_TYPE_DEPRECATED') end
  if redis.call('HEXISTS', k_actids(run.runId), d.activityId) == 1 then
    return failed('ScheduleActivityTaskFailed', who, 'ACTIVITY_ID_ALREADY_IN_USE')
  end
  if tonumber(run.openActivities) >= MAX_OPEN_ACTIVITIES then
    return failed('ScheduleActivityTaskFailed', who, 'OPEN_ACTIVITIES_LIMIT_EXCEEDED')
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

  local sched = record('ActivityTaskScheduled', {
    activityType = at, activityId = d.activityId, taskList = {name = task_list},
    input = d.input, control = d.control, scheduleToStartTimeout = s2s,
    scheduleToCloseTimeout = s2c, startToCloseTimeout = st2c, heartbeatTimeout = heartbeat,
    taskPriority = priority,
  })
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

-- A scheduled task is canceled at once; a started one learns of the request from its
-- next heartbeat.
local function request_cancel_activity(d)
  local sched = redis.call('HGET', k_actids(run.runId), d.activityId)
  if not sched then
    return failed('RequestCancelActivityTaskFailed', {activityId = d.activityId}, 'ACTIVITY_ID_UNKNOWN')
  end
  local requested = record('ActivityTaskCancelRequested', {activityId = d.activityId})
  local act = hgetall(k_act(run.runId, sched))
  if act.state == 'scheduled' then
    append_event(run, 'ActivityTaskCanceled', {
      scheduledEventId = tonumber(sched), startedEventId = 0, latestCancelRequestedEventId = requested,
    }, now)
    drop_activity(run, sched, act)
    ctx.decide_again = true
  else
    redis.call('HSET', k_act(run.runId, sched), 'cancelRequestedId', requested)
  end
end

local function start_timer(d)
  local who = {timerId = d.timerId}
  if redis.call('HEXISTS', k_timers(run.runId), d.timerId) == 1 then
    return failed('StartTimerFailed', who, 'TIMER_ID_ALREADY_IN_USE')
  end
  if tonumber(run.openTimers) >= MAX_OPEN_TIMERS then
    return failed('StartTimerFailed', who, 'OPEN_TIMERS_LIMIT_EXCEEDED')
  end
  local started = record('TimerStarted', {
    timerId = d.timerId, startToFireTimeout = d.startToFireTimeout, control = d.control,
  })
  redis.call('HSET', k_timers(run.runId), d.timerId, started)
  set_fields(run, 'openTimers', tonumber(run.openTimers) + 1)
  due_add_seconds('timer', run.runId, started .. '|' .. d.timerId, now, d.startToFireTimeout)
end

local function cancel_timer(d)
  local started = redis.call('HGET', k_timers(run.runId), d.timerId)
  if not started then
    return failed('CancelTimerFailed', {timerId = d.timerId}, 'TIMER_ID_UNKNOWN')
  end
  record('TimerCanceled', {timerId = d.timerId, startedEventId = tonumber(started)})
  redis.call('HDEL', k_timers(run.runId), d.timerId)
  timer_due_remove(run.runId, started, d.timerId)
  set_fields(run, 'openTimers', tonumber(run.openTimers) - 1)
end

local function record_marker(d)
  record('MarkerRecorded', {markerName = d.markerName, details = d.details})
end

-- The open run an external decision names; this run itself when it names itself.
local function external_target(d)
  local target_id = d.runId
  if target_id == nil or target_id == '' then target_id = redis.call('HGET', K_OPEN, d.workflowId) end
  if target_id == run.runId and d.workflowId == run.workflowId then return run end
  local target = open_run_for(d.workflowId, d.runId)
  if target and terminate_if_full(target, 2, now, A.dayMs) then return nil end
  return target
end

local function signal_external(d)
  local initiated = record('SignalExternalWorkflowExecutionInitiated', {
    workflowId = d.workflowId, runId = d.runId, signalName = d.signalName, input = d.input,
    control = d.control,
  })
  local target = external_target(d)
  if not target then
    return failed('SignalExternalWorkflowExecutionFailed', {
      workflowId = d.workflowId, runId = d.runId, initiatedEventId = initiated, control = d.control,
    }, 'UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION')
  end
  append_event(target, 'WorkflowExecutionSignaled', {
    signalName = d.signalName, input = d.input, externalInitiatedEventId = initiated,
    externalWorkflowExecution = {workflowId = run.workflowId, runId = run.runId},
  }, now)
  if target ~= run then schedule_decision(target, now) end
  append_event(run, 'ExternalWorkflowExecutionSignaled', {
    workflowExecution = {workflowId = target.workflowId, runId = target.runId},
    initiatedEventId = initiated,
  }, now)
  ctx.decide_again = true
end

local function request_cancel_external(d)
  local initiated = record('RequestCancelExternalWorkflowExecutionInitiated', {
    workflowId = d.workflowId, runId = d.runId, control = d.control,
  })
  local target = external_target(d)
  if not target then
    return failed('RequestCancelExternalWorkflowExecutionFailed', {
      workflowId = d.workflowId, runId = d.runId, initiatedEventId = initiated, control = d.control,
    }, 'UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION')
  end
  append_event(target, 'WorkflowExecutionCancelRequested', {
    externalInitiatedEventId = initiated,
    externalWorkflowExecution = {workflowId = run.workflowId, runId = run.runId},
  }, now)
  set_fields(target, 'cancelRequested', '1')
  if target ~= run then schedule_decision(target, now) end
  append_event(run, 'ExternalWorkflowExecutionCancelRequested', {
    workflowExecution = {workflowId = target.workflowId, runId = target.runId},
    initiatedEventId = initiated,
  }, now)
  ctx.decide_again = true
end

-- Check a workflow type and resolve a new run's settings for StartChildWorkflowExecution
-- and ContinueAsNewWorkflowExecution. Returns the type and settings, or nil and a cause.
local CONFIG_CAUSES = {
  taskList = 'DEFAULT_TASK_LIST_UNDEFINED',
  executionStartToCloseTimeout = 'DEFAULT_EXECUTION_START_TO_CLOSE_TIMEOUT_UNDEFINED',
  taskStartToCloseTimeout = 'DEFAULT_TASK_START_TO_CLOSE_TIMEOUT_UNDEFINED',
  childPolicy = 'DEFAULT_CHILD_POLICY_UNDEFINED',
}
local function new_run_settings(wt, d)
  local wtype = hgetall(k_type('workflow', wt.name, wt.version))
  if not wtype then return nil, nil, 'WORKFLOW_TYPE_DOES_NOT_EXIST' end
  if wtype.status == 'DEPRECATED' or domain_deprecated then return nil, nil, 'WORKFLOW_TYPE_DEPRECATED' end
  local req = {
    taskList = d.taskList and d.taskList.name, executionStartToCloseTimeout = d.executionStartToCloseTimeout,
    taskStartToCloseTimeout = d.taskStartToCloseTimeout, childPolicy = d.childPolicy,
    taskPriority = d.taskPriority, lambdaRole = d.lambdaRole,
  }
  local config, missing = resolve_run_config(req, wtype)
  if not config then return nil, nil, CONFIG_CAUSES[missing] end
  return wtype, config
end

local function start_child(d, new_run_id)
  local who = {workflowType = d.workflowType, workflowId = d.workflowId, initiatedEventId = 0, control = d.control}
  local wtype, config, cause = new_run_settings(d.workflowType, d)
  if not wtype then return failed('StartChildWorkflowExecutionFailed', who, cause) end
  if tonumber(run.openChildren) >= MAX_OPEN_CHILDREN then
    return failed('StartChildWorkflowExecutionFailed', who, 'OPEN_CHILDREN_LIMIT_EXCEEDED')
  end
  if redis.call('HLEN', K_OPEN) >= MAX_OPEN_RUNS then
    return failed('StartChildWorkflowExecutionFailed', who, 'OPEN_WORKFLOWS_LIMIT_EXCEEDED')
  end

  local initiated_attrs = {
    workflowId = d.workflowId, workflowType = d.workflowType, taskList = {name = config.taskList},
    childPolicy = config.childPolicy, control = d.control, input = d.input,
    executionStartToCloseTimeout = config.execTimeout, taskStartToCloseTimeout = config.taskTimeout,
    taskPriority = config.taskPriority, lambdaRole = config.lambdaRole,
  }
  if d.tagList and #d.tagList > 0 then initiated_attrs.tagList = d.tagList end
  local initiated = record('StartChildWorkflowExecutionInitiated', initiated_attrs)
  if redis.call('HEXISTS', K_OPEN, d.workflowId) == 1 then
    who.initiatedEventId = initiated
    return failed('StartChildWorkflowExecutionFailed', who, 'WORKFLOW_ALREADY_RUNNING')
  end

  start_run({
    runId = new_run_id, workflowId = d.workflowId, input = d.input, tagList = d.tagList,
    parentWorkflowId = run.workflowId, parentRunId = run.runId, parentInitiatedEventId = initiated,
  }, wtype, config, now)
  local started = append_event(run, 'ChildWorkflowExecutionStarted', {
    workflowExecution = {workflowId = d.workflowId, runId = new_run_id},
    workflowType = d.workflowType, initiatedEventId = initiated,
  }, now)
  redis.call('HSET', k_children(run.runId), new_run_id, initiated .. ':' .. started)
  set_fields(run, 'openChildren', tonumber(run.openChildren) + 1)
  ctx.decide_again = true
end

local function schedule_lambda(d)
  -- redswf runs no AWS Lambda functions.
  failed('ScheduleLambdaFunctionFailed', {id = d.id, name = d.name}, 'LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION')
end

-- A close decision fails with UNHANDLED_DECISION when events reached the history after the
-- decision task started. Failures of decisions in this same batch do not count.
local function close_with(failed_type, event_type, close_status, outcome)
  if unseen_events then return failed(failed_type, {}, 'UNHANDLED_DECISION') end
  local attrs = {}
  for name, value in pairs(outcome) do attrs[name] = value end
  record(event_type, attrs)
  close_run(run, close_status, now, A.dayMs, outcome)
  ctx.closed = true
end

-- The new run keeps the parent link, and the parent follows it without an event.
local function continue_as_new(d, new_run_id)
  if unseen_events then
    return failed('ContinueAsNewWorkflowExecutionFailed', {}, 'UNHANDLED_DECISION')
  end
  local wt = {name = run.typeName, version = pick(d.workflowTypeVersion, run.typeVersion)}
  local wtype, config, cause = new_run_settings(wt, d)
  if not wtype then return failed('ContinueAsNewWorkflowExecutionFailed', {}, cause) end

  local attrs = {
    newExecutionRunId = new_run_id, workflowType = wt, taskList = {name = config.taskList},
    childPolicy = config.childPolicy, input = d.input, executionStartToCloseTimeout = config.execTimeout,
    taskStartToCloseTimeout = config.taskTimeout, taskPriority = config.taskPriority,
    lambdaRole = config.lambdaRole,
  }
  if d.tagList and #d.tagList > 0 then attrs.tagList = d.tagList end
  record('WorkflowExecutionContinuedAsNew', attrs)
  close_run(run, 'CONTINUED_AS_NEW', now, A.dayMs)
  ctx.closed = true

  local req = {runId = new_run_id, workflowId = run.workflowId, input = d.input,
    tagList = d.tagList, continuedExecutionRunId = run.runId}
  if run.parentRunId and run.parentRunId ~= '' then
    req.parentWorkflowId, req.parentRunId = run.parentWorkflowId, run.parentRunId
    req.parentInitiatedEventId = run.parentInitiatedEventId
    local key = k_children(run.parentRunId)
    local link = redis.call('HGET', key, run.runId)
    if link then
      redis.call('HDEL', key, run.runId)
      redis.call('HSET', key, new_run_id, link)
    end
  end
  start_run(req, wtype, config, now)
end

local handlers = {
  ScheduleActivityTask = schedule_activity,
  RequestCancelActivityTask = request_cancel_activity,
  StartTimer = start_timer,
  CancelTimer = cancel_timer,
  RecordMarker = record_marker,
  SignalExternalWorkflowExecution = signal_external,
  RequestCancelExternalWorkflowExecution = request_cancel_external,
  StartChildWorkflowExecution = start_child,
  ScheduleLambdaFunction = schedule_lambda,
  CompleteWorkflowExecution = function(d)
    close_with('CompleteWorkflowExecutionFailed', 'WorkflowExecutionCompleted', 'COMPLETED', {result = d.result})
  end,
  FailWorkflowExecution = function(d)
    close_with('FailWorkflowExecutionFailed', 'WorkflowExecutionFailed', 'FAILED',
      {reason = d.reason, details = d.details})
  end,
  CancelWorkflowExecution = function(d)
    close_with('CancelWorkflowExecutionFailed', 'WorkflowExecutionCanceled', 'CANCELED', {details = d.details})
  end,
  ContinueAsNewWorkflowExecution = continue_as_new,
}

-- The caller has checked that a close decision, if any, is the last one.
for _, decision in ipairs(A.decisions) do
  handlers[decision.decisionType](decision.attrs or {}, decision.newRunId)
end
if ctx.decide_again and not ctx.closed then schedule_decision(run, now) end
flush_wakes()
return cmsgpack.pack('OK')
