/**
 * @module Property-based hostile-input tests (fast-check), pure and in-process: the router's path
 * handling, Go path/query decoding, component metadata and YAML parsing, and body validation through the
 * in-process API on in-memory stores. Each property states what must hold for *every* input, so the
 * generators lean towards the characters that matter (`/`, `.`, `%`, `+`, `|`, hex digits, NUL).
 */
import fc from "fast-check";
import { decodeTableKey } from "../../src/azure/tableKeyCodec";
import { stringify as toYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, matchPattern, routingPath, type ApiHandler } from "../../src/api/router";
import { isIllegalKey, parseKeyPrefix, prefixKey } from "../../src/components/state/stateKeys";
import { cleanPath, EscapeError, metadataFromQuery, parseQuery, queryUnescape } from "../../src/api/wire";
import { getProperty, isMetadataError, parseBoolean, parseInteger, type ComponentProperties } from "../../src/components/metadata";
import { parseKeyVaultMetadata } from "../../src/components/secretstores/azure/keyvault/keyVaultSecretStore";
import { parseEnvSecretStoreMetadata } from "../../src/components/secretstores/local/env/envSecretStore";
import { parseFileSecretStoreMetadata } from "../../src/components/secretstores/local/file/fileSecretStore";
import { BLOB_METADATA_KEYS, parseBlobStateStoreMetadata } from "../../src/components/state/azure/blobstorage/blobStateStoreMetadata";
import { isValidTableKey, parseTableStateStoreMetadata, TABLE_METADATA_KEYS, tableKeysFor } from "../../src/components/state/azure/tablestorage/tableStateStoreMetadata";
import { MAX_TTL_IN_SECONDS, parseTtlInSeconds, TtlError } from "../../src/components/state/ttl";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments, ResourceFileError } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

// ---- helpers ----

/** Go `url.QueryEscape`: unreserved bytes as is, space as `+`, every other UTF-8 byte as `%XX`. */
function goQueryEscape(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Whether `s` has a `%` not followed by two hex digits (what Go's unescape refuses). */
function hasBadEscape(s: string): boolean {
  return /%(?![0-9a-fA-F]{2})/.test(s);
}

/** Strings built mostly from the characters path and query handling care about. */
const trickyChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("/", ".", "..", "%", "+", "|", "||", ";", "=", "&", "?", "#", "\\", " ", "\u0000", "%2e", "%2F", "%2f", "%00", "%zz", "%c0%ae", "%7C") },
  { weight: 3, arbitrary: fc.constantFrom("a", "b", "0", "9", "f", "F", "metadata.", "v1.0", "state", "secrets") },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
);
const trickyString = fc.array(trickyChar, { maxLength: 24 }).map((parts) => parts.join(""));

/** A path segment that is neither empty nor a dot segment and has no `/`. */
const plainSegment = fc.string({ unit: fc.constantFrom("a", "b", "Z", "0", "%", "2", "e", "+", "|", "-", "_", "~", "é", "."), minLength: 1, maxLength: 8 }).filter((s) => s !== "." && s !== "..");

const SEGMENT_SAMPLES = { numRuns: 500 };

// ---- router path handling ----

