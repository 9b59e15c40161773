/**
 * Type tests of the public surface: compiled by `tsc --noEmit` (part of `npm test`), never run.
 * Each `@ts-expect-error` line must fail to compile, so a type that grew too loose breaks the
 * build; the rest must compile, so a type that grew too strict breaks it too.
 */
import express, { type Request } from 'express';
import {
  createTokenRouter,
  DEFAULTS,
  MemoryTokenStore,
  OAuthError,
  OptionError,
  requireToken,
  TemporarilyUnavailableError,
  UnavailableError,
  type AccessTokenInfo,
  type AuditEvent,
  type AuditEventType,
  type IssueResult,
  type SessionInfo,
  type TokenRouterOptions,
  type TokenStore,
} from '../../lib';

const store: TokenStore = new MemoryTokenStore({ secret: 'a-secret-of-at-least-thirty-two-characters' });

const options: TokenRouterOptions = {
  store,
  clients: [{ clientId: 'app', clientSecret: 's', grants: ['password', 'refresh_token'], maxDevicesPerUser: 5, onDeviceLimit: 'refuse' }],
  users: async (username, password) => (password === 'pw' ? { username, roles: ['subscriber'] } : undefined),
  scopes: { 'orders:read': ['subscriber'] },
  loginLockout: { perIp: 5 },
  refreshGracePeriod: 10,
  deviceEndpoints: true,
  onEvent: (event: AuditEvent) => {
    const type: AuditEventType = event.type;
    // @ts-expect-error an event never carries a token
    void event.accessToken;
    void type;
  },
};

const app = express();
app.use(createTokenRouter(options));

// The `req.oauth` augmentation: set by requireToken, typed on every Express request.
app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req: Request, res) => {
  const oauth: AccessTokenInfo | undefined = req.oauth;
  const device: string | undefined = oauth?.device;
  const sessionId: string | undefined = oauth?.sessionId;
  // @ts-expect-error the token itself is never exposed to the handler
  void oauth?.accessToken;
  res.json({ device, sessionId });
});

// @ts-expect-error a grant type the router does not implement
createTokenRouter({ ...options, clients: [{ clientId: 'a', clientSecret: 's', grants: ['implicit'] }] });

// @ts-expect-error onDeviceLimit has two values
createTokenRouter({ ...options, onDeviceLimit: 'drop' });

// @ts-expect-error loginLimiter is gone (0.2): loginLockout replaces it
createTokenRouter({ ...options, loginLimiter: false });

async function results(): Promise<void> {
  const result: IssueResult = await store.issue({
    clientId: 'app',
    subject: 'alice',
    username: 'alice',
    scopes: ['device_ipad'],
    deviceScopes: ['device_ipad'],
    accessTokenTtl: 60,
    reuse: false,
  });
  // The result is a union that a switch narrows.
  switch (result.status) {
    case 'issued':
    case 'reused':
      void result.tokens.accessToken;
      break;
    case 'locked':
      void result.retryAfter;
      break;
    case 'device_limit':
      // @ts-expect-error no tokens when the device limit refused the session
      void result.tokens;
      break;
  }
  const sessions: SessionInfo[] = await store.listSessions('alice');
  const device: string | null | undefined = sessions[0]?.device;
  void device;
}
void results;

// Errors: one options object; the store's outage error under both names.
const outage = new UnavailableError('down');
const answer: OAuthError = new TemporarilyUnavailableError(undefined, { cause: outage });
void answer;
const optionError = new OptionError('options.x', 'is wrong');
const path: string = optionError.path;
void path;
const grace: number = DEFAULTS.sessions.refreshGracePeriod;
void grace;
