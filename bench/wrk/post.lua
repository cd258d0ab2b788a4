-- wrk script: POST the JSON body in the file named by the second script argument, rotating
-- `Authorization: Bearer <token>` over the tokens in the first (one per line). The third argument
-- picks the `Idempotency-Key` header:
--   none     no header
--   unique   a fresh key per request: <fourth argument>-<thread>-<counter>
--   replay   the fourth argument itself on every request (primed beforehand: every answer replays)
-- Prints the summary as one JSON line, like rotate.lua, for bench/load_post.py.

local tokens = {}
local prebuilt = {}
local body = ""
local mode = "none"
local key = ""
local counter = 0
local next_index = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local function headers_for(token)
  return { Authorization = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      table.insert(tokens, line)
    end
  end
  local file = assert(io.open(args[2], "rb"))
  body = file:read("*a")
  file:close()
  mode = args[3] or "none"
  key = args[4] or ""
  for _, token in ipairs(tokens) do
    local headers = headers_for(token)
    if mode == "replay" then
      headers["Idempotency-Key"] = key
    end
    table.insert(prebuilt, wrk.format("POST", wrk.path, headers, body))
  end
  -- Threads start at different tokens; otherwise every thread would send the same sequence.
  next_index = math.random(#tokens) - 1
end

function request()
  next_index = next_index % #tokens + 1
  if mode ~= "unique" then
    return prebuilt[next_index]
  end
  counter = counter + 1
  local headers = headers_for(tokens[next_index])
  headers["Idempotency-Key"] = key .. "-" .. tostring(thread_id or 0) .. "-" .. counter
  return wrk.format("POST", wrk.path, headers, body)
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