describe("routingPath (Go path.Clean + strip slash)", () => {
  it("is rooted, has no empty or dot segments, no trailing slash, and is idempotent", () => {
    fc.assert(
      fc.property(trickyString, (raw) => {
        const p = routingPath(raw);
        expect(p.startsWith("/")).toBe(true);
        if (p !== "/") {
          expect(p.endsWith("/")).toBe(false);
          for (const segment of p.slice(1).split("/")) expect(["", ".", ".."]).not.toContain(segment);
        }
        expect(routingPath(p)).toBe(p);
      }),
      SEGMENT_SAMPLES,
    );
  });

  it("`..` never climbs above the root: any number of leading `..` is dropped", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(plainSegment, { maxLength: 6 }), (ups, segments) => {
        const rest = segments.join("/");
        expect(routingPath(`/${"../".repeat(ups)}${rest}`)).toBe(routingPath(`/${rest}`));
      }),
      SEGMENT_SAMPLES,
    );
  });

  it("`.`, empty segments, `x/..` pairs and a trailing slash never change where a path routes", () => {
    const noise = fc.constantFrom(".", "", "x/..", "%2e%2e-not-a-dot/..", "./.");
    fc.assert(
      fc.property(fc.array(plainSegment, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(fc.nat(6), noise), { maxLength: 4 }), fc.boolean(), (segments, insertions, trailing) => {
        const noisy = [...segments];
        for (const [at, n] of insertions) noisy.splice(Math.min(at, noisy.length), 0, n);
        expect(routingPath(`/${noisy.join("/")}${trailing ? "/" : ""}`)).toBe(`/${segments.join("/")}`);
      }),
      SEGMENT_SAMPLES,
    );
  });

  it("percent-encoded dots and slashes stay inside their segment (no decoding before routing)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("%2e%2e", "%2E%2E", ".%2e", "..%2f", "%2F", "a%2Fb"), { minLength: 1, maxLength: 4 }), (segments) => {
        const path = `/v1.0/state/s/${segments.join("")}`;
        expect(routingPath(path)).toBe(path);
      }),
    );
  });
});

describe("matchPattern", () => {
  const patterns = ["/v1.0/state/:store/:key", "/v1.0/state/:store", "/v1.0/secrets/:store/bulk", "/v1.0/secrets/:store/:key", "/v1.0-alpha1/state/:store/query"];

  it("matching a filled-in pattern gives back exactly the values (round trip)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.array(plainSegment, { minLength: 2, maxLength: 2 }), (pattern, values) => {
        const names = pattern.split("/").filter((s) => s.startsWith(":"));
        let i = 0;
        const path = pattern
          .split("/")
          .map((s) => (s.startsWith(":") ? (values[i++] ?? "") : s))
          .join("/");
        expect(matchPattern(pattern, path)).toEqual(Object.fromEntries(names.map((n, j) => [n.slice(1), values[j]])));
      }),
      SEGMENT_SAMPLES,
    );
  });

  it("any match has non-empty, slash-free params that rebuild the path", () => {
    fc.assert(
      fc.property(fc.constantFrom(...patterns), trickyString, (pattern, raw) => {
        const path = routingPath(raw.startsWith("/v1") ? raw : `/v1.0/state/${raw}`);
        const params = matchPattern(pattern, path);
        if (params === undefined) return;
        for (const value of Object.values(params)) {
          expect(value).not.toBe("");
          expect(value).not.toContain("/");
        }
        const rebuilt = pattern
          .split("/")
          .map((s) => (s.startsWith(":") ? (params[s.slice(1)] ?? "") : s))
          .join("/");
        expect(rebuilt).toBe(path);
      }),
      SEGMENT_SAMPLES,
    );
  });
});

// ---- Go decoding ----

describe("queryUnescape (Go url.QueryUnescape)", () => {
  it("inverts Go's QueryEscape for any Unicode string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        expect(queryUnescape(goQueryEscape(s))).toBe(s);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), (s) => {
        expect(queryUnescape(goQueryEscape(s))).toBe(s);
      }),
    );
  });

  it("inverts encodeURIComponent too (what browsers and the Dapr JS SDK send)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        expect(queryUnescape(encodeURIComponent(s))).toBe(s);
      }),
    );
  });

  it("throws EscapeError exactly when a % is not followed by two hex digits, and nothing else ever", () => {
    fc.assert(
      fc.property(trickyString, (s) => {
        let thrown: unknown;
        try {
          queryUnescape(s);
        } catch (e) {
          thrown = e;
        }
        if (hasBadEscape(s)) {
          expect(thrown).toBeInstanceOf(EscapeError);
          // Go's %q of the bad escape (up to 3 characters, control characters escaped).
          expect((thrown as EscapeError).message).toBe(`invalid URL escape ${JSON.stringify(s.slice(s.search(/%(?![0-9a-fA-F]{2})/)).slice(0, 3))}`);
        } else {
          expect(thrown).toBeUndefined();
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes every byte sequence to well-formed text: overlong and invalid UTF-8 become U+FFFD, never `.` or `/`", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => {
        const escaped = [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
        const decoded = queryUnescape(escaped);
        expect(decoded).toBe(Buffer.from(bytes).toString("utf8"));
      }),
    );
    expect(queryUnescape("%c0%ae%c0%ae%c0%af")).not.toMatch(/[./]/);
  });
});

