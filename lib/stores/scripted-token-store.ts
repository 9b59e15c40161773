import { randomBase64url } from '../crypto/fast-crypto';
import { equalFixedLength } from '../crypto/safe-compare';
import { seedHash, TokenCodec, userTag, type TokenSecret } from '../tokens/token-codec';
import { identitySessionId, key, KeyLayout, randomSessionId } from './keys';
import { DevicesStatus, IssueStatus, RefreshStatus, RevokeStatus, type Reply, type ScriptRunner } from './scripts';
import {
  reuseThreshold,
  type CallerProblem,
  type FailureCounter,
  type IssueRequest,
  type IssueResult,
  type LoginFailures,
  type RefreshRequest,
  type RefreshResult,
  type RevokeResult,
  type SessionClaims,
  type SessionInfo,
  type TokenRecord,
  type TokenStore,
  type TokenTypes,
} from './token-store';

export const ALL_TOKEN_TYPES: TokenTypes = ['access_token', 'refresh_token'];

/**
 * The arguments of a script after its base, as one JSON array (`cjson.decode` in Lua): ioredis
 * spends far less on one argument than on twenty. Strings are made well-formed first, as UTF-8
 * encoding of separate arguments would have made them.
 */
function packed(args: readonly (string | number)[]): string {
  return JSON.stringify(args.map((arg) => (typeof arg === 'string' ? arg.toWellFormed() : arg)));
}

/** Most client IPs counted one by one per user (the rest count only towards the user's total). */
const MAX_IPS_PER_USER = 1000;

const splitScopes = (scope: string): string[] => (scope === '' ? [] : scope.split(' '));
const seconds = (ms: number | string): number => Math.floor(Number(ms) / 1000);

/** What a new pair of tokens is made of: two token seeds (one `randomBytes`) and their hashes. */
function freshSecrets(codec: TokenCodec): {
  accessSeed: string;
  refreshSeed: string;
  accessHash: string;
  refreshHash: string;
} {
  const [accessSeed, refreshSeed] = codec.seeds(2) as [string, string];
  return { accessSeed, refreshSeed, accessHash: seedHash(accessSeed), refreshHash: seedHash(refreshSeed) };
}

/** The keys of one (client, user, scopes), memoised: the same devices ask again and again. */
interface IdentityKeys {
  readonly tag: string;
  readonly base: string;
  /** The identity's session id while reuse is on (see `identitySessionId`), and its key. */
  readonly sid: string;
  readonly session: string;
  readonly index: string;
  readonly loginFailures: string;
}
const IDENTITY_CACHE_SIZE = 10_000;

/**
 * Everything a token store does outside its atomic steps, written once for both stores: tokens
 * made and checked (`TokenCodec`), keys named (`keys.ts`), each script's reply decoded. The
 * backend only runs the scripts: Lua in Redis, their TS twins in memory.
 */
export abstract class ScriptedTokenStore implements TokenStore {
  protected readonly codec: TokenCodec;
  protected readonly layout: KeyLayout;

  protected constructor(secret: TokenSecret, keyPrefix: string) {
    this.codec = new TokenCodec(secret, 'options.secret');
    this.layout = new KeyLayout(keyPrefix);
  }

  /** The backend's script runner (bounded in time for Redis). */
  protected abstract readonly scripts: ScriptRunner;

  /** Milliseconds after which the caller has given up on a call (a refresh then changes nothing). */
  protected abstract readonly deadline: number;

  abstract ping(): Promise<void>;

  abstract failureCounter(name: string, limit: number, window: number): FailureCounter;

