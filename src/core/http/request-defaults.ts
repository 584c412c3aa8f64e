/** What every request this action sends shares, whichever API it goes to. */

/** Servers' logs can tell this action from the Convox CLI (`convox.go/<version>`). */
export const USER_AGENT = 'convox-login'

/**
 * One attempt of one request, unless its caller knows better (keyroll polls, the PUT): long
 * enough for a slow API, short enough that a hung connection cannot eat a retry budget.
 */
export const REQUEST_TIMEOUT_MS = 15_000
