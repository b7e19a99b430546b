/**
 * The chat wire format shared by every topology: one JSON object `{"text": "..."}` per message
 * on the `chat` data channel. Pure (no DOM), so the same rules hold in mesh and SFU rooms and can
 * be unit-tested in Node.
 */

/** Longest chat line we send or accept. */
export const MAX_CHAT_CHARS = 4000;
/** A frame longer than this cannot hold a valid line (JSON escaping at most doubles it). */
const MAX_CHAT_FRAME_CHARS = MAX_CHAT_CHARS * 2 + 64;

export function encodeChatLine(text: string): string {
  return JSON.stringify({ text: text.slice(0, MAX_CHAT_CHARS) });
}

/** The text of one received chat frame, or null for anything that is not a valid line. Never throws. */
export function parseChatLine(data: unknown): string | null {
  if (typeof data !== 'string' || data.length > MAX_CHAT_FRAME_CHARS) return null;
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const text = (msg as { text?: unknown }).text;
  return typeof text === 'string' ? text.slice(0, MAX_CHAT_CHARS) : null;
}
