/** Connection states: one `setState` emits every change as `{newState, oldState}`. */
export type ConnectionState = 'idle' | 'connecting' | 'syncing' | 'connected' | 'disconnected' | 'closed';

/** An item as the app sees it; times in ms. `pending`: made here, not yet confirmed by the server. */
export interface ClientItem {
  readonly id: string;
  readonly category: string;
  readonly created: number;
  readonly expires: number | null;
  readonly remindAt: readonly number[];
  readonly forDevice: string | null;
  readonly body: unknown;
  readonly pending: boolean;
}

/** The server's acknowledgement: the change is durable. */
export interface Ack {
  readonly msgId: string;
  readonly seq: number | null;
  readonly status: 'stored' | 'duplicate' | 'relayed';
}

export interface ClientEvents {
  change: { items: ClientItem[] };
  created: { item: ClientItem };
  dismissed: { id: string };
  message: { system: string; body: unknown };
  flush: Record<string, never>;
  reminder: { item: ClientItem; remindAt: number };
  connection: { newState: ConnectionState; oldState: ConnectionState };
  error: { code: string; message: string };
}

/** The part of a WebSocket the client uses: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;
