import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * A bounds-checked cursor over untrusted bytes. Every read that would run past the
 * end throws MALFORMED_MESSAGE instead of returning garbage, and `finish()` rejects
 * trailing bytes, so a decoder built on it accepts exactly one encoding per message.
 */
export class WireReader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.at;
  }

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  private need(n: number, what: string): number {
    if (this.at + n > this.bytes.length) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        `truncated: ${what} needs ${n} byte(s) at offset ${this.at}`,
        {
          offset: this.at,
          length: this.bytes.length,
        },
      );
    }
    const at = this.at;
    this.at += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.need(1, what));
  }

  u16(what: string): number {
    return this.view.getUint16(this.need(2, what));
  }

  u32(what: string): number {
    return this.view.getUint32(this.need(4, what));
  }

  u64(what: string): bigint {
    return this.view.getBigUint64(this.need(8, what));
  }

  /** A u64 that must fit a JS number exactly (timestamps in ms). */
  u53(what: string): number {
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `${what} exceeds 2^53`, {
        offset: this.at - 8,
      });
    }
    return Number(v);
  }

  bytesOf(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.subarray(at, at + n);
  }

  /** Everything up to the last `keep` bytes. */
  rest(keep: number, what: string): Uint8Array {
    if (this.remaining < keep) return this.bytesOf(keep, what);
    return this.bytesOf(this.remaining - keep, what);
  }

  finish(what: string): void {
    if (this.at !== this.bytes.length) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        `${this.bytes.length - this.at} trailing byte(s) after ${what}`,
        {
          offset: this.at,
        },
      );
    }
  }
}

/** Fixed-size big-endian writer; the size is computed up front from the codec's layout. */
export class WireWriter {
  private at = 0;
  readonly bytes: Buffer;

  constructor(size: number) {
    this.bytes = Buffer.alloc(size);
  }

  u8(v: number): this {
    this.bytes.writeUInt8(v, this.at);
    this.at += 1;
    return this;
  }

  u16(v: number): this {
    this.bytes.writeUInt16BE(v, this.at);
    this.at += 2;
    return this;
  }

  u32(v: number): this {
    this.bytes.writeUInt32BE(v, this.at);
    this.at += 4;
    return this;
  }

  u64(v: bigint | number): this {
    this.bytes.writeBigUInt64BE(BigInt(v), this.at);
    this.at += 8;
    return this;
  }

  raw(b: Uint8Array): this {
    this.bytes.set(b, this.at);
    this.at += b.length;
    return this;
  }

  get offset(): number {
    return this.at;
  }

  done(): Buffer {
    if (this.at !== this.bytes.length)
      throw new Error(`codec bug: wrote ${this.at} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}
