/**
 * Scope matching with sanic-jwt's `namespace:action:action` grammar and rules (reference §5).
 * Requirements are normalised once per route; without an override, user scopes are matched in their
 * text form (only those of a required namespace are split), else normalised once per request.
 */

/** A normalised scope: its namespace and its actions (none means "every action"). */
export type ScopeTuple = readonly [namespace: string, actions: readonly string[]]

/** Hook that may change the outcome of each single-scope check (sanic-jwt's `override_scope_validator`). */
export type ScopeValidatorOverride = (
  isValid: boolean,
  required: ScopeTuple,
  userScopes: ScopeTuple[],
  requireAllActions: boolean,
) => boolean

/** Options of a scope check. */
export interface ScopeMatchOptions {
  /** Every required scope must match (else any). @default true */
  readonly requireAll?: boolean
  /** Every action of a required scope must be granted by one user scope (else any). @default true */
  readonly requireAllActions?: boolean
  readonly override?: ScopeValidatorOverride | undefined
}

/** `'user:read:write'` → `['user', ['read', 'write']]`; `':read'` → `['', ['read']]`. */
export function normalizeScope(scope: string): ScopeTuple {
  const [namespace = '', ...actions] = scope.split(':')
  return Object.freeze([namespace, Object.freeze(actions)]) as ScopeTuple
}

/**
 * Normalises the scopes claim of a token. Only strings count: `null` entries are dropped (as in
 * sanic-jwt), and numbers, objects or nested lists are never coerced into strings.
 *
 * @returns the tuples, or undefined when the claim is not a list or holds no usable scope.
 */
export function normalizeUserScopes(claim: unknown): ScopeTuple[] | undefined {
  if (!Array.isArray(claim)) return undefined
  // Verified payloads are frozen, so a claim list (shared by cache hits) is parsed once.
  if (Object.isFrozen(claim)) {
    const known = parsedClaims.get(claim)
    if (known !== undefined) return known.length > 0 ? [...known] : undefined
  }
  const scopes: ScopeTuple[] = []
  for (const entry of claim) {
    if (typeof entry === 'string') {
      const [namespace = '', ...actions] = entry.split(':')
      scopes.push([namespace, actions])
    }
  }
  if (Object.isFrozen(claim)) parsedClaims.set(claim, scopes)
  return scopes.length > 0 ? scopes : undefined
}

const parsedClaims = new WeakMap<readonly unknown[], ScopeTuple[]>()

function matches(required: ScopeTuple, user: ScopeTuple, requireAllActions: boolean): boolean {
  const [namespace, actions] = required
  if (namespace !== '' && namespace !== user[0]) return false
  if (actions.length === 0) return user[1].length === 0
  if (user[1].length === 0) return true
  return actionsGranted(actions, user[1], requireAllActions)
}

/** Every (or, without requireAllActions, any) required action is among the granted ones. */
function actionsGranted(actions: readonly string[], granted: readonly string[], requireAllActions: boolean): boolean {
  return requireAllActions
    ? actions.every((action) => granted.includes(action))
    : actions.some((action) => granted.includes(action))
}

/** Checks one normalised requirement against normalised user scopes. */
export function matchScope(
  required: ScopeTuple,
  userScopes: ScopeTuple[] | undefined,
  requireAllActions = true,
  override?: ScopeValidatorOverride,
): boolean {
  if (userScopes === undefined || userScopes.length === 0) return false
  const isValid = userScopes.some((user) => matches(required, user, requireAllActions))
  return override ? override(isValid, required, userScopes, requireAllActions) === true : isValid
}

/** sanic-jwt's `validate_single_scope`, on raw strings. */
export function validateSingleScope(
  required: string,
  userScopes: unknown,
  requireAllActions = true,
  override?: ScopeValidatorOverride,
): boolean {
  return matchScope(normalizeScope(required), normalizeUserScopes(userScopes), requireAllActions, override)
}

