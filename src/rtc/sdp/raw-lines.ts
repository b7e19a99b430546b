/**
 * A pass over the raw SDP lines for what sdp-transform does not keep or cannot read:
 * every a=fingerprint (RFC 8122 §5 allows several; sdp-transform keeps the last), a=msid
 * values with braces (Firefox writes `{uuid}`, which sdp-transform's msid rule rejects),
 * a=mid as written (sdp-transform keeps only up to the first space) and the a=simulcast value.
 */

export interface RawSectionLines {
  fingerprints: string[];
  msid: string[];
  mid: string[];
  simulcast: string[];
}

export interface RawLines {
  /** Index 0 is the session level, index i + 1 the i-th m-section. */
  sections: RawSectionLines[];
  mediaCount: number;
  firstLine: string;
}

/** sdp-transform splits on the same line ends. */
export const LINE_END = /\r\n|\r|\n/;

function emptySection(): RawSectionLines {
  return { fingerprints: [], msid: [], mid: [], simulcast: [] };
}

/** Collects the raw values; stops adding sections past `maxMedia` (the caller rejects those SDPs). */
export function scanRawLines(sdp: string, maxMedia: number): RawLines {
  const lines = sdp.split(LINE_END);
  const sections: RawSectionLines[] = [emptySection()];
  let mediaCount = 0;
  let current = sections[0] as RawSectionLines;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      mediaCount++;
      if (mediaCount > maxMedia) break;
      current = emptySection();
      sections.push(current);
    } else if (line.startsWith('a=fingerprint:')) {
      current.fingerprints.push(line.slice(14));
    } else if (line.startsWith('a=msid:')) {
      current.msid.push(line.slice(7));
    } else if (line.startsWith('a=mid:')) {
      current.mid.push(line.slice(6));
    } else if (line.startsWith('a=simulcast:')) {
      current.simulcast.push(line.slice(12));
    }
  }
  return { sections, mediaCount, firstLine: lines[0] ?? '' };
}
