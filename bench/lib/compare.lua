-- wrk script for bench/compare.sh: POSTs one JSON body per request from
-- bodies_<thread>.txt, in order; counts accept/reject answers of latchkey
-- ({"result":"accept"}) and privacyIDEA ("authentication": "ACCEPT").
--   wrk -t T -c C -d 10s -s compare.lua URL -- BODYDIR PATH AUTH ONCE DELAY_MS
-- AUTH: the Authorization header value, or "-" for none. ONCE=1: a thread
-- stops when its bodies are used up (each valid code is sent once); ONCE=0:
-- it starts over (wrong codes). DELAY_MS > 0 paces each connection.
local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  accepted, rejected, other = 0, 0, 0
  stopped = false
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
  next_body = next_body + 1
  if next_body > #bodies then
    if once then
      -- The loop stops after this turn; what goes out meanwhile must not
      -- spend or replay a code, so it is a health probe, and not counted.
      stopped = true
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    next_body = 1
  end
  return wrk.format("POST", path, headers, bodies[next_body])
end

function response(status, headers, body)
  if stopped then return end
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
  for _, t in ipairs(threads) do
    a = a + t:get("accepted"); r = r + t:get("rejected"); o = o + t:get("other")
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f accept=%d reject=%d other=%d errors=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, a, r, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
