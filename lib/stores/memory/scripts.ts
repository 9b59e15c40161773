import { indexKey, sha1 } from '../keys';
import type { Reply, ScriptName } from '../scripts';
import type { Keyspace } from './keyspace';

/**
 * The TS twins of the Lua scripts in `../redis/lua/`, statement for statement, on a
 * {@link Keyspace}. Each runs synchronously, so it is atomic on the event loop as a script is in
 * Redis. Read a twin next to its script: the headers there say what KEYS, ARGV and the replies are.
 * Change both together; the contract suite runs on both stores.
 */

type Args = readonly (string | number)[];
type Twin = (db: Keyspace, KEYS: readonly string[], ARGV: readonly string[]) => Reply;

const num = (value: string | undefined): number => Number(value ?? 0);

/** session.include.lua */
function session(db: Keyspace, base: string) {
  const pointee = (key: string) => db.get(key);

  function endSession(sid: string): number {
    const key = `${base}s:${sid}`;
    const [client, ah, rh, id, user] = db.hmget(key, 'c', 'ah', 'rh', 'id', 'u');
    if (client === undefined) return 0;
    db.del(key, `${base}a:${ah}`);
    if (rh !== '') db.del(`${base}r:${rh}`);
    const idKey = `${base}i:${id}`;
    if (db.get(idKey) === sid) db.del(idKey);
    db.zrem(`${base}x:${indexKey(client, user!)}`, sid);
    return 1;
  }

  function keepFor(key: string, ms: number): void {
    if (db.pttl(key) < ms) db.pexpire(key, ms);
  }

  function index(sid: string, client: string, username: string, expiresAt: number, now: number): void {
    const suffix = indexKey(client, username);
    const idx = `${base}x:${suffix}`;
    db.zadd(idx, expiresAt, sid);
    keepFor(idx, expiresAt - now);
    const clients = `${base}xc`;
    db.sadd(clients, suffix);
    keepFor(clients, expiresAt - now);
  }

  function liveSessions(idx: string, now: number): string[] {
    db.zremrangebyscore(idx, now);
    return db.zrange(idx);
  }

  const usableKey = (kid: string | undefined, kids: string) => kid !== undefined && kids.split(' ').includes(kid);

  const identity = (client: string, username: string, scope: string) =>
    sha1(`${Buffer.byteLength(client)}:${client}${Buffer.byteLength(username)}:${username}${scope}`);

  return { pointee, endSession, index, liveSessions, usableKey, identity };
}

const issue: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const A = (JSON.parse(ARGV[1]!) as unknown[]).map(String);
  const { pointee, endSession, index, liveSessions, usableKey } = session(db, base);
  const now = num(A[11]);
  const ip = A[18]!;

  if (ip !== '') {
    const [all, mine] = db.hmget(KEYS[5]!, '*', ip);
    if (num(mine) >= num(A[19]) || num(all) >= num(A[20])) return [-1, db.pttl(KEYS[5]!)];
  }

  const loggedIn = () => {
    if (ip === '') return;
    const mine = db.hget(KEYS[5]!, ip);
    if (mine !== undefined) {
      db.hdel(KEYS[5]!, ip);
      if (db.hincrby(KEYS[5]!, '*', -Number(mine)) <= 0) db.hdel(KEYS[5]!, '*');
      if (db.hlen(KEYS[5]!) === 0) db.del(KEYS[5]!);
    }
  };

  const current = pointee(KEYS[0]!);
  if (current !== undefined && A[14] === '1') {
    const key = `${base}s:${current}`;
    const [as, rs, k, exp, ct] = db.hmget(key, 'as', 'rs', 'k', 'exp', 'ct');
    if (as !== undefined && as !== '' && usableKey(k, A[10]!)) {
      const left = num(exp) - now;
      if (left > num(A[15])) {
        db.hset(key, { lu: now });
        loggedIn();
        return [1, current, as, rs!, k!, left, ct!];
      }
    }
    endSession(current);
  }

  const accessTtl = num(A[12]);
  const refreshTtl = num(A[13]);
  const life = Math.max(accessTtl, refreshTtl);
  const limit = num(A[16]);
  let ended = '';
  if (limit > 0) {
    const live = liveSessions(KEYS[1]!, now);
    if (live.length >= limit) {
      if (A[17] === 'refuse') return [-2];
      const byUse = live.map((sid) => [sid, num(db.hget(`${base}s:${sid}`, 'lu'))] as const);
      // table.sort is not stable: ties are broken by id here, and there only by chance; the
      // contract allows either (both are equally least recently used).
      byUse.sort((a, b) => a[1] - b[1]);
      for (let i = 0; i < live.length - limit + 1; i++) {
        endSession(byUse[i]![0]);
        ended = byUse[i]![0];
      }
    }
  }

  const sid = A[0]!;
  db.set(KEYS[3]!, sid, accessTtl);
  if (A[6] !== '') db.set(KEYS[4]!, sid, refreshTtl);
  db.hset(KEYS[2]!, {
    c: A[1]!,
    u: A[2]!,
    sc: A[3]!,
    dv: A[4]!,
    ah: A[5]!,
    rh: A[6]!,
    as: A[7]!,
    rs: A[8]!,
    k: A[9]!,
    iat: now,
    exp: now + accessTtl,
    rexp: now + refreshTtl,
    ct: now,
    lu: now,
    id: KEYS[0]!.slice(base.length + 2),
  });
  db.pexpire(KEYS[2]!, life);
  db.set(KEYS[0]!, sid, life);
  index(sid, A[1]!, A[2]!, now + life, now);
  loggedIn();
  return [0, sid, ended];
};

