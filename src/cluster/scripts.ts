/**
 * The Lua scripts that keep the cluster's keys consistent: each runs atomically in Redis, so
 * two nodes racing (two claims of one room, a leave and a sweep, two sweepers) never see each
 * other half-way. Scripts build key names from the prefix they are given (keys.ts has the same
 * layout) because a room's keys and its nodes' keys are touched together: this needs one Redis
 * (standalone or Sentinel), not Redis Cluster, where such keys would live on different shards.
 *
 * Scripts are sent with EVAL (Redis caches them by hash; a restarted Redis has no cache, and
 * EVAL needs none), at the rate of joins, leaves and heartbeats, never per packet.
 */

/**
 * Heartbeat. ARGV: prefix, id, info JSON, ttl ms. Writes the record with its TTL, lists the id
 * in `nodes`. Returns 1 when the record was there before, 0 when this (re)creates it: the first
 * registration, or Redis lost it (restart, flush) or let it expire (the node stalled past the
 * TTL and may have been swept), and the node must write its memberships again.
 */
export const HEARTBEAT = `
local key = ARGV[1] .. 'node:' .. ARGV[2]
local existed = redis.call('EXISTS', key)
redis.call('SET', key, ARGV[3], 'PX', ARGV[4])
redis.call('SADD', ARGV[1] .. 'nodes', ARGV[2])
return existed
`;

/**
 * Claim a room: first claimer wins. ARGV: prefix, room, topology, createdAt, homeNode, claim ttl ms.
 * A new record expires after the claim TTL unless a member joins (SET_MEMBERS persists it), so a
 * claim whose joiner vanished leaves nothing behind.
 * Returns { created (1|0), topology, createdAt, homeNode } of the record that holds.
 */
export const CREATE_ROOM = `
local room = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('EXISTS', room) == 1 then
  local r = redis.call('HMGET', room, 'topology', 'createdAt', 'homeNode')
  return { 0, r[1], r[2], r[3] }
end
redis.call('HSET', room, 'topology', ARGV[3], 'createdAt', ARGV[4], 'homeNode', ARGV[5])
if redis.call('EXISTS', ARGV[1] .. 'room-members:' .. ARGV[2]) == 0 then
  redis.call('PEXPIRE', room, ARGV[6])
end
return { 1, ARGV[3], ARGV[4], ARGV[5] }
`;

/**
 * Set this node's participant count in a room (absolute, so a retry or a resync after an
 * outage is idempotent). ARGV: prefix, room, self id, count, topology, createdAt, homeNode,
 * restore ('1' when the node writes back what Redis lost).
 * count > 0: the record is made if it is gone, homed on the given node; a join (not a restore)
 * whose home has no live record takes the room home itself instead (a claim whose home died
 * before anyone joined). A restore keeps the recorded home: after a Redis restart the home may
 * simply not have heartbeated yet. The record is persisted, the count written, the room listed
 * in node-rooms:self and node-homes:home, and the home's id in `nodes`: a home that is in fact
 * dead is then found by the next read and swept (re-homed), never left named in a record.
 * count = 0: the field and the listing are removed; the record is deleted only when no node has
 * members left (never because this node's count reached 0: livekit/livekit#4316).
 * Returns { deleted (1|0), topology, createdAt, homeNode } (record fields false when deleted).
 */
