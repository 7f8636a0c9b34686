-- wrk script for POST /oauth2/introspect (RFC 7662): the form body "token=<session token>", the service client's
-- credentials as HTTP Basic (client_secret_basic). The token comes from TESSERA_TOKEN_FILE, the client's
-- "Basic ..." value from TESSERA_CLIENT_BASIC_FILE (both kept out of `ps`). Only static fields are set, so wrk builds
-- the request once and spends no Lua time per request, as for session.lua.
--
--   TESSERA_TOKEN_FILE=… TESSERA_CLIENT_BASIC_FILE=… wrk -t2 -c32 -d15s -s bench/wrk/introspect.lua http://127.0.0.1:5181/oauth2/introspect

local function read_first_line(variable)
  local path = os.getenv(variable)
  if path == nil or path == "" then
    error("introspect.lua: set " .. variable)
  end
  local file = assert(io.open(path, "r"))
  local line = file:read("*l")
  file:close()
  return (line or ""):gsub("%s+$", "")
end

local token = read_first_line("TESSERA_TOKEN_FILE")
local basic = read_first_line("TESSERA_CLIENT_BASIC_FILE")

wrk.method = "POST"
wrk.body = "token=" .. token
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = basic
