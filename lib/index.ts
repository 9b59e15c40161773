/**
 * express-oauth-device-tokens: an OAuth 2.0 token service for Express gateways with one
 * token per device (`device_*` scopes).
 */
export { createTokenRouter } from './token-router';
export type { ActiveIntrospection, IntrospectionResponse } from './endpoints/introspection-endpoint';
export type { AuthorizationServerMetadata } from './endpoints/metadata-endpoint';
export { requireToken, type AccessTokenInfo, type RequireTokenOptions } from './middleware/require-token';
export { serverClassesFor, type ServerClasses } from './middleware/server-classes';
export { RedisTokenStore, type RedisTokenStoreOptions } from './stores/redis/redis-token-store';
export { MemoryTokenData, MemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory/memory-token-store';
export type {
  CallerProblem,
  SessionClaims,
  IssueRequest,
  IssueResult,
  LoginCheck,
  LoginFailures,
  FailureCounter,
  SessionInfo,
  RefreshRequest,
  RefreshResult,
  RevokeResult,
  TokenRecord,
  TokenSet,
  TokenStore,
  TokenTypes,
} from './stores/token-store';
export type { TokenSecret } from './tokens/token-codec';
export type {
  AuthenticatedUser,
  ClientRecord,
  ClientSource,
  GrantType,
  ScopePolicy,
  ScopeRequester,
  TokenRouterOptions,
  UserRecord,
  UserSource,
} from './options/router-options';
export type { AuditEvent, AuditEventType } from './events/audit-event';
export { hashPassword, verifyPassword, isPasswordHash } from './crypto/password-hash';
export { parseScope } from './scopes/scope';
export {
  defaultLoginKey,
  LOGIN_LOCKOUT_DEFAULTS,
  PARAMETER_LIMITS,
  SESSION_DEFAULTS,
  type DeviceLimitPolicy,
  type LoginLockout,
  type ClientLockout,
  CLIENT_LOCKOUT_DEFAULTS,
  type SessionPolicy,
} from './options/session-options';
export {
  OAuthError,
  InvalidRequestError,
  InvalidClientError,
  InvalidGrantError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  InvalidScopeError,
  UnsupportedTokenTypeError,
  InvalidTokenError,
  InsufficientScopeError,
  TemporarilyUnavailableError,
  TooManyLoginAttemptsError,
  TooManyClientAttemptsError,
  ServerError,
  BASIC_CHALLENGE,
  type OAuthErrorCode,
  type OAuthErrorOptions,
} from './errors/oauth-error';
export { UnavailableError, StoreUnavailableError } from './errors/unavailable-error';
export { OptionError } from './errors/option-error';
export { DEFAULTS } from './defaults';
