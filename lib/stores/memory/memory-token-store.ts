import { TokenCodec, type TokenSecret } from '../../tokens/token-codec';
import { ALL_TOKEN_TYPES, mintTokens, toTokenRecord } from '../grant-tokens';
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

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /** Server secret(s) for hashing and encrypting tokens, newest first; ≥ 32 characters each. */
  readonly secret: TokenSecret;
  /**
   * Milliseconds between sweeps of expired records (the sweep timer does not keep the process alive).
   * @default 60000
   */
  readonly sweepInterval?: number;
  /**
   * The records to work on. Two stores given the same `MemoryTokenData` see the same tokens,
   * as two processes on one Redis do (for example while rotating secrets).
   * @default a new, private `MemoryTokenData`
   */
  readonly data?: MemoryTokenData;
}

interface Grant {
  readonly grantId: string;
  readonly clientId: string;
  readonly subject: string;
  readonly username: string;
  scope: string;
  readonly device: string;
  accessHash: string;
  refreshHash: string;
  sealedAccess: string;
  sealedRefresh: string;
  issuedAtMs: number;
  accessExpiresAtMs: number;
  refreshExpiresAtMs: number;
  identity: string;
}

interface Pointer {
  readonly grantId: string;
  readonly expiresAtMs: number;
}

/** The records behind one or more {@link MemoryTokenStore}s. */
export class MemoryTokenData {
  readonly grants = new Map<string, Grant>();
  /** `a:<hash>`, `r:<hash>`, `u:<hash>` (rotated refresh) and `i:<identity>`, like the Redis keys. */
  readonly pointers = new Map<string, Pointer>();
  private sweeper: NodeJS.Timeout | undefined;

  /** Drops expired records every `interval` ms (the timer does not keep the process alive). */
  startSweeping(interval: number): void {
    this.sweeper ??= setInterval(() => this.sweep(), interval).unref();
  }

  /** Stops the sweep timer. */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, pointer] of this.pointers) if (pointer.expiresAtMs <= now) this.pointers.delete(key);
    for (const [id, grant] of this.grants) {
      if (Math.max(grant.accessExpiresAtMs, grant.refreshExpiresAtMs) <= now) this.grants.delete(id);
    }
  }
}

/**
 * {@link TokenStore} in process memory: the embedded default for trying the plugin out and for
 * tests without Redis. Same semantics as `RedisTokenStore` (it passes the same contract suite);
 * state is lost on restart and not shared between processes.
 *
 * @example
 * const store = new MemoryTokenStore({ secret: process.env.TOKEN_SECRET! });
 */
export class MemoryTokenStore implements TokenStore {
  private readonly codec: TokenCodec;
  private readonly data: MemoryTokenData;

  constructor(options: MemoryTokenStoreOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('options must be an object');
    const sweepInterval = options.sweepInterval ?? 60_000;
    if (!Number.isInteger(sweepInterval) || sweepInterval <= 0) {
      throw new TypeError('options.sweepInterval must be a positive integer (milliseconds)');
    }
    this.codec = new TokenCodec(options.secret, 'options.secret');
    if (options.data !== undefined && !(options.data instanceof MemoryTokenData)) {
      throw new TypeError('options.data must be a MemoryTokenData');
    }
    this.data = options.data ?? new MemoryTokenData();
    this.data.startSweeping(sweepInterval);
  }

  private get grants(): Map<string, Grant> {
    return this.data.grants;
  }

  private get pointers(): Map<string, Pointer> {
    return this.data.pointers;
  }

  // Every method below is synchronous inside its promise: no await between read and write,
  // so each is atomic on the event loop, as a Lua script is in Redis.

