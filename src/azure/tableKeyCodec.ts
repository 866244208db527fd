/**
 * @module A reversible encoding of arbitrary text into Azure Table PartitionKey/RowKey values.
 *
 * Azure Tables forbid `/`, `\`, `#`, `?` and the control characters U+0000–U+001F and U+007F–U+009F
 * in keys. Each of those becomes `%XX` (its code as two upper-case hex digits). A `%` that is
 * followed by two hex digits becomes `%25`, so decoding is unambiguous; every other character,
 * including a `%` not followed by two hex digits, is kept as is.
 *
 * So a key that needs no encoding (no forbidden character and no `%XX` sequence, i.e. every key
 * Azure accepted before) is stored verbatim: rows written before this encoding existed, by
 * vaultstate or by Dapr's own table store, keep their names. The only keys whose stored form
 * changed are those that already contained a `%XX` sequence.
 */

/** Whether Azure Tables forbid this UTF-16 code unit in a key. */
function isForbidden(code: number): boolean {
  return code === 0x2f || code === 0x5c || code === 0x23 || code === 0x3f || code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

function isHexDigit(code: number | undefined): boolean {
  return code !== undefined && ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66));
}

function escapesAt(text: string, i: number): boolean {
  return text.charCodeAt(i) === 0x25 && isHexDigit(text.charCodeAt(i + 1) || undefined) && isHexDigit(text.charCodeAt(i + 2) || undefined);
}

function hex(code: number): string {
  return `%${code.toString(16).toUpperCase().padStart(2, "0")}`;
}

/**
 * Escapes, as `%XX`, every character for which `mustEscape` holds and every `%` that starts a `%XX`
 * sequence (pure; the identity for text that needs neither). Only for characters below U+0100.
 */
export function escapeWith(text: string, mustEscape: (text: string, index: number) => boolean): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (!mustEscape(text, i) && !escapesAt(text, i)) continue;
    out += text.slice(start, i) + hex(text.charCodeAt(i));
    start = i + 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

/** Encodes text for a PartitionKey or RowKey (pure; the identity for text that needs no encoding). */
export function encodeTableKey(text: string): string {
  return escapeWith(text, (t, i) => isForbidden(t.charCodeAt(i)));
}

/** Decodes a stored PartitionKey or RowKey back to the original text (pure). */
export const decodeTableKey = unescapeKey;

/** Reverses {@link escapeWith}: every `%XX` becomes its character (pure). */
export function unescapeKey(stored: string): string {
  if (!stored.includes("%")) return stored;
  let out = "";
  for (let i = 0; i < stored.length; i++) {
    if (escapesAt(stored, i)) {
      out += String.fromCharCode(parseInt(stored.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out += stored[i];
    }
  }
  return out;
}

/** Azure's size limit for PartitionKey and RowKey, in bytes of UTF-16. */
export const MAX_TABLE_KEY_BYTES = 1024;

/** The stored size of an encoded key in bytes (Azure counts UTF-16 code units, 2 bytes each). */
export function tableKeyBytes(encoded: string): number {
  return encoded.length * 2;
}
