-- wrk script: GET /api/events, one page of 100 for users 1..10000 over all
-- time; counts the replies per status in each thread.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  n = 0
  statuses = {}
end

function request()
  n = n + 1
  local path = string.format(
    "/api/events?user_id=%d&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=100",
    (tid * 7919 + n) % 10000 + 1)
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %d %d\n", k, v)) end
  io.write(string.format("p50_ms %.2f\np99_ms %.2f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
