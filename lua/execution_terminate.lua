-- Terminate an open workflow execution at once (TerminateWorkflowExecution).
-- args[1] map: workflowId, runId?, reason?, details?, childPolicy?, dayMs (length of a
--   retention day in ms).
-- Result: 'OK'. Events: WorkflowExecutionTerminated (cause OPERATOR_INITIATED), and in the
--   parent, if any, ChildWorkflowExecutionTerminated. The child policy (the request's, else
--   the run's) is queued for each open child.
-- Faults: UnknownResourceFault (no such open run).

local run, err = open_run_for(A.workflowId, A.runId)
if not run then return err end

local now = now_ms()
local policy = A.childPolicy or run.childPolicy
append_event(run, 'WorkflowExecutionTerminated', {
  childPolicy = policy, reason = A.reason, details = A.details, cause = 'OPERATOR_INITIATED',
}, now)
close_run(run, 'TERMINATED', now, A.dayMs, {}, policy)
return cmsgpack.pack('OK')
