import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from '../../errors/oauth-error';
import { TokenCodec, type TokenSecret } from '../../tokens/token-codec';
import { ALL_TOKEN_TYPES, mintTokens, splitScopes, toTokenRecord } from '../grant-tokens';
import type {
  IssueRequest,
  RefreshRequest,
  RefreshResult,
  RevokeResult,
  TokenRecord,
  TokenSet,
  TokenStore,
  TokenTypes,
} from '../token-store';
import { scripts, type LuaScript } from './lua-scripts';
import { tokenKey, type KeyKind } from './redis-keys';

/** Options of {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /**
   * An ioredis `Redis` (single node or Sentinel) or `Cluster`. For quick 503s during an outage,
   * create it with `enableOfflineQueue: false` and a small `maxRetriesPerRequest`; the store
   * bounds every call by `operationTimeout` in any case.
   */
  readonly redis: Redis | Cluster;
  /** Server secret(s) for hashing and encrypting tokens, newest first; ≥ 32 characters each. */
  readonly secret: TokenSecret;
  /**
   * Prefix of every key this store writes.
   * @default "oauth:"
   */
  readonly keyPrefix?: string;
  /**
   * Milliseconds after which a Redis call counts as failed (`StoreUnavailableError`).
   * @default 1000
   */
  readonly operationTimeout?: number;
}

type Reply = (string | number)[];
type ScriptRunner = (...args: (string | number)[]) => Promise<Reply>;

/** Redis errors that mean "not now" rather than "bug": answered with 503. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/;

/**
 * {@link TokenStore} on Redis (single node, Sentinel or Cluster). Each operation is one Lua
 * script, so one round trip; all keys of a call share one hash tag.
 *
 * @example
 * import Redis from 'ioredis';
 * const store = new RedisTokenStore({
 *   redis: new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
 *   secret: process.env.TOKEN_SECRET!,
 * });
 */
export class RedisTokenStore implements TokenStore {
  readonly keyPrefix: string;
  private readonly redis: Redis | Cluster;
  private readonly codec: TokenCodec;
  private readonly operationTimeout: number;