  async issue(request: IssueRequest): Promise<TokenSet> {
    const now = Date.now();
    const identity = `${request.clientId}\n${request.username ?? ''}\n${request.scopes.join(' ')}`;
    const claims = {
      clientId: request.clientId,
      subject: request.subject,
      username: request.username,
      scopes: [...request.scopes],
      deviceScopes: [...request.deviceScopes],
    };
    const existing = this.live(`i:${identity}`, now);
    if (existing && request.reuse !== false) {
      const grant = this.grants.get(existing);
      const left = grant ? grant.accessExpiresAtMs - now : 0;
      const reusable = grant && grant.sealedAccess !== '' && this.live(`a:${grant.accessHash}`, now) && left > request.reuse.minRemaining * 1000;
      // A token sealed under a secret this store no longer has cannot be handed out (nor looked up).
      const accessToken = reusable ? this.codec.decrypt(grant.sealedAccess) : undefined;
      if (grant && accessToken !== undefined) {
        const refreshToken = grant.sealedRefresh === '' ? undefined : this.codec.decrypt(grant.sealedRefresh);
        return { ...claims, grantId: grant.grantId, accessToken, refreshToken, expiresIn: Math.floor(left / 1000), reused: true };
      }
      // Too close to expiry, or not reusable: this device's grant is replaced, not duplicated.
      this.endGrant(existing);
    }
    const tag = this.codec.slotTag(request.clientId, request.subject);
    const fresh = mintTokens(this.codec, tag, { refresh: request.refreshTokenTtl !== undefined, seal: request.reuse !== false });
    const accessTtl = request.accessTokenTtl * 1000;
    const refreshTtl = (request.refreshTokenTtl ?? 0) * 1000;
    const grant: Grant = {
      grantId: fresh.grantId,
      clientId: request.clientId,
      subject: request.subject,
      username: request.username ?? '',
      scope: request.scopes.join(' '),
      device: request.deviceScopes.join(' '),
      accessHash: fresh.accessHash,
      refreshHash: fresh.refreshHash,
      sealedAccess: fresh.sealedAccess,
      sealedRefresh: fresh.sealedRefresh,
      issuedAtMs: now,
      accessExpiresAtMs: now + accessTtl,
      refreshExpiresAtMs: now + refreshTtl,
      identity,
    };
    this.save(grant, now);
    return {
      ...claims,
      grantId: grant.grantId,
      accessToken: fresh.accessToken,
      refreshToken: fresh.refreshToken,
      expiresIn: request.accessTokenTtl,
      reused: false,
    };
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    const now = Date.now();
    const hashes = this.codec.tagOf(request.refreshToken) ? this.codec.candidateHashes(request.refreshToken) : [];
    const hash = hashes.find((candidate) => this.live(`r:${candidate}`, now));
    if (hash === undefined) {
      const victim = hashes.map((candidate) => this.live(`u:${candidate}`, now)).find(Boolean);
      if (victim) {
        this.endGrant(victim);
        return { status: 'replayed' };
      }
      return { status: 'invalid' };
    }
    const grant = this.grants.get(this.live(`r:${hash}`, now)!);
    if (!grant || grant.clientId !== request.clientId) return { status: 'invalid' };

    let scope = grant.scope;
    if (request.scopes) {
      const granted = new Set(grant.scope.split(' '));
      if (!request.scopes.every((s) => granted.has(s))) return { status: 'invalid_scope' };
      // The device scopes are the grant's identity, not a permission: they always stay.
      const chosen = new Set([...request.scopes, ...(grant.device === '' ? [] : grant.device.split(' '))]);
      scope = [...chosen].sort().join(' ');
    }

    const oldRefresh = this.pointers.get(`r:${hash}`)!;
    this.pointers.delete(`r:${hash}`);
    this.pointers.delete(`a:${grant.accessHash}`);
    this.pointers.set(`u:${hash}`, { grantId: grant.grantId, expiresAtMs: oldRefresh.expiresAtMs });

    const identity = `${grant.clientId}\n${grant.username}\n${scope}`;
    if (identity !== grant.identity) {
      if (this.live(`i:${grant.identity}`, now) === grant.grantId) this.pointers.delete(`i:${grant.identity}`);
      const other = this.live(`i:${identity}`, now);
      if (other && other !== grant.grantId) this.endGrant(other);
    }
    const fresh = mintTokens(this.codec, this.codec.tagOf(request.refreshToken)!, { refresh: true, seal: true });
    Object.assign(grant, {
      scope,
      identity,
      accessHash: fresh.accessHash,
      refreshHash: fresh.refreshHash,
      sealedAccess: fresh.sealedAccess,
      sealedRefresh: fresh.sealedRefresh,
      issuedAtMs: now,
      accessExpiresAtMs: now + request.accessTokenTtl * 1000,
      refreshExpiresAtMs: now + request.refreshTokenTtl * 1000,
    });
    this.save(grant, now);
    return {
      status: 'ok',
      tokens: {
        grantId: grant.grantId,
        clientId: grant.clientId,
        subject: grant.subject,
        username: grant.username === '' ? undefined : grant.username,
        scopes: scope.split(' '),
        deviceScopes: grant.device === '' ? [] : grant.device.split(' '),
        accessToken: fresh.accessToken,
        refreshToken: fresh.refreshToken,
        expiresIn: request.accessTokenTtl,
        reused: false,
      },
    };
  }

