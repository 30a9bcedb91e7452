export { Initialize, initialize, joinPath } from './Initialize'
export { Authentication, HANDLER_NAMES } from './Authentication'
export type {
  ExtraVerification,
  GenerateAccessTokenOptions,
  HandlerName,
  ScopeContext,
  ScopeRequirement,
  VerifyTokenOptions,
} from './Authentication'
export { Configuration, ENV_PREFIX, NON_SETTING_OPTIONS } from './Configuration'
export type { ConfigurationInput } from './Configuration'
export { Responses, renderError } from './Responses'
export type {
  AuthenticateResult,
  ErrorBody,
  FailureHook,
  LogoutResult,
  RefreshResult,
  RetrieveUserResult,
  TokenResponseOptions,
  VerifyResult,
} from './Responses'
export { Claim } from './Claim'
export type { ClaimClass } from './Claim'
export { BaseEndpoint, VERBS } from './endpoints/BaseEndpoint'
export type { EndpointInit, Verb } from './endpoints/BaseEndpoint'
export { TokenEndpoint } from './endpoints/TokenEndpoint'
export { AuthenticateEndpoint } from './endpoints/AuthenticateEndpoint'
export { RefreshEndpoint } from './endpoints/RefreshEndpoint'
export { RetrieveUserEndpoint } from './endpoints/RetrieveUserEndpoint'
export { VerifyEndpoint } from './endpoints/VerifyEndpoint'
export { FreshLoginEndpoint } from './endpoints/FreshLoginEndpoint'
export { LogoutEndpoint } from './endpoints/LogoutEndpoint'
export { JwksEndpoint } from './endpoints/JwksEndpoint'
export type {
  EndpointOpenApi,
  OpenApiComponents,
  OpenApiDocument,
  OpenApiHeader,
  OpenApiInfo,
  OpenApiMediaType,
  OpenApiOperation,
  OpenApiOptions,
  OpenApiParameter,
  OpenApiPathItem,
  OpenApiRequestBody,
  OpenApiResponse,
  OpenApiSchema,
  OpenApiSecurityRequirement,
  OpenApiSecurityScheme,
  OpenApiServer,
} from './openapi'
export { TokenRegistry, newJti, refreshTokenId } from './core/TokenRegistry'
export type { AuditEvent } from './core/TokenRegistry'
export { injectUser } from './middleware/inject-user'
export { protect, protect as protected } from './middleware/protect'
export { scoped } from './middleware/scoped'
export {
  ALGORITHMS,
  ALIASES,
  DEFAULTS,
  SETTING_NAMES,
  generateToken,
  isAsymmetric,
  systemClock,
} from './settings'
export type { Algorithm, AliasName, KeyInput, SameSite, SettingName, Settings, SettingsInput } from './settings'
export {
  matchScopes,
  normalizeScope,
  normalizeUserScopes,
  validateScopes,
  validateSingleScope,
} from './core/scope-matcher'
export type { ScopeMatchOptions, ScopeTuple, ScopeValidatorOverride } from './core/scope-matcher'
export { checkClaims, decodeUnverified, signToken, verifySignature } from './core/token'
export { isFresh } from './core/freshness'
export type { ClaimRules, JwtPayload } from './core/token'
export { VerifyCache, deepFreeze } from './core/verify-cache'
export type { VerifyCacheOptions } from './core/verify-cache'
export { MemoryStore } from './core/stores/MemoryStore'
export type { MemoryStoreOptions } from './core/stores/MemoryStore'
export { RedisStore } from './core/stores/RedisStore'
export type { RedisClientLike, RedisStoreOptions } from './core/stores/RedisStore'
export type { StoreSetOptions, StoreSubscriber, StoreValue, TokenRecord, TokenStore } from './core/stores/TokenStore'
export { compileKeys, loadKeyMaterial } from './core/keys'
export type { CompiledKeys } from './core/keys'
export type { KeyRingEntry } from './core/key-ring'
export * from './errors'
export type {
  AuthenticationClass,
  ConfigurationClass,
  EndpointClass,
  Handlers,
  InitializeOptions,
  FailureRouteOptions,
  InjectedUser,
  InjectUserOptions,
  JwtMiddleware,
  JwtState,
  LoadedUserState,
  ProtectedState,
  ProtectOptions,
  RouteOverrides,
  RouterTarget,
  ScopedOptions,
  SettingsOptions,
  Unchecked,
  UserState,
} from './types'
