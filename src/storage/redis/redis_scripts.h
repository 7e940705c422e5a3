// The Lua scripts the Redis online store runs on the server (EVALSHA).
#pragma once

namespace kiln::storage::redis {

// KEYS: the rows' hash keys. ARGV: ts_field, key_ttl_seconds, m (features),
// the m feature fields, then per row: event seconds, event nanos, the
// serialized Timestamp, the m values. Writes a row when its hash has no
// ts_field or the new event time is later (rows of this call included), and
// returns how many it wrote.
inline constexpr const char* kWriteScript = R"lua(
local function rdvarint(s, pos)
  local g = {}
  while true do
    local b = string.byte(s, pos)
    if b == nil or #g >= 10 then return nil, pos end
    pos = pos + 1
    g[#g + 1] = b % 128
    if b < 128 then return g, pos end
  end
end
local function unsigned(g)
  local v, mul = 0, 1
  for i = 1, #g do v = v + g[i] * mul; mul = mul * 128 end
  return v
end
local function signed(g)
  if #g == 10 and g[10] % 2 == 1 then
    local v, mul = 0, 1
    for i = 1, 9 do v = v + (127 - g[i]) * mul; mul = mul * 128 end
    return -(v + 1)
  end
  return unsigned(g)
end
local function decode(s)
  local sec, nanos, pos = 0, 0, 1
  while pos <= #s do
    local tag
    tag, pos = rdvarint(s, pos)
    if tag == nil then return nil end
    local t = unsigned(tag)
    local field, wire = math.floor(t / 8), t % 8
    if wire == 0 then
      local g
      g, pos = rdvarint(s, pos)
      if g == nil then return nil end
      if field == 1 then sec = signed(g) elseif field == 2 then nanos = signed(g) end
    elseif wire == 2 then
      local g
      g, pos = rdvarint(s, pos)
      if g == nil then return nil end
      pos = pos + unsigned(g)
    elseif wire == 1 then pos = pos + 8
    elseif wire == 5 then pos = pos + 4
    else return nil end
  end
  return sec, nanos
end
local ts_field = ARGV[1]
local ttl = tonumber(ARGV[2])
local m = tonumber(ARGV[3])
local latest = {}
local written = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  local base = 4 + m + (i - 1) * (3 + m)
  local sec, ns = tonumber(ARGV[base]), tonumber(ARGV[base + 1])
  local psec, pns
  local l = latest[key]
  if l then
    psec, pns = l[1], l[2]
  else
    local prev = redis.call('HGET', key, ts_field)
    if prev then
      psec, pns = decode(prev)
      if psec == nil then
        return redis.error_reply('ERR kiln: the stored ' .. ts_field .. ' is not a google.protobuf.Timestamp')
      end
    end
  end
  if psec == nil or sec > psec or (sec == psec and ns > pns) then
    local args = {ts_field, ARGV[base + 2]}
    for f = 1, m do
      args[#args + 1] = ARGV[3 + f]
      args[#args + 1] = ARGV[base + 2 + f]
    end
    redis.call('HSET', key, unpack(args))
    if ttl > 0 then redis.call('EXPIRE', key, ttl) end
    latest[key] = {sec, ns}
    written = written + 1
  end
end
return written
)lua";

// KEYS: hashes of the project. ARGV: ts_field. Deletes a hash whose only
// view is this one, removes ts_field from one shared with other views;
// returns how many rows of the view it removed.
inline constexpr const char* kDropScript = R"lua(
local ts_field = ARGV[1]
local n = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('HEXISTS', key, ts_field) == 1 then
    local views = 0
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if string.sub(f, 1, 4) == '_ts:' then views = views + 1 end
    end
    if views <= 1 then redis.call('DEL', key) else redis.call('HDEL', key, ts_field) end
    n = n + 1
  end
end
return n
)lua";

}  // namespace kiln::storage::redis
