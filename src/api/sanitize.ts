/**
 * @module The one sanitiser for error text that leaves the API: upstream error bodies, request ids,
 * timestamps and service URLs are removed, the service's error code and first sentence are kept.
 *
 * Azure SDK errors carry the service's body in their message: Azure Tables' OData JSON
 * (`{"odata.error":{"code":…,"message":{"value":"…\nRequestId:…\nTime:…"}}}`), Blob's text with
 * `RequestId:`/`Time:` lines (or the XML body), Key Vault's `{"error":{"code","message"}}`. Providers
 * put such messages into store errors, and the API into `message` fields; {@link toHttpResponse} and
 * bulk-get item errors pass every message through {@link sanitizeMessage}.
 */
import { isRecord } from "../shared/guards";

const REQUEST_ID_LINE = /\s*(?:\bRequestId:[\w-]+|\bx-ms-(?:client-)?request-id"?\s*[:=]\s*"?[\w-]+"?)/gi;
const TIME_LINE = /\s*\bTime:\s*\d{4}-\d{2}-\d{2}T[\d:.]+Z/g;
const URL = /\bhttps?:\/\/[^\s"'<>)]+/gi;
const ODATA_OR_KV_BODY = /\{\s*"(?:odata\.error|error)"\s*:/;
const XML_BODY = /<\?xml[\s\S]*$|<Error>[\s\S]*<\/Error>/;

/** The first line of a service message, without trailing request ids. */
function firstLine(text: string): string {
  return (text.split(/\r?\n/)[0] ?? "").trim();
}

/** `code: first line` from an embedded OData / Key Vault JSON body, if it parses. */
function summariseJsonBody(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const root = parsed["odata.error"] ?? parsed.error;
  if (!isRecord(root)) return undefined;
  const { code, message } = root;
  const text = typeof message === "string" ? message : isRecord(message) ? message.value : undefined;
  const parts = [typeof code === "string" && code !== "" ? code : undefined, typeof text === "string" ? firstLine(text) : undefined].filter((p): p is string => p !== undefined && p !== "");
  return parts.length === 0 ? undefined : parts.join(": ");
}

function summariseXmlBody(body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  return [code, message === undefined ? undefined : firstLine(message)].filter((p): p is string => p !== undefined && p !== "").join(": ") || "upstream error";
}

/**
 * Removes upstream bodies, request ids, timestamps and URLs from error text (pure, idempotent).
 * @example
 * sanitizeMessage('failed: {"odata.error":{"code":"X","message":{"lang":"en-US","value":"Bad.\nRequestId:1-2\nTime:2026-01-01T00:00:00Z"}}}')
 * // → "failed: X: Bad."
 */
export function sanitizeMessage(text: string): string {
  let out = text;
  const json = ODATA_OR_KV_BODY.exec(out);
  if (json !== undefined && json !== null) {
    const body = out.slice(json.index);
    const summary = summariseJsonBody(body) ?? summariseJsonBody(body.slice(0, body.lastIndexOf("}") + 1));
    out = `${out.slice(0, json.index)}${summary ?? "upstream error"}`;
  }
  const xml = XML_BODY.exec(out);
  if (xml !== null) out = `${out.slice(0, xml.index)}${summariseXmlBody(xml[0])}`;
  return out.replace(REQUEST_ID_LINE, "").replace(TIME_LINE, "").replace(URL, "<url>").replace(/[ \t]*\r?\n\s*$/g, "").trimEnd();
}
