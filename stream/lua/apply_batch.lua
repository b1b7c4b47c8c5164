-- Apply one chunk of one tenant's events atomically: all of them exactly once, or none.
--
-- KEYS[1] = the tenant's meta hash (it carries the tenant's hash tag, so the script is routed
--           to the slot holding every key the payload names).
-- ARGV[1] = a MessagePack array built by stream/store.py (TenantPayload.encode):
--   [1] now (wall ms)          [2] call-record keep time (s)
--   [3] key names              [4] their TTLs in s, parallel to [3] (0 = none or managed here;
--       the markers' sets get the dedupe horizon)
--   [5] dedupe groups: {seen-key idx, event_id, event_id, ...}: every event of the chunk, by
--       the hour of its event time (cp:{t}:seen:<hour>, one set per hour)
--   [6] counters, flat: key idx, field, amount, ...  (the chunk's sums, already folded in Python
--       by stream.kpis.accumulate: this script does no KPI arithmetic)
--   [7] maxima, flat: key idx, field, value, ...
--   [8] live-state ops, flat records: a kind letter and its fields (one record per offer, exit
--       and agent state; call_ended and wrapup_ended only count), see part 4 below
--   [9] queue-set key idx      [10] queue names           [11] events in the chunk
--   [12] duplicates Python already dropped                [13] latest event time (ms)
--   [14] call-record key prefix (cp:{t}:call:), completed with the call id when one is needed
-- Key indices are 0-based. The chunk's events are unique by event_id (Python drops repeats).
--
-- Exactly once: first every event's marker is read. If any event was applied before (a
-- redelivered message, a source sending twice), nothing is written and the script returns
-- {0, {event_id, ...}}; the caller drops those events and sends the rest again. Otherwise the
-- markers, counters and live state are written together and it returns {1}. Redis runs the
-- script atomically, so a crash can never leave markers without their effects.
local p = cmsgpack.unpack(ARGV[1])
local now, keep_s, call_prefix = p[1], p[2], p[14]
local K, T = p[3], p[4]

-- 1. Read every marker; return the repeats without writing anything.
local dups = {}
for _, g in ipairs(p[5]) do
  local got = redis.call('SMISMEMBER', K[g[1] + 1], unpack(g, 2))
  for i = 1, #got do
    if got[i] == 1 then dups[#dups + 1] = g[i + 1] end
  end
end
if #dups > 0 then return {0, dups} end

-- 2. Markers (TTL: the horizon, renewed by every chunk that writes the hour).
for _, g in ipairs(p[5]) do redis.call('SADD', K[g[1] + 1], unpack(g, 2)) end

local function hmax(key, field, value)
  local cur = redis.call('HGET', key, field)
  if not cur or tonumber(cur) < tonumber(value) then
    redis.call('HSET', key, field, value)
  end
end

-- 3. Counters, summed per key and field in Python: one HINCRBY each.
local c = p[6]
for i = 1, #c, 3 do redis.call('HINCRBY', K[c[i] + 1], c[i + 1], c[i + 2]) end
local m = p[7]
for i = 1, #m, 3 do hmax(K[m[i] + 1], m[i + 1], m[i + 2]) end

-- 4. Live state.
-- Waiting sets (cp:{t}:wait:<queue>) hold one member per call: score +offer ts while it waits,
-- -exit ts once it left. The latest event by event time decides, so any order of arrival gives
-- the same final state: an offer adds a call only if absent (or if its only exit was earlier:
-- a re-queue), an exit always overwrites a waiting score (ZADD LT: negative < positive).
-- Callers (cp:{t}:callers:<utc day>) are written by the offer and read by the exits; an exit
-- that comes before its offer leaves its answer/abandon in the call record for the offer.
local function caller_of(today, yesterday, cid)
  local c = redis.call('HGET', today, cid)
  if not c then c = redis.call('HGET', yesterday, cid) end -- offered before UTC midnight
  return c -- false: offer not seen yet; '': offered without a caller id
end

local function early_exit(callk, fields)
  redis.call('HSET', callk, unpack(fields))
  redis.call('EXPIRE', callk, keep_s)
end

local o = p[8]
local n, i = #o, 1
while i <= n do
  local kind = o[i]
  if kind == 'o' then -- offered: o, waitk, call_id, ts, callers key, caller ('' = none)
    local waitk, cid, ts, caller = K[o[i + 1] + 1], o[i + 2], o[i + 3], o[i + 5]
    if redis.call('ZADD', waitk, 'NX', ts, cid) == 0 then
      local cur = tonumber(redis.call('ZSCORE', waitk, cid))
      if cur < 0 and -cur < ts then redis.call('ZADD', waitk, ts, cid) end -- re-queued
      if cur < 0 and caller ~= '' then -- an exit came first: give it the caller now
        local st = redis.call('HMGET', call_prefix .. cid, 'ansk', 'ans', 'abk', 'abf')
        if st[1] then redis.call('ZADD', st[1], 'GT', st[2], caller) end
        if st[3] then
          local cur_entry = redis.call('HGET', st[3], st[4])
          if cur_entry then
            local entry = cjson.decode(cur_entry)
            entry.caller = caller
            redis.call('HSET', st[3], st[4], cjson.encode(entry))
          end
        end
      end
    end
    redis.call('HSET', K[o[i + 4] + 1], cid, caller)
    i = i + 6
  elseif kind == 'a' then -- answered: a, waitk, call_id, ts, callers today, yesterday, ansk
    local cid, ts, ansk = o[i + 2], o[i + 3], K[o[i + 6] + 1]
    redis.call('ZADD', K[o[i + 1] + 1], 'LT', -ts, cid)
    local caller = caller_of(K[o[i + 4] + 1], K[o[i + 5] + 1], cid)
    if caller then
      if caller ~= '' then redis.call('ZADD', ansk, 'GT', ts, caller) end
    else
      local callk = call_prefix .. cid
      local prev = redis.call('HGET', callk, 'ans')
      if not prev or tonumber(prev) < ts then early_exit(callk, {'ansk', ansk, 'ans', ts}) end
    end
    i = i + 7
  elseif kind == 'b' then -- abandoned: b, waitk, call_id, queue, ts, today, yesterday, abnk, wait_ms
    local cid, q, ts, abnk = o[i + 2], o[i + 3], o[i + 4], K[o[i + 7] + 1]
    redis.call('ZADD', K[o[i + 1] + 1], 'LT', -ts, cid)
    local caller = caller_of(K[o[i + 5] + 1], K[o[i + 6] + 1], cid)
    local field = cid .. '|' .. q
    local entry = {ts = ts, wait_ms = o[i + 8], queue = q, call_id = cid}
    if caller and caller ~= '' then entry.caller = caller end
    redis.call('HSET', abnk, field, cjson.encode(entry))
    if not caller then early_exit(call_prefix .. cid, {'abk', abnk, 'abf', field}) end
    i = i + 9
  elseif kind == 'x' then -- overflowed: x, waitk, call_id, ts
    redis.call('ZADD', K[o[i + 1] + 1], 'LT', -o[i + 3], o[i + 2])
    i = i + 4
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

local meta, applied, maxts = KEYS[1], p[11], p[13]
if #p[10] > 0 then redis.call('SADD', K[p[9] + 1], unpack(p[10])) end
redis.call('HINCRBY', meta, 'events', applied)
redis.call('HINCRBY', meta, 'duplicates', p[12])
if applied > 0 then
  hmax(meta, 'last_event_ms', maxts)
  redis.call('HSET', meta, 'last_write_ms', now)
end
return {1}
