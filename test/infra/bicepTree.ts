/**
 * @module A small read-only model of Bicep files over tree-sitter-bicep's syntax tree, just enough for
 * the deployment rules in bicep.test.ts: declarations, object properties, string literals, and symbol
 * lookups within one file. It parses; it does not type-check or evaluate (no Bicep compiler offline).
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { Language, Parser, type Node } from "web-tree-sitter";

/** One parsed `.bicep` file. */
export interface BicepFile {
  /** Path relative to the repository root, with forward slashes. */
  rel: string;
  abs: string;
  source: string;
  root: Node;
}

/** A syntax problem tree-sitter found: an ERROR node or a token it had to invent (MISSING). */
export interface SyntaxProblem {
  kind: "error" | "missing";
  line: number;
  column: number;
  text: string;
}

export interface ParamDecl {
  name: string;
  hasDefault: boolean;
}

export interface ResourceDecl {
  file: BicepFile;
  symbol: string;
  /** Full type, e.g. `Microsoft.Web/sites`. */
  type: string;
  /** The part after `@`, undefined when the declaration has none. */
  apiVersion: string | undefined;
  existing: boolean;
  /** The `{ ... }` body (inside `if (...)` for conditional resources). */
  body: Node | undefined;
  /** The `if (...)` condition, when there is one. */
  condition: Node | undefined;
  node: Node;
}

export interface ModuleDecl {
  file: BicepFile;
  symbol: string;
  /** The module reference exactly as written (`app/api.bicep`, `br/public:...`). */
  path: string;
  body: Node | undefined;
  node: Node;
}

let parser: Parser | undefined;

/** Loads the tree-sitter runtime and the Bicep grammar (wasm), once per test file. */
export async function bicepParser(): Promise<Parser> {
  if (parser !== undefined) return parser;
  await Parser.init();
  const language = await Language.load(createRequire(__filename).resolve("tree-sitter-bicep/tree-sitter-bicep.wasm"));
  const created = new Parser();
  created.setLanguage(language);
  parser = created;
  return created;
}

/** Every `.bicep` file under a folder, sorted. */
export function findBicepFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findBicepFiles(full));
    else if (entry.name.endsWith(".bicep")) found.push(full);
  }
  return found.sort();
}

export function parseBicepFile(p: Parser, repoRoot: string, abs: string): BicepFile {
  const source = readFileSync(abs, "utf8");
  const tree = p.parse(source);
  if (tree === null) throw new Error(`tree-sitter returned no tree for ${abs}`);
  return { rel: path.relative(repoRoot, abs).split(path.sep).join("/"), abs, source, root: tree.rootNode };
}

/** ERROR and MISSING nodes, in document order. */
export function syntaxProblems(file: BicepFile): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      problems.push({
        kind: node.isMissing ? "missing" : "error",
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        text: node.text.slice(0, 60),
      });
    }
    if (!node.hasError) return;
    for (const child of node.children) if (child !== null) visit(child);
  };
  visit(file.root);
  return problems;
}

/** Named children without comments. */
export function kids(node: Node): Node[] {
  return node.namedChildren.filter((c): c is Node => c !== null && !c.isExtra);
}

/** All descendants (named, no comments) of a node, depth first, the node itself included. */
export function descendants(node: Node): Node[] {
  const out: Node[] = [node];
  for (const child of kids(node)) out.push(...descendants(child));
  return out;
}

