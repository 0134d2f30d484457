-- Settlement: replace a request's reservation by its real cost and tokens, atomically.
--
-- ARGV: prefix, reservation id, actual cost (nanos), actual tokens, nb, nb x budget window key
-- (as returned by admit.lua).  The cost is added to every budget window that still exists, even
-- when the reservation itself was already reclaimed: spend is never dropped.
-- Reply: {spent before, spent after} per budget (-1, -1 when the window is gone).
local prefix, rid = ARGV[1], ARGV[2]
local cost, tokens = tonumber(ARGV[3]), tonumber(ARGV[4])
local reskey = prefix .. 'res:' .. rid
local fields = redis.call('HGETALL', reskey)
local reserved = {}
for i = 1, #fields, 2 do
  local name, amount = fields[i], tonumber(fields[i + 1])
  local kind, rest = string.sub(name, 1, 1), string.sub(name, 3)
  if kind == 'b' then
    reserved[rest] = amount
  elseif kind == 't' then
    -- the bucket's tokens and the window total, while that bucket still counts
    local ratekey, bucket = string.match(rest, '^(.*)|t:(%-?%d+)$')
    local lo = tonumber(redis.call('HGET', ratekey, 'lo'))
    if lo ~= nil and tonumber(bucket) >= lo then
      redis.call('HINCRBY', ratekey, 't:' .. bucket, tokens - amount)
      redis.call('HINCRBY', ratekey, 'T', tokens - amount)
    end
  elseif kind == 'p' then
    redis.call('ZREM', rest, rid)
  end
end
redis.call('DEL', reskey)
redis.call('ZREM', prefix .. 'resx', rid)

local out = {}
local nb = tonumber(ARGV[5])
for i = 1, nb do
  local key = ARGV[5 + i]
  if redis.call('EXISTS', key) == 1 then
    if reserved[key] then redis.call('HINCRBY', key, 'r', -reserved[key]) end
    local before = tonumber(redis.call('HGET', key, 's')) or 0
    out[#out + 1] = before
    out[#out + 1] = redis.call('HINCRBY', key, 's', cost)
  else
    out[#out + 1] = -1
    out[#out + 1] = -1
  end
end
return out
