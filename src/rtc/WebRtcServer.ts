/**
 * WebRtcServer: what every WebRTC transport of this process shares — the RTC port (one UDP
 * port plus ICE-TCP on the same number, RFC 7983 demux) and the DTLS certificate whose
 * fingerprint goes into every SDP. It creates transports; each registers its ICE session on
 * the port and is routed by ICE username, then by 5-tuple.
 */
import { DtlsCertificate } from './dtls/index.js';
import { RtcPort, type RtcPortOptions } from './RtcPort.js';
import { WebRtcTransport, type WebRtcTransportOptions } from './WebRtcTransport.js';

export interface WebRtcServerOptions extends RtcPortOptions {
  consentTimeoutMs?: number;
}

export class WebRtcServer {
  private readonly transports = new Set<WebRtcTransport>();

  private constructor(
    readonly port: RtcPort,
    readonly certificate: DtlsCertificate,
    private readonly opts: WebRtcServerOptions,
  ) {}

  static async start(opts: WebRtcServerOptions): Promise<WebRtcServer> {
    const certificate = await DtlsCertificate.generate();
    const port = new RtcPort(opts);
    await port.listen();
    return new WebRtcServer(port, certificate, opts);
  }

  get transportCount(): number {
    return this.transports.size;
  }

  createTransport(opts: Omit<WebRtcTransportOptions, 'port' | 'certificate'>): WebRtcTransport {
    const t = new WebRtcTransport({
      ...opts,
      port: this.port,
      certificate: this.certificate,
      consentTimeoutMs: opts.consentTimeoutMs ?? this.opts.consentTimeoutMs,
    });
    this.transports.add(t);
    t.on('closed', () => this.transports.delete(t));
    return t;
  }

  async close(): Promise<void> {
    for (const t of [...this.transports]) t.close('server closing');
    await this.port.close();
  }
}
