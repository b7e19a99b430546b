/**
 * File transfer over an ordered, reliable RTCDataChannel.
 *
 * Wire format on the `files` channel (one transfer at a time per channel, in order):
 *   text   {"t":"start","id","name","size","sha256"}   metadata header
 *   binary chunks of at most CHUNK_BYTES
 *   text   {"t":"end","id"}
 * The receiver recomputes SHA-256 over what arrived and compares it with the header, so a
 * truncated or corrupted transfer is reported, never silently accepted.
 *
 * 16 KiB chunks are the size every browser's SCTP accepts without fragmentation trouble.
 * Backpressure: stop queueing above HIGH_WATER and resume on `bufferedamountlow`, otherwise a
 * 5 MB send would fill the channel's buffer and Chromium closes the channel when it overflows.
 */
import { sha256Hex } from './sha256.js';

export const CHUNK_BYTES = 16 * 1024;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** Largest file we accept, so a peer cannot make us allocate without bound. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

export interface FileHeader {
  t: 'start';
  id: string;
  name: string;
  size: number;
  sha256: string;
}
interface FileEnd {
  t: 'end';
  id: string;
}

export interface ReceivedFile {
  id: string;
  name: string;
  size: number;
  /** The hash the sender announced. */
  sha256: string;
  /** The hash of the bytes that arrived. */
  actualSha256: string;
  ok: boolean;
  bytes: Uint8Array;
}

export interface Progress {
  id: string;
  name: string;
  bytes: number;
  size: number;
}

function waitOpen(ch: RTCDataChannel, timeoutMs: number): Promise<void> {
  if (ch.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`data channel "${ch.label}" did not open`));
    }, timeoutMs);
    const onOpen = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`data channel "${ch.label}" closed`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      ch.removeEventListener('open', onOpen);
      ch.removeEventListener('close', onClose);
    };
    ch.addEventListener('open', onOpen);
    ch.addEventListener('close', onClose);
  });
}

function drained(ch: RTCDataChannel): Promise<void> {
  if (ch.bufferedAmount <= LOW_WATER) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onLow = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`data channel "${ch.label}" closed during transfer`));
    };
    const cleanup = (): void => {
      ch.removeEventListener('bufferedamountlow', onLow);
      ch.removeEventListener('close', onClose);
    };
    ch.addEventListener('bufferedamountlow', onLow);
    ch.addEventListener('close', onClose);
  });
}

/** Sends one file on `ch`; `onProgress` after every chunk. Resolves when everything is queued and drained. */
export async function sendFile(
  ch: RTCDataChannel,
  header: FileHeader,
  bytes: Uint8Array,
  onProgress: (p: Progress) => void,
): Promise<void> {
  await waitOpen(ch, 20_000);
  ch.bufferedAmountLowThreshold = LOW_WATER;
  ch.send(JSON.stringify(header));
  for (let off = 0; off < bytes.length; off += CHUNK_BYTES) {
    if (ch.bufferedAmount > HIGH_WATER) await drained(ch);
    if (ch.readyState !== 'open') throw new Error(`data channel "${ch.label}" closed during transfer`);
    const end = Math.min(off + CHUNK_BYTES, bytes.length);
    // slice() copies into a standalone ArrayBuffer: send() cannot take a view of a shared buffer.
    ch.send(bytes.slice(off, end));
    onProgress({ id: header.id, name: header.name, bytes: end, size: bytes.length });
  }
  const end: FileEnd = { t: 'end', id: header.id };
  ch.send(JSON.stringify(end));
  if (bytes.length === 0) onProgress({ id: header.id, name: header.name, bytes: 0, size: 0 });
}

/** Reassembles transfers arriving on one channel. */
export class FileReceiver {
  private current: { header: FileHeader; buf: Uint8Array; got: number } | null = null;

  constructor(
    private readonly onProgress: (p: Progress) => void,
    private readonly onFile: (f: ReceivedFile) => void,
    private readonly onError: (message: string) => void,
  ) {}

  handle(data: unknown): void {
    if (typeof data === 'string') {
      this.handleText(data);
    } else if (data instanceof ArrayBuffer) {
      this.handleChunk(new Uint8Array(data));
    } else if (data instanceof Blob) {
      // binaryType is set to arraybuffer; a Blob means a misconfigured channel.
      this.onError('received a Blob chunk; expected ArrayBuffer');
    }
  }

  private handleText(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.onError('malformed file header');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const m = msg as Partial<FileHeader> & { t?: string };
    if (m.t === 'start') {
      if (
        typeof m.id !== 'string' ||
        typeof m.name !== 'string' ||
        typeof m.sha256 !== 'string' ||
        typeof m.size !== 'number' ||
        !Number.isInteger(m.size) ||
        m.size < 0 ||
        m.size > MAX_FILE_BYTES
      ) {
        this.onError('invalid file header');
        return;
      }
      this.current = { header: m as FileHeader, buf: new Uint8Array(m.size), got: 0 };
      this.onProgress({ id: m.id, name: m.name, bytes: 0, size: m.size });
    } else if (m.t === 'end') {
      const cur = this.current;
      this.current = null;
      if (!cur || cur.header.id !== m.id) {
        this.onError('file end without a matching start');
        return;
      }
      void this.finish(cur.header, cur.buf.subarray(0, cur.got));
    }
  }

  private handleChunk(chunk: Uint8Array): void {
    const cur = this.current;
    if (!cur) {
      this.onError('file chunk outside a transfer');
      return;
    }
    if (cur.got + chunk.length > cur.buf.length) {
      this.onError(`file "${cur.header.name}" is larger than announced`);
      this.current = null;
      return;
    }
    cur.buf.set(chunk, cur.got);
    cur.got += chunk.length;
    this.onProgress({ id: cur.header.id, name: cur.header.name, bytes: cur.got, size: cur.header.size });
  }

  private async finish(header: FileHeader, bytes: Uint8Array): Promise<void> {
    const actual = await sha256Hex(bytes);
    this.onFile({
      id: header.id,
      name: header.name,
      size: bytes.length,
      sha256: header.sha256,
      actualSha256: actual,
      ok: actual === header.sha256 && bytes.length === header.size,
      bytes,
    });
  }
}