const ESCAPES: Readonly<Record<string, string>> = { "\\\\": "\\", "\\'": "'", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$" };

/** The value of a plain string literal; undefined for anything else, including interpolated strings. */
export function literal(node: Node | undefined): string | undefined {
  if (node === undefined || node.type !== "string") return undefined;
  let value = "";
  for (const part of kids(node)) {
    if (part.type === "string_content") value += part.text;
    else if (part.type === "escape_sequence") value += ESCAPES[part.text] ?? part.text;
    else return undefined;
  }
  return value;
}

/** `true`/`false` literal, else undefined. */
export function booleanLiteral(node: Node | undefined): boolean | undefined {
  if (node === undefined || node.type !== "boolean") return undefined;
  return node.text === "true";
}

function propertyKey(prop: Node): string | undefined {
  const key = kids(prop)[0];
  if (key === undefined) return undefined;
  if (key.type === "identifier") return key.text;
  // An interpolated key ('${id}') is kept as written, without the quotes.
  return literal(key) ?? (key.type === "string" ? key.text.slice(1, -1) : undefined);
}

/** The properties of an object literal, in order. */
export function properties(obj: Node | undefined): { key: string; value: Node }[] {
  if (obj === undefined || obj.type !== "object") return [];
  const out: { key: string; value: Node }[] = [];
  for (const prop of kids(obj)) {
    if (prop.type !== "object_property") continue;
    const parts = kids(prop);
    const key = propertyKey(prop);
    const value = parts[parts.length - 1];
    if (key !== undefined && value !== undefined && parts.length >= 2) out.push({ key, value });
  }
  return out;
}

/** Follows property names through nested object literals (names compare case-insensitively, as ARM does). */
export function at(obj: Node | undefined, ...keys: string[]): Node | undefined {
  let current = obj;
  for (const key of keys) {
    current = properties(current).find((p) => p.key.toLowerCase() === key.toLowerCase())?.value;
    if (current === undefined) return undefined;
  }
  return current;
}

/** The declarations of one kind at the top level of a file. */
function declarations(file: BicepFile, type: string): Node[] {
  return kids(file.root).filter((n) => n.type === type);
}

function bodyOf(node: Node): { body: Node | undefined; condition: Node | undefined } {
  const last = kids(node).at(-1);
  if (last === undefined) return { body: undefined, condition: undefined };
  if (last.type === "object") return { body: last, condition: undefined };
  if (last.type === "if_statement") {
    const parts = kids(last);
    return { body: parts.find((p) => p.type === "object"), condition: parts.find((p) => p.type === "parenthesized_expression") };
  }
  // for-loops and anything else: the first object literal inside.
  return { body: descendants(last).find((d) => d.type === "object"), condition: undefined };
}

export function resources(file: BicepFile): ResourceDecl[] {
  return declarations(file, "resource_declaration").map((node) => {
    const [symbol, typeString] = kids(node);
    const full = literal(typeString) ?? "";
    const versionAt = full.indexOf("@");
    return {
      file,
      symbol: symbol?.text ?? "",
      type: versionAt === -1 ? full : full.slice(0, versionAt),
      apiVersion: versionAt === -1 ? undefined : full.slice(versionAt + 1),
      existing: node.children.some((c) => c?.type === "existing"),
      ...bodyOf(node),
      node,
    };
  });
}

export function modules(file: BicepFile): ModuleDecl[] {
  return declarations(file, "module_declaration").map((node) => {
    const [symbol, pathString] = kids(node);
    return { file, symbol: symbol?.text ?? "", path: literal(pathString) ?? pathString?.text ?? "", body: bodyOf(node).body, node };
  });
}

export function params(file: BicepFile): ParamDecl[] {
  return declarations(file, "parameter_declaration").map((node) => {
    const parts = kids(node);
    // identifier, type, then the default value when there is one.
    return { name: parts[0]?.text ?? "", hasDefault: parts.length >= 3 };
  });
}

/** Output names mapped to their value expressions. */
export function outputs(file: BicepFile): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const node of declarations(file, "output_declaration")) {
    const parts = kids(node);
    const name = parts[0]?.text;
    const value = parts.at(-1);
    if (name !== undefined && value !== undefined) out.set(name, value);
  }
  return out;
}

/** Variable names mapped to their value expressions. */
export function variables(file: BicepFile): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const node of declarations(file, "variable_declaration")) {
    const parts = kids(node);
    const name = parts[0]?.text;
    const value = parts.at(-1);
    if (name !== undefined && value !== undefined) out.set(name, value);
  }
  return out;
}

/** The `targetScope = '...'` value, if the file sets one. */
export function targetScope(file: BicepFile): string | undefined {
  const node = declarations(file, "target_scope_assignment")[0];
  return node === undefined ? undefined : literal(kids(node).at(-1));
}

/**
 * Resolves an expression to a string within its file: a literal, a variable holding one, or a member
 * of a variable's object literal (`roles.keyVaultSecretsUser`). Undefined when it is computed.
 */
export function resolveString(file: BicepFile, expr: Node | undefined): string | undefined {
  if (expr === undefined) return undefined;
  const direct = literal(expr);
  if (direct !== undefined) return direct;
  if (expr.type === "identifier") return resolveString(file, variables(file).get(expr.text));
  if (expr.type === "member_expression") {
    const object = expr.childForFieldName("object");
    const property = expr.childForFieldName("property");
    if (object?.type === "identifier" && property !== null) return resolveString(file, at(variables(file).get(object.text), property.text));
  }
  return undefined;
}

/** Expands identifiers that name variables (one level of array/`concat` plumbing at a time, recursively). */
export function expandVariables(file: BicepFile, expr: Node, seen: ReadonlySet<string> = new Set()): Node[] {
  if (expr.type === "identifier") {
    const value = variables(file).get(expr.text);
    if (value === undefined || seen.has(expr.text)) return [expr];
    return expandVariables(file, value, new Set([...seen, expr.text]));
  }
  const out: Node[] = [expr];
  for (const child of kids(expr)) out.push(...expandVariables(file, child, seen));
  return out;
}

/** `a.outputs.b` → `{ module: "a", output: "b" }`. */
export function moduleOutputReference(expr: Node | undefined): { module: string; output: string } | undefined {
  const match = expr === undefined ? null : /^([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)$/.exec(expr.text);
  return match === null ? undefined : { module: match[1] ?? "", output: match[2] ?? "" };
}
