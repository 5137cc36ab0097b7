-- wrk: GET requests over a list of paths (WRK_PATHS: a file with one path per line, e.g.
-- /api/v1/head?tenant_id=…&store_id=… or /api/v1/events/<seeded id>). Each thread walks the
-- list from its own offset, so threads ask for different ids at any moment.
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

function request()
  position = position % #paths + 1
  sent = sent + 1
  return wrk.format("GET", paths[position])
end
