/**
 * HTML for the dashboard: a tagged template that escapes every interpolated value unless it is
 * already markup (`Html`), so a staging name, a reason or helm's output can never become markup.
 */

export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

/** `html\`<p>${text}</p>\``: values escaped, Html kept, arrays joined, null/undefined/false dropped. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Markup built elsewhere and known to be safe (the page's own templates). */
export const raw = (markup: string): Html => new Html(markup);

const minute = 60_000;

/** "3 min ago", "2 h ago", "5 d ago" (a `<time>` with the exact date as its title). */
export function ago(d: Date, now: Date): Html {
  const ms = now.getTime() - d.getTime();
  const text =
    ms < minute ? "just now" : ms < 60 * minute ? `${Math.floor(ms / minute)} min ago` : ms < 48 * 60 * minute ? `${Math.floor(ms / (60 * minute))} h ago` : `${Math.floor(ms / (24 * 60 * minute))} d ago`;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString().slice(0, 16).replace("T", " ")} UTC">${text}</time>`;
}

/** A future date: "in 3 d" with the exact date as its title. */
export function until(d: Date, now: Date): Html {
  const ms = d.getTime() - now.getTime();
  const text = ms <= 0 ? "now" : ms < 60 * minute ? `in ${Math.ceil(ms / minute)} min` : ms < 48 * 60 * minute ? `in ${Math.round(ms / (60 * minute))} h` : `in ${Math.round(ms / (24 * 60 * minute))} d`;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString().slice(0, 16).replace("T", " ")} UTC">${text}</time>`;
}

const formats = new Map<string, Intl.NumberFormat | null>();

/** An amount in its currency ("€1.20"); one formatter per currency (creating one costs ~10 µs). */
export function money(currency: string, amount: number): string {
  let format = formats.get(currency);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: 2 });
    } catch {
      format = null;
    }
    if (formats.size < 100) formats.set(currency, format);
  }
  return format ? format.format(amount) : `${amount.toFixed(2)} ${currency}`;
}