export const SET_MEMBERS = `
local p, name, self = ARGV[1], ARGV[2], ARGV[3]
local count = tonumber(ARGV[4])
local restore = ARGV[8] == '1'
local room = p .. 'room:' .. name
local members = p .. 'room-members:' .. name
if count > 0 then
  local home = redis.call('HGET', room, 'homeNode')
  if not home then
    home = ARGV[7]
    if home == '' or (not restore and redis.call('EXISTS', p .. 'node:' .. home) == 0) then home = self end
    redis.call('HSET', room, 'topology', ARGV[5], 'createdAt', ARGV[6], 'homeNode', home)
  elseif not restore and redis.call('EXISTS', p .. 'node:' .. home) == 0 then
    home = self
    redis.call('HSET', room, 'homeNode', home)
  end
  redis.call('PERSIST', room)
  redis.call('HSET', members, self, count)
  redis.call('SADD', p .. 'node-rooms:' .. self, name)
  redis.call('SADD', p .. 'node-homes:' .. home, name)
  redis.call('SADD', p .. 'nodes', home)
  local r = redis.call('HMGET', room, 'topology', 'createdAt', 'homeNode')
  return { 0, r[1], r[2], r[3] }
end
redis.call('HDEL', members, self)
redis.call('SREM', p .. 'node-rooms:' .. self, name)
local home = redis.call('HGET', room, 'homeNode')
if redis.call('HLEN', members) == 0 then
  redis.call('DEL', room)
  if home then redis.call('SREM', p .. 'node-homes:' .. home, name) end
  return { 1, false, false, false }
end
local r = redis.call('HMGET', room, 'topology', 'createdAt', 'homeNode')
return { 0, r[1], r[2], r[3] }
`;

/**
 * Sweep a batch of a gone node's rooms. ARGV: prefix, node id, batch size. (A node leaving
 * gracefully deletes its own record first, then sweeps itself with this.)
 * Refuses (returns { -1 }) while the node's record exists: it heartbeats again. Otherwise takes
 * up to `batch` rooms off node-rooms:id and node-homes:id; in each, removes the node's members;
 * a room with no members left is deleted; a room homed on the node but with members elsewhere
 * is re-homed to the node with the most participants there. When both sets are empty, they are
 * deleted and the id leaves `nodes`: nothing in Redis names the node any more.
 * Returns { done (1|0), then per room: name, outcome ('deleted' | 'rehomed:<id>' | 'kept') }.
 * Safe to run from several nodes at once: SPOP hands each room to one sweeper, and every step
 * is idempotent.
 */
export const SWEEP_NODE = `
local p, id = ARGV[1], ARGV[2]
local batch = tonumber(ARGV[3])
if redis.call('EXISTS', p .. 'node:' .. id) == 1 then return { -1 } end
local out = { 0 }
local seen = {}
local names = redis.call('SPOP', p .. 'node-rooms:' .. id, batch)
for _, n in ipairs(redis.call('SPOP', p .. 'node-homes:' .. id, batch)) do table.insert(names, n) end
for _, name in ipairs(names) do
  if not seen[name] then
    seen[name] = true
    local room = p .. 'room:' .. name
    local members = p .. 'room-members:' .. name
    redis.call('HDEL', members, id)
    redis.call('SREM', p .. 'node-rooms:' .. id, name)
    redis.call('SREM', p .. 'node-homes:' .. id, name)
    local home = redis.call('HGET', room, 'homeNode')
    local outcome = 'kept'
    if redis.call('HLEN', members) == 0 then
      if redis.call('DEL', room) == 1 then outcome = 'deleted' end
      if home and home ~= id then redis.call('SREM', p .. 'node-homes:' .. home, name) end
    elseif home == id then
      local flat = redis.call('HGETALL', members)
      local best, most = nil, -1
      for i = 1, #flat, 2 do
        local c = tonumber(flat[i + 1])
        if c > most or (c == most and flat[i] < best) then best, most = flat[i], c end
      end
      redis.call('HSET', room, 'homeNode', best)
      redis.call('SADD', p .. 'node-homes:' .. best, name)
      outcome = 'rehomed:' .. best
    end
    table.insert(out, name)
    table.insert(out, outcome)
  end
end
if redis.call('SCARD', p .. 'node-rooms:' .. id) == 0 and redis.call('SCARD', p .. 'node-homes:' .. id) == 0 then
  redis.call('DEL', p .. 'node-rooms:' .. id, p .. 'node-homes:' .. id)
  redis.call('SREM', p .. 'nodes', id)
  out[1] = 1
end
return out
`;
