/**
 * LocalMedia: the camera, microphone and screen-share tracks this page sends.
 *
 * Peers never hold these tracks directly: they ask for `outgoing('audio'|'video')` and listen to
 * `tracks-changed`, then call `RTCRtpSender.replaceTrack()`. So a device switch or a screen share
 * never renegotiates. When getUserMedia fails, the reason is classified (denied / no device /
 * busy) so the app can explain it, and the page still joins to receive.
 */
import { Emitter } from './emitter.js';

import type { MediaKind } from '../src/protocol/index.js';

export type { MediaKind };
export type MediaProblemKind = 'denied' | 'not-found' | 'in-use' | 'insecure' | 'other';

export interface MediaProblem {
  kind: MediaProblemKind;
  /** Which device(s) the problem concerns. */
  media: MediaKind[];
  message: string;
}

export interface LocalMediaEvents {
  /** The track that peers should send for a kind changed (device switch, screen share, stop). */
  'tracks-changed': { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
  'mute-changed': { audio: boolean; video: boolean };
  'screen-share': { active: boolean };
}

export interface LocalMediaOptions {
  audio?: boolean;
  video?: boolean | MediaTrackConstraints;
}

export function classifyMediaError(err: unknown, media: MediaKind[]): MediaProblem {
  const name = err instanceof DOMException || err instanceof Error ? err.name : '';
  const text = err instanceof Error ? err.message : String(err);
  const what = media.join(' and ');
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return {
        kind: 'denied',
        media,
        message: `Permission to use the ${what} was denied. You joined receive-only; allow access in the browser and rejoin to send.`,
      };
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return { kind: 'not-found', media, message: `No ${what} found. You joined receive-only for it.` };
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return { kind: 'in-use', media, message: `The ${what} could not be started (in use by another application?).` };
    default:
      return { kind: 'other', media, message: `Could not open the ${what}: ${text || name || 'unknown error'}` };
  }
}

export class LocalMedia extends Emitter<LocalMediaEvents> {
  /** Preview stream: the camera (or screen) video plus the mic. */
  readonly stream = new MediaStream();
  problems: MediaProblem[] = [];
  private mic: MediaStreamTrack | null = null;
  private camera: MediaStreamTrack | null = null;
  private screen: MediaStreamTrack | null = null;
  private audioMuted = false;
  private videoMuted = false;
  private videoConstraints: MediaTrackConstraints | boolean = true;