  async issue(request: IssueRequest): Promise<IssueResult> {
    if (request.deviceScopes.length > 1) throw new TypeError('a session has at most one device scope');
    const username = request.username ?? '';
    const scope = request.scopes.join(' ');
    const login = request.login;
    const { tag, base, ...keys } = this.identityKeys(request.clientId, request.subject, username, scope, login?.key ?? '');
    const refresh = request.refreshTokenTtl !== undefined;
    const { accessSeed, refreshSeed, accessHash, refreshHash } = freshSecrets(this.codec);
    const keep = request.reuse !== false;
    const limit = request.deviceLimit;
    // Reuse on: the identity's own id, so the script finds its live session without an identity key.
    const sid = keep ? keys.sid : randomSessionId(request.clientId, username);
    const reply = await this.scripts.run(
      'issue',
      [
        keep ? keys.session : key.session(base, sid),
        keys.index,
        key.access(base, accessHash),
        key.refresh(base, refresh ? refreshHash : ''),
        keys.loginFailures,
      ],
      [
        base,
        packed([
          sid,
          request.clientId,
          username,
          scope,
          request.deviceScopes[0] ?? '',
          accessHash,
          refresh ? refreshHash : '',
          keep ? accessSeed : '',
          keep && refresh ? refreshSeed : '',
          this.codec.keyId,
          this.codec.keyIds,
          Date.now(),
          request.accessTokenTtl * 1000,
          (request.refreshTokenTtl ?? 0) * 1000,
          keep ? '1' : '0',
          request.reuse === false ? 0 : reuseThreshold(request.reuse.minRemaining, request.accessTokenTtl),
          limit?.max ?? 0,
          limit?.onLimit ?? 'end-oldest',
          login?.ip ?? '',
          login?.maxPerIp ?? 0,
          login?.maxPerUser ?? 0,
        ]),
      ],
    );
    const claims = {
      clientId: request.clientId,
      subject: request.subject,
      username: request.username,
      scopes: [...request.scopes],
      deviceScopes: [...request.deviceScopes],
    };
    switch (reply[0]) {
      case IssueStatus.REUSED: {
        const [, sessionId, storedAccess, storedRefresh, keyId, msLeft] = reply as [number, string, string, string, string, number];
        const accessToken = this.codec.token(tag, storedAccess, keyId, sessionId);
        // The script reuses only sessions whose key this codec holds.
        if (accessToken === undefined) throw new Error('the store reused a session sealed under an unknown secret');
        const refreshToken = storedRefresh === '' ? undefined : this.codec.token(tag, storedRefresh, keyId);
        return { status: 'reused', tokens: { ...claims, sessionId, accessToken, refreshToken, expiresIn: seconds(msLeft), reused: true } };
      }
      case IssueStatus.ISSUED: {
        const ended = String(reply[2]);
        return {
          status: 'issued',
          endedSessionId: ended === '' ? undefined : ended,
          tokens: {
            ...claims,
            sessionId: sid,
            accessToken: this.codec.token(tag, accessSeed, this.codec.keyId, sid)!,
            refreshToken: refresh ? this.codec.token(tag, refreshSeed) : undefined,
            expiresIn: request.accessTokenTtl,
            reused: false,
          },
        };
      }
      case IssueStatus.LOCKED:
        return { status: 'locked', retryAfter: Math.max(1, Math.ceil(Number(reply[1]) / 1000)) };
      case IssueStatus.DEVICE_LIMIT:
        return { status: 'device_limit' };
      default:
        throw unexpected('issue', reply);
    }
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    const parsed = this.codec.parse(request.refreshToken);
    if (!parsed) return { status: 'invalid' };
    const base = this.layout.base(parsed.tag);
    const keep = request.reuse !== false;
    const { accessSeed, refreshSeed, accessHash, refreshHash } = freshSecrets(this.codec);
    const reply = await this.scripts.run(
      'refresh',
      [
        key.refresh(base, parsed.hash),
        key.rotated(base, parsed.hash),
        key.access(base, accessHash),
        key.refresh(base, refreshHash),
        key.index(base),
      ],
      [
        base,
        packed([
          request.clientId,
          request.scopes ? request.scopes.join(' ') : '',
          accessHash,
          refreshHash,
          keep ? accessSeed : '',
          keep ? refreshSeed : '',
          this.codec.keyId,
          this.codec.keyIds,
          Date.now(),
          request.accessTokenTtl * 1000,
          request.refreshTokenTtl * 1000,
          (request.gracePeriod ?? 0) * 1000,
          Date.now() + this.deadline,
          // The generation of a session rotated for the first time (see keys.ts).
          randomBase64url(3),
        ]),
      ],
    );
    const status = reply[0];
    if (status === RefreshStatus.ROTATED || status === RefreshStatus.CURRENT) {
      const [, sessionId = '', clientId = '', username = '', scope = '', device = '', msLeft = '0'] = reply.map(String);
      const retried = status === RefreshStatus.CURRENT;
      const keyId = retried ? String(reply[10]) : this.codec.keyId;
      const access = retried ? String(reply[8]) : accessSeed;
      const refreshed = retried ? String(reply[9]) : refreshSeed;
      return {
        status: 'ok',
        retried,
        tokens: {
          ...claimsOf(sessionId, clientId, username, scope, device),
          accessToken: this.codec.token(parsed.tag, access, keyId, sessionId)!,
          refreshToken: this.codec.token(parsed.tag, refreshed, keyId)!,
          expiresIn: seconds(msLeft),
          reused: retried,
        },
      };
    }
    switch (status) {
      case RefreshStatus.INVALID:
        return { status: 'invalid' };
      case RefreshStatus.REPLAYED:
        return { status: 'replayed', sessionId: String(reply[1]) };
      case RefreshStatus.INVALID_SCOPE:
        return { status: 'invalid_scope' };
      case RefreshStatus.TOO_LATE:
        throw this.tooLate();
      default:
        throw unexpected('refresh', reply);
    }
  }