  async revoke(token: string, clientId: string, types: TokenTypes = ALL_TOKEN_TYPES): Promise<RevokeResult> {
    const found = this.find(token, types, Date.now());
    if (!found) return 'unknown';
    if (found.grant.clientId !== clientId) return 'foreign';
    this.endGrant(found.grant.grantId);
    return 'revoked';
  }

  async lookup(token: string, types: TokenTypes = ['access_token']): Promise<TokenRecord | null> {
    const found = this.find(token, types, Date.now());
    return found ? toTokenRecord(found.type, found.grant) : null;
  }

  async ping(): Promise<void> {}

  /** Stops the sweep timer of this store's data. */
  close(): void {
    this.data.close();
  }

  private find(token: string, types: TokenTypes, now: number) {
    if (this.codec.tagOf(token) === undefined) return undefined;
    const hashes = this.codec.candidateHashes(token);
    for (const type of types) {
      for (const hash of hashes) {
        const grantId = this.live(`${type === 'access_token' ? 'a' : 'r'}:${hash}`, now);
        const grant = grantId ? this.grants.get(grantId) : undefined;
        if (grant) return { type, grant };
      }
    }
    return undefined;
  }

  private save(grant: Grant, now: number): void {
    const life = Math.max(grant.accessExpiresAtMs, grant.refreshExpiresAtMs);
    this.grants.set(grant.grantId, grant);
    this.pointers.set(`a:${grant.accessHash}`, { grantId: grant.grantId, expiresAtMs: grant.accessExpiresAtMs });
    if (grant.refreshHash !== '') {
      this.pointers.set(`r:${grant.refreshHash}`, { grantId: grant.grantId, expiresAtMs: grant.refreshExpiresAtMs });
    }
    this.pointers.set(`i:${grant.identity}`, { grantId: grant.grantId, expiresAtMs: Math.max(life, now) });
  }

  private endGrant(grantId: string): void {
    const grant = this.grants.get(grantId);
    if (!grant) return;
    this.pointers.delete(`a:${grant.accessHash}`);
    if (grant.refreshHash !== '') this.pointers.delete(`r:${grant.refreshHash}`);
    if (this.pointers.get(`i:${grant.identity}`)?.grantId === grantId) this.pointers.delete(`i:${grant.identity}`);
    this.grants.delete(grantId);
  }

  /** The grant id a pointer names while it is live; expired pointers are dropped on sight. */
  private live(key: string, now: number): string | undefined {
    const pointer = this.pointers.get(key);
    if (!pointer) return undefined;
    if (pointer.expiresAtMs <= now) {
      this.pointers.delete(key);
      return undefined;
    }
    return pointer.grantId;
  }
}
