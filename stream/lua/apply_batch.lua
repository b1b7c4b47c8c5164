-- Apply one chunk of one tenant's events atomically: all of them exactly once, or none.
--
-- KEYS[1] = the tenant's meta hash (it carries the tenant's hash tag, so the script is routed
--           to the slot holding every key the payload names).
-- ARGV[1] = a MessagePack array built by stream/store.py (TenantPayload.encode):
--   [1] now (wall ms)          [2] dedupe horizon (s)     [3] call-record keep time (s)
--   [4] key names              [5] their TTLs in s, parallel to [4] (0 = none or managed here)
--   [6] dedupe groups: {seen-key idx, event_id, event_id, ...}: every event of the chunk, by
--       the hour of its event time (cp:{t}:seen:<hour>, one hash per hour)
--   [7] counters, flat: key idx, field, amount, ...  (the chunk's sums, already folded in Python
--       by stream.kpis.accumulate: this script does no KPI arithmetic)
--   [8] maxima, flat: key idx, field, value, ...
--   [9] live-state ops, flat records (one per event that changes live state, see below)
--   [10] queue-set key idx     [11] queue names           [12] events in the chunk
--   [13] duplicates Python already dropped                [14] latest event time (ms)
-- Key indices are 0-based. The chunk's events are unique by event_id (Python drops repeats).
--
-- Exactly once: first every event's marker is read. If any event was applied before (a
-- redelivered message, a source sending twice), nothing is written and the script returns
-- {0, {event_id, ...}}; the caller drops those events and sends the rest again. Otherwise the
-- markers, counters and live state are written together and it returns {1}. Redis runs the
-- script atomically, so a crash can never leave markers without their effects.
local p = cmsgpack.unpack(ARGV[1])
local now, horizon, keep_s = p[1], p[2], p[3]
local K, T = p[4], p[5]

