/**
 * HTML built from templates that escape every interpolated value unless it is already
 * {@link SafeHtml}: synced content is data, never markup, so forgetting to escape is not a
 * thing a page can do by accident.
 */

/** Markup known to be safe: made only by {@link html}, {@link raw} (constants) and the sanitiser. */
export class SafeHtml {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
  toString(): string {
    return this.text
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

/** Escapes text for an element's content or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ENTITIES[c])
}

/** A value a template may hold: text is escaped, arrays are joined, undefined/null/false vanish. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[]

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return ''
  if (v instanceof SafeHtml) return v.text
  if (Array.isArray(v)) return v.map(render).join('')
  return escapeHtml(String(v))
}

/** The template tag: `html\`<p>${title}</p>\`` escapes `title`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]
  return new SafeHtml(out)
}

/** Markup from a constant of the program (never from a request or a record). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text)
}

/**
 * An href for a link taken from a record: only http(s) and mailto URLs, anything else
 * (javascript:, data:, vbscript:, relative paths that would hit this page) gives undefined.
 */
export function safeHref(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const u = new URL(value)
    return u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'mailto:' ? u.href : undefined
  } catch {
    return undefined
  }
}
