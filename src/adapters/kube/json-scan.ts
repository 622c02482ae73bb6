// Reads the few fields an informer decides on (the event type, metadata.namespace,
// metadata.resourceVersion) straight from the bytes of a watch event or a list page, without
// parsing the rest: an object of another team's namespace is never turned into JavaScript
// objects. Works whatever the order of the fields; fastest when metadata comes first, which is
// how the API server writes every object (kind, apiVersion, metadata, spec, status). Key names
// are compared byte for byte (the API server never escapes them).

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

export class JsonScanError extends Error {
  override readonly name = "JsonScanError";
}

function isSpace(c: number | undefined): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function skipSpace(b: Buffer, i: number): number {
  while (isSpace(b[i])) i++;
  return i;
}

function expect(b: Buffer, i: number, c: number): void {
  if (b[i] !== c) throw new JsonScanError(`expected ${String.fromCharCode(c)} at ${i}`);
}

/** `i` at the opening quote; returns the index after the closing one. */
function skipString(b: Buffer, i: number): number {
  for (let from = i + 1; ; ) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) throw new JsonScanError(`unterminated string at ${i}`);
    let slashes = 0;
    while (b[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

function readString(b: Buffer, i: number): string {
  expect(b, i, QUOTE);
  const end = skipString(b, i);
  const slash = b.indexOf(BACKSLASH, i + 1);
  return slash >= 0 && slash < end ? (JSON.parse(b.toString("utf8", i, end)) as string) : b.toString("utf8", i + 1, end - 1);
}

/** `i` at the first byte of a value; returns the index after it. */
function skipValue(b: Buffer, i: number): number {
  const first = b[i];
  if (first === QUOTE) return skipString(b, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (; i < b.length; i++) {
      const c = b[i];
      if (c === QUOTE) i = skipString(b, i) - 1;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      }
    }
    throw new JsonScanError("unterminated object or array");
  }
  // A number, true, false or null.
  while (i < b.length && b[i] !== COMMA && b[i] !== CLOSE_BRACE && b[i] !== CLOSE_BRACKET && !isSpace(b[i])) i++;
  return i;
}

/** A key with its quotes, as bytes. */
const key = (name: string): Buffer => Buffer.from(JSON.stringify(name));
const TYPE = key("type");
const OBJECT = key("object");
const METADATA = key("metadata");
const NAMESPACE = key("namespace");
const RESOURCE_VERSION = key("resourceVersion");
const ITEMS = key("items");

function keyIs(b: Buffer, start: number, end: number, k: Buffer): boolean {
  return end - start === k.length && b.compare(k, 0, k.length, start, end) === 0;
}

/**
 * Visits the members of the object at `i`. `visit` gets the key's range and the value's start,
 * and returns the index after the value, or -1 to stop. Returns the index after the object, or -1
 * when stopped.
 */
function members(b: Buffer, i: number, visit: (keyStart: number, keyEnd: number, value: number) => number): number {
  i = skipSpace(b, i);
  expect(b, i, OPEN_BRACE);
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    expect(b, i, QUOTE);
    const keyEnd = skipString(b, i);
    const colon = skipSpace(b, keyEnd);
    expect(b, colon, COLON);
    const next = visit(i, keyEnd, skipSpace(b, colon + 1));
    if (next < 0) return -1;
    i = skipSpace(b, next);
    if (b[i] === CLOSE_BRACE) return i + 1;
    expect(b, i, COMMA);
    i = skipSpace(b, i + 1);
  }
}

interface Metadata {
  namespace: string | undefined;
  resourceVersion: string | undefined;
}

/** metadata.namespace and metadata.resourceVersion of the object at `i`; stops reading once it has both. */
function objectMetadata(b: Buffer, i: number): Metadata {
  const meta: Metadata = { namespace: undefined, resourceVersion: undefined };
  members(b, i, (ks, ke, v) => {
    if (!keyIs(b, ks, ke, METADATA)) return skipValue(b, v);
    members(b, v, (mks, mke, mv) => {
      if (keyIs(b, mks, mke, NAMESPACE)) meta.namespace = readString(b, mv);
      else if (keyIs(b, mks, mke, RESOURCE_VERSION)) meta.resourceVersion = readString(b, mv);
      else return skipValue(b, mv);
      return meta.namespace !== undefined && meta.resourceVersion !== undefined ? -1 : skipValue(b, mv);
    });
    return -1;
  });
  return meta;
}

export interface WatchEventHead extends Metadata {
  /** ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. */
  type: string | undefined;
}

/** The type of a watch event line and its object's namespace and resourceVersion. Throws JsonScanError on malformed JSON. */
export function scanWatchEvent(line: Buffer): WatchEventHead {
  const head: WatchEventHead = { type: undefined, namespace: undefined, resourceVersion: undefined };
  let sawObject = false;
  members(line, 0, (ks, ke, v) => {
    if (keyIs(line, ks, ke, TYPE)) {
      head.type = readString(line, v);
      return sawObject ? -1 : skipValue(line, v);
    }
    if (!keyIs(line, ks, ke, OBJECT)) return skipValue(line, v);
    sawObject = true;
    Object.assign(head, objectMetadata(line, v));
    return head.type !== undefined ? -1 : skipValue(line, v);
  });
  return head;
}

export interface ListItem {
  namespace: string | undefined;
  /** The item's bytes: body.subarray(start, end). */
  start: number;
  end: number;
}

/** A list page's metadata (parsed: it is small) and where each item is, with its namespace. Throws JsonScanError on malformed JSON. */
export function scanList(body: Buffer): { metadata: Record<string, unknown>; items: ListItem[] } {
  let metadata: Record<string, unknown> = {};
  const items: ListItem[] = [];
  members(body, 0, (ks, ke, v) => {
    const end = skipValue(body, v);
    if (keyIs(body, ks, ke, METADATA)) metadata = JSON.parse(body.toString("utf8", v, end)) as Record<string, unknown>;
    else if (keyIs(body, ks, ke, ITEMS) && body[v] === OPEN_BRACKET) {
      let i = skipSpace(body, v + 1);
      while (body[i] !== CLOSE_BRACKET) {
        const itemEnd = skipValue(body, i);
        items.push({ namespace: objectMetadata(body, i).namespace, start: i, end: itemEnd });
        i = skipSpace(body, itemEnd);
        if (body[i] === COMMA) i = skipSpace(body, i + 1);
        else expect(body, i, CLOSE_BRACKET);
      }
    }
    return end;
  });
  return { metadata, items };
}
