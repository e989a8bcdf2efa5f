import { GregorError } from '../../protocol/errors.js';

/**
 * The protobuf wire format of Notify's two Twirp messages, `AuthRequest{string authorization = 1}`
 * and `AuthResponse{string userID = 1}` (rpc/notify/notify.proto): a message with one string
 * field 1. Enough of protobuf to read them as any encoder writes them: fields in any order, the
 * last one wins, unknown fields skipped.
 *
 * @example
 *   readStringField1(Buffer.from([0x0a, 0x02, 0x34, 0x32])); // '42'
 *   writeStringField1('42');                                 // <0a 02 34 32>
 */
export function readStringField1(bytes: Uint8Array): string {
  let value = '';
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    switch (tag.value % 8) {
      case 0:
        at = readVarint(bytes, at).next;
        break;
      case 1:
        at = skip(bytes, at, 8);
        break;
      case 2: {
        const length = readVarint(bytes, at);
        const end = skip(bytes, length.next, length.value);
        if (field === 1) value = utf8(bytes.subarray(length.next, end));
        at = end;
        break;
      }
      case 5:
        at = skip(bytes, at, 4);
        break;
      default:
        malformed(`wire type ${tag.value % 8} of field ${field} is not supported`);
    }
    if (field === 0) malformed('field number 0');
  }
  return value;
}

/** A message whose field 1 is `value` (proto3 leaves an empty string out). */
export function writeStringField1(value: string): Uint8Array {
  if (value === '') return new Uint8Array(0);
  const text = Buffer.from(value, 'utf8');
  const length: number[] = [];
  for (let n = text.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      length.push(n);
      break;
    }
    length.push((n % 128) | 128);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), text]);
}

/** Varints up to 2^53: lengths and tags never come near it in a body under the size limit. */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (at + i >= bytes.length) malformed('a varint runs past the end');
    const b = bytes[at + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (!Number.isSafeInteger(value)) malformed('a varint is too large');
      return { value, next: at + i + 1 };
    }
  }
  return malformed('a varint is longer than 10 bytes');
}

function skip(bytes: Uint8Array, at: number, n: number): number {
  if (at + n > bytes.length) malformed('a field runs past the end');
  return at + n;
}

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return malformed('a string field is not valid UTF-8');
  }
}

function malformed(why: string): never {
  throw new GregorError('BAD_REQUEST', `the protobuf body is malformed: ${why}`);
}
