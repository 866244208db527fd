/**
 * @module keyvault-emulator/certs: a local CA and a TLS certificate for localhost, created once and reused.
 *
 * The Key Vault SDK refuses plain HTTP, so the emulator serves HTTPS with a leaf certificate for `localhost`,
 * `*.localhost`, `127.0.0.1` and `::1` signed by a local CA; clients trust the CA through `NODE_EXTRA_CA_CERTS`.
 * Files are regenerated only when missing, inconsistent or within a day of expiry. Several processes may
 * call {@link ensureDevCertificates} at once (vitest's global setup, `npm start`, the CLI): a lock file makes
 * one of them generate while the others wait, and each file is written to a temp file and renamed.
 */
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import * as path from "node:path";
import { generate } from "selfsigned";

/** Paths of the PEM files. */
export interface DevCertificatePaths {
  /** The CA certificate: what `NODE_EXTRA_CA_CERTS` or `tlsOptions.ca` must point at. */
  caCertPath: string;
  /** The server (leaf) certificate. */
  certPath: string;
  /** The server's private key. */
  keyPath: string;
}

const CA_CERT = "ca.pem";
const CA_KEY = "ca-key.pem";
const LEAF_CERT = "localhost.pem";
const LEAF_KEY = "localhost-key.pem";
const LOCK = ".lock";
const RENEW_BEFORE_MS = 24 * 3600 * 1000;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 825;
const STALE_LOCK_MS = 60_000;
const WAIT_TIMEOUT_MS = 120_000;