describe("cleanPath (Go path.Clean)", () => {
  it("never throws, is idempotent, keeps rootedness and never yields `..` in a rooted path", () => {
    fc.assert(
      fc.property(trickyString, (p) => {
        const cleaned = cleanPath(p);
        expect(cleanPath(cleaned)).toBe(cleaned);
        expect(cleaned.startsWith("/")).toBe(p.startsWith("/"));
        if (p.startsWith("/")) expect(cleaned.split("/")).not.toContain("..");
        expect(cleaned).not.toMatch(/\/\//);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("parseQuery and metadataFromQuery", () => {
  const name = fc.string({ unit: "binary", maxLength: 12 });

  it("round-trips any list of Go-escaped pairs, keeping repeated names in order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name.filter((n) => n !== ""), fc.string({ unit: "binary", maxLength: 12 })), { maxLength: 10 }), (pairs) => {
        const parsed = parseQuery(pairs.map(([k, v]) => `${goQueryEscape(k)}=${goQueryEscape(v)}`).join("&"));
        const expected = new Map<string, string[]>();
        for (const [k, v] of pairs) expected.set(k, [...(expected.get(k) ?? []), v]);
        expect(parsed).toEqual(expected);
      }),
    );
  });

  it("never throws; pairs with a raw `;` or a bad escape are dropped", () => {
    fc.assert(
      fc.property(trickyString, (q) => {
        const parsed = parseQuery(q);
        const kept = q.split("&").filter((pair) => pair !== "" && !pair.includes(";") && !hasBadEscape(pair));
        expect([...parsed.values()].reduce((n, values) => n + values.length, 0)).toBe(kept.length);
      }),
      { numRuns: 1000 },
    );
  });

  it("metadata.* names map to their first value, prefix stripped, case-sensitive; the prototype never changes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(name, name.map((n) => `metadata.${n}`), name.map((n) => `Metadata.${n}`)), name), { maxLength: 10 }), (pairs) => {
        const metadata = metadataFromQuery(parseQuery(pairs.map(([k, v]) => `${goQueryEscape(k)}=${goQueryEscape(v)}`).join("&")));
        expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
        const expected: Record<string, string> = {};
        for (const [k, v] of pairs) {
          const key = k.slice("metadata.".length);
          if (k.startsWith("metadata.") && key !== "__proto__" && !Object.prototype.hasOwnProperty.call(expected, key)) expected[key] = v;
        }
        expect(metadata).toEqual(expected);
      }),
    );
    const polluted = metadataFromQuery(parseQuery("metadata.__proto__=x&metadata.constructor=y&metadata.toString=z"));
    expect(Object.getPrototypeOf(polluted)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(polluted).toEqual({ constructor: "y", toString: "z" });
  });
});

// ---- state keys ----

describe("state keys", () => {
  it("`||` is illegal in keys, and a legal key is always the suffix after the first `||` of the stored key", () => {
    fc.assert(
      fc.property(trickyString, fc.constantFrom(undefined, "appid", "name", "namespace", "none", "custom-prefix"), (key, strategy) => {
        expect(isIllegalKey(key)).toBe(key.includes("||"));
        if (isIllegalKey(key)) return;
        const stored = prefixKey(parseKeyPrefix(strategy), { appId: "demo", storeName: "store", namespace: "ns" }, key);
        expect(stored.endsWith(key)).toBe(true);
        if (strategy !== "none") expect(stored.slice(stored.indexOf("||") + 2)).toBe(key);
      }),
    );
  });

  it("Azure Table keys: either a RangeError, or a partition/row pair free of forbidden characters", () => {
    fc.assert(
      fc.property(trickyString, (key) => {
        let keys;
        try {
          keys = tableKeysFor(`demo||${key}`);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          return;
        }
        expect(keys.partitionKey).toBe("demo");
        expect(isValidTableKey(keys.rowKey)).toBe(true);
        // Keys Table cannot hold are stored encoded; the encoding is reversible, and keys that need none keep their name.
        expect(decodeTableKey(keys.rowKey)).toBe(key);
        if (isValidTableKey(key) && !/%[0-9A-Fa-f]{2}/.test(key)) expect(keys.rowKey).toBe(key);
      }),
    );
  });
});

