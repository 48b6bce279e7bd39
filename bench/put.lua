-- wrk script: PUT refreshes of one instance, each with a new updated_at, as
-- a service's heartbeat would send them.
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"site":"eu-1b","host":"ip-10-0-12-34.eu-west-1.compute.internal","port":31234,"updated_at":"2026-11-21T10:%02d:%02dZ","seq":%d}', (n // 60) % 60, n % 60, n)
  return wrk.format("PUT", "/web/i-1", {["Content-Type"] = "application/json"}, body)
end
