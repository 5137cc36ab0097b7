-- wrk: POST prepared request bodies, each once (signed VES ingest: the runner signs the events
-- before the clock starts, one JSON body per line in WRK_BODIES). Thread k of n posts lines
-- k, k+n, k+2n, …  When a thread has sent its last body, delay() parks its idle connections and
-- the thread stops (wrk.thread:stop()) once the last response is in, so no answered request is
-- lost from wrk's counts; done() reports "exhausted_threads" and, when every thread ran out,
-- "finished_us": the longest time a thread took from its first request to its last response.
--   WRK_PATH  default /api/v1/ves/events/ingest
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

function init(args)
  common.init()
  path = common.env("WRK_PATH", "/api/v1/ves/events/ingest")
  bodies = common.lines(common.env("WRK_BODIES"), function(n)
    return n % thread_count == thread_no - 1
  end)
  position = 0
  outstanding = 0
end

function delay()
  if position >= #bodies then
    return 3600000 -- park: this connection has nothing left to send
  end
  return 0
end

function request()
  if common.dry_run() then
    return wrk.format("GET", "/")
  end
  if position >= #bodies then -- a parked connection woke up: stop rather than send anything
    wrk.thread:stop()
    return wrk.format("GET", "/ready")
  end
  if position == 0 then
    started_ns = common.monotonic_ns()
  end
  position = position + 1
  sent = sent + 1
  outstanding = outstanding + 1
  return wrk.format("POST", path, nil, bodies[position])
end

function response(status, headers, body)
  outstanding = outstanding - 1
  if position >= #bodies and outstanding == 0 then
    exhausted = true
    finished_us = math.floor((common.monotonic_ns() - (started_ns or common.monotonic_ns())) / 1000)
    wrk.thread:stop()
  end
end
