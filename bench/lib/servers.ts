/** The servers every bench compares: gregord, the bare `ws` floor, and Socket.IO + redis-adapter. */
export type ServerKind = 'gregord' | 'bare' | 'socketio';

export const SERVER_KINDS: readonly ServerKind[] = ['gregord', 'bare', 'socketio'];

/** How figures and charts name each server (one name each, so a chart gives each one colour). */
export const SERVER_NAMES: Readonly<Record<ServerKind, string>> = {
  gregord: 'gregord',
  bare: 'bare ws',
  socketio: 'Socket.IO',
};
