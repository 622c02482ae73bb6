/** Merge and JSON patches, label and field selectors: as the API server applies them (strategic merge is treated as a merge patch). */
import { isDeepStrictEqual } from "node:util";
import { ApiError, badRequest, clone, isObject } from "./types.ts";

export function mergePatch(target: unknown, patch: unknown): any {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, any> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function jsonPatch(doc: any, ops: unknown): any {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  const invalid = (op: any): ApiError => new ApiError(422, "Invalid", `json patch ${String(op?.op)} operation failed at ${String(op?.path)}`);
  const pointer = (p: unknown): string[] => {
    if (p === "") return [];
    if (typeof p !== "string" || !p.startsWith("/")) throw badRequest(`invalid json pointer ${String(p)}`);
    return p.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  };
  const parentOf = (root: any, path: string[], op: unknown): [any, string] => {
    let node = root;
    for (const seg of path.slice(0, -1)) node = node?.[seg];
    if (typeof node !== "object" || node === null) throw invalid(op);
    return [node, path.at(-1)!];
  };
  const getAt = (root: any, path: string[], op: unknown): any => {
    const value = path.reduce((node, seg) => node?.[seg], root);
    if (value === undefined) throw invalid(op);
    return value;
  };
  const setAt = (root: any, path: string[], value: unknown, mode: "add" | "replace", op: unknown): any => {
    if (path.length === 0) return value;
    const [parent, last] = parentOf(root, path, op);
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length - (mode === "replace" ? 1 : 0)) throw invalid(op);
      parent.splice(i, mode === "replace" ? 1 : 0, value);
    } else {
      if (mode === "replace" && !(last in parent)) throw invalid(op);
      parent[last] = value;
    }
    return root;
  };
  const removeAt = (root: any, path: string[], op: unknown): any => {
    const [parent, last] = parentOf(root, path, op);
    if (!(last in parent)) throw invalid(op);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
    return root;
  };
  for (const op of ops) {
    const path = pointer(op?.path);
    switch (op?.op) {
      case "add": doc = setAt(doc, path, clone(op.value), "add", op); break;
      case "replace": doc = setAt(doc, path, clone(op.value), "replace", op); break;
      case "remove": doc = removeAt(doc, path, op); break;
      case "test": if (!isDeepStrictEqual(getAt(doc, path, op), op.value)) throw invalid(op); break;
      case "move": { const from = pointer(op.from); const v = getAt(doc, from, op); doc = setAt(removeAt(doc, from, op), path, v, "add", op); break; }
      case "copy": doc = setAt(doc, path, clone(getAt(doc, pointer(op.from), op)), "add", op); break;
      default: throw badRequest(`unknown json patch operation ${String(op?.op)}`);
    }
  }
  return doc;
}

export function applyPatch(doc: any, patch: unknown, contentType: string | undefined): any {
  if (contentType === "application/json-patch+json") return jsonPatch(doc, patch);
  if (contentType === "application/merge-patch+json" || contentType === "application/strategic-merge-patch+json") {
    if (!isObject(patch)) throw badRequest("a merge patch must be a JSON object");
    return mergePatch(doc, patch);
  }
  throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${String(contentType)}; server-side apply is not faked)`);
}

export function labelMatcher(selector: string | undefined): (labels: Record<string, string> | undefined) => boolean {
  if (!selector?.trim()) return () => true;
  const tests = selector.split(/,(?![^(]*\))/).map((raw) => {
    const req = raw.trim();
    let m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(req);
    if (m) {
      const [, key, op, values] = m as unknown as [string, string, string, string];
      const set = values.split(",").map((v) => v.trim());
      return (l: Record<string, string>) => (op === "in" ? key in l && set.includes(l[key]!) : !(key in l) || !set.includes(l[key]!));
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(req);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return (l: Record<string, string>) => (op === "!=" ? l[key] !== value : l[key] === value);
    }
    const exists = /^(!?)([\w./-]+)$/.exec(req);
    if (exists) {
      const [, not, key] = exists as unknown as [string, string, string];
      return (l: Record<string, string>) => (not === "!") !== key in l;
    }
    throw badRequest(`unable to parse requirement: ${req}`);
  });
  return (labels) => tests.every((t) => t(labels ?? {}));
}

export function fieldMatcher(selector: string | undefined): (obj: any) => boolean {
  if (!selector?.trim()) return () => true;
  const tests = selector.split(",").map((raw) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(raw.trim());
    if (!m) throw badRequest(`field label not supported: ${raw.trim()}`);
    const [, field, op, value] = m as unknown as [string, "metadata.name" | "metadata.namespace", string, string];
    const prop = field === "metadata.name" ? "name" : "namespace";
    return (obj: any) => (op === "!=") !== (obj.metadata[prop] === value);
  });
  return (obj) => tests.every((t) => t(obj));
}
