/**
 * Redis key names: the one place they are built.
 *
 * Every key of one (client, subject) pair shares the hash tag `{<slot tag>}`, so a Lua script
 * can touch all of them in one Redis Cluster slot:
 *
 *   <prefix>{<tag>}:a:<hash>   access token hash  -> grant id          (TTL: access token)
 *   <prefix>{<tag>}:r:<hash>   refresh token hash -> grant id          (TTL: refresh token)
 *   <prefix>{<tag>}:u:<hash>   rotated refresh    -> grant id          (TTL: what it had left)
 *   <prefix>{<tag>}:g:<id>     grant hash (client, subject, scopes, current token hashes)
 *   <prefix>{<tag>}:i:<sha1>   identity (client, username, scopes) -> grant id
 *
 * Scripts receive one of these keys in KEYS and derive the others from its `<prefix>{<tag>}:`
 * base, which is why the grant's own keys never need a second round trip.
 */
export type KeyKind = 'a' | 'r';

export function tokenKey(prefix: string, tag: string, kind: KeyKind, hash: string): string {
  return `${prefix}{${tag}}:${kind}:${hash}`;
}
