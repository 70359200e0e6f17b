-- One announce in one round trip (run by EVALSHA).
--
-- KEYS[1] seeders  sorted set: member = compact address (6 bytes IPv4 / 18 bytes IPv6,
--                  address then big-endian port), score = last announce, ms on Redis' clock
-- KEYS[2] leechers sorted set, same layout
-- KEYS[3] completed-download counter (string integer)
-- ARGV[1] the announcing peer's compact address
-- ARGV[2] "1" if it is a seeder (left = 0), else "0"
-- ARGV[3] event: "none" | "started" | "completed" | "stopped"
-- ARGV[4] numwant (already capped by the tracker)
-- ARGV[5] peer lifetime in ms: a peer whose last announce is older is stale
-- ARGV[6] lifetime in ms of the counter key after its last `completed`
--
-- Returns { seeders, leechers, downloaded, { compact addresses... } }: counts include the
-- caller; the list never holds the caller, and holds only leechers for a seeder.
local seeders, leechers, downloaded = KEYS[1], KEYS[2], KEYS[3]
local me, is_seeder, event = ARGV[1], ARGV[2] == '1', ARGV[3]
local numwant, ttl, counter_ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local cutoff = now - ttl
redis.call('ZREMRANGEBYSCORE', seeders, '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', leechers, '-inf', cutoff)

if event == 'stopped' then
  redis.call('ZREM', seeders, me)
  redis.call('ZREM', leechers, me)
  numwant = 0
else
  local mine, other = leechers, seeders
  if is_seeder then mine, other = seeders, leechers end
  redis.call('ZADD', mine, now, me)
  redis.call('ZREM', other, me)
  -- Whole swarms that nobody announces to any more vanish by themselves.
  redis.call('PEXPIRE', mine, ttl)
  redis.call('PEXPIRE', other, ttl)
end
if event == 'completed' then
  redis.call('INCR', downloaded)
  redis.call('PEXPIRE', downloaded, counter_ttl)
end

local n_seeders = redis.call('ZCARD', seeders)
local n_leechers = redis.call('ZCARD', leechers)
local n_downloaded = tonumber(redis.call('GET', downloaded) or 0) or 0

local peers = {}
local function take(key, count)
  if count <= 0 then return end
  for _, member in ipairs(redis.call('ZRANDMEMBER', key, count)) do
    if member ~= me and #peers < numwant then peers[#peers + 1] = member end
  end
end
if numwant > 0 then
  if is_seeder then
    take(leechers, numwant)
  else
    local total = n_seeders + n_leechers -- the caller is one of the leechers
    if total - 1 <= numwant then
      take(seeders, n_seeders)
      take(leechers, n_leechers)
    else
      -- A random sample in proportion to the swarm's mix; one extra leecher in case
      -- the sample holds the caller.
      local want_seeders = math.ceil(numwant * n_seeders / total)
      take(seeders, want_seeders)
      take(leechers, numwant - want_seeders + 1)
    end
  end
end
return { n_seeders, n_leechers, n_downloaded, peers }
