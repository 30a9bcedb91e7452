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
  readonly #credentials = new Map<string, { user: DemoUser; credentials: Credentials }>()
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

  /** The user with this id, or null. Accepts any value so payload claims can be passed as read. */
  byId(id: unknown): DemoUser | null {
    return typeof id === 'number' ? (this.#byId.get(id) ?? null) : null
  }

  /** Every user, in id order. */
  list(): DemoUser[] {
    return [...this.#byId.values()]
  }
}
