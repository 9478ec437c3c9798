-- Record a heartbeat of a started activity task (RecordActivityTaskHeartbeat).
-- args[1] map: runId, scheduledEventId (text), secret, details?
-- Result: true when the decider requested cancellation of the activity, else false.
-- No event is written. The heartbeat due item moves to now + heartbeatTimeout.
-- Faults: UnknownResourceFault.

local run, act, err = leased_activity(A.runId, A.scheduledEventId, A.secret)
if not run then return err end

if A.details then
  redis.call('HSET', k_act(A.runId, A.scheduledEventId), 'heartbeatDetails', A.details)
end
due_add_seconds('ahb', A.runId, A.scheduledEventId, now_ms(), act.heartbeatTimeout)
return cmsgpack.pack(act.cancelRequestedId ~= nil)
