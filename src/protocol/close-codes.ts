/**
 * WebSocket close codes. The range tells the client what to do: 4000–4499 reconnect (with
 * backoff), 4500–4999 stop (a person or the app must act). 1000/1001 are the standard ones.
 */
export const CLOSE = {
  NORMAL: 1000,
  /** The server is shutting down or restarting: reconnect, perhaps to another node. */
  SERVER_RESTART: 4000,
  /** The device did not read fast enough and its send buffer filled: reconnect and resync. */
  SLOW_CONSUMER: 4001,
  /** No pong within the heartbeat timeout. */
  HEARTBEAT_TIMEOUT: 4002,
  /** Too many frames too fast: reconnect after a backoff. */
  RATE_LIMITED: 4003,
  /** Authentication did not complete within the deadline. */
  AUTH_TIMEOUT: 4004,
  /** The token expired during the session: reconnect with a fresh token. */
  TOKEN_EXPIRED: 4005,
  /** The user already has the maximum number of connections: retry later. */
  TOO_MANY_CONNECTIONS: 4006,
  /** Fan-out to this node was interrupted (pub/sub down): reconnect and resync to converge. */
  RESYNC: 4007,
  /** The token is invalid: retrying with it cannot succeed. */
  UNAUTHORIZED: 4500,
  /** The Origin is not allowed. */
  FORBIDDEN_ORIGIN: 4501,
  /** The client broke the protocol (e.g. a non-auth frame before auth). */
  PROTOCOL_ERROR: 4502,
  /** A newer connection of the same device replaced this one. */
  REPLACED: 4503,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** Should a client reconnect after this close code? Unknown 45xx–49xx are final; everything else retries. */
export function shouldReconnect(code: number): boolean {
  return !(code >= 4500 && code <= 4999);
}
