-- wrk script: POST /api/event with a new event_id on every request, users
-- spread over 1..10000; counts the replies per status in each thread and
-- writes the event_id of every 201 to $SOAK_ACKS.<thread>.
local threads = {}
local nonce = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
  thread:set("nonce", tonumber(os.getenv("SOAK_NONCE") or "0"))
end

function init(args)
  n = 0
  statuses = {}
  acks = io.open(os.getenv("SOAK_ACKS") .. "." .. tid, "w")
end

function request()
  n = n + 1
  local body = string.format(
    '{"user_id":%d,"event_action_timestamp":"2025-10-10T18:30:00Z","action":"%s",' ..
    '"metadata":{"ip":"192.168.1.10","device":"wrk"},' ..
    '"event_id":"%08x-%04x-4000-8000-%012x"}',
    (tid * 7919 + n) % 10000 + 1,
    ({"created", "updated", "deleted", "viewed"})[n % 4 + 1],
    nonce, tid, n)
  return wrk.format("POST", "/api/event", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    acks:write(body:match('"event_id": ?"([%x-]+)"') or "missing", "\n")
  end
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
