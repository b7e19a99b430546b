/**
 * One ICE-lite agent (RFC 8445 §2.5, RFC 8839 a=ice-lite): host candidates only, never sends
 * checks, answers the remote agent's checks and uses the pair it nominates. The transport
 * (RtcPort) hands it STUN checks and the other packets of tuples bound to it; it answers
 * checks, picks the selected tuple, watches consent (RFC 7675) and hands everything else,
 * uninterpreted, to its packet receiver (wired once by its owner: no event hop per packet).
 */
import { Attr } from '../../stun/constants.js';
import { getAttribute, type StunMessage } from '../../stun/message.js';
import { answerCheck, type CheckCredentials } from './check.js';
import { PASSWORD_CHARS, UFRAG_CHARS, isValidPassword, isValidUfrag, randomIceString } from './credentials.js';
import type { RtcTuple } from './RtcTuple.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { guarded } from '../../util/guarded.js';
import { InternalErrorCode, SwitchboardError } from '../../protocol/errors.js';

/** RFC 7675 §5.1: consent expires 30 s after the last successful check. */
export const DEFAULT_CONSENT_TIMEOUT_MS = 30_000;
/** Consent is a coarse matter (seconds): one timer tick a second is plenty. */
const CONSENT_TICK_MS = 1000;
/** A nominated pair with no check for this long has been left by the browser (consent checks come every ~5 s). */
const QUIET_PAIR_MS = 8000;

/** UDP pairs before ICE-TCP ones, then the remote candidate's priority. */
function rank(tuple: RtcTuple, priority: number): number {
  return (tuple.protocol === 'udp' ? 2 ** 32 : 0) + priority;
}

/** Takes a non-STUN packet that arrived on one of the session's tuples. */
export type IcePacketReceiver = (buf: Buffer, tuple: RtcTuple) => void;

export interface IceLiteSessionOptions {
  localUfrag?: string;
  localPassword?: string;
  remoteUfrag?: string;
  remotePassword?: string;
  consentTimeoutMs?: number | undefined;
  /** How long the selected pair may go without checks before another nominated pair takes over. */
  quietPairMs?: number;
}

export type IceLiteSessionEvents = {
  'tuple-selected': [tuple: RtcTuple];
  'consent-expired': [];
  closed: [];
};

export interface IceSessionStats {
  checksAccepted: number;
  checksRejected: number;
  checksDropped: number;
  packetsIn: number;
  packetsOut: number;
  /** Packets handed in for a tuple this session never validated (should stay 0 behind RtcPort). */
  packetsFromUnknownTuple: number;
}

export class IceLiteSession extends TypedEmitter<IceLiteSessionEvents> {
  readonly localUfrag: string;
  readonly localPassword: string;
  readonly consentTimeoutMs: number;
  private readonly quietPairMs: number;
  readonly stats: IceSessionStats = {
    checksAccepted: 0,
    checksRejected: 0,
    checksDropped: 0,
    packetsIn: 0,
    packetsOut: 0,
    packetsFromUnknownTuple: 0,
  };
  private readonly creds: CheckCredentials;
  private remotePasswordValue: string | null;
  /** Tuples that sent at least one valid check (RFC 8445 §7.3.1.4: their pairs are valid). */
  private readonly known = new Set<RtcTuple>();
  private selected: RtcTuple | null = null;
  /** PRIORITY of the checks that selected it (RFC 8445 §7.1.1), to rank later nominations. */
  private selectedPriority = 0;
  /** Whether the remote agent has nominated (USE-CANDIDATE) a tuple yet. */
  private nominated = false;
  /** Every tuple the remote agent nominated: one of them may carry its consent checks later. */
  private readonly nominatedTuples = new Set<RtcTuple>();
  private lastConsentAt = 0;
  private consentTimer: NodeJS.Timeout | null = null;
  private consentExpired = false;
  private isClosed = false;

  /** Where non-STUN packets of known tuples go (DTLS, RTP, RTCP); dropped until one is set. */
  private receiver: IcePacketReceiver = () => {};

