-- wrk script for GET /v1/auth/session over many sessions: each request sends the next token of TESSERA_TOKENS_FILE
-- (one per line) as "Authorization: Bearer <token>", cycling. TESSERA_TOKENS_LIMIT keeps only the first N tokens (1 for
-- the one-session case, so that both sides of a comparison pay the same Lua cost per request); TESSERA_TOKENS_START
-- starts at that line (0-based), so that runs in a row carry on where the last one stopped. Each wrk thread starts
-- at its own share of the file.
--
--   TESSERA_TOKENS_FILE=tokens.txt wrk -t1 -c32 -d60s -s bench/scale/tokens.lua http://127.0.0.1:5201/v1/auth/session

local path = os.getenv("TESSERA_TOKENS_FILE")
if path == nil or path == "" then
  error("tokens.lua: set TESSERA_TOKENS_FILE to a file of Tessera session tokens, one per line")
end

local limit = tonumber(os.getenv("TESSERA_TOKENS_LIMIT") or "0") or 0
local start = tonumber(os.getenv("TESSERA_TOKENS_START") or "0") or 0
local tokens = {}
for line in io.lines(path) do
  if line ~= "" then
    tokens[#tokens + 1] = line
    if limit > 0 and #tokens >= limit then break end
  end
end

local count = #tokens
if count == 0 then
  error("tokens.lua: no tokens in " .. path)
end

-- The number of wrk threads (-t), to split the file between them.
local thread_count = tonumber(os.getenv("TESSERA_TOKENS_THREADS") or "1") or 1
local threads = 0
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local next_index
function init(args)
  local share = math.floor(count / thread_count)
  next_index = (start + (thread_number or 0) * share) % count
end

function request()
  next_index = next_index + 1
  if next_index > count then next_index = 1 end
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[next_index] })
end