function findRepoRoot(): string {
  const starts = [typeof __dirname === "string" ? __dirname : undefined, process.cwd()];
  for (const start of starts) {
    if (!start) continue;
    let dir = path.resolve(start);
    for (;;) {
      const pkg = path.join(dir, "package.json");
      if (existsSync(pkg)) {
        try {
          const parsed: unknown = JSON.parse(readFileSync(pkg, "utf8"));
          if (typeof parsed === "object" && parsed !== null && (parsed as { name?: unknown }).name === "vaultstate") return dir;
        } catch {
          // An unreadable package.json on the way up is not ours; keep looking.
        }
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return process.cwd();
}

/** The default folder: `<repo>/.vaultstate/certs` (git-ignored). */
export function defaultCertDir(): string {
  return path.join(findRepoRoot(), ".vaultstate", "certs");
}

type Health = "ok" | "renewLeaf" | "renewAll";

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Decides what must be regenerated; anything unreadable or inconsistent counts as missing. */
async function inspect(dir: string, nowMs: number): Promise<Health> {
  const [caPem, caKeyPem, leafPem, leafKeyPem] = await Promise.all(
    [CA_CERT, CA_KEY, LEAF_CERT, LEAF_KEY].map((f) => readText(path.join(dir, f))),
  );
  if (!caPem || !caKeyPem) return "renewAll";
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
    if (!ca.ca || !ca.checkPrivateKey(createPrivateKey(caKeyPem))) return "renewAll";
  } catch {
    return "renewAll";
  }
  if (Date.parse(ca.validTo) - RENEW_BEFORE_MS < nowMs) return "renewAll";
  if (!leafPem || !leafKeyPem) return "renewLeaf";
  try {
    const leaf = new X509Certificate(leafPem);
    // `*.localhost` is in the SAN list as asked, but Node's checkServerIdentity (and OpenSSL) refuse wildcards
    // over a single-label parent, so only the names below are actually usable.
    const coversHosts =
      leaf.checkHost("localhost") !== undefined &&
      leaf.checkHost("vaultstate-dev.vault.localhost") !== undefined &&
      leaf.checkIP("127.0.0.1") !== undefined &&
      leaf.checkIP("::1") !== undefined;
    const valid =
      coversHosts &&
      leaf.checkIssued(ca) &&
      leaf.verify(ca.publicKey) &&
      leaf.checkPrivateKey(createPrivateKey(leafKeyPem)) &&
      Date.parse(leaf.validTo) - RENEW_BEFORE_MS >= nowMs &&
      Date.parse(leaf.validFrom) <= nowMs + 60_000;
    return valid ? "ok" : "renewLeaf";
  } catch {
    return "renewLeaf";
  }
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await fs.writeFile(tmp, content, { mode });
  await fs.rename(tmp, file);
}

async function generateCa(nowMs: number): Promise<{ cert: string; key: string }> {
  const pems = await generate(
    [
      // A unique name per CA, so an old CA still in some trust store is never mistaken for the new one.
      { name: "commonName", value: `vaultstate local development CA ${randomBytes(4).toString("hex")}` },
      { name: "organizationName", value: "vaultstate (local development only)" },
    ],
    {
      keySize: 2048,
      algorithm: "sha256",
      notBeforeDate: new Date(nowMs - 3600_000),
      notAfterDate: new Date(nowMs + CA_VALIDITY_DAYS * 86_400_000),
      extensions: [
        { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  return { cert: pems.cert, key: pems.private };
}

async function generateLeaf(ca: { cert: string; key: string }, nowMs: number): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(nowMs - 3600_000),
    notAfterDate: new Date(nowMs + LEAF_VALIDITY_DAYS * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 2, value: "*.localhost" },
          { type: 2, value: "*.vault.localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
    ca,
  });
  return { cert: pems.cert, key: pems.private };
}

async function regenerate(dir: string, health: Exclude<Health, "ok">, nowMs: number): Promise<void> {
  let ca: { cert: string; key: string };
  if (health === "renewAll") {
    ca = await generateCa(nowMs);
  } else {
    const [cert, key] = await Promise.all([fs.readFile(path.join(dir, CA_CERT), "utf8"), fs.readFile(path.join(dir, CA_KEY), "utf8")]);
    ca = { cert, key };
  }
  const leaf = await generateLeaf(ca, nowMs);
  // Leaf first, CA last: a reader that races us sees an inconsistent set, which inspect() rejects, and waits.
  await writeAtomic(path.join(dir, LEAF_KEY), leaf.key, 0o600);
  await writeAtomic(path.join(dir, LEAF_CERT), leaf.cert, 0o644);
  if (health === "renewAll") {
    await writeAtomic(path.join(dir, CA_KEY), ca.key, 0o600);
    await writeAtomic(path.join(dir, CA_CERT), ca.cert, 0o644);
  }
}

async function tryLock(lockPath: string): Promise<boolean> {
  try {
    const handle = await fs.open(lockPath, "wx");
    await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
    await handle.close();
    return true;
  } catch (e) {
    if (!(e instanceof Error) || (e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    try {
      const st = await fs.stat(lockPath);
      // A crashed holder leaves its lock behind; generation takes seconds, so a minute-old lock is stale.
      if (Date.now() - st.mtimeMs > STALE_LOCK_MS) await fs.rm(lockPath, { force: true });
    } catch {
      // The holder just released it; retry.
    }
    return false;
  }
}

/**
 * Makes sure a CA and a localhost certificate exist in `dir` and are valid for at least another day.
 * @param dir - folder for the PEM files; default `<repo>/.vaultstate/certs`
 * @returns the paths of the CA certificate, the server certificate and the server key
 * @throws Error when the folder cannot be written or another process holds the lock for too long
 * @example
 * ```ts
 * const { caCertPath } = await ensureDevCertificates();
 * process.env.NODE_EXTRA_CA_CERTS = caCertPath; // read by Node processes started after this
 * ```
 */
export async function ensureDevCertificates(dir?: string): Promise<DevCertificatePaths> {
  const folder = path.resolve(dir ?? defaultCertDir());
  const paths: DevCertificatePaths = {
    caCertPath: path.join(folder, CA_CERT),
    certPath: path.join(folder, LEAF_CERT),
    keyPath: path.join(folder, LEAF_KEY),
  };
  await fs.mkdir(folder, { recursive: true });
  const lockPath = path.join(folder, LOCK);
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    if ((await inspect(folder, Date.now())) === "ok") return paths;
    if (await tryLock(lockPath)) {
      try {
        const health = await inspect(folder, Date.now());
        if (health !== "ok") {
          await regenerate(folder, health, Date.now());
          const after = await inspect(folder, Date.now());
          if (after !== "ok") throw new Error(`generated certificates in ${folder} failed validation (${after})`);
        }
      } finally {
        await fs.rm(lockPath, { force: true });
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the certificate lock ${lockPath}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
