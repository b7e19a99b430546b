/**
 * The two data channels every connection that carries chat and files opens, and the readers for
 * what arrives on them. Shared by the mesh (one pair per peer) and the SFU (one pair up on the
 * publish connection; one pair per sender down on the subscribe connection).
 *
 * Outgoing channels are `negotiated: true` with fixed ids on both sides (RFC 8832 §6 lets either
 * side skip DCEP that way), so nobody waits for `ondatachannel` to know which channel is which.
 */
import { encodeChatLine, parseChatLine } from './chat-line.js';
import { FileReceiver, sendFile, type FileHeader, type Progress, type ReceivedFile } from './file-transfer.js';

export const CHAT_CHANNEL_ID = 0;
export const FILE_CHANNEL_ID = 1;

export interface ChannelPair {
  chat: RTCDataChannel;
  files: RTCDataChannel;
}

/** Creates `chat` (id 0) and `files` (id 1), both ordered and reliable. */
export function createNegotiatedChannels(pc: RTCPeerConnection): ChannelPair {
  const chat = pc.createDataChannel('chat', { negotiated: true, id: CHAT_CHANNEL_ID, ordered: true });
  const files = pc.createDataChannel('files', { negotiated: true, id: FILE_CHANNEL_ID, ordered: true });
  files.binaryType = 'arraybuffer';
  return { chat, files };
}

/** Calls `onText` for every valid chat line; junk is ignored (a peer's bad frame is not fatal). */
export function readChat(ch: RTCDataChannel, onText: (text: string) => void): void {
  ch.onmessage = (ev) => {
    const text = parseChatLine(ev.data);
    if (text !== null) onText(text);
  };
}

export interface FileSink {
  progress(p: Progress): void;
  file(f: ReceivedFile): void;
  error(message: string): void;
}

/** Reassembles the transfers arriving on `ch` (see file-transfer.ts for the format). */
export function readFiles(ch: RTCDataChannel, sink: FileSink): void {
  ch.binaryType = 'arraybuffer';
  const receiver = new FileReceiver(
    (p) => sink.progress(p),
    (f) => sink.file(f),
    (m) => sink.error(m),
  );
  ch.onmessage = (ev) => receiver.handle(ev.data);
}

/** Sends one chat line; false when the channel is not open. */
export function sendChatLine(ch: RTCDataChannel | null, text: string): boolean {
  if (!ch || ch.readyState !== 'open') return false;
  ch.send(encodeChatLine(text));
  return true;
}

/** Outgoing file sends on one ordered channel, one after another (the wire format has no interleaving). */
export class SerialFileSender {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly channel: () => RTCDataChannel | null) {}

  send(header: FileHeader, bytes: Uint8Array, onProgress: (p: Progress) => void): Promise<void> {
    const run = this.queue.then(() => {
      const ch = this.channel();
      if (!ch) throw new Error('file channel not created yet');
      return sendFile(ch, header, bytes, onProgress);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
