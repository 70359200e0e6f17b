-- wrk request generator for HTTP trackers: announces to random torrents from random peers,
-- 5 % scrapes of three torrents. Every byte of info_hash and peer_id is percent-encoded
-- (binary, as clients send them); compact replies, numwant 50; a quarter are seeders.
-- The torrents come from the file named by $HASHES (40 hex digits a line).
local hashes = {}
for line in io.lines(os.getenv("HASHES") or "hashes.txt") do
  if #line == 40 then
    hashes[#hashes + 1] = line:gsub("%x%x", function(h) return "%" .. h:upper() end)
  end
end

local function random_bytes_encoded(n)
  local out = {}
  for i = 1, n do out[i] = string.format("%%%02X", math.random(0, 255)) end
  return table.concat(out)
end

local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("thread_id", thread_id)
end

local peer_ids = {}
function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
  for i = 1, 4096 do peer_ids[i] = "-WK0001-" .. random_bytes_encoded(12) end
end

local n = #hashes
function request()
  if math.random(100) <= 5 then
    return wrk.format("GET", "/scrape?info_hash=" .. hashes[math.random(n)]
      .. "&info_hash=" .. hashes[math.random(n)] .. "&info_hash=" .. hashes[math.random(n)])
  end
  local left = 1048576
  if math.random(4) == 1 then left = 0 end
  return wrk.format("GET", "/announce?info_hash=" .. hashes[math.random(n)]
    .. "&peer_id=" .. peer_ids[math.random(#peer_ids)]
    .. "&port=" .. math.random(10000, 60000)
    .. "&uploaded=0&downloaded=0&left=" .. left
    .. "&compact=1&numwant=50")
end