/** Checks normalised requirements against a raw scopes claim. */
export function matchScopes(
  required: readonly ScopeTuple[],
  userClaim: unknown,
  options: ScopeMatchOptions = {},
): boolean {
  const requireAllActions = options.requireAllActions ?? true
  const requireAll = options.requireAll ?? true
  // No required scope: Python's all([]) is true and any([]) false, for any list of user scopes
  // (even [null]), without consulting the override; a claim that is not a list still never matches.
  if (required.length === 0) return requireAll && Array.isArray(userClaim)
  if (options.override === undefined) return matchRaw(required, userClaim, requireAll, requireAllActions)
  const user = normalizeUserScopes(userClaim)
  if (user === undefined) return false
  const check = (scope: ScopeTuple): boolean =>
    matchScope(scope, user, requireAllActions, options.override)
  return requireAll ? required.every(check) : required.some(check)
}

/**
 * {@link matchScopes} without an override: the same rules, read straight from the claim's strings,
 * so that only user scopes of a required namespace are ever looked into, and without allocating
 * (no tuples, no split action lists, no closures) on the hot path of `scoped()`.
 */
function matchRaw(
  required: readonly ScopeTuple[],
  claim: unknown,
  requireAll: boolean,
  requireAllActions: boolean,
): boolean {
  if (!Array.isArray(claim) || !holdsString(claim)) return false
  for (let r = 0; r < required.length; r++) {
    const granted = claimGrants(required[r]!, claim, requireAllActions)
    // requireAll stops at the first scope refused, any-of at the first one granted.
    if (granted !== requireAll) return granted
  }
  // Every scope granted (requireAll), or none (any-of); an empty requirement: every() / some().
  return requireAll
}

/** The claim holds at least one string (else no scope can match). */
function holdsString(claim: readonly unknown[]): boolean {
  for (let i = 0; i < claim.length; i++) if (typeof claim[i] === 'string') return true
  return false
}

/** One user scope of the claim grants the required scope. */
function claimGrants(required: ScopeTuple, claim: readonly unknown[], requireAllActions: boolean): boolean {
  for (let i = 0; i < claim.length; i++) {
    const entry = claim[i]
    if (typeof entry === 'string' && matchesText(required, entry, requireAllActions)) return true
  }
  return false
}

/** {@link matches} against a user scope still in its text form, e.g. `'user:read:write'`. */
function matchesText(required: ScopeTuple, entry: string, requireAllActions: boolean): boolean {
  const [namespace, actions] = required
  let cut: number
  if (namespace === '') {
    cut = entry.indexOf(':')
  } else {
    if (!entry.startsWith(namespace)) return false
    if (entry.length === namespace.length) cut = -1
    else if (entry.charCodeAt(namespace.length) === 58 /* ':' */) cut = namespace.length
    else return false
  }
  // No ':' means no actions: a top-level scope grants every action, and matches a top-level requirement.
  if (cut === -1) return true
  if (actions.length === 0) return false
  for (let a = 0; a < actions.length; a++) {
    const granted = hasAction(entry, cut + 1, actions[a]!)
    if (granted !== requireAllActions) return granted
  }
  return requireAllActions
}

/**
 * `entry.slice(from).split(':').includes(action)` without the slice and the list: one of the
 * ':'-separated segments of `entry` from `from` on is exactly `action` (empty segments count).
 */
function hasAction(entry: string, from: number, action: string): boolean {
  for (let start = from; ; ) {
    const colon = entry.indexOf(':', start)
    const end = colon === -1 ? entry.length : colon
    if (end - start === action.length && entry.startsWith(action, start)) return true
    if (colon === -1) return false
    start = colon + 1
  }
}

/** sanic-jwt's `validate_scopes`, on raw strings: a string requirement is a one-element list. */
export function validateScopes(
  required: string | readonly string[],
  userClaim: unknown,
  options: ScopeMatchOptions = {},
): boolean {
  const list = typeof required === 'string' ? [required] : required
  return matchScopes(list.map(normalizeScope), userClaim, options)
}
