-- The library's shared part: the state of the current call and the helpers every
-- function uses (see redswf/scripts.py, which builds one Redis Functions library from
-- this file, lua/includes/execution.lua and one function per lua/<name>.lua).
--
-- Conventions of every function:
--   keys[1]  the domain's key prefix `swf:{<region>/<escaped domain>}`. Every other key the
--            function touches is built from it and carries the same hash tag, so all of them
--            lie in the slot of keys[1], as Redis Cluster requires.
--   args[1]  a msgpack map with the function's arguments (`A` below).
--   Result   a msgpack value, or an error reply `<SWF fault name>: <message>`. Every fault is
--            raised before the first write, so a fault never leaves a transition half done.
--   Clock    Redis TIME, in integer milliseconds.
--
-- The library is loaded once, so these locals outlive a call: `bind` sets every one of
-- them at the start of each call, and nothing else may keep state between calls.

local P, A
local K_DOMAIN, K_OPEN, K_SEQ, K_TIMEOUTS, K_WAKE
local K_VIS_OPEN, K_VIS_CLOSED_START, K_VIS_CLOSED_CLOSE
-- Wake-ups are collected while a function runs and published once at its end, one message
-- per task list: `<a|d>|<count>|<task list>` on the domain's sharded channel.
local wakes

local function bind(keys, args)
  P = keys[1]
  A = cmsgpack.unpack(args[1])
  K_DOMAIN = P .. ':domain'
  K_OPEN = P .. ':open'
  K_SEQ = P .. ':seq'
  K_TIMEOUTS = P .. ':timeouts'
  K_WAKE = P .. ':wake'
  K_VIS_OPEN = P .. ':vis:open'
  K_VIS_CLOSED_START = P .. ':vis:closed:start'
  K_VIS_CLOSED_CLOSE = P .. ':vis:closed:close'
  wakes = {}
end

local MAX_OPEN_RUNS = 100000
local MAX_OPEN_ACTIVITIES = 1000
local MAX_OPEN_TIMERS = 1000
local MAX_OPEN_CHILDREN = 1000
local MAX_EVENTS = 25000

-- The event a parent gets when its child closes with each close status.
local CHILD_CLOSE_EVENTS = {
  COMPLETED = 'ChildWorkflowExecutionCompleted', FAILED = 'ChildWorkflowExecutionFailed',
  CANCELED = 'ChildWorkflowExecutionCanceled', TIMED_OUT = 'ChildWorkflowExecutionTimedOut',
  TERMINATED = 'ChildWorkflowExecutionTerminated',
}

local function k_type(kind, name, version) return P .. ':' .. kind .. 'type:' .. name .. ':' .. version end
local function k_types(kind) return P .. ':' .. kind .. 'types' end
local function k_run(run_id) return P .. ':run:' .. run_id end
local function k_hist(run_id) return P .. ':hist:' .. run_id end
local function k_act(run_id, sched) return P .. ':act:' .. run_id .. ':' .. sched end
local function k_actids(run_id) return P .. ':actids:' .. run_id end
local function k_atl(task_list) return P .. ':atl:' .. task_list end
local function k_dtl(task_list) return P .. ':dtl:' .. task_list end
local function k_timers(run_id) return P .. ':timers:' .. run_id end
local function k_children(run_id) return P .. ':children:' .. run_id end

local function fault(name, message)
  return redis.error_reply(name .. ': ' .. message)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Epoch seconds with milliseconds, as SWF prints timestamps: "1733353393.123".
local function ts_text(ms)
  return string.format('%d.%03d', math.floor(ms / 1000), ms % 1000)
end

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function is_none(duration) return duration == nil or duration == '' or duration == 'NONE' end

-- A due item in the timeouts sorted set: score = due time in ms, member = `<kind>|<run>|<id>`.
-- The timer service reads this set; every firing re-checks the state it names.
local function due_add(kind, run_id, id, due_ms)
  redis.call('ZADD', K_TIMEOUTS, due_ms, kind .. '|' .. run_id .. '|' .. id)
end
local function due_add_seconds(kind, run_id, id, from_ms, duration)
  if not is_none(duration) then due_add(kind, run_id, id, from_ms + tonumber(duration) * 1000) end
end
local function due_remove(kind, run_id, id)
  redis.call('ZREM', K_TIMEOUTS, kind .. '|' .. run_id .. '|' .. id)
end
-- A timer's item is `timer|<run>|<started>|<timer id>`, so firing it needs no read of the
-- history (timer ids cannot contain `|`: redswf rejects it, as SWF does). Items of the
-- older form `timer|<run>|<started>` are removed as well.
local function timer_due_remove(run_id, started, timer_id)
  local item = 'timer|' .. run_id .. '|' .. started
  redis.call('ZREM', K_TIMEOUTS, item .. '|' .. timer_id, item)
end

-- Queue members sort by score (minus the priority, so higher priority first), then by the
-- zero-padded sequence number, so tasks of equal priority leave in the order they came.
local function next_member(suffix)
  return string.format('%016d', redis.call('INCR', K_SEQ)) .. ':' .. suffix
end

local function wake(kind, task_list)
  local key = kind .. '|' .. task_list
  wakes[key] = (wakes[key] or 0) + 1
end
local function flush_wakes()
  for key, count in pairs(wakes) do
    local kind, task_list = string.match(key, '^(%a)|(.*)$')
    redis.call('SPUBLISH', K_WAKE, kind .. '|' .. count .. '|' .. task_list)
  end
end

local function describe_run(run)
  return 'WorkflowExecution=[workflowId=' .. run.workflowId .. ', runId=' .. run.runId .. ']'
end
