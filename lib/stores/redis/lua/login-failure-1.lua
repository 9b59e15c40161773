#!lua
--[[
  login-failure-1: counts one failed password login of a user (RFC 6749 §4.3.2), from one IP.

  KEYS[1]  <base>f:<login key hash>  hash: '*' = failures from every IP, '<ip>' = from that IP

  ARGV[1]  client IP
  ARGV[2]  counting window, ms (from the first failure)
  ARGV[3]  most IPs counted one by one (the others count in '*' only, so the key stays small)

  Output: {failures from every IP, failures from this IP, ms until the window ends}
]]
local total = redis.call('HINCRBY', KEYS[1], '*', 1)
local mine = 0
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) <= tonumber(ARGV[3]) then
  mine = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return {total, mine, left}
