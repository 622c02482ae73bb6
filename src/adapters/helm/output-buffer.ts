import { redactAroundCut, redactText } from "./redact.ts";

/** Captures a stream up to `maxBytes`; beyond that it keeps the head and the tail. */
export interface OutputBuffer {
  push(chunk: Buffer): void;
  /** The captured text, redacted, with a marker where bytes were dropped. */
  text(secrets: readonly string[]): string;
}

export function createOutputBuffer(maxBytes: number): OutputBuffer {
  const headCap = Math.floor(maxBytes / 2);
  const tailCap = maxBytes - headCap;
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  let headBytes = 0;
  let tailBytes = 0;
  let total = 0;

  function push(chunk: Buffer): void {
    total += chunk.length;
    let rest = chunk;
    if (headBytes < headCap) {
      const taken = rest.subarray(0, headCap - headBytes);
      head.push(taken);
      headBytes += taken.length;
      rest = rest.subarray(taken.length);
    }
    if (rest.length === 0) return;
    tail.push(rest);
    tailBytes += rest.length;
    while (tail.length > 1 && tailBytes - tail[0]!.length >= tailCap) tailBytes -= tail.shift()!.length;
  }

  function text(secrets: readonly string[]): string {
    const tailBuf = Buffer.concat(tail);
    const dropped = total - headBytes - Math.min(tailBuf.length, tailCap);
    if (dropped <= 0) return redactText(Buffer.concat([...head, tailBuf]).toString("utf8"), secrets);
    const [h, t] = redactAroundCut(
      Buffer.concat(head).toString("utf8"),
      tailBuf.subarray(tailBuf.length - tailCap).toString("utf8"),
      secrets,
    );
    return `${h}\n... [${dropped} bytes of output omitted] ...\n${t}`;
  }

  return { push, text };
}