  async revoke(token: string, clientId: string, types: TokenTypes = ALL_TOKEN_TYPES): Promise<RevokeResult> {
    const parsed = this.codec.parse(token);
    if (!parsed) return 'unknown';
    const base = this.layout.base(parsed.tag);
    const keys = pointerKeys(base, parsed.hash, types);
    // The script takes two pointer keys: a single type is tried twice.
    if (keys.length === 1) keys.push(keys[0]!);
    const [outcome] = await this.scripts.run('revoke', [...keys, key.index(base)], [base, clientId]);
    switch (outcome) {
      case RevokeStatus.REVOKED:
        return 'revoked';
      case RevokeStatus.FOREIGN:
        return 'foreign';
      case RevokeStatus.UNKNOWN:
        return 'unknown';
      default:
        throw unexpected('revoke', [outcome ?? '']);
    }
  }

  async lookup(token: string, types: TokenTypes = ['access_token']): Promise<TokenRecord | null> {
    const parsed = this.codec.parse(token);
    if (!parsed) return null;
    const base = this.layout.base(parsed.tag);
    if (parsed.sessionId !== undefined) {
      // An access token naming its session: one HMGET, no script. Live while the session holds
      // this token's hash (a refresh, a new session under the same id and every ending change or
      // drop it) and it has not expired.
      if (!types.includes('access_token')) return null;
      const [hash, clientId, username, scope, device, iat, exp] = await this.scripts.fields(
        key.session(base, parsed.sessionId),
        ACCESS_FIELDS,
      );
      if (hash == null || !equalFixedLength(hash, parsed.hash) || !(Number(exp) > Date.now())) return null;
      return {
        tokenType: 'access_token',
        ...claimsOf(parsed.sessionId, clientId!, username!, scope!, device!),
        issuedAt: seconds(iat!),
        expiresAt: seconds(exp!),
      };
    }
    const reply = await this.scripts.run('lookup', pointerKeys(base, parsed.hash, types), [base]);
    const found = Number(reply[0]);
    if (found === 0) return null;
    const [, sessionId = '', clientId = '', username = '', scope = '', device = '', iat = '0', exp = '0', rexp = '0'] = reply.map(String);
    const tokenType = types[found - 1]!;
    return {
      tokenType,
      ...claimsOf(sessionId, clientId, username, scope, device),
      issuedAt: seconds(iat),
      expiresAt: seconds(tokenType === 'access_token' ? exp : rexp),
    };
  }

  async recordLoginFailure(loginKey: string, ip: string, window: number): Promise<LoginFailures> {
    const base = this.layout.base(userTag(loginKey));
    const [total, fromIp, msLeft] = await this.scripts.run(
      'loginFailure',
      [key.loginFailures(base, loginKey)],
      [ip, window * 1000, MAX_IPS_PER_USER],
    );
    return { total: Number(total), fromIp: Number(fromIp), retryAfter: Math.max(1, Math.ceil(Number(msLeft) / 1000)) };
  }

  async clearLoginFailures(loginKey: string): Promise<void> {
    const base = this.layout.base(userTag(loginKey));
    await this.scripts.run('loginFailuresClear', [key.loginFailures(base, loginKey)], []);
  }

  async listDevices(accessToken: string): Promise<{ current: string; sessions: SessionInfo[] } | CallerProblem> {
    const reply = await this.devices(accessToken, 'list');
    if (typeof reply === 'string') return reply;
    const [, current, clientId, username] = reply.map(String);
    const rows: string[][] = [];
    for (let i = 4; i + 5 < reply.length; i += 6) {
      const [id, device, scope, created, lastUsed, expires] = reply.slice(i, i + 6).map(String);
      rows.push([id!, clientId!, device!, scope!, created!, lastUsed!, expires!]);
    }
    return { current: current!, sessions: sessionsByLastUse(rows, username!) };
  }

  async endDevice(accessToken: string, sessionId: string): Promise<'ended' | 'not_found' | CallerProblem> {
    const reply = await this.devices(accessToken, 'end', sessionId);
    if (typeof reply === 'string') return reply;
    return reply[0] === DevicesStatus.DONE ? 'ended' : 'not_found';
  }

  async endOtherDevices(accessToken: string): Promise<{ ended: number } | CallerProblem> {
    const reply = await this.devices(accessToken, 'end-others');
    if (typeof reply === 'string') return reply;
    return { ended: Number(reply[1]) };
  }

