-- Request the cancellation of an open workflow execution (RequestCancelWorkflowExecution).
-- The request is advisory: the decider sees it and decides what to do.
-- args[1] map: workflowId, runId?, dayMs (length of a retention day in ms)
-- Result: 'OK'. Events: WorkflowExecutionCancelRequested, then DecisionTaskScheduled unless a
--   decision task is open. Faults: UnknownResourceFault (no such open run).

local run, err = open_run_for(A.workflowId, A.runId)
if not run then return err end

local now = now_ms()
if terminate_if_full(run, 2, now, A.dayMs) then return cmsgpack.pack('OK') end
append_event(run, 'WorkflowExecutionCancelRequested', {}, now)
set_fields(run, 'cancelRequested', '1')
schedule_decision(run, now)
flush_wakes()
return cmsgpack.pack('OK')
