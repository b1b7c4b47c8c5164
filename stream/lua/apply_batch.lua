-- Apply one batch of one tenant's events atomically, each event at most once.
--
-- KEYS[1] = the tenant's meta hash (it carries the tenant's hash tag, so the script is routed
--           to the slot holding every key the payload names).
-- ARGV[1] = JSON payload built by stream/store.py:
--   k  = key names;  t = their TTLs (seconds, 0 = none), parallel to k
--   b  = bucket sets: lists of key indices (0-based) that one event's counters go to
--   e  = events: [event_id, bucket_set_idx, sums_flat, maxes_flat, ops, ts_ms, call_key_idx]
--   sp = prefix of the per-event dedupe keys (sp .. event_id), for events without a call: a
--        call's events are marked in the call's own hash (field e:<event_id>, call TTL >= horizon)
--   h  = dedupe horizon (s); ct = call-record TTL (s); now = wall clock (ms); q = queue-set key
--        idx; qs = queue names
-- Counters are summed per key and field in Lua and written once each (HINCRBY), max_* fields
-- take the larger value. Returns {applied, duplicates}.
local p = cjson.decode(ARGV[1])
local K, T = p.k, p.t
local acc, mx, touched = {}, {}, {}
local applied, dups, maxts = 0, 0, 0

local function ttl(ki)
  touched[ki] = true
end

local function hmax(key, field, value)
  local cur = redis.call('HGET', key, field)
  if not cur or tonumber(cur) < value then
    redis.call('HSET', key, field, value)
  end
end

local function run_op(op)
  local kind = op[1]
  if kind == 'o' then -- offer: {o, waitk, callk_idx, call_id, queue, ts, caller|false}
    local waitk, callk, cid, q, ts, caller = K[op[2] + 1], K[op[3] + 1], op[4], op[5], op[6], op[7]
    local st = redis.call('HMGET', callk, 'x:' .. q, 'ansk', 'abk', 'ans', 'abf')
    if not st[1] then
      redis.call('ZADD', waitk, ts, cid)
    end
    if caller and caller ~= cjson.null then
      redis.call('HSET', callk, 'o:' .. q, ts, 'caller', caller)
      if st[2] then
        hmax(st[2], caller, tonumber(st[4]))
      end
      if st[3] then
        local cur = redis.call('HGET', st[3], st[5])
        if cur then
          local entry = cjson.decode(cur)
          entry.caller = caller
          redis.call('HSET', st[3], st[5], cjson.encode(entry))
        end
      end
    else
      redis.call('HSET', callk, 'o:' .. q, ts)
    end
    ttl(op[3] + 1)
  elseif kind == 'x' then -- queue exit: {x, waitk, callk_idx, call_id, queue, ts}
    local waitk, callk = K[op[2] + 1], K[op[3] + 1]
    redis.call('ZREM', waitk, op[4])
    redis.call('HSET', callk, 'x:' .. op[5], op[6])
    ttl(op[3] + 1)
  elseif kind == 'a' then -- answered: {a, callk, ansck_idx, ts}
    local callk, ansck, ts = K[op[2] + 1], K[op[3] + 1], op[4]
    local st = redis.call('HMGET', callk, 'ans', 'caller')
    if not st[1] or tonumber(st[1]) < ts then
      redis.call('HSET', callk, 'ans', ts, 'ansk', ansck)
    end
    if st[2] then
      hmax(ansck, st[2], ts)
    end
    ttl(op[3] + 1)
  elseif kind == 'b' then -- abandoned: {b, callk, abnk_idx, field, ts, wait_ms, queue, call_id}
    local callk, abnk, field = K[op[2] + 1], K[op[3] + 1], op[4]
    local caller = redis.call('HGET', callk, 'caller')
    local entry = {ts = op[5], wait_ms = op[6], queue = op[7], call_id = op[8]}
    if caller then entry.caller = caller end
    redis.call('HSET', abnk, field, cjson.encode(entry))
    redis.call('HSET', callk, 'abk', abnk, 'abf', field)
    ttl(op[3] + 1)
  elseif kind == 'g' then -- agent state: {g, agentsk, agent_id, ts, event_id, json}
    local agk, aid, ts, eid = K[op[2] + 1], op[3], op[4], op[5]
    local cur = redis.call('HGET', agk, aid)
    local newer = true
    if cur then
      local c = cjson.decode(cur)
      if c.ts > ts or (c.ts == ts and c.eid >= eid) then newer = false end
    end
    if newer then redis.call('HSET', agk, aid, op[6]) end
  end
end

local sp, horizon = p.sp, p.h
local function first_time(e)
  local ck = e[7]
  if ck >= 0 then
    ttl(ck + 1)
    return redis.call('HSETNX', K[ck + 1], 'e:' .. e[1], 1) == 1
  end
  return redis.call('SET', sp .. e[1], 1, 'NX', 'EX', horizon)
end

for _, e in ipairs(p.e) do
  if first_time(e) then
    applied = applied + 1
    local sums, maxes = e[3], e[4]
    for _, ki in ipairs(p.b[e[2] + 1]) do
      local a = acc[ki]
      if not a then a = {}; acc[ki] = a end
      for i = 1, #sums, 2 do a[sums[i]] = (a[sums[i]] or 0) + sums[i + 1] end
      if #maxes > 0 then
        local x = mx[ki]
        if not x then x = {}; mx[ki] = x end
        for i = 1, #maxes, 2 do
          if (x[maxes[i]] or -1) < maxes[i + 1] then x[maxes[i]] = maxes[i + 1] end
        end
      end
    end
    for _, op in ipairs(e[5]) do run_op(op) end
    if e[6] > maxts then maxts = e[6] end
  else
    dups = dups + 1
  end
end

for ki, a in pairs(acc) do
  local key = K[ki + 1]
  for f, n in pairs(a) do redis.call('HINCRBY', key, f, n) end
  ttl(ki + 1)
end
for ki, x in pairs(mx) do
  local key = K[ki + 1]
  for f, n in pairs(x) do hmax(key, f, n) end
end
for ki, _ in pairs(touched) do
  if T[ki] > 0 then redis.call('EXPIRE', K[ki], T[ki]) end
end

local meta = KEYS[1]
if #p.qs > 0 then redis.call('SADD', K[p.q + 1], unpack(p.qs)) end
redis.call('HINCRBY', meta, 'events', applied)
redis.call('HINCRBY', meta, 'duplicates', dups)
if applied > 0 then
  hmax(meta, 'last_event_ms', maxts)
  redis.call('HSET', meta, 'last_write_ms', p.now)
end
return {applied, dups}
