-- Signal an open workflow execution (SignalWorkflowExecution).
-- args[1] map: workflowId, runId?, signalName, input?, dayMs (length of a retention day in ms)
-- Result: 'OK'. Events: WorkflowExecutionSignaled, then DecisionTaskScheduled unless a
--   decision task is open. Faults: UnknownResourceFault (no such open run).

local run, err = open_run_for(A.workflowId, A.runId)
if not run then return err end

local now = now_ms()
if terminate_if_full(run, 2, now, A.dayMs) then return cmsgpack.pack('OK') end
append_event(run, 'WorkflowExecutionSignaled', {signalName = A.signalName, input = A.input}, now)
schedule_decision(run, now)
flush_wakes()
return cmsgpack.pack('OK')
