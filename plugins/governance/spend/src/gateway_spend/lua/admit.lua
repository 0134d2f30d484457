-- Admission: check and reserve every budget, rate limit and parallel-request slot of one
-- request, atomically (Redis runs a script without interleaving anything else).
--
-- ARGV: prefix, now ('' = Redis server time), reservation id, reservation ttl (s), reserve (nanos),
--       rate window (s), rate bucket (s),
--       nb, nb x [key, limit (-1 = track only), b0, b1, b2, b3 (window starts, all 0 = no reset), seed ('' = none)],
--       nr, nr x [key, rpm (-1), tpm (-1), tokens],
--       np, np x [key, limit]
-- Replies: {'ok', {window keys}, {spent}, {rpm used, tpm used per rate}}
--          {'seed', {budget indexes}, {window starts}}   counters missing: seed them from the ledger
--          {'budget', i, spent, reserved, limit} | {'rpm'|'tpm', i, used, limit, retry_after_ms}
--          {'parallel', i, count, limit}
local prefix = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[2])
end
local rid = ARGV[3]
local ttl = tonumber(ARGV[4])
local reserve = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local bucket_len = tonumber(ARGV[7])
local resx = prefix .. 'resx'

-- change the tokens counted for a reservation's bucket ('<rate key>|t:<bucket>'), if it still counts
local function adjust_tokens(target, delta)
  local ratekey, bucket = string.match(target, '^(.*)|t:(%-?%d+)$')
  local lo = tonumber(redis.call('HGET', ratekey, 'lo'))
  if lo ~= nil and tonumber(bucket) >= lo then
    redis.call('HINCRBY', ratekey, 't:' .. bucket, delta)
    redis.call('HINCRBY', ratekey, 'T', delta)
  end
end

-- release a reservation: give back reserved budget, token estimates and parallel slots
local function release(id)
  local reskey = prefix .. 'res:' .. id
  local fields = redis.call('HGETALL', reskey)
  for i = 1, #fields, 2 do
    local name, amount = fields[i], tonumber(fields[i + 1])
    local kind, rest = string.sub(name, 1, 1), string.sub(name, 3)
    if kind == 'b' then
      if redis.call('EXISTS', rest) == 1 then redis.call('HINCRBY', rest, 'r', -amount) end
    elseif kind == 't' then
      adjust_tokens(rest, -amount)
    elseif kind == 'p' then
      redis.call('ZREM', rest, id)
    end
  end
  redis.call('DEL', reskey)
  redis.call('ZREM', resx, id)
end

-- reclaim reservations whose request never settled (a worker died): bounded work per call
local expired = redis.call('ZRANGEBYSCORE', resx, '-inf', now, 'LIMIT', 0, 20)
for _, id in ipairs(expired) do release(id) end

