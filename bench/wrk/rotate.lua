-- wrk script: rotate `Authorization: Bearer <token>` over the tokens in the file named by the
-- first script argument (one per line), so that no token reaches its per-second limit, and print
-- the summary as one JSON line that bench/load_wrk.py parses.

local requests = {}
local next_index = 0

function init(args)
  local path = args[1]
  if path ~= nil and path ~= "" then
    for line in io.lines(path) do
      if #line > 0 then
        table.insert(requests, wrk.format("GET", wrk.path, { Authorization = "Bearer " .. line }))
      end
    end
  end
  if #requests == 0 then
    requests[1] = wrk.format("GET", wrk.path)
  end
  -- Threads start at different tokens; otherwise every thread would send the same sequence.
  next_index = math.random(#requests) - 1
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
