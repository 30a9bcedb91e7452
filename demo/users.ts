/**
 * The demo's user store: an in-memory list of users whose passwords are hashed with scrypt and a
 * random salt when the store is created. A real app would keep the same shape in a database.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/** What the rest of the app (and `GET /auth/me`) sees of a user: never the password hash. */
export interface DemoUser {
  /** The id put in the tokens under the `userId` setting (`user_id`). */
  readonly user_id: number
  readonly username: string
  readonly scopes: readonly string[]
}

/** A user to put in the store, with a plain-text password that is hashed at once. */
export interface SeedUser {
  readonly username: string
  readonly password: string
  readonly scopes: readonly string[]
}

/** The two demo users: a plain user and an administrator. */
export const DEMO_USERS: readonly SeedUser[] = [
  { username: 'alice', password: 'wonderland', scopes: ['user:read'] },
  { username: 'admin', password: 'admin-password', scopes: ['user:read', 'user:write', 'admin'] },
]

interface Credentials {
  readonly salt: Buffer
  readonly hash: Buffer
}

const KEY_LENGTH = 64
const SALT_LENGTH = 16

/** The fewest characters (code points) a new password may have. */
export const MIN_PASSWORD_LENGTH = 8
/** The most characters (code points) a new password may have: hashing has a cost. */
export const MAX_PASSWORD_LENGTH = 128

/**
 * Why `password` cannot be a new password, or null when it can: a string of
 * {@link MIN_PASSWORD_LENGTH} to {@link MAX_PASSWORD_LENGTH} characters.
 *
 * @param name - how the reason names the value.
 */
export function passwordProblem(password: unknown, name = 'The password'): string | null {
  if (typeof password !== 'string') return `${name} must be a string.`
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH) return `${name} must be at least ${MIN_PASSWORD_LENGTH} characters long.`
  if (length > MAX_PASSWORD_LENGTH) return `${name} must be at most ${MAX_PASSWORD_LENGTH} characters long.`
  return null
}

function hashPassword(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

async function makeCredentials(password: string): Promise<Credentials> {
  const salt = randomBytes(SALT_LENGTH)
  return { salt, hash: await hashPassword(password, salt) }
}

/**
 * In-memory users with scrypt-hashed passwords.
 *
 * @example
 * ```ts
 * const users = await UserStore.create()
 * const alice = await users.check('alice', 'wonderland') // DemoUser | null
 * ```
 */
export class UserStore {
  readonly #byId = new Map<number, DemoUser>()
  /** By username; an entry is replaced (never mutated) when the password changes. */
  readonly #credentials = new Map<string, { readonly user: DemoUser; readonly credentials: Credentials }>()
  /** Hash of a random password: unknown usernames cost as much as known ones. */
  readonly #decoy: Credentials

  private constructor(decoy: Credentials) {
    this.#decoy = decoy
  }

  /**
   * Builds a store, hashing every password with its own random salt.
   *
   * @param seed - the users to create; ids are given in order from 1.
   */
  static async create(seed: readonly SeedUser[] = DEMO_USERS): Promise<UserStore> {
    const store = new UserStore(await makeCredentials(randomBytes(SALT_LENGTH).toString('hex')))
    const hashed = await Promise.all(seed.map((entry) => makeCredentials(entry.password)))
    seed.forEach((entry, index) => {
      const credentials = hashed[index]
      if (credentials === undefined) return
      const user: DemoUser = Object.freeze({
        user_id: index + 1,
        username: entry.username,
        scopes: Object.freeze([...entry.scopes]),
      })
      store.#byId.set(user.user_id, user)
      store.#credentials.set(user.username, { user, credentials })
    })
    return store
  }

  /**
   * Checks a username and password.
   *
   * @returns the user, or null when the user is unknown or the password is wrong (both take the
   *   same time: a hash is always computed and compared with `timingSafeEqual`).
   */
  async check(username: string, password: string): Promise<DemoUser | null> {
    const entry = this.#credentials.get(username)
    const { salt, hash } = entry?.credentials ?? this.#decoy
    const candidate = await hashPassword(password, salt)
    const matches = timingSafeEqual(candidate, hash)
    return entry !== undefined && matches ? entry.user : null
  }

  /**
   * Replaces a user's password with `password`, hashed with a new random salt: from then on
   * {@link check} accepts the new password and refuses the old one. The store knows nothing of
   * tokens: `POST /account/password` then logs the user out everywhere (`jwt.tokens.revokeUser`).
   *
   * @returns false when there is no user with this id.
   * @throws RangeError when `password` breaks the rules of {@link passwordProblem}.
   */
  async setPassword(id: number, password: string): Promise<boolean> {
    const problem = passwordProblem(password)
    if (problem !== null) throw new RangeError(problem)
    const user = this.#byId.get(id)
    if (user === undefined) return false
    const credentials = await makeCredentials(password)
    this.#credentials.set(user.username, { user, credentials })
    return true
  }

  /** The user with this id, or null. Accepts any value so payload claims can be passed as read. */
  byId(id: unknown): DemoUser | null {
    return typeof id === 'number' ? (this.#byId.get(id) ?? null) : null
  }

  /** Every user, in id order. */
  list(): DemoUser[] {
    return [...this.#byId.values()]
  }
}