  constructor(options: RedisTokenStoreOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('options must be an object');
    const redis = options.redis as unknown;
    if (!redis || typeof (redis as { defineCommand?: unknown }).defineCommand !== 'function') {
      throw new TypeError('options.redis must be an ioredis Redis or Cluster instance');
    }
    const keyPrefix = options.keyPrefix ?? 'oauth:';
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
      throw new TypeError('options.keyPrefix must be a string without "{" or "}"');
    }
    const operationTimeout = options.operationTimeout ?? 1000;
    if (!Number.isInteger(operationTimeout) || operationTimeout <= 0) {
      throw new TypeError('options.operationTimeout must be a positive integer (milliseconds)');
    }
    this.redis = options.redis;
    this.codec = new TokenCodec(options.secret, 'options.secret');
    this.keyPrefix = keyPrefix;
    this.operationTimeout = operationTimeout;
    for (const definition of Object.values(scripts)) {
      this.redis.defineCommand(definition.command, {
        lua: definition.lua,
        ...(definition.numberOfKeys === undefined ? {} : { numberOfKeys: definition.numberOfKeys }),
      });
    }
  }

  async issue(request: IssueRequest): Promise<TokenSet> {
    const tag = this.codec.slotTag(request.clientId, request.subject);
    const fresh = mintTokens(this.codec, tag, { refresh: request.refreshTokenTtl !== undefined, seal: request.reuse !== false });
    const reply = await this.run(scripts.issue, [
      tokenKey(this.keyPrefix, tag, 'a', fresh.accessHash),
      fresh.accessHash,
      fresh.refreshHash,
      fresh.grantId,
      request.clientId,
      request.subject,
      request.username ?? '',
      request.scopes.join(' '),
      request.deviceScopes.join(' '),
      fresh.sealedAccess,
      fresh.sealedRefresh,
      Date.now(),
      request.accessTokenTtl * 1000,
      (request.refreshTokenTtl ?? 0) * 1000,
      request.reuse === false ? '0' : '1',
      request.reuse === false ? 0 : request.reuse.minRemaining * 1000,
    ]);
    const [reused, grantId, sealedAccess, sealedRefresh, msLeft] = reply as [number, string, string, string, number];
    const claims = {
      grantId,
      clientId: request.clientId,
      subject: request.subject,
      username: request.username,
      scopes: [...request.scopes],
      deviceScopes: [...request.deviceScopes],
      expiresIn: Math.floor(Number(msLeft) / 1000),
    };
    if (Number(reused) === 1) {
      const accessToken = this.codec.decrypt(sealedAccess);
      if (accessToken === undefined) throw new Error('stored token could not be decrypted');
      const refreshToken = sealedRefresh === '' ? undefined : this.codec.decrypt(sealedRefresh);
      return { ...claims, accessToken, refreshToken, reused: true };
    }
    return { ...claims, accessToken: fresh.accessToken, refreshToken: fresh.refreshToken, reused: false };
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    const tag = this.codec.tagOf(request.refreshToken);
    if (tag === undefined) return { status: 'invalid' };
    const keys = this.candidateKeys(request.refreshToken, tag, ['refresh_token']);
    const fresh = mintTokens(this.codec, tag, { refresh: true, seal: true });
    const reply = await this.run(scripts.refresh, [
      keys.length,
      ...keys,
      request.clientId,
      request.scopes ? request.scopes.join(' ') : '',
      fresh.accessHash,
      fresh.refreshHash,
      fresh.sealedAccess,
      fresh.sealedRefresh,
      Date.now(),
      request.accessTokenTtl * 1000,
      request.refreshTokenTtl * 1000,
    ]);
    switch (Number(reply[0])) {
      case 0: {
        const [, grantId, clientId, subject, username, scope, device, msLeft] = reply as string[];
        return {
          status: 'ok',
          tokens: {
            grantId: grantId!,
            clientId: clientId!,
            subject: subject!,
            username: username === '' ? undefined : username,
            scopes: splitScopes(scope!),
            deviceScopes: splitScopes(device!),
            accessToken: fresh.accessToken,
            refreshToken: fresh.refreshToken,
            expiresIn: Math.floor(Number(msLeft) / 1000),
            reused: false,
          },
        };
      }
      case -2:
        return { status: 'replayed' };
      case -4:
        return { status: 'invalid_scope' };
      default:
        return { status: 'invalid' };
    }
  }

  async revoke(token: string, clientId: string, types: TokenTypes = ALL_TOKEN_TYPES): Promise<RevokeResult> {
    const tag = this.codec.tagOf(token);
    if (tag === undefined) return 'unknown';
    const keys = this.candidateKeys(token, tag, types);
    const [outcome] = await this.run(scripts.revoke, [keys.length, ...keys, clientId]);
    switch (Number(outcome)) {
      case 1:
        return 'revoked';
      case -1:
        return 'foreign';
      default:
        return 'unknown';
    }
  }

  async lookup(token: string, types: TokenTypes = ['access_token']): Promise<TokenRecord | null> {
    const tag = this.codec.tagOf(token);
    if (tag === undefined) return null;
    const keys = this.candidateKeys(token, tag, types);
    const reply = await this.run(scripts.lookup, [keys.length, ...keys]);
    const found = Number(reply[0]);
    if (found === 0) return null;
    const [, grantId, clientId, subject, username, scope, device, iat, exp, rexp] = reply.map(String);
    const secretsPerType = keys.length / types.length;
    return toTokenRecord(types[Math.floor((found - 1) / secretsPerType)]!, {
      grantId: grantId!,
      clientId: clientId!,
      subject: subject!,
      username: username!,
      scope: scope!,
      device: device!,
      issuedAtMs: Number(iat),
      accessExpiresAtMs: Number(exp),
      refreshExpiresAtMs: Number(rexp),
    });
  }

  async ping(): Promise<void> {
    await this.withTimeout(this.redis.ping());
  }

  /** One key per token type and server secret: the places the token may be stored under. */
  private candidateKeys(token: string, tag: string, types: TokenTypes): string[] {
    const hashes = this.codec.candidateHashes(token);
    return types.flatMap((type) => {
      const kind: KeyKind = type === 'access_token' ? 'a' : 'r';
      return hashes.map((hash) => tokenKey(this.keyPrefix, tag, kind, hash));
    });
  }

  private run(script: LuaScript, args: (string | number)[]): Promise<Reply> {
    const command = (this.redis as unknown as Record<string, ScriptRunner>)[script.command]!;
    return this.withTimeout(command.apply(this.redis, args));
  }

  /** Bounds a Redis call by `operationTimeout` and maps outages to `StoreUnavailableError`. */
  private async withTimeout<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`Redis did not answer within ${this.operationTimeout} ms`)),
        this.operationTimeout,
      );
    });
    try {
      return await Promise.race([call, timeout]);
    } catch (error) {
      throw toStoreError(error);
    } finally {
      clearTimeout(timer);
      // A call that lost the race may still fail later; that is already answered.
      call.catch(() => undefined);
    }
  }
}

function toStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const { name, message } = error as { name?: string; message?: string };
  // A ReplyError is Redis answering; only some answers mean the store is unavailable.
  if (name === 'ReplyError' && !TRANSIENT_REPLY.test(message ?? '')) return error;
  return new StoreUnavailableError(`Redis is unavailable: ${message ?? String(error)}`, { cause: error });
}
