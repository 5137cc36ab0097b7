-- wrk: GET requests over a list of paths (WRK_PATHS: a file with one path per line, e.g.
-- /api/v1/head?tenant_id=…&store_id=… or /api/v1/events/<seeded id>). Each thread walks the
-- list from its own offset, so threads ask for different ids at any moment.
-- WRK_RATE (requests/s of this wrk process, optional): each thread sends at most one request per
-- slot of threads/WRK_RATE seconds (wrk's delay() before each request returns the time to the
-- thread's next slot). Slots do not move when the server is slow: a thread that fell behind sends
-- as soon as a connection is free until it has caught up, and counts each request that started
-- more than 10 ms after its slot as "late" (done() reports the sum). wrk times a request from the
-- moment it is written, so queueing behind a late slot shows in "late", not in the latency.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

function init(args)
  common.init()
  paths = common.lines(common.env("WRK_PATHS"))
  if #paths == 0 then
    error("WRK_PATHS has no paths")
  end
  position = (thread_no * 7919) % #paths
end

local rate = tonumber(common.env("WRK_RATE", "0"))
if rate > 0 then
  function delay()
    local now = common.monotonic_ns() / 1e6
    if next_slot == nil then
      next_slot = now + (thread_no - 1) * 1000 / rate -- threads' slots interleave
      late = 0
    end
    local wait = next_slot - now
    next_slot = next_slot + thread_count * 1000 / rate
    if wait < -10 then
      late = late + 1
    end
    return math.max(0, math.floor(wait))
  end
end

function request()
  if common.dry_run() then
    return wrk.format("GET", "/")
  end
  position = position % #paths + 1
  sent = sent + 1
  return wrk.format("GET", paths[position])
end
