/**
 * The data channels the SFU opens towards us on the subscribe connection (DCEP, RFC 8832): per
 * sending participant one `chat` and one `files` channel, whose `protocol` field is the sender's
 * participant id. What flows on them is exactly the mesh format (chat-line.ts, file-transfer.ts).
 */
import { readChat, readFiles } from './data-channels.js';
import type { InboundSink } from './room-transport.js';

const SENDER_ID = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** Reads every relayed channel into `sink`; `onRejected` counts channels we cannot attribute. */
export function readRelayedChannels(pc: RTCPeerConnection, sink: InboundSink, onRejected: (why: string) => void): void {
  pc.ondatachannel = (ev) => {
    const ch = ev.channel;
    const from = ch.protocol;
    if (!SENDER_ID.test(from)) {
      onRejected(`data channel "${ch.label.slice(0, 32)}" without a valid sender id`);
      ch.close();
      return;
    }
    if (ch.label === 'chat') {
      readChat(ch, (text) => sink.chat(from, text));
    } else if (ch.label === 'files') {
      readFiles(ch, {
        progress: (p) => sink.fileProgress(from, p),
        file: (f) => sink.file(from, f),
        error: (m) => console.warn(`[switchboard] file from ${from} (via the server): ${m}`),
      });
    } else {
      onRejected(`unknown data channel "${ch.label.slice(0, 32)}"`);
      ch.close();
    }
  };
}
