-- Close a started activity task on its worker's answer
-- (RespondActivityTaskCompleted, RespondActivityTaskFailed, RespondActivityTaskCanceled).
-- args[1] map: outcome ('completed'|'failed'|'canceled'), runId, scheduledEventId (text),
--   secret, result?, reason?, details?, dayMs (length of a retention day in ms)
-- Result: 'OK'.
-- Events: ActivityTaskCompleted | ActivityTaskFailed | ActivityTaskCanceled, then
--   DecisionTaskScheduled unless a decision task is open.
-- Faults: UnknownResourceFault (token unknown or used, activity closed, run closed).

local run, act, err = leased_activity(A.runId, A.scheduledEventId, A.secret)
if not run then return err end

local now = now_ms()
if terminate_if_full(run, 2, now, A.dayMs) then return cmsgpack.pack('OK') end
local attrs = {scheduledEventId = tonumber(A.scheduledEventId), startedEventId = tonumber(act.startedId)}
local event_type
if A.outcome == 'completed' then
  event_type = 'ActivityTaskCompleted'
  attrs.result = A.result
elseif A.outcome == 'failed' then
  event_type = 'ActivityTaskFailed'
  attrs.reason = A.reason
  attrs.details = A.details
else
  event_type = 'ActivityTaskCanceled'
  attrs.details = A.details
  if act.cancelRequestedId then attrs.latestCancelRequestedEventId = tonumber(act.cancelRequestedId) end
end

append_event(run, event_type, attrs, now)
drop_activity(run, A.scheduledEventId, act)
schedule_decision(run, now)
flush_wakes()
return cmsgpack.pack('OK')
