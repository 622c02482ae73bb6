/**
 * The lines of a comment that are `/octo` commands: lines whose trimmed text starts with
 * `/octo` followed by a space or the end of the line (any case). Skipped: lines inside
 * fenced code blocks (``` or ~~~), block quotes (`>`, so quoting a command does not run it
 * again) and multi-line HTML comments (`<!-- ... -->`, as in PR templates).
 */

export interface CommentLine {
  /** 1-based line number in the comment body. */
  line: number;
  /** The line, trimmed. */
  text: string;
}

const commandStart = /^\/octo(?=\s|$)/i;
const fenceStart = /^(`{3,}|~{3,})/;

/** A closing fence: the opening fence's character, at least as many, and nothing else. */
function isFenceClose(text: string, fence: string): boolean {
  return text.startsWith(fence) && [...text].every((ch) => ch === fence[0]);
}

export function commandLines(body: string): CommentLine[] {
  const out: CommentLine[] = [];
  let fence: string | undefined;
  let inHtmlComment = false;
  body.split(/\r\n|\n|\r/).forEach((raw, index) => {
    const text = raw.trim();
    if (fence !== undefined) {
      if (isFenceClose(text, fence)) fence = undefined;
      return;
    }
    if (inHtmlComment) {
      if (text.includes("-->")) inHtmlComment = false;
      return;
    }
    const opening = fenceStart.exec(text);
    if (opening) {
      fence = opening[1];
      return;
    }
    if (text.lastIndexOf("<!--") > text.lastIndexOf("-->")) {
      inHtmlComment = true;
      return;
    }
    if (commandStart.test(text)) out.push({ line: index + 1, text });
  });
  return out;
}

/** Whether a comment has at least one command line (the same rule as commandLines). */
export function hasCommandLine(body: string): boolean {
  return commandLines(body).length > 0;
}
