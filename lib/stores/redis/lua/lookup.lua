#!lua flags=no-writes
--[[
  lookup: the live token among candidate pointers, with its session (validation, introspection).
  Read-only.

  KEYS[1..n]  <base>a:<hash> / <base>r:<hash>, in the order to try
  Found through data (same hash tag): the session s:<sid>.

  ARGV[1]  base: `<prefix>{<tag>}:`

  Output:
    {index of the pointer found (1-based), sid, client, username, scopes, device,
     issued-at ms, access expiry ms, refresh expiry ms}
    {0}  nothing live
]]
local base = ARGV[1]
--@include session

for i, key in ipairs(KEYS) do
  local sid, s = follow(key, 'c', 'u', 'sc', 'dv', 'iat', 'exp', 'rexp')
  if sid then
    return {i, sid, s[1], s[2], s[3], s[4], s[5], s[6], s[7]}
  end
end
return {0}
