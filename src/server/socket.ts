/** What the core needs of a socket: the WebSocket adapter hands this in, so the core never imports `ws`. */
export interface SocketLike {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
}
