-- wrk: POST prepared request bodies, each once (signed VES ingest: the runner signs the events
-- before the clock starts, one JSON body per line in WRK_BODIES). Thread k of n posts lines
-- k, k+n, k+2n, …; a thread that runs out stops (wrk.thread:stop()) and is counted in done()'s
-- "exhausted_threads", so the runner can say the run was shorter than asked.
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
end

function request()
  if common.dry_run() then
    return wrk.format("GET", "/")
  end
  position = position + 1
  if position > #bodies then
    exhausted = true
    wrk.thread:stop()
    return wrk.format("GET", "/health")
  end
  sent = sent + 1
  return wrk.format("POST", path, nil, bodies[position])
end
