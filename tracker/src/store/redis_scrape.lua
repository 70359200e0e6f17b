-- Scrape several torrents in one round trip (run by EVALSHA); read-only.
--
-- KEYS: five keys per torrent, in order: IPv4 seeders, IPv4 leechers, IPv6 seeders,
--       IPv6 leechers, completed counter (the layout of redis_announce.lua)
-- ARGV[1] peer lifetime in ms: peers whose last announce is older are not counted
--
-- Returns a flat array { seeders, leechers, downloaded, ... }, three integers per torrent.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local fresh = '(' .. (now - tonumber(ARGV[1]))
local out = {}
for i = 1, #KEYS, 5 do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], fresh, '+inf')
    + redis.call('ZCOUNT', KEYS[i + 2], fresh, '+inf')
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i + 1], fresh, '+inf')
    + redis.call('ZCOUNT', KEYS[i + 3], fresh, '+inf')
  out[#out + 1] = tonumber(redis.call('GET', KEYS[i + 4]) or 0) or 0
end
return out
