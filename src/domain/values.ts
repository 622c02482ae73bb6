/** Helm values documents: dotted paths (`a.b[0].c`) and deep merges, without mutation. */

export type Values = Record<string, unknown>;
export type PathSegment = string | number;

const segment = /^([^.[\]]+)((?:\[\d+\])*)$/;

/** Parses `a.b[0].c` into ["a", "b", 0, "c"]; returns an error message for a malformed path. */
export function parseValuePath(path: string): PathSegment[] | { error: string } {
  if (path.length === 0) return { error: "the key is empty" };
  const out: PathSegment[] = [];
  for (const part of path.split(".")) {
    const m = segment.exec(part);
    if (!m) return { error: `"${path}" is not a dotted path like a.b[0].c (bad part "${part}")` };
    out.push(m[1] ?? "");
    for (const idx of (m[2] ?? "").matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function isPlainObject(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function cloneContainer(node: unknown, nextIsIndex: boolean): Values | unknown[] {
  if (nextIsIndex) return Array.isArray(node) ? [...(node as unknown[])] : [];
  return isPlainObject(node) ? { ...node } : {};
}

/** Returns a copy of `doc` with `value` at `path`, creating objects and lists on the way. */
export function setValueAt(doc: Values, path: readonly PathSegment[], value: unknown): Values {
  if (path.length === 0) return doc;
  const root = { ...doc };
  let node: Values | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as PathSegment;
    const existing: unknown = (node as Record<string | number, unknown>)[key];
    const child = cloneContainer(existing, typeof path[i + 1] === "number");
    (node as Record<string | number, unknown>)[key] = child;
    node = child;
  }
  (node as Record<string | number, unknown>)[path[path.length - 1] as PathSegment] = value;
  return root;
}

/**
 * Returns a copy of `doc` without the value at `path` (unchanged when absent). Walks lists
 * too: `env[0].value` removes a key of a list element, `hosts[1]` removes that element.
 */
export function unsetValueAt(doc: Values, path: readonly PathSegment[]): Values {
  if (path.length === 0) return doc;
  return unsetIn(doc, path) as Values;
}

function unsetIn(node: unknown, path: readonly PathSegment[]): unknown {
  const [head, ...rest] = path as [PathSegment, ...PathSegment[]];
  if (Array.isArray(node)) {
    if (typeof head !== "number" || head >= node.length) return node;
    const copy = [...(node as unknown[])];
    if (rest.length === 0) copy.splice(head, 1);
    else copy[head] = unsetIn(copy[head], rest);
    return copy;
  }
  if (!isPlainObject(node) || !Object.hasOwn(node, head)) return node;
  const copy = { ...node };
  if (rest.length === 0) delete copy[head];
  else copy[head] = unsetIn(copy[head], rest);
  return copy;
}

/** Deep merge: objects merge key by key, anything else (lists included) is replaced by `over`. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeValues(b, v) : v;
  }
  return out;
}

export function getValueAt(doc: unknown, path: readonly PathSegment[]): unknown {
  let node: unknown = doc;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

const plainSegment = /^[^.[\]]+$/;

/**
 * Every leaf of a values document as a dotted path (`a.b[0].c`). Empty objects and lists are
 * leaves; so is an object with a key a dotted path cannot name (such as `nginx.org/x`).
 */
export function flattenValues(doc: Values): { key: string; path: PathSegment[]; value: unknown }[] {
  const out: { key: string; path: PathSegment[]; value: unknown }[] = [];
  const walk = (node: unknown, key: string, path: PathSegment[]): void => {
    const isList = Array.isArray(node);
    const isObject = typeof node === "object" && node !== null && !isList;
    // Array.from, not map: a list with holes (set `l[5]` on a shorter list) has them as null in YAML.
    const children = isList ? Array.from(node as unknown[], (v, i) => [i, v ?? null] as const) : isObject ? Object.entries(node) : [];
    const nameable = children.every(([k]) => typeof k === "number" || plainSegment.test(k));
    if (children.length === 0 || !nameable) {
      out.push({ key, path, value: node });
      return;
    }
    for (const [k, v] of children) {
      walk(v, typeof k === "number" ? `${key}[${k}]` : `${key}.${k}`, [...path, k]);
    }
  };
  for (const [k, v] of Object.entries(doc)) walk(v, k, [k]);
  return out;
}

/** The first list index that holds nothing (`env[5]` set on a 2-item list leaves 2 to 4 empty), as a dotted path. */
export function firstListHole(doc: unknown, prefix = ""): string | undefined {
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) {
      if (!(i in doc)) return `${prefix}[${i}]`;
      const inner = firstListHole(doc[i], `${prefix}[${i}]`);
      if (inner) return inner;
    }
    return undefined;
  }
  if (isPlainObject(doc)) {
    for (const [k, v] of Object.entries(doc)) {
      const inner = firstListHole(v, prefix ? `${prefix}.${k}` : k);
      if (inner) return inner;
    }
  }
  return undefined;
}
