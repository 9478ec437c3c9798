-- Start a workflow execution (StartWorkflowExecution).
-- args[1] map: domain, workflowId, runId (new, from the caller), workflowType {name, version},
--   taskList?, taskPriority?, input?, executionStartToCloseTimeout?, taskStartToCloseTimeout?,
--   childPolicy?, lambdaRole?, tagList?
-- Result: the run id.
-- Events: WorkflowExecutionStarted, DecisionTaskScheduled.
-- Faults: UnknownResourceFault (domain or type), DomainDeprecatedFault, TypeDeprecatedFault,
--   WorkflowExecutionAlreadyStartedFault, DefaultUndefinedFault, LimitExceededFault.

local status = redis.call('HGET', K_DOMAIN, 'status')
if not status then return fault('UnknownResourceFault', 'Unknown domain: ' .. A.domain) end
if status == 'DEPRECATED' then return fault('DomainDeprecatedFault', A.domain) end

local wt = A.workflowType
local label = 'WorkflowType=[name=' .. wt.name .. ', version=' .. wt.version .. ']'
local wtype = hgetall(k_type('workflow', wt.name, wt.version))
if not wtype then return fault('UnknownResourceFault', 'Unknown type: ' .. label) end
if wtype.status == 'DEPRECATED' then return fault('TypeDeprecatedFault', label) end

if redis.call('HEXISTS', K_OPEN, A.workflowId) == 1 then
  return fault('WorkflowExecutionAlreadyStartedFault', '')
end
local config, missing = resolve_run_config(A, wtype)
if not config then
  return fault('DefaultUndefinedFault', 'No ' .. missing .. ' was given and the workflow type '
    .. label .. ' has no default for it')
end
if redis.call('HLEN', K_OPEN) >= MAX_OPEN_RUNS then
  return fault('LimitExceededFault', 'The domain already has ' .. MAX_OPEN_RUNS .. ' open executions')
end
if redis.call('EXISTS', k_run(A.runId)) == 1 then
  return fault('InternalFailure', 'Run id collision: ' .. A.runId)
end

start_run(A, wtype, config, now_ms())
flush_wakes()
return cmsgpack.pack(A.runId)
