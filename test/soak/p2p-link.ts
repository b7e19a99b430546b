/**
 * A peer-to-peer connection between two headless peers whose offer, answer and trickled
 * candidates go through the server's relay (mesh rooms, and accepted 1:1 calls with their
 * callId): node-datachannel (libdatachannel) on both ends, a data channel opened by the
 * offerer, one line each way. Host candidates on loopback only.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import type { ServerMessage } from '../../src/protocol/index.js';
import type { TestClient } from '../helpers/ws-client.js';

export interface P2pLinkOptions {
  name: string;
  client: TestClient;
  /** The other peer's session id (the `to` of relayed messages). */
  peerId: string;
  offerer: boolean;
  callId?: string;
}

export class P2pLink {
  readonly pc: PeerConnection;
  readonly received: string[] = [];
  readonly errors: string[] = [];
  /** DTLS fingerprints (RFC 8122) of the descriptions we sent and received, to tell a relay fault from a client one. */
  readonly sentFingerprints: string[] = [];
  readonly receivedFingerprints: string[] = [];
  /** Connection states with ms since creation, for a failure's message. */
  readonly states: string[] = [];
  private readonly createdAt = Date.now();
  private hasRemote = false;
  private readonly early: Array<[string, string]> = [];
  private channel: DataChannel | null = null;
  private readonly onWs: (data: Buffer) => void;

  constructor(private readonly opts: P2pLinkOptions) {
    this.pc = new nodeDataChannel.PeerConnection(opts.name, { bindAddress: '127.0.0.1', iceServers: [] });
    this.pc.onStateChange((s) => {
      this.states.push(`${s}@${Date.now() - this.createdAt}`);
    });
    this.pc.onLocalDescription((sdp, type) => {
      this.sentFingerprints.push(fingerprintOf(sdp));
      this.send({ type: type === 'offer' ? 'offer' : 'answer', to: opts.peerId, sdp });
    });
    this.pc.onLocalCandidate((candidate, mid) =>
      this.send({
        type: 'candidate',
        to: opts.peerId,
        candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid },
      }),
    );
    this.pc.onDataChannel((dc) => this.adopt(dc));
    this.onWs = (data) => this.onSignal(JSON.parse(data.toString()) as ServerMessage);
    opts.client.ws.on('message', this.onWs);
    // The offerer's data channel starts negotiation (libdatachannel negotiates on its own).
    if (opts.offerer) this.adopt(this.pc.createDataChannel('chat'));
  }

  /** Sends a line once the channel is open; false while it is not. */
  sendLine(text: string): boolean {
    return this.channel?.isOpen() === true && this.channel.sendMessage(text);
  }

  /** The connection failed (ICE or DTLS) rather than being slow. */
  get failed(): boolean {
    return this.states.some((s) => s.startsWith('failed'));
  }

  get open(): boolean {
    return this.channel?.isOpen() === true;
  }

  close(): void {
    this.opts.client.ws.off('message', this.onWs);
    this.channel?.close();
    this.pc.close();
  }

  private adopt(dc: DataChannel): void {
    this.channel = dc;
    dc.onMessage((msg) => {
      if (typeof msg === 'string') this.received.push(msg);
    });
  }

  private onSignal(m: ServerMessage): void {
    if (!('from' in m) || m.from !== this.opts.peerId) return;
    if ((this.opts.callId ?? undefined) !== ('callId' in m ? m.callId : undefined)) return;
    try {
      if (m.type === 'offer' || m.type === 'answer') {
        this.receivedFingerprints.push(fingerprintOf(m.sdp));
        this.pc.setRemoteDescription(m.sdp, m.type);
        this.hasRemote = true;
        for (const [c, mid] of this.early.splice(0)) this.pc.addRemoteCandidate(c, mid);
      } else if (m.type === 'candidate') {
        // libdatachannel refuses a candidate before the description that names its transport.
        if (this.hasRemote) this.pc.addRemoteCandidate(m.candidate.candidate, m.candidate.sdpMid ?? '0');
        else this.early.push([m.candidate.candidate, m.candidate.sdpMid ?? '0']);
      }
    } catch (err) {
      this.errors.push(`${m.type}: ${(err as Error).message}`);
    }
  }

  private send(msg: Record<string, unknown>): void {
    if (this.opts.client.ws.readyState !== 1) return;
    this.opts.client.send(this.opts.callId ? { ...msg, callId: this.opts.callId } : msg);
  }
}

function fingerprintOf(sdp: string): string {
  return /^a=fingerprint:(.+)$/m.exec(sdp)?.[1]?.trim() ?? '';
}
