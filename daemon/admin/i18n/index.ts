/**
 * The page's languages and how one is chosen: the `lang` cookie (set by the switch in the
 * page's footer), else the best of the browser's Accept-Language, else English.
 */
import { en, type Messages } from './en.js'
import { fr } from './fr.js'

export type { Messages }

export const CATALOGUES: Record<string, Messages> = { en, fr }

/** The catalogue for a request. */
export function pickLanguage(cookie: string | undefined, acceptLanguage: string | undefined): Messages {
  if (cookie && CATALOGUES[cookie]) return CATALOGUES[cookie]
  const wanted = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';')
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean)
      return { lang: tag.toLowerCase().split('-')[0], q: q ? Number(q[1]) : 1 }
    })
    .filter((w) => w.lang && w.q > 0)
    .sort((a, b) => b.q - a.q)
  for (const w of wanted) if (CATALOGUES[w.lang]) return CATALOGUES[w.lang]
  return en
}