  constructor(opts: IceLiteSessionOptions = {}) {
    super();
    this.localUfrag = opts.localUfrag ?? randomIceString(UFRAG_CHARS);
    this.localPassword = opts.localPassword ?? randomIceString(PASSWORD_CHARS);
    if (!isValidUfrag(this.localUfrag))
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, 'localUfrag must be 4–256 ice-chars (RFC 8839 §5.4)');
    if (!isValidPassword(this.localPassword))
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, 'localPassword must be 22–256 ice-chars (RFC 8839 §5.4)');
    this.consentTimeoutMs = opts.consentTimeoutMs ?? DEFAULT_CONSENT_TIMEOUT_MS;
    this.quietPairMs = opts.quietPairMs ?? QUIET_PAIR_MS;
    this.creds = { localUfrag: this.localUfrag, localKey: Buffer.from(this.localPassword, 'utf8'), remoteUfrag: opts.remoteUfrag ?? null };
    this.remotePasswordValue = opts.remotePassword ?? null;
  }

  get remoteUfrag(): string | null {
    return this.creds.remoteUfrag;
  }

  /** Kept for completeness: a lite agent never sends checks, so it never signs with it. */
  get remotePassword(): string | null {
    return this.remotePasswordValue;
  }

  get selectedTuple(): RtcTuple | null {
    return this.selected;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Tuples validated by a check, in the order they were first validated. */
  get tuples(): ReadonlySet<RtcTuple> {
    return this.known;
  }

  setRemoteCredentials(ufrag: string, password: string): void {
    this.creds.remoteUfrag = ufrag;
    this.remotePasswordValue = password;
  }

  /** Sends on the selected tuple; false when there is none (or the session is closed). */
  send(buf: Buffer): boolean {
    const tuple = this.selected;
    if (!tuple || this.isClosed) return false;
    this.stats.packetsOut++;
    tuple.send(buf);
    return true;
  }

  /**
   * For the transport: a STUN message addressed to this session's ufrag arrived on `tuple`.
   * Answers it on the same tuple; true when the check was valid, so the transport binds the
   * tuple to this session. Never throws.
   */
  handleStun(msg: StunMessage, tuple: RtcTuple): boolean {
    if (this.isClosed) return false;
    const verdict = answerCheck(msg, { address: tuple.remoteAddress, port: tuple.remotePort }, this.creds);
    if (verdict.kind === 'drop') {
      this.stats.checksDropped++;
      return false;
    }
    if (tuple.sendControl) tuple.sendControl(verdict.response);
    else tuple.send(verdict.response);
    if (verdict.kind === 'reject') {
      this.stats.checksRejected++;
      return false;
    }
    this.stats.checksAccepted++;
    this.known.add(tuple);
    const priority = getAttribute(msg, Attr.Priority);
    this.onValidCheck(tuple, verdict.useCandidate, priority && priority.length === 4 ? priority.readUInt32BE(0) : 0);
    return true;
  }

  /** Who takes the non-STUN packets (the WebRtcTransport): set once. */
  setPacketReceiver(receiver: IcePacketReceiver): void {
    this.receiver = receiver;
  }

  /** For the transport: a non-STUN packet (DTLS, RTP, RTCP) arrived on `tuple`. */
  handlePacket(buf: Buffer, tuple: RtcTuple): void {
    if (this.isClosed) return;
    if (!this.known.has(tuple)) {
      this.stats.packetsFromUnknownTuple++;
      return;
    }
    this.stats.packetsIn++;
    this.receiver(buf, tuple);
  }

  /** For the transport: `tuple` is gone (TCP connection closed) or now belongs to another session. */
  forgetTuple(tuple: RtcTuple): void {
    this.known.delete(tuple);
    this.nominatedTuples.delete(tuple);
    // Consent keeps counting from the last check: if no other tuple is nominated in time,
    // 'consent-expired' tells the owner the path is lost.
    if (this.selected === tuple) this.selected = null;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.consentTimer) clearInterval(this.consentTimer);
    this.consentTimer = null;
    this.known.clear();
    this.nominatedTuples.clear();
    this.selected = null;
    this.emit('closed');
    this.removeAllListeners();
  }

  /**
   * RFC 8445 §7.3.1.5 and §8.1.1: a check with USE-CANDIDATE nominates its pair, and the
   * controlling agent uses the highest-priority nominated pair. Firefox nominates several pairs
   * (UDP and ICE-TCP, IPv4 and IPv6) and then sends its consent checks only on the best one, so
   * a later nomination replaces ours only when it ranks at least as high — UDP before TCP, then
   * the remote candidate's PRIORITY — or when our pair has gone quiet (the browser moved, e.g.
   * after a network change). Before any nomination the first valid tuple serves, so media can
   * start at once. Repeated USE-CANDIDATE on the selected tuple (Chrome puts it in every consent
   * check) changes nothing. A nominated pair whose plain checks keep coming while ours is quiet
   * takes over too.
   */
  private onValidCheck(tuple: RtcTuple, useCandidate: boolean, priority: number): void {
    const now = Date.now();
    if (tuple === this.selected) {
      // RFC 7675 §5.1: a successful check on the selected pair refreshes consent.
      this.lastConsentAt = now;
      this.selectedPriority = Math.max(this.selectedPriority, priority);
      if (useCandidate) this.nominated = true;
      return;
    }
    const quiet = now - this.lastConsentAt > this.quietPairMs;
    if (useCandidate) {
      this.nominatedTuples.add(tuple);
      const better =
        this.selected === null || !this.nominated || rank(tuple, priority) >= rank(this.selected, this.selectedPriority) || quiet;
      this.nominated = true;
      if (better) this.select(tuple, priority);
    } else if (!this.nominated && this.selected === null) {
      this.select(tuple, priority);
    } else if (quiet && this.nominatedTuples.has(tuple)) {
      // Our ranking is not the browser's pair priority (it weighs our candidates too): when the
      // browser's consent checks come on another pair it nominated while ours is silent, that
      // pair is the one it uses (Firefox with IPv4 and ULA IPv6 pairs does this).
      this.select(tuple, priority);
    }
  }

  private select(tuple: RtcTuple, priority: number): void {
    this.selected = tuple;
    this.selectedPriority = priority;
    this.lastConsentAt = Date.now();
    this.consentExpired = false;
    this.startConsentTimer();
    this.emit('tuple-selected', tuple);
  }

  private startConsentTimer(): void {
    if (this.consentTimer) return;
    this.consentTimer = setInterval(
      guarded(
        'rtc.ice.consent-timer',
        () => this.checkConsent(Date.now()),
        () => this.close(),
      ),
      Math.min(CONSENT_TICK_MS, this.consentTimeoutMs),
    );
    this.consentTimer.unref();
  }

  private checkConsent(now: number): void {
    if (this.consentExpired || this.isClosed) return;
    if (now - this.lastConsentAt < this.consentTimeoutMs) return;
    this.consentExpired = true;
    this.emit('consent-expired');
  }
}
