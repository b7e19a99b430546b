/**
 * AudioLevelMeter: what one audio producer's packets say about its loudness, read per packet
 * from the client-to-mixer audio level header extension (RFC 6464 §3: the V bit and the level
 * in −dBov, 0 loudest … 127 silence) and summed until the ActiveSpeakerObserver takes the
 * window. Nothing is allocated per packet.
 *
 * Loudness here is 127 − level: 0 is silence, so sums and means grow with volume.
 */
import { AudioLevel, findHeaderExtension, readAudioLevel, type RtpHeaderView } from '../../rtc/rtp/index.js';

export class AudioLevelMeter {
  private readonly scratch = new AudioLevel();
  private loudnessSum = 0;
  private packets = 0;
  private voicePackets = 0;
  /** Packets that carried the extension, since the meter was made (for stats and tests). */
  packetsWithLevel = 0;
  /** The last level read (−dBov), 127 before any. */
  lastLevel = 127;

  /** `extensionId`: the id the publish answer accepted for urn:ietf:params:rtp-hdrext:ssrc-audio-level. */
  constructor(readonly extensionId: number) {}

  /** A plain RTP packet of the producer, parsed into `view`. */
  onPacket(packet: Buffer, view: RtpHeaderView): void {
    const at = findHeaderExtension(packet, view, this.extensionId);
    if (at < 0 || !readAudioLevel(packet, at, view.extensionElementLength, this.scratch)) return;
    this.add(this.scratch.level, this.scratch.voice);
  }

  /** One packet's level (−dBov) and V bit; public for tests that feed synthetic sequences. */
  add(level: number, voice: boolean): void {
    const l = level < 0 ? 0 : level > 127 ? 127 : level;
    this.loudnessSum += 127 - l;
    this.packets++;
    if (voice) this.voicePackets++;
    this.packetsWithLevel++;
    this.lastLevel = l;
  }

  /**
   * Ends the current window: writes its mean loudness (0–127; 0 when no packet came — Opus DTX
   * sends almost nothing in silence, and a removed track sends nothing, so missing is silence)
   * and the share of packets flagged as voice, then starts a new window.
   */
  take(out: WindowLevel): void {
    out.packets = this.packets;
    out.loudness = this.packets > 0 ? this.loudnessSum / this.packets : 0;
    out.voiceShare = this.packets > 0 ? this.voicePackets / this.packets : 0;
    this.loudnessSum = 0;
    this.packets = 0;
    this.voicePackets = 0;
  }
}

/** One window of one producer, reused by the observer. */
export class WindowLevel {
  packets = 0;
  /** Mean of 127 − level over the window's packets. */
  loudness = 0;
  voiceShare = 0;
}
