/** What the core needs of a socket: the WebSocket adapter hands this in, so the core never imports `ws`. */
export interface SocketLike {
  /** A text frame: a string, or its UTF-8 bytes (a fan-out encodes once for all devices). */
  send(text: string | Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
}