// ---- component metadata ----

/** Arbitrary metadata: known field names (in random case) and random ones, with hostile values. */
function propertiesArbitrary(knownNames: readonly string[]): fc.Arbitrary<ComponentProperties> {
  const caseVariant = (n: string): fc.Arbitrary<string> => fc.constantFrom(n, n.toLowerCase(), n.toUpperCase());
  const nameArb = fc.oneof(fc.constantFrom(...knownNames).chain(caseVariant), fc.string({ maxLength: 10 }));
  const valueArb = fc.oneof(
    trickyString,
    fc.constantFrom("", " ", "true", "FALSE", "yes", "0", "-1", "1e3", "99999999999999999999", "https://", "http://vault.local", "https://a.vault.azure.net/x?y", "AzureChinaCloud", "nope", "blob", "CONTAINER"),
    fc.integer().map(String),
  );
  return fc.dictionary(nameArb, valueArb, { maxKeys: 8 });
}

/** Runs a parser on arbitrary input: it returns or throws a MetadataError, nothing else. */
function metadataOutcome<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    expect(isMetadataError(e)).toBe(true);
    return undefined;
  }
}

describe("component metadata parsing", () => {
  it("getProperty is case-insensitive, first spelling wins, empty means absent", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), fc.string({ maxLength: 6 }), (props, name) => {
        const first = Object.entries(props).find(([k]) => k.toLowerCase() === name.toLowerCase());
        const expected = first === undefined || first[1] === "" ? undefined : first[1];
        expect(getProperty(props, name.toUpperCase())).toBe(expected);
      }),
    );
  });

  it("parseBoolean accepts the truthy/falsy words in any case and padding, and throws MetadataError for the rest", () => {
    const words = { true: true, "1": true, yes: true, y: true, on: true, false: false, "0": false, no: false, n: false, off: false };
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(words)), fc.constantFrom("", " ", "\t"), fc.boolean(), (word, pad, upper) => {
        expect(parseBoolean("f", `${pad}${upper ? word.toUpperCase() : word}${pad}`, !words[word as keyof typeof words])).toBe(words[word as keyof typeof words]);
      }),
    );
    fc.assert(fc.property(trickyString, (v) => void metadataOutcome(() => parseBoolean("f", v, false))));
  });

  it("parseInteger returns an integer in range or throws MetadataError", () => {
    fc.assert(
      fc.property(fc.oneof(trickyString, fc.integer().map(String), fc.double().map(String)), fc.integer({ min: -5, max: 5 }), (v, min) => {
        const n = metadataOutcome(() => parseInteger("f", v, 0, { min, max: 1000 }));
        if (n !== undefined) {
          expect(Number.isSafeInteger(n)).toBe(true);
          expect(n).toBeGreaterThanOrEqual(min);
          expect(n).toBeLessThanOrEqual(1000);
          expect(n).toBe(Number(v.trim()));
        }
      }),
    );
  });

  it("parseTtlInSeconds: undefined, a TTL in [1, MaxInt32], or a TtlError", () => {
    fc.assert(
      fc.property(fc.oneof(trickyString, fc.integer().map(String), fc.constantFrom("-1", "0", "+5", "2147483647", "2147483648", "1.5", " 1", "0x10")), (v) => {
        let ttl: number | undefined;
        try {
          ttl = parseTtlInSeconds({ ttlInSeconds: v });
        } catch (e) {
          expect(e).toBeInstanceOf(TtlError);
          return;
        }
        if (ttl !== undefined) {
          expect(Number.isInteger(ttl)).toBe(true);
          expect(ttl).toBeGreaterThanOrEqual(1);
          expect(ttl).toBeLessThanOrEqual(MAX_TTL_IN_SECONDS);
        }
      }),
    );
  });

  it("Key Vault: an https vault origin (no path, query or credentials) or a MetadataError", () => {
    fc.assert(
      fc.property(propertiesArbitrary(["vaultName", "vaultUri", "vaultUrl", "azureEnvironment", "azureCloud", "azureClientId", "spnClientId"]), (props) => {
        const parsed = metadataOutcome(() => parseKeyVaultMetadata(props));
        if (parsed === undefined) return;
        const url = new URL(parsed.vaultUrl);
        expect(url.protocol).toBe("https:");
        expect(url.origin).toBe(parsed.vaultUrl);
        expect(url.username + url.password).toBe("");
      }),
      { numRuns: 500 },
    );
  });

  it("file, env, table and blob stores: a typed result or a MetadataError, never another error", () => {
    fc.assert(
      fc.property(propertiesArbitrary(["secretsFile", "nestedSeparator", "multiValued"]), (props) => {
        const parsed = metadataOutcome(() => parseFileSecretStoreMetadata(props, "/app"));
        if (parsed !== undefined) {
          expect(parsed.secretsFile.startsWith("/")).toBe(true);
          expect(typeof parsed.multiValued).toBe("boolean");
        }
      }),
    );
    fc.assert(
      fc.property(propertiesArbitrary(["prefix"]), (props) => {
        expect(typeof parseEnvSecretStoreMetadata(props).prefix).toBe("string");
      }),
    );
    fc.assert(
      fc.property(propertiesArbitrary(Object.values(TABLE_METADATA_KEYS).flat()), (props) => {
        const parsed = metadataOutcome(() => parseTableStateStoreMetadata(props));
        if (parsed !== undefined) {
          expect(parsed.tableName).not.toBe("");
          expect(parsed.accountName !== undefined || parsed.connectionString !== undefined).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(propertiesArbitrary(Object.values(BLOB_METADATA_KEYS).flat()), (props) => {
        const parsed = metadataOutcome(() => parseBlobStateStoreMetadata(props));
        if (parsed !== undefined) {
          expect(parsed.containerName).not.toBe("");
          expect(parsed.retryCount).toBeGreaterThanOrEqual(0);
          expect(parsed.retryCount).toBeLessThanOrEqual(100);
          expect(["none", "blob", "container"]).toContain(parsed.publicAccessLevel);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---- component YAML ----

/** Never throws anything but ResourceFileError. */
function parseOutcome(text: string): "ok" | "error" {
  try {
    parseResourceDocuments("components/x.yaml", text);
    return "ok";
  } catch (e) {
    if (!(e instanceof ResourceFileError)) throw new Error(`parseResourceDocuments threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a ResourceFileError`);
    return "error";
  }
}

describe("parseResourceDocuments", () => {
  const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), trickyString);
  const componentDoc = fc.record(
    {
      apiVersion: fc.oneof(fc.constantFrom("dapr.io/v1alpha1", "vaultstate.io/v1alpha1"), fieldValue),
      kind: fc.constantFrom("Component", "Configuration", "Caller", "Subscription", "component", ""),
      metadata: fc.oneof(fc.record({ name: fc.oneof(fc.constantFrom("store", "a.b-c_d"), fieldValue), namespace: fieldValue }, { requiredKeys: ["name"] }), fieldValue),
      spec: fc.oneof(
        fc.record(
          {
            type: fc.oneof(fc.constant("state.in-memory"), fieldValue),
            version: fc.oneof(fc.constant("v1"), fieldValue),
            ignoreErrors: fieldValue,
            metadata: fc.oneof(
              fc.array(fc.oneof(fc.record({ name: fieldValue, value: fieldValue, secretKeyRef: fc.oneof(fieldValue, fc.record({ name: fieldValue, key: fieldValue })), envRef: fieldValue }, { requiredKeys: [] }), fieldValue), { maxLength: 4 }),
              fieldValue,
            ),
            role: fc.oneof(fc.constantFrom("reader", "writer", "admin", "root"), fieldValue),
            tokens: fc.oneof(fc.array(fc.oneof(fc.record({ secretKeyRef: fc.oneof(fieldValue, fc.record({ name: fieldValue })) }), fc.record({ value: fieldValue }), fieldValue), { maxLength: 3 }), fieldValue),
            entraId: fc.oneof(fc.record({ objectIds: fieldValue, clientIds: fieldValue }, { requiredKeys: [] }), fieldValue),
            secrets: fc.oneof(fc.record({ scopes: fc.oneof(fc.array(fc.record({ storeName: fieldValue, defaultAccess: fieldValue, allowedSecrets: fieldValue, deniedSecrets: fieldValue }, { requiredKeys: [] }), { maxLength: 3 }), fieldValue) }), fieldValue),
          },
          { requiredKeys: [] },
        ),
        fieldValue,
      ),
      auth: fc.oneof(fc.record({ secretStore: fieldValue }), fieldValue),
      scopes: fieldValue,
    },
    { requiredKeys: ["kind"] },
  );

  it("arbitrary text never throws anything but ResourceFileError", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => void parseOutcome(text)), { numRuns: 1000 });
    const fragment = fc.constantFrom("a: ", "- ", "[", "{", "}", "]", "&x ", "*x", "<<: *x\n", "kind: Caller\n", "!!binary ", "!!str ", "!!int ", "!!timestamp ", "? ", "---\n", "...\n", "\n  ", "kind: Component\n", "kind: Configuration\n", "'", '"', "%YAML 1.2\n", "!!set ", "!!omap ", "\t", "#");
    fc.assert(fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => void parseOutcome(parts.join(""))), { numRuns: 2000 });
  });

  it("YAML aliases: an unresolved alias or an alias bomb (billion laughs) is a ResourceFileError, not a ReferenceError", () => {
    expect(parseOutcome("a: *x\n")).toBe("error");
    expect(parseOutcome("<<: *x\nkind: Component\n")).toBe("error");
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"]]) lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    lines.push("kind: Component");
    expect(parseOutcome(lines.join("\n"))).toBe("error");
  });

  it("structurally plausible Component/Configuration documents never throw anything but ResourceFileError", () => {
    fc.assert(
      fc.property(fc.array(componentDoc, { minLength: 1, maxLength: 3 }), (docs) => void parseOutcome(docs.map((d) => toYaml(d)).join("---\n"))),
      { numRuns: 500 },
    );
  });

  it("deep nesting is a ResourceFileError, not a stack overflow", () => {
    expect(parseOutcome(`${"[".repeat(20_000)}${"]".repeat(20_000)}`)).toBe("error");
    expect(parseOutcome(`a: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}`)).toBe("error");
  });

});

// ---- body validation through the in-process API ----

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
let runtime: Runtime;
let api: ApiHandler;

beforeAll(async () => {
  const component = (name: string): string => `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: ${name}}\nspec: {type: state.in-memory, version: v1, metadata: []}`;
  runtime = await buildRuntime({
    appId: "demo",
    resources: parseResourceDocuments("c.yaml", [component("memstore"), component("other")].join("\n---\n")),
    apiTokens: ["demo=dev-token", "victim=victim-token"],
    providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} },
    logger,
  });
  api = createApi({
    runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime },
    authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }),
    logger,
    maxBodyBytes: 256 * 1024,
  });
});
afterAll(async () => {
  await runtime.close();
});