-- 1. Read every marker; return the repeats without writing anything.
local dups = {}
for _, g in ipairs(p[6]) do
  local got = redis.call('HMGET', K[g[1] + 1], unpack(g, 2))
  for i = 1, #got do
    if got[i] then dups[#dups + 1] = g[i + 1] end
  end
end
if #dups > 0 then return {0, dups} end

-- 2. Markers (TTL: the horizon, renewed by every chunk that writes the hour).
for _, g in ipairs(p[6]) do
  local args = {}
  for i = 2, #g do
    args[#args + 1] = g[i]
    args[#args + 1] = 1
  end
  redis.call('HSET', K[g[1] + 1], unpack(args))
end

local function hmax(key, field, value)
  local cur = redis.call('HGET', key, field)
  if not cur or tonumber(cur) < tonumber(value) then
    redis.call('HSET', key, field, value)
  end
end

-- 3. Counters, summed per key and field in Python: one HINCRBY each.
local c = p[7]
for i = 1, #c, 3 do redis.call('HINCRBY', K[c[i] + 1], c[i + 1], c[i + 2]) end
local m = p[8]
for i = 1, #m, 3 do hmax(K[m[i] + 1], m[i + 1], m[i + 2]) end

-- 4. Live state. A call record (cp:{t}:call:<id>) must outlive the call by keep_s; its field xp
-- remembers the expiry last set (ms), so EXPIRE runs only when less than keep_s is left.
local call_ttl = keep_s + 3600
local function expiry(xp, args)
  if xp and tonumber(xp) >= now + keep_s * 1000 then return false end
  args[#args + 1] = 'xp'
  args[#args + 1] = now + call_ttl * 1000
  return true
end

local function save_call(callk, args, renew)
  redis.call('HSET', callk, unpack(args))
  if renew then redis.call('EXPIRE', callk, call_ttl) end
end

local o = p[9]
local n, i = #o, 1
while i <= n do
  local kind = o[i]
  if kind == 'o' then -- offered: o, callk, waitk, call_id, queue, ts, caller ('' = none)
    local callk, waitk, cid, q, ts, caller = K[o[i + 1] + 1], K[o[i + 2] + 1], o[i + 3], o[i + 4], o[i + 5], o[i + 6]
    local st = redis.call('HMGET', callk, 'x:' .. q, 'ansk', 'abk', 'ans', 'abf', 'xp')
    if not st[1] then redis.call('ZADD', waitk, ts, cid) end -- not if its exit came first
    local args = {'o:' .. q, ts}
    if caller ~= '' then
      args[3] = 'caller'
      args[4] = caller
    end
    save_call(callk, args, expiry(st[6], args))
    if caller ~= '' then -- the call's answer or abandon came first: give them the caller now
      if st[2] then redis.call('ZADD', st[2], 'GT', st[4], caller) end
      if st[3] then
        local cur = redis.call('HGET', st[3], st[5])
        if cur then
          local entry = cjson.decode(cur)
          entry.caller = caller
          redis.call('HSET', st[3], st[5], cjson.encode(entry))
        end
      end
    end
    i = i + 7
  elseif kind == 'a' then -- answered: a, callk, waitk, call_id, queue, ts, answered-callers key
    local callk, waitk, cid, q, ts, ansk = K[o[i + 1] + 1], K[o[i + 2] + 1], o[i + 3], o[i + 4], o[i + 5], K[o[i + 6] + 1]
    local st = redis.call('HMGET', callk, 'ans', 'caller', 'xp')
    redis.call('ZREM', waitk, cid)
    local args = {'x:' .. q, ts}
    if not st[1] or tonumber(st[1]) < ts then
      args[3], args[4], args[5], args[6] = 'ans', ts, 'ansk', ansk
    end
    save_call(callk, args, expiry(st[3], args))
    if st[2] then redis.call('ZADD', ansk, 'GT', ts, st[2]) end
    i = i + 7
  elseif kind == 'b' then -- abandoned: b, callk, waitk, call_id, queue, ts, abandons key, wait_ms
    local callk, waitk, cid, q, ts, abnk = K[o[i + 1] + 1], K[o[i + 2] + 1], o[i + 3], o[i + 4], o[i + 5], K[o[i + 6] + 1]
    local st = redis.call('HMGET', callk, 'caller', 'xp')
    redis.call('ZREM', waitk, cid)
    local field = cid .. '|' .. q
    local entry = {ts = ts, wait_ms = o[i + 7], queue = q, call_id = cid}
    if st[1] then entry.caller = st[1] end
    redis.call('HSET', abnk, field, cjson.encode(entry))
    local args = {'x:' .. q, ts, 'abk', abnk, 'abf', field}
    save_call(callk, args, expiry(st[2], args))
    i = i + 8
  elseif kind == 'x' then -- overflowed: x, callk, waitk, call_id, queue, ts
    local callk, waitk, cid, q, ts = K[o[i + 1] + 1], K[o[i + 2] + 1], o[i + 3], o[i + 4], o[i + 5]
    local st = redis.call('HMGET', callk, 'xp')
    redis.call('ZREM', waitk, cid)
    local args = {'x:' .. q, ts}
    save_call(callk, args, expiry(st[1], args))
    i = i + 6
  elseif kind == 'g' then -- agent state: g, agents key, agent_id, ts, event_id, json
    local agk, aid, ts, eid = K[o[i + 1] + 1], o[i + 2], o[i + 3], o[i + 4]
    local cur = redis.call('HGET', agk, aid)
    local newer = true
    if cur then
      local s = cjson.decode(cur)
      if s.ts > ts or (s.ts == ts and s.eid >= eid) then newer = false end
    end
    if newer then redis.call('HSET', agk, aid, o[i + 5]) end
    i = i + 6
  else
    return redis.error_reply('apply_batch: unknown op ' .. tostring(kind))
  end
end

-- 5. Expiries of the windowed buckets, the markers and the day's lists: once per key.
for k = 1, #K do
  if T[k] > 0 then redis.call('EXPIRE', K[k], T[k]) end
end

local meta, applied, maxts = KEYS[1], p[12], p[14]
if #p[11] > 0 then redis.call('SADD', K[p[10] + 1], unpack(p[11])) end
redis.call('HINCRBY', meta, 'events', applied)
redis.call('HINCRBY', meta, 'duplicates', p[13])
if applied > 0 then
  hmax(meta, 'last_event_ms', maxts)
  redis.call('HSET', meta, 'last_write_ms', now)
end
return {1}