const refresh: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const A = (JSON.parse(ARGV[1]!) as unknown[]).map(String);
  const { pointee, endSession, index, usableKey, identity } = session(db, base);

  if (Date.now() > num(A[12])) return [-5];

  const now = num(A[8]);
  const presented = KEYS[0]!.slice(base.length + 2);

  let sid = pointee(KEYS[0]!);
  let retry = false;
  if (sid === undefined) {
    sid = pointee(KEYS[1]!);
    if (sid === undefined) return [-1];
    const [client, ph, pt] = db.hmget(`${base}s:${sid}`, 'c', 'ph', 'pt');
    if (client === undefined) return [-1];
    if (client !== A[0]) return [-1];
    if (ph !== presented || now - num(pt) >= num(A[11])) {
      endSession(sid);
      return [-2, sid];
    }
    retry = true;
  }

  const key = `${base}s:${sid}`;
  const s = db.hmget(key, 'c', 'u', 'sc', 'dv', 'ah', 'rh', 'id', 'ct', 'as', 'rs', 'k', 'exp');
  if (s[0] === undefined || s[0] !== A[0]) return [-1];
  const [client, username, granted, device, ah, rh, id0, ct, as, rs, k, exp] = s as string[];

  if (retry && as !== '' && usableKey(k, A[7]!) && num(exp) > now) {
    db.hset(key, { lu: now });
    return [1, sid, client!, username!, granted!, device!, num(exp) - now, ct!, as!, rs!, k!];
  }

  let scope = granted!;
  if (A[1] !== '') {
    const have = new Set(granted!.split(' ').filter(Boolean));
    const chosen = new Set<string>();
    for (const w of A[1]!.split(' ').filter(Boolean)) {
      if (!have.has(w)) return [-4];
      chosen.add(w);
    }
    if (device !== '') chosen.add(device!);
    // Lua's table.sort on strings: byte order, which is code unit order for ASCII scope tokens.
    scope = [...chosen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(' ');
  }

  const accessTtl = num(A[9]);
  const refreshTtl = num(A[10]);
  const life = Math.max(accessTtl, refreshTtl);

  db.del(`${base}a:${ah}`);
  const currentKey = `${base}r:${rh}`;
  const left = db.pttl(currentKey);
  db.del(currentKey);
  if (left > 0) db.set(`${base}u:${rh}`, sid, left);

  const id = identity(client!, username!, scope);
  if (id !== id0) {
    const oldKey = `${base}i:${id0}`;
    if (db.get(oldKey) === sid) db.del(oldKey);
    const other = pointee(`${base}i:${id}`);
    if (other !== undefined && other !== sid) endSession(other);
  }

  db.set(KEYS[2]!, sid, accessTtl);
  db.set(KEYS[3]!, sid, refreshTtl);
  db.hset(key, {
    sc: scope,
    ah: A[2]!,
    rh: A[3]!,
    as: A[4]!,
    rs: A[5]!,
    k: A[6]!,
    iat: now,
    exp: now + accessTtl,
    rexp: now + refreshTtl,
    lu: now,
    id,
  });
  if (!retry) db.hset(key, { ph: rh!, pt: now });
  db.pexpire(key, life);
  db.set(`${base}i:${id}`, sid, life);
  index(sid, client!, username!, now + life, now);
  return [0, sid, client!, username!, scope, device!, accessTtl, ct!];
};