interface Reply {
  status: number;
  contentType: string | undefined;
  text: string;
}

async function call(method: string, url: string, body: string | Uint8Array = "", token = "dev-token"): Promise<Reply> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const response = await api({ method, url, headers: new Headers({ "dapr-api-token": token }), body: async () => bytes });
  const text = response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString("utf8");
  return { status: response.status, contentType: response.headers["content-type"], text };
}

function errorCodeOf(reply: Reply): string | undefined {
  const parsed: unknown = JSON.parse(reply.text);
  return typeof parsed === "object" && parsed !== null && "errorCode" in parsed && typeof parsed.errorCode === "string" ? parsed.errorCode : undefined;
}

/** What every reply to a body must look like: success, or a 4xx with a JSON errorCode (never a 500). */
function expectWellFormed(reply: Reply, success: readonly number[]): void {
  if (success.includes(reply.status)) return;
  expect(reply.status, reply.text).toBeGreaterThanOrEqual(400);
  expect(reply.status, reply.text).toBeLessThan(500);
  expect(reply.contentType).toBe("application/json");
  expect(errorCodeOf(reply)).toMatch(/^ERR_/);
}

describe("state bodies through the in-process API (memstore)", () => {
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  const field = fc.oneof({ weight: 3, arbitrary: anyJson }, { weight: 1, arbitrary: fc.constant(undefined) });
  const key = fc.oneof(fc.string({ maxLength: 8 }).map((k) => `p-${k}`), trickyString.map((k) => `p-${k}`), anyJson);
  const setRequest = fc.record(
    {
      key,
      value: field,
      etag: fc.oneof(field, fc.constantFrom("", "*", "bad-etag")),
      metadata: fc.oneof(field, fc.dictionary(fc.constantFrom("ttlInSeconds", "contentType", "x", "__proto__"), fc.oneof(anyJson, fc.constantFrom("-1", "0", "5", "1.5", "abc")))),
      options: fc.oneof(field, fc.record({ concurrency: fc.oneof(anyJson, fc.constantFrom("first-write", "last-write", "FIRST-WRITE")), consistency: fc.oneof(anyJson, fc.constantFrom("strong", "eventual")) }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  );
  const saveBody = fc.oneof(fc.array(fc.oneof({ weight: 4, arbitrary: setRequest }, { weight: 1, arbitrary: anyJson }), { maxLength: 6 }), anyJson);
  const operation = fc.record({ operation: fc.oneof(fc.constantFrom("upsert", "delete", "UPSERT", "get"), anyJson), request: fc.oneof(setRequest, anyJson) }, { requiredKeys: [] });
  const transactionBody = fc.oneof(fc.record({ operations: fc.oneof(fc.array(fc.oneof(operation, anyJson), { maxLength: 5 }), anyJson), metadata: field }, { requiredKeys: [] }), anyJson);
  const bulkBody = fc.oneof(fc.record({ keys: fc.oneof(fc.array(fc.oneof(key, anyJson), { maxLength: 5 }), anyJson), parallelism: fc.oneof(anyJson, fc.integer({ min: -3, max: 50 })), metadata: field }, { requiredKeys: [] }), anyJson);

  /** JSON text of a generated body (undefined fields vanish, as on the wire). */
  const text = (value: unknown): string => JSON.stringify(value) ?? "";

  it("save: arbitrary JSON bodies give 204 or a 4xx with an errorCode, never a 500", async () => {
    await fc.assert(fc.asyncProperty(saveBody, fc.constantFrom("POST", "PUT"), async (body, method) => expectWellFormed(await call(method, "/v1.0/state/memstore", text(body)), [204])), { numRuns: 400 });
  });

  it("bulk get: arbitrary JSON bodies give 200 or a 4xx with an errorCode", async () => {
    await fc.assert(fc.asyncProperty(bulkBody, fc.constantFrom("POST", "PUT"), async (body, method) => expectWellFormed(await call(method, "/v1.0/state/memstore/bulk", text(body)), [200])), { numRuns: 300 });
  });

  it("transaction: arbitrary JSON bodies give 204 or a 4xx with an errorCode", async () => {
    await fc.assert(fc.asyncProperty(transactionBody, fc.constantFrom("POST", "PUT"), async (body, method) => expectWellFormed(await call(method, "/v1.0/state/memstore/transaction", text(body)), [204])), { numRuns: 400 });
  });

  it("arbitrary bytes and truncated or deeply nested JSON never give a 500", async () => {
    const routes = fc.constantFrom("/v1.0/state/memstore", "/v1.0/state/memstore/bulk", "/v1.0/state/memstore/transaction");
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(saveBody, fc.nat(200)).map(([b, cut]) => text(b).slice(0, cut)),
      fc.integer({ min: 1, max: 20_000 }).map((d) => `[{"key":"deep","value":${"[".repeat(d)}${"]".repeat(d)}}]`),
      fc.constantFrom("[{\"key\":\"n\",\"value\":1e400}]", "[{\"key\":\"\\ud800\",\"value\":1}]", "\ufeff[]", "[] []", "{\"operations\":[{\"operation\":\"upsert\",\"request\":{\"key\":\"x\",\"value\":-1e999}}]}"),
    );
    await fc.assert(fc.asyncProperty(routes, bodies, async (route, body) => expectWellFormed(await call("POST", route, body), [200, 204])), { numRuns: 400 });
  });

  it("a saved value reads back as its JSON (Go re-encoding is JSON-equivalent)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.string({ unit: "binary", minLength: 1, maxLength: 10 }).filter((k) => !k.includes("||")), { minLength: 1, maxLength: 4 }), fc.array(anyJson, { minLength: 4, maxLength: 4 }), async (keys, values) => {
        const items = keys.map((k, i) => ({ key: `rt-${k}`, value: values[i] ?? null }));
        expect((await call("POST", "/v1.0/state/memstore", JSON.stringify(items))).status).toBe(204);
        for (const item of items) {
          const reply = await call("GET", `/v1.0/state/memstore/${encodeURIComponent(item.key)}`);
          expect(reply.status).toBe(200);
          expect(JSON.stringify(JSON.parse(reply.text))).toBe(JSON.stringify(item.value));
        }
      }),
      { numRuns: 150 },
    );
  });

  it("nothing one caller sends can change another caller's state", async () => {
    expect((await call("POST", "/v1.0/state/memstore", '[{"key":"victim-key","value":"victim-value"}]', "victim-token")).status).toBe(204);
    const before = await call("GET", "/v1.0/state/memstore/victim-key", "", "victim-token");
    const hostileKey = fc.constantFrom("victim-key", "victim||victim-key", "../victim-key", "victim%7C%7Cvictim-key", "%76ictim-key", "victim-key\u0000", "Victim-Key");
    const hostileItem = fc.record({ key: hostileKey, value: anyJson, etag: fc.constantFrom(undefined, "*", ""), options: fc.constantFrom(undefined, { concurrency: "last-write" }) }, { requiredKeys: ["key"] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(hostileItem, { minLength: 1, maxLength: 3 }).map((items) => ({ route: "/v1.0/state/memstore", body: JSON.stringify(items), method: "POST" })), hostileKey.map((k) => ({ route: `/v1.0/state/memstore/${k}`, body: "", method: "DELETE" })), fc.array(hostileItem, { minLength: 1, maxLength: 3 }).map((items) => ({ route: "/v1.0/state/memstore/transaction", body: JSON.stringify({ operations: items.map((request, i) => ({ operation: i % 2 === 0 ? "upsert" : "delete", request })) }), method: "POST" }))), async ({ route, body, method }) => {
        await call(method, route, body);
        const after = await call("GET", "/v1.0/state/memstore/victim-key", "", "victim-token");
        expect(after).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});

describe("arbitrary request paths through the in-process API", () => {
  /** The documented 500s a path alone can reach: no secret store here, no query support in memstore. */
  const documented500 = ["ERR_SECRET_STORES_NOT_CONFIGURED", "ERR_STATE_STORE_NOT_SUPPORTED"];
  it("never give an undocumented 500 and always answer JSON, except the plain-text bad-escape 400", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"), fc.constantFrom("/v1.0/state/memstore/", "/v1.0/state/", "/v1.0/secrets/", "/v1.0-alpha1/state/memstore/", "/v1.0/", "/"), trickyString, trickyString, async (method, prefix, path, query) => {
        const reply = await call(method, `${prefix}${path}?${query}`, method === "POST" || method === "PUT" ? "{}" : "");
        if (reply.status >= 500) expect(documented500).toContain(errorCodeOf(reply));
        if (reply.contentType === "text/plain; charset=utf-8") expect(reply.text).toMatch(/^invalid URL escape ".*"\n$/s);
        else if (reply.text !== "") expect(reply.contentType).toBe("application/json");
      }),
      { numRuns: 1000 },
    );
  });
});
