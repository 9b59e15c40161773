#!lua flags=allow-oom
--[[
  revoke-3: revoke a token (RFC 7009): ends the one device session the token belongs to.

  KEYS[1], KEYS[2]  <base>a:<hash> and <base>r:<hash>, in the order the token type hint asks
  KEYS[3]           <base>x   the index of the tag's sessions
  Found through data (same hash tag): the session s:<sid> and its other pointer.

  ARGV[1]  base: `<prefix>{<tag>}:`
  ARGV[2]  client id of the authenticated client

  Output:
    {1, sid}  revoked
    {0}       unknown (expired, already revoked, never issued)
    {-1}      another client's token; nothing changed
]]
local base = ARGV[1]
--@include session

for i = 1, 2 do
  local sid, s = follow(KEYS[i], 'c')
  if sid then
    if s[1] ~= ARGV[2] then return {-1} end
    endSession(sid)
    return {1, sid}
  end
end
return {0}
