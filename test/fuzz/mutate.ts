/** Byte- and value-level mutations for the live fuzz harness; every choice comes from `rand`. */

export type Rand = () => number;

export const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
export const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

export function randomBytes(rand: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(rand, 256);
  return b;
}

/** Values that break parsers: boundaries of 8/16/32-bit fields. */
const EDGE16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** One to four mutations of a copy of `input`: flips, 16-bit edge values, cuts, growth, splices. */
export function mutate(rand: Rand, input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let n = 1 + int(rand, 4); n > 0; n--) {
    const at = b.length > 0 ? int(rand, b.length) : 0;
    switch (int(rand, 7)) {
      case 0:
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << int(rand, 8));
        break;
      case 1:
        if (b.length > 0) b[at] = int(rand, 256);
        break;
      case 2:
        if (b.length >= 2) b.writeUInt16BE(pick(rand, EDGE16), Math.min(at, b.length - 2));
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      case 4:
        b = Buffer.concat([b, randomBytes(rand, int(rand, 64))]);
        break;
      case 5: {
        // repeat a slice (length fields now lie about what follows)
        const end = Math.min(b.length, at + 1 + int(rand, 32));
        b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        break;
      }
      default: {
        // delete a slice
        const end = Math.min(b.length, at + 1 + int(rand, 16));
        b = Buffer.concat([b.subarray(0, at), b.subarray(end)]);
      }
    }
  }
  return b;
}

/** A JSON-able value of a random, often hostile, kind. */
export function hostileValue(rand: Rand, depth = 0): unknown {
  switch (int(rand, 14)) {
    case 0:
      return null;
    case 1:
      return pick(rand, [0, -1, 1e308, -0, 2 ** 53, 0.5, 65536, 4294967296]);
    case 2:
      return pick(rand, [true, false]);
    case 3:
      return 'x'.repeat(pick(rand, [0, 1, 33, 256, 4096, 70_000]));
    case 4:
      return pick(rand, ['__proto__', 'constructor', 'toString', '\u0000', '\ud800', '../../etc/passwd', '<script>', 'p-1', '*', 'mixer']);
    case 5:
      return depth < 4 ? [hostileValue(rand, depth + 1), hostileValue(rand, depth + 1)] : [];
    case 6:
      return depth < 4 ? { [pick(rand, ['a', '__proto__', 'constructor', 'type', 'id'])]: hostileValue(rand, depth + 1) } : {};
    case 7:
      return String(int(rand, 1e9));
    default:
      return `s${int(rand, 1000)}`;
  }
}

/** Deeply nested JSON text (a recursive parser's stack). */
export function nestedJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}
