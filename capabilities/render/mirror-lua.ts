/**
 * HTTPRoute RequestMirror for HAProxy 2.6, which has no native mirroring: a Lua action (loaded
 * only when a route mirrors) sends a copy of the request — method, path and query, headers as
 * modified by the filters before it, buffered body — to one ready server of the mirror's Service
 * backend, from a separate task, so the client's request never waits for the mirror and its
 * answer is discarded. Limits: HAProxy 2.6's Lua HTTP client only sends GET, HEAD, POST, PUT and
 * DELETE (other methods are not mirrored), and bodies larger than a buffer (16 kB) are cut.
 */
export const MIRROR_LUA_FILE = "crossway-mirror.lua";
export const MIRROR_ACTION = "lua.crossway_mirror";

export const MIRROR_LUA = `-- crossway: HTTPRoute RequestMirror (generated; see capabilities/render/mirror-lua.ts)
local hop = { connection = true, ["content-length"] = true, ["transfer-encoding"] = true,
  ["keep-alive"] = true, te = true, upgrade = true, ["proxy-connection"] = true, expect = true }
local senders = { GET = "get", HEAD = "head", POST = "post", PUT = "put", DELETE = "delete" }

-- A random ready server of the backend: "no check" (no health checks: an endpoint reported
-- ready) or "UP"; disabled spare slots are "MAINT".
local function pick(backend)
  local be = core.backends[backend]
  if be == nil then return nil end
  local ready = {}
  for _, srv in pairs(be.servers) do
    local st = srv:get_stats()
    if st ~= nil and (st.status == "no check" or string.sub(st.status or "", 1, 2) == "UP") then
      table.insert(ready, srv:get_addr())
    end
  end
  if #ready == 0 then return nil end
  return ready[math.random(#ready)]
end

core.register_action("crossway_mirror", { "http-req" }, function(txn, backend)
  local sender = senders[txn.sf:method()]
  if sender == nil then return end
  local addr = pick(backend)
  if addr == nil then return end
  local host, port = string.match(addr, "^(.*):(%d+)$")
  if host == nil then return end
  if string.find(host, ":", 1, true) then host = "[" .. host .. "]" end
  local url = "http://" .. host .. ":" .. port .. (txn.sf:pathq() or "/")
  local headers = {}
  for name, values in pairs(txn.http:req_get_headers()) do
    if not hop[name] then
      local list = {}
      for i = 0, #values do if values[i] ~= nil then table.insert(list, values[i]) end end
      headers[name] = list
    end
  end
  local body = txn.sf:req_body()
  core.register_task(function()
    local hc = core.httpclient()
    pcall(hc[sender], hc, { url = url, headers = headers, body = body, timeout = 10000 })
  end)
end, 1)
`;