const revoke: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { pointee, endSession } = session(db, base);
  for (const key of KEYS) {
    const sid = pointee(key);
    if (sid !== undefined) {
      const client = db.hget(`${base}s:${sid}`, 'c');
      if (client === undefined) return [0];
      if (client !== ARGV[1]) return [-1];
      endSession(sid);
      return [1, sid];
    }
  }
  return [0];
};

const lookup: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  for (const [i, key] of KEYS.entries()) {
    const sid = db.get(key);
    if (sid !== undefined) {
      const s = db.hmget(`${base}s:${sid}`, 'c', 'u', 'sc', 'dv', 'iat', 'exp', 'rexp');
      if (s[0] === undefined) return [0];
      return [i + 1, sid, ...(s as string[])];
    }
  }
  return [0];
};

const devices: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { pointee, endSession, liveSessions } = session(db, base);
  const now = num(ARGV[1]);
  const caller = pointee(KEYS[0]!);
  if (caller === undefined) return [0];
  const [client, user] = db.hmget(`${base}s:${caller}`, 'c', 'u');
  if (client === undefined) return [0];
  if (user === '') return [-3];

  const op = ARGV[2];
  if (op === 'end') {
    const [c, u] = db.hmget(KEYS[1]!, 'c', 'u');
    if (c !== client || u !== user) return [-4];
    endSession(KEYS[1]!.slice(base.length + 2));
    return [1];
  }

  const live = liveSessions(`${base}x:${indexKey(client, user!)}`, now);
  if (op === 'end-others') {
    let ended = 0;
    for (const sid of live) {
      if (sid !== caller) ended += endSession(sid);
    }
    return [1, ended];
  }

  const out: (string | number)[] = [1, caller, client, user!];
  for (const sid of live) {
    const [dv, sc, ct, lu, exp, rexp] = db.hmget(`${base}s:${sid}`, 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp');
    out.push(sid, dv!, sc!, ct!, lu!, Math.max(num(exp), num(rexp)));
  }
  return out;
};

const sessions: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { endSession, liveSessions } = session(db, base);
  const now = num(ARGV[1]);
  const clients = ARGV[3] !== '' ? [indexKey(ARGV[3]!, ARGV[2]!)] : db.smembers(KEYS[0]!);
  const out: (string | number)[] = [];
  let ended = 0;
  for (const clientKey of clients) {
    for (const sid of liveSessions(`${base}x:${clientKey}`, now)) {
      const s = db.hmget(`${base}s:${sid}`, 'u', 'c', 'dv', 'sc', 'ct', 'lu', 'exp', 'rexp');
      if (s[0] === ARGV[2]) {
        if (ARGV[4] === 'end') {
          ended += endSession(sid);
        } else {
          out.push(sid, ...(s.slice(1, 6) as string[]), Math.max(num(s[6]), num(s[7])));
        }
      }
    }
  }
  if (ARGV[4] === 'end') return [ended];
  return out;
};

const sessionEnd: Twin = (db, KEYS, ARGV) => {
  const base = ARGV[0]!;
  const { endSession } = session(db, base);
  if (db.hget(KEYS[0]!, 'u') !== ARGV[1]) return [0];
  return [endSession(KEYS[0]!.slice(base.length + 2))];
};

const loginFailure: Twin = (db, KEYS, ARGV) => {
  const total = db.hincrby(KEYS[0]!, '*', 1);
  let mine = 0;
  if (db.hexists(KEYS[0]!, ARGV[0]!) || db.hlen(KEYS[0]!) <= num(ARGV[2])) mine = db.hincrby(KEYS[0]!, ARGV[0]!, 1);
  let left = db.pttl(KEYS[0]!);
  if (left < 0) {
    db.pexpire(KEYS[0]!, num(ARGV[1]));
    left = num(ARGV[1]);
  }
  return [total, mine, left];
};

const loginFailuresClear: Twin = (db, KEYS) => [db.del(KEYS[0]!)];

const TWINS: Readonly<Record<ScriptName, Twin>> = {
  issue,
  refresh,
  revoke,
  lookup,
  devices,
  sessions,
  sessionEnd,
  loginFailure,
  loginFailuresClear,
};

/** Runs the twin of a script: the same KEYS and ARGV as the Lua script, the same reply. */
export function runTwin(db: Keyspace, name: ScriptName, keys: readonly string[], args: Args): Reply {
  return TWINS[name](db, keys, args.map(String));
}
