-- wrk script for bench/compare.sh: POSTs one JSON body per request from
-- bodies_<thread>.txt, in order; counts accept/reject answers of latchkey
-- ({"result":"accept"}) and privacyIDEA ("authentication": "ACCEPT").
--   wrk -t T -c C -d 10s -s compare.lua URL -- BODYDIR PATH AUTH ONCE DELAY_MS
-- AUTH: the Authorization header value, or "-" for none. ONCE=1: a thread
-- stops when its bodies are used up (each valid code is sent once); ONCE=0:
-- it starts over (wrong codes). DELAY_MS > 0 paces each connection.
local counter = 1
local threads = {}

-- wrk reports its whole -d duration even when every thread stopped early,
-- so each thread notes when it sent its first request and got its last
-- counted answer (CLOCK_MONOTONIC through LuaJIT's FFI).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } lk_timespec;
  int clock_gettime(int clock_id, lk_timespec *tp);
]]
local function now()
  local t = ffi.new("lk_timespec")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9
end

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  accepted, rejected, other = 0, 0, 0
  stopped = false
  first_sent, last_answer = 0, 0
  bodies = {}
  for line in io.lines(args[1] .. "/bodies_" .. id .. ".txt") do
    bodies[#bodies + 1] = line
  end
  path = args[2]
  headers = { ["Content-Type"] = "application/json" }
  if args[3] ~= "-" then headers["Authorization"] = args[3] end
  once = args[4] == "1"
  pause = tonumber(args[5]) or 0
  next_body = 0
end

function delay()
  return pause
end

function request()
  if first_sent == 0 then first_sent = now() end
  next_body = next_body + 1
  if next_body > #bodies then
    if once then
      -- The loop stops after this turn; what goes out meanwhile must not
      -- spend or replay a code, so it is a health probe, not counted.
      stopped = true
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    next_body = 1
  end
  return wrk.format("POST", path, headers, bodies[next_body])
end

function response(status, headers, body)
  -- The health probe sent after a thread ran out of codes answers "ok" and
  -- is not counted. Answers still in flight on the thread's other
  -- connections count if they arrive before its loop stops; those that do
  -- not are missing from the clients' tally (the audit log has them).
  if stopped and string.sub(body, 1, 2) == "ok" then return end
  last_answer = now()
  if string.find(body, '"accept"', 1, true) or string.find(body, '"ACCEPT"', 1, true) then
    accepted = accepted + 1
  elseif string.find(body, '"reject"', 1, true) or string.find(body, '"REJECT"', 1, true) then
    rejected = rejected + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, r, o = 0, 0, 0
  local first, last = math.huge, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted"); r = r + t:get("rejected"); o = o + t:get("other")
    local sent, answered = t:get("first_sent"), t:get("last_answer")
    if sent > 0 and sent < first then first = sent end
    if answered > last then last = answered end
  end
  local active = summary.duration / 1e6
  if last > first then active = math.min(active, last - first) end
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f accept=%d reject=%d other=%d errors=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, active, a, r, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
