-- wrk script for GET /v1/auth/session: sends the session token as "Authorization: Bearer <token>".
-- The token comes from TESSERA_TOKEN, or from the file named by TESSERA_TOKEN_FILE (kept out of `ps`).
-- Only the static headers are set (no request()/response() callbacks), so wrk pre-builds the request once and
-- spends no Lua time per request: the comparison with the script-less /hello run stays fair.
--
--   TESSERA_TOKEN_FILE=/path/to/token wrk -t2 -c32 -d15s -s bench/wrk/session.lua http://127.0.0.1:5181/v1/auth/session

local token = os.getenv("TESSERA_TOKEN")
if token == nil or token == "" then
  local path = os.getenv("TESSERA_TOKEN_FILE")
  if path ~= nil and path ~= "" then
    local file = assert(io.open(path, "r"))
    token = file:read("*l")
    file:close()
  end
end

if token == nil or token == "" then
  error("session.lua: set TESSERA_TOKEN or TESSERA_TOKEN_FILE to a Tessera session token")
end

token = token:gsub("%s+", "")
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. token