  async listSessions(username: string, clientId?: string): Promise<SessionInfo[]> {
    const base = this.layout.base(userTag(username));
    const reply = await this.scripts.run('sessions', [key.index(base)], [base, Date.now(), username, clientId ?? '', 'list']);
    const rows: string[][] = [];
    for (let i = 0; i + 6 < reply.length; i += 7) rows.push(reply.slice(i, i + 7).map(String));
    return sessionsByLastUse(rows, username);
  }

  async endSession(username: string, sessionId: string): Promise<boolean> {
    if (!isSessionId(sessionId)) return false;
    const base = this.layout.base(userTag(username));
    const [ended] = await this.scripts.run('sessionEnd', [key.session(base, sessionId), key.index(base)], [base, username]);
    return ended === 1;
  }

  async endUserSessions(username: string): Promise<number> {
    const base = this.layout.base(userTag(username));
    const [ended] = await this.scripts.run('sessions', [key.index(base)], [base, Date.now(), username, '', 'end']);
    return Number(ended);
  }

  private readonly identities = new Map<string, IdentityKeys>();

  /** The keys of one identity (and its login key), from the cache or made and cached. */
  private identityKeys(clientId: string, subject: string, username: string, scope: string, loginKey: string): IdentityKeys {
    // JSON: an injective cache key, whatever characters the parts contain.
    const cacheKey = JSON.stringify([clientId, subject, username, scope, loginKey]);
    const cached = this.identities.get(cacheKey);
    if (cached) return cached;
    const tag = userTag(subject);
    const base = this.layout.base(tag);
    const sid = identitySessionId(clientId, username, scope);
    const keys: IdentityKeys = {
      tag,
      base,
      sid,
      session: key.session(base, sid),
      index: key.index(base),
      loginFailures: key.loginFailures(base, loginKey),
    };
    // Bounded: once full, the oldest entry gives way (Map keeps insertion order).
    if (this.identities.size >= IDENTITY_CACHE_SIZE) this.identities.delete(this.identities.keys().next().value!);
    this.identities.set(cacheKey, keys);
    return keys;
  }

  /** Thrown when Redis ran a refresh after the caller had answered 503: nothing was changed. */
  protected abstract tooLate(): Error;

  private async devices(accessToken: string, op: 'list' | 'end' | 'end-others', sessionId = ''): Promise<Reply | CallerProblem> {
    const parsed = this.codec.parse(accessToken);
    if (!parsed) return 'invalid_token';
    const base = this.layout.base(parsed.tag);
    // A malformed id names no session; the caller's token is still checked first.
    const target = op === 'end' && isSessionId(sessionId) ? sessionId : '';
    const reply = await this.scripts.run(
      'devices',
      [key.access(base, parsed.hash), key.session(base, target), key.index(base)],
      [base, Date.now(), op],
    );
    switch (reply[0]) {
      case DevicesStatus.INVALID_TOKEN:
        return 'invalid_token';
      case DevicesStatus.NO_USER:
        return 'no_user';
      case DevicesStatus.DONE:
      case DevicesStatus.NOT_FOUND:
        return reply;
      default:
        throw unexpected('devices', reply);
    }
  }
}

/** The fields of a session that validating its access token reads (see keys.ts). */
const ACCESS_FIELDS = ['ah', 'c', 'u', 'sc', 'dv', 'iat', 'exp'] as const;

const SESSION_ID = /^[A-Za-z0-9_-]{16}$/;
function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

/** A session's claims from the fields a script answers (a username of '' is client_credentials). */
function claimsOf(sessionId: string, clientId: string, username: string, scope: string, device: string): SessionClaims {
  return {
    sessionId,
    clientId,
    subject: username === '' ? clientId : username,
    username: username === '' ? undefined : username,
    scopes: splitScopes(scope),
    deviceScopes: splitScopes(device),
  };
}

/** The pointer keys of a token, one per type asked for, in that order. */
function pointerKeys(base: string, hash: string, types: TokenTypes): string[] {
  return types.map((type) => (type === 'access_token' ? key.access(base, hash) : key.refresh(base, hash)));
}

/** Rows of `id, client, device, scopes, created ms, last used ms, expires ms`, most recently used first. */
function sessionsByLastUse(rows: string[][], username: string): SessionInfo[] {
  return rows
    .sort((a, b) => Number(b[5]) - Number(a[5]) || (a[0]! < b[0]! ? -1 : 1))
    .map(([id, clientId, device, scope, created, lastUsed, expires]) => ({
      id: id!,
      clientId: clientId!,
      username,
      device: device === '' ? null : device!,
      scopes: splitScopes(scope!),
      createdAt: seconds(created!),
      lastUsedAt: seconds(lastUsed!),
      expiresAt: seconds(expires!),
    }));
}

function unexpected(script: string, reply: Reply): Error {
  return new Error(`the ${script} script answered an unknown status ${String(reply[0])}`);
}
