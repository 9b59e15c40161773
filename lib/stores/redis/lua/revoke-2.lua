#!lua flags=allow-oom
--[[
  revoke-2: revoke a token (RFC 7009): ends the one device session the token belongs to.

  KEYS[1], KEYS[2]  <base>a:<hash> and <base>r:<hash>, in the order the token type hint asks
  Found through data (same hash tag): the session s:<sid> and its other keys.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  client id of the authenticated client

  Output:
    {1, sid}  revoked
    {0}       unknown (expired, already revoked, never issued)
    {-1}      another client's token; nothing changed
]]
local base = ARGV[1]
--@include session

for _, key in ipairs(KEYS) do
  local sid = pointee(key)
  if sid then
    local client = redis.call('HGET', base .. 's:' .. sid, 'c')
    if not client then return {0} end
    if client ~= ARGV[2] then return {-1} end
    endSession(sid)
    return {1, sid}
  end
end
return {0}
