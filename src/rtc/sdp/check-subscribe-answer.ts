/** Does a browser's answer to a subscribe offer take every section as offered? (RFC 3264 §6, RFC 8843 §7.3) */
import type { OfferedSection, RemoteDescription } from './types.js';

/** null when the answer is usable, else what is wrong. */
export function checkSubscribeAnswer(answer: RemoteDescription, offered: readonly OfferedSection[]): string | null {
  if (answer.type !== 'answer') return 'not an answer';
  const offeredMids = new Set(offered.map((s) => s.mid));
  for (const a of answer.media) {
    if (a.kind !== 'application' && !offeredMids.has(a.mid)) return `answer has mid ${a.mid}, which was not offered`;
  }
  for (const s of offered) {
    const a = answer.media.find((m) => m.mid === s.mid);
    if (!a) return `mid ${s.mid} missing from the answer`;
    if (a.kind !== s.kind) return `mid ${s.mid}: answered as ${a.kind}, offered ${s.kind}`;
    if (a.rejected) return `mid ${s.mid}: rejected by the browser`;
    if (!answer.bundleMids.includes(s.mid)) return `mid ${s.mid}: not in the answer's BUNDLE group`;
    if (!a.rtcpMux) return `mid ${s.mid}: no rtcp-mux in the answer`;
    // RFC 3264 §6.1: sendonly is answered recvonly (or inactive: refused); inactive only inactive.
    const expected = s.active ? 'recvonly' : 'inactive';
    if (a.direction !== expected) return `mid ${s.mid}: direction ${a.direction}, expected ${expected}`;
    // RFC 3264 §6.1: the answer may only use offered payload types, with the offered meaning.
    const codec = a.codecs.find((c) => c.payloadType === s.codec.payloadType);
    if (!codec) return `mid ${s.mid}: codec ${s.codec.name}/${s.codec.payloadType} missing from the answer`;
    if (codec.name.toLowerCase() !== s.codec.name.toLowerCase() || codec.clockRate !== s.codec.clockRate) {
      return `mid ${s.mid}: payload type ${s.codec.payloadType} changed to ${codec.name}/${codec.clockRate}`;
    }
    // RED (RFC 2198) is optional for the answerer: it may keep or drop it.
    const other = a.codecs.find((c) => c.payloadType !== s.codec.payloadType && c.payloadType !== s.codec.redPayloadType);
    if (other) return `mid ${s.mid}: answer adds payload type ${other.payloadType}, which was not offered`;
    const red = a.codecs.find((c) => c.payloadType === s.codec.redPayloadType);
    if (red && red.name.toLowerCase() !== 'red') return `mid ${s.mid}: payload type ${red.payloadType} changed to ${red.name}`;
    if (codec.rtxPayloadType !== undefined && codec.rtxPayloadType !== s.codec.rtxPayloadType) {
      return `mid ${s.mid}: rtx payload type ${codec.rtxPayloadType} was not offered`;
    }
    // RFC 8285 §7: the answer keeps offered ids and may only drop extensions.
    for (const e of a.headerExtensions) {
      const mine = s.headerExtensions.find((o) => o.id === e.id);
      if (!mine || mine.uri !== e.uri) return `mid ${s.mid}: header extension ${e.id} ${e.uri} was not offered`;
    }
  }
  return null;
}

/** Whether the (checked) answer kept the RED payload type offered in `section` (RFC 2198), i.e. the browser decodes RED there. */
export function answerKeepsRed(answer: RemoteDescription, section: OfferedSection): boolean {
  const pt = section.codec.redPayloadType;
  if (pt === undefined) return false;
  const a = answer.media.find((m) => m.mid === section.mid);
  return a !== undefined && a.codecs.some((c) => c.payloadType === pt && c.name.toLowerCase() === 'red');
}