  /**
   * Opens the requested devices. Never throws: failures land in `problems`. When both devices are
   * asked for and the combined request fails for a reason other than denial, each is retried alone
   * so a machine with only a microphone still sends audio.
   */
  async start(opts: LocalMediaOptions = { audio: true, video: true }): Promise<MediaProblem[]> {
    this.problems = [];
    const wantAudio = opts.audio !== false;
    const wantVideo: boolean | MediaTrackConstraints = opts.video ?? true;
    this.videoConstraints = wantVideo === false ? true : wantVideo;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.problems.push({
        kind: 'insecure',
        media: ['audio', 'video'],
        message: 'Camera and microphone need a secure page (HTTPS or localhost). You joined receive-only.',
      });
      return this.problems;
    }
    const kinds: MediaKind[] = [];
    if (wantAudio) kinds.push('audio');
    if (wantVideo) kinds.push('video');
    if (kinds.length === 0) return this.problems;
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: wantAudio, video: wantVideo });
      this.adopt(s);
    } catch (err) {
      const problem = classifyMediaError(err, kinds);
      if (problem.kind === 'denied' || kinds.length === 1) {
        this.problems.push(problem);
      } else {
        for (const kind of kinds) {
          try {
            const s = await navigator.mediaDevices.getUserMedia(kind === 'audio' ? { audio: true } : { video: this.videoConstraints });
            this.adopt(s);
          } catch (e) {
            this.problems.push(classifyMediaError(e, [kind]));
          }
        }
      }
    }
    this.rebuildPreview();
    this.emitTracks();
    return this.problems;
  }

  /** The track peers should send for `kind` (null: send nothing, receive only). */
  outgoing(kind: MediaKind): MediaStreamTrack | null {
    if (kind === 'audio') return this.mic;
    return this.screen ?? this.camera;
  }

  get micTrack(): MediaStreamTrack | null {
    return this.mic;
  }
  get cameraTrack(): MediaStreamTrack | null {
    return this.camera;
  }
  get sharingScreen(): boolean {
    return this.screen !== null;
  }
  get muted(): { audio: boolean; video: boolean } {
    return { audio: this.audioMuted, video: this.videoMuted };
  }

  /** Mute keeps the track (and the sender) so unmuting is instant and needs no negotiation. */
  setMuted(kind: MediaKind, muted: boolean): void {
    if (kind === 'audio') {
      this.audioMuted = muted;
      if (this.mic) this.mic.enabled = !muted;
    } else {
      this.videoMuted = muted;
      if (this.camera) this.camera.enabled = !muted;
    }
    this.emit('mute-changed', this.muted);
  }

  async listDevices(): Promise<MediaDeviceInfo[]> {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    return navigator.mediaDevices.enumerateDevices();
  }

  /** Replaces the mic or camera with another device; peers get it through replaceTrack. */
  async switchDevice(kind: MediaKind, deviceId: string): Promise<void> {
    const constraints: MediaStreamConstraints =
      kind === 'audio'
        ? { audio: { deviceId: { exact: deviceId } } }
        : { video: { ...(typeof this.videoConstraints === 'object' ? this.videoConstraints : {}), deviceId: { exact: deviceId } } };
    const s = await navigator.mediaDevices.getUserMedia(constraints);
    const track = kind === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
    if (!track) throw new Error(`the selected ${kind} device gave no track`);
    const old = kind === 'audio' ? this.mic : this.camera;
    if (kind === 'audio') {
      this.mic = track;
      track.enabled = !this.audioMuted;
    } else {
      this.camera = track;
      track.enabled = !this.videoMuted;
    }
    this.problems = this.problems.filter((p) => !p.media.includes(kind));
    this.rebuildPreview();
    this.emitTracks();
    old?.stop();
  }

  /** Sends the screen instead of the camera until `stopScreenShare()` or the browser's stop button. */
  async startScreenShare(): Promise<void> {
    if (this.screen) return;
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = s.getVideoTracks()[0];
    if (!track) throw new Error('screen capture gave no video track');
    track.addEventListener('ended', () => this.stopScreenShare());
    this.screen = track;
    this.rebuildPreview();
    this.emitTracks();
    this.emit('screen-share', { active: true });
  }

  stopScreenShare(): void {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    this.rebuildPreview();
    this.emitTracks();
    this.emit('screen-share', { active: false });
  }

  stop(): void {
    for (const t of [this.mic, this.camera, this.screen]) t?.stop();
    this.mic = this.camera = this.screen = null;
    this.rebuildPreview();
    this.emitTracks();
  }

  private adopt(s: MediaStream): void {
    const a = s.getAudioTracks()[0];
    const v = s.getVideoTracks()[0];
    // A mute set before the devices opened (joining muted) applies to the new tracks.
    if (a && !this.mic) {
      this.mic = a;
      a.enabled = !this.audioMuted;
    }
    if (v && !this.camera) {
      this.camera = v;
      v.enabled = !this.videoMuted;
    }
  }

  private rebuildPreview(): void {
    for (const t of this.stream.getTracks()) this.stream.removeTrack(t);
    const v = this.outgoing('video');
    if (v) this.stream.addTrack(v);
    if (this.mic) this.stream.addTrack(this.mic);
  }

  private emitTracks(): void {
    this.emit('tracks-changed', { audio: this.outgoing('audio'), video: this.outgoing('video') });
  }
}
