-- wrk: legacy ingest, WRK_BATCH events per request (default 1) over WRK_STREAMS streams (default
-- 64; 1 = one hot stream), payloads of WRK_PAYLOAD_BYTES (default 1024) as the k6 scripts make
-- them. Every event has a fresh unique id (common.lua). Streams are WRK_STORE_PREFIX (8 hex,
-- fresh per run) + the stream number; each thread walks the streams round robin from its own
-- offset, as the k6 scripts' VUs do. Also posts to the anchor, which takes the same body.
--   WRK_TENANT  tenant id;  WRK_PATH  default /api/v1/events/ingest
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local batch = tonumber(common.env("WRK_BATCH", "1"))
local streams = tonumber(common.env("WRK_STREAMS", "64"))
local payload_bytes = tonumber(common.env("WRK_PAYLOAD_BYTES", "1024"))
local tenant = common.env("WRK_TENANT")
local prefix = common.env("WRK_STORE_PREFIX")
local path = common.env("WRK_PATH", "/api/v1/events/ingest")

-- {"order_id":"<36>","total":42,"note":"xx…"} is payload_bytes long (at least its skeleton).
local skeleton = '{"order_id":"00000000-0000-0000-0000-000000000000","total":42,"note":""}'
local padding = string.rep("x", math.max(0, payload_bytes - #skeleton))

local function store_id(n)
  return string.format("%s-0000-4000-8000-%012x", prefix, n)
end

function init(args)
  common.init()
  iteration = 0
end

function request()
  if common.dry_run() then
    return wrk.format("GET", "/")
  end
  iteration = iteration + 1
  sent = sent + 1
  local store = store_id((thread_no * 7 + iteration) % streams)
  local created_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local events = {}
  for i = 1, batch do
    local id = common.event_id()
    events[i] = '{"event_id":"'
      .. id
      .. '","tenant_id":"'
      .. tenant
      .. '","store_id":"'
      .. store
      .. '","entity_type":"order","entity_id":"order-'
      .. id
      .. '","event_type":"order.created","payload":{"order_id":"'
      .. id
      .. '","total":42,"note":"'
      .. padding
      .. '"},"created_at":"'
      .. created_at
      .. '"}'
  end
  return wrk.format("POST", path, nil, '{"events":[' .. table.concat(events, ",") .. "]}")
end