local pos = 8
local nb = tonumber(ARGV[pos]); pos = pos + 1
local budget_keys, limits, seeds, window_ends = {}, {}, {}, {}
local missing, missing_starts = {}, {}
for i = 1, nb do
  local key, limit = ARGV[pos], tonumber(ARGV[pos + 1])
  local b = {tonumber(ARGV[pos + 2]), tonumber(ARGV[pos + 3]), tonumber(ARGV[pos + 4]), tonumber(ARGV[pos + 5])}
  local seed = ARGV[pos + 6]
  pos = pos + 7
  local start, finish = 0, 0
  if b[4] > 0 then
    for j = 1, 3 do
      if b[j] <= now and now < b[j + 1] then start, finish = b[j], b[j + 1] end
    end
    if finish == 0 then return redis.error_reply('clock: server time outside the budget windows sent; check the clocks') end
  end
  local full = prefix .. 'b:' .. key .. ':' .. string.format('%.17g', start)
  budget_keys[i], limits[i], window_ends[i] = full, limit, finish
  if redis.call('EXISTS', full) == 0 then
    if seed ~= '' then
      redis.call('HSET', full, 's', seed, 'r', 0)
      -- relative to the script's clock, so a test clock in the past does not delete the counter at once
      if finish > 0 then redis.call('EXPIRE', full, math.ceil(finish - now + ttl + 3600)) end
    else
      missing[#missing + 1] = i
      missing_starts[#missing_starts + 1] = string.format('%.17g', start)
    end
  end
end
if #missing > 0 then return {'seed', missing, missing_starts} end

local spent = {}
for i = 1, nb do
  local values = redis.call('HMGET', budget_keys[i], 's', 'r')
  local s, r = tonumber(values[1]) or 0, tonumber(values[2]) or 0
  spent[i] = s
  local limit = limits[i]
  if limit >= 0 and (s + r + reserve > limit or (reserve == 0 and s + r >= limit)) then
    return {'budget', i, s, r, limit}
  end
end

local nr = tonumber(ARGV[pos]); pos = pos + 1
local current = math.floor(now / bucket_len)
local oldest = now - window
-- a bucket counts while any part of it lies inside the window: the first one contains 'oldest'
local first_valid = math.floor(oldest / bucket_len)
local buckets_per_window = math.ceil(window / bucket_len)
local rate_keys, rate_tokens, usage = {}, {}, {}
for i = 1, nr do
  local key, rpm, tpm, tokens = prefix .. 'rl:' .. ARGV[pos], tonumber(ARGV[pos + 1]), tonumber(ARGV[pos + 2]), tonumber(ARGV[pos + 3])
  pos = pos + 4
  rate_keys[i], rate_tokens[i] = key, tokens
  -- running totals 'N'/'T' cover buckets 'lo' .. now; buckets that left the window are taken out
  local state = redis.call('HMGET', key, 'N', 'T', 'lo')
  local requests, used_tokens, lo = tonumber(state[1]) or 0, tonumber(state[2]) or 0, tonumber(state[3])
  if lo == nil or first_valid - lo > buckets_per_window + 1 then
    if lo ~= nil then redis.call('DEL', key) end  -- idle for more than a window: nothing counts
    requests, used_tokens = 0, 0
    redis.call('HSET', key, 'N', 0, 'T', 0, 'lo', first_valid)
    redis.call('EXPIRE', key, math.ceil(window + bucket_len) * 2)
  elseif lo < first_valid then
    local names = {}
    for id = lo, first_valid - 1 do
      names[#names + 1] = 'n:' .. id
      names[#names + 1] = 't:' .. id
    end
    local values = redis.call('HMGET', key, unpack(names))
    for j = 1, #values, 2 do
      requests = requests - (tonumber(values[j]) or 0)
      used_tokens = used_tokens - (tonumber(values[j + 1]) or 0)
    end
    redis.call('HDEL', key, unpack(names))
    redis.call('HSET', key, 'N', requests, 'T', used_tokens, 'lo', first_valid)
  end
  -- when will enough buckets have left the window for this request to fit? (refusals only)
  local function retry_after(prefix_letter, have, need, limit)
    local names = {}
    for id = first_valid, current do names[#names + 1] = prefix_letter .. ':' .. id end
    local values = redis.call('HMGET', key, unpack(names))
    local freed = have
    for j, value in ipairs(values) do
      freed = freed - (tonumber(value) or 0)
      if freed + need <= limit then return math.ceil(((first_valid + j) * bucket_len - oldest) * 1000) end
    end
    return math.ceil(window * 1000)
  end
  if rpm >= 0 and requests + 1 > rpm then
    return {'rpm', i, requests, rpm, retry_after('n', requests, 1, rpm)}
  end
  if tpm >= 0 and used_tokens > 0 and used_tokens + tokens > tpm then
    return {'tpm', i, used_tokens, tpm, retry_after('t', used_tokens, tokens, tpm)}
  end
  usage[#usage + 1] = requests
  usage[#usage + 1] = used_tokens
end

local np = tonumber(ARGV[pos]); pos = pos + 1
local parallel_keys = {}
for i = 1, np do
  local key, limit = prefix .. 'par:' .. ARGV[pos], tonumber(ARGV[pos + 1])
  pos = pos + 2
  parallel_keys[i] = key
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local count = redis.call('ZCARD', key)
  if count >= limit then return {'parallel', i, count, limit} end
end

-- everything passed: reserve
local expiry = now + ttl
local reskey = prefix .. 'res:' .. rid
for i = 1, nb do
  if reserve > 0 then
    redis.call('HINCRBY', budget_keys[i], 'r', reserve)
    redis.call('HSET', reskey, 'b|' .. budget_keys[i], reserve)
  end
end
for i = 1, nr do
  local key = rate_keys[i]
  redis.call('HINCRBY', key, 'n:' .. current, 1)
  redis.call('HINCRBY', key, 'N', 1)
  if rate_tokens[i] > 0 then
    redis.call('HINCRBY', key, 't:' .. current, rate_tokens[i])
    redis.call('HINCRBY', key, 'T', rate_tokens[i])
    redis.call('HSET', reskey, 't|' .. key .. '|t:' .. current, rate_tokens[i])
  end
  redis.call('EXPIRE', key, math.ceil(window + bucket_len) * 2)
end
for i = 1, np do
  redis.call('ZADD', parallel_keys[i], expiry, rid)
  redis.call('HSET', reskey, 'p|' .. parallel_keys[i], 1)
  redis.call('EXPIRE', parallel_keys[i], math.ceil(ttl) * 2)
end
if redis.call('EXISTS', reskey) == 1 then
  redis.call('ZADD', resx, expiry, rid)
  redis.call('EXPIRE', reskey, math.ceil(ttl) * 2)
end
return {'ok', budget_keys, spent, usage}
