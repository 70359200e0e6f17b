-- One announce in one round trip (run by EVALSHA). Layout, per torrent (one hash slot):
--   seeders / leechers of each address family: sorted sets, member = compact address
--   (IPv4: 4 address bytes + 2 port bytes; IPv6: 16 + 2, port big-endian), score = time of
--   the peer's last announce in ms on Redis' clock (so every tracker instance agrees);
--   completed-download counter: a string integer.
--
-- KEYS[1] seeders of the announcer's address family     KEYS[2] its leechers
-- KEYS[3] seeders of the other address family           KEYS[4] its leechers
-- KEYS[5] completed-download counter
-- KEYS[6] peer ids of the announcer's address family: a hash, compact address -> peer id
--         (only used when ARGV[6] is not empty, i.e. with --peer-ids)
-- ARGV[1] the announcer's compact address
-- ARGV[2] "1" if it is a seeder (left = 0), else "0"
-- ARGV[3] event: "none" | "started" | "completed" | "stopped"
-- ARGV[4] numwant (already capped by the tracker)
-- ARGV[5] peer lifetime in ms: a peer whose last announce is older is gone
-- ARGV[6] the announcer's 20-byte peer id, or "" when peer ids are not kept
-- ARGV[7] "1" to return the sampled peers' ids as well
--
-- Returns { seeders, leechers, { compact addresses }, { peer ids } } (ids only when asked
-- for, in the same order, false where unknown): counts are over both families and
-- include the announcer; the sample is of its own family and never holds the announcer; a
-- seeder gets leechers first, then seeders while it has room (a `left=0` announcer may be
-- fetching a magnet link's metadata). Keys expire one peer lifetime after the last announce
-- that refreshed them, so abandoned torrents vanish without a sweeper.
local seeders, leechers = KEYS[1], KEYS[2]
local me, is_seeder, event = ARGV[1], ARGV[2] == '1', ARGV[3]
local numwant, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local ids, peer_id, want_ids = KEYS[6], ARGV[6], ARGV[7] == '1'
local keep_ids = peer_id ~= ''

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local cutoff = now - ttl
-- Stale peers of the announcer's family are dropped; the other family's are only not counted
-- (they are dropped on that family's next announce, or with their key). Their ids go too.
if keep_ids then
  for _, key in ipairs({ seeders, leechers }) do
    for _, stale in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', cutoff)) do
      redis.call('HDEL', ids, stale)
    end
  end
end
redis.call('ZREMRANGEBYSCORE', seeders, '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', leechers, '-inf', cutoff)

if event == 'stopped' then
  redis.call('ZREM', seeders, me)
  redis.call('ZREM', leechers, me)
  redis.call('HDEL', ids, me)
  numwant = 0
else
  -- A completion counts once per peer: not again from a peer already seeding.
  if event == 'completed' and not redis.call('ZSCORE', seeders, me) then
    redis.call('INCR', KEYS[5])
  end
  local mine, other = leechers, seeders
  if is_seeder then mine, other = seeders, leechers end
  redis.call('ZADD', mine, now, me)
  redis.call('ZREM', other, me)
  redis.call('PEXPIRE', mine, ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
  if keep_ids then
    redis.call('HSET', ids, me, peer_id)
    redis.call('PEXPIRE', ids, ttl)
  end
end

local n_seeders = redis.call('ZCARD', seeders)
local n_leechers = redis.call('ZCARD', leechers)
local fresh = '(' .. cutoff
local all_seeders = n_seeders + redis.call('ZCOUNT', KEYS[3], fresh, '+inf')
local all_leechers = n_leechers + redis.call('ZCOUNT', KEYS[4], fresh, '+inf')

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
    -- One more than the room left, in case the sample holds the announcer.
    if #peers < numwant then take(seeders, numwant - #peers + 1) end
  else
    local total = n_seeders + n_leechers -- the announcer is one of the leechers
    if total - 1 <= numwant then
      take(seeders, n_seeders)
      take(leechers, n_leechers)
    else
      -- A random sample in proportion to the swarm's mix; one leecher more in case the
      -- sample holds the announcer.
      local want_seeders = math.ceil(numwant * n_seeders / total)
      take(seeders, want_seeders)
      take(leechers, numwant - want_seeders + 1)
    end
  end
end
if want_ids then
  local found = {}
  for i, member in ipairs(peers) do found[i] = redis.call('HGET', ids, member) end
  return { all_seeders, all_leechers, peers, found }
end
return { all_seeders, all_leechers, peers }
