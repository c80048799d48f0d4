/**
 * The bench's second text model: catalogue text, as training libraries write it. Entries of
 * one catalogue share their phrasing ("This module prepares … to …", "Duration: 45 minutes"),
 * so the text compresses much better than `dataset.ts`'s word model (issue 18: a bench tuned
 * to one shape of text hides what compression does on another). Slots are filled from the
 * same Zipf-drawn word lists, so entries still differ.
 */
/** The dataset's languages (as `dataset.ts` `Lang`; spelled here so neither module imports the other). */
type Lang = 'en' | 'fr' | 'es'

/** Sentence templates per language; `{t}` a topic, `{a}` an audience, `{f}` a format, `{n}` a number. */
const SENTENCES: Readonly<Record<Lang, readonly string[]>> = {
  en: [
    'This {f} prepares {a} to deliver {t} services in their community.',
    'It is part of the national training package on {t} and follows the current guidelines.',
    'Learning objectives: describe the key steps of {t}, recognise danger signs and refer when needed.',
    'Duration: {n} minutes, with a short quiz at the end of each lesson.',
    'Audience: {a} working in primary health care facilities.',
    'The {f} can be used offline and printed for group sessions.',
    'Materials are available in English, French and Spanish.',
    'Reviewed by the district health team; updated for the latest edition of the protocol on {t}.',
    'Facilitators should read the guide before the session and prepare the case studies.',
    'A certificate is issued to participants who complete all lessons on {t}.',
  ],
  fr: [
    'Ce {f} prépare les {a} à fournir des services de {t} dans leur communauté.',
    'Il fait partie du programme national de formation sur {t} et suit les directives en vigueur.',
    "Objectifs d'apprentissage : décrire les étapes clés de {t}, reconnaître les signes de danger et orienter si nécessaire.",
    'Durée : {n} minutes, avec un court quiz à la fin de chaque leçon.',
    'Public : {a} travaillant dans les structures de soins de santé primaires.',
    'Le {f} peut être utilisé hors ligne et imprimé pour les séances de groupe.',
    'Les supports sont disponibles en anglais, en français et en espagnol.',
    "Revu par l'équipe de santé du district ; mis à jour pour la dernière édition du protocole sur {t}.",
    'Les animateurs doivent lire le guide avant la séance et préparer les études de cas.',
    'Un certificat est remis aux participants qui terminent toutes les leçons sur {t}.',
  ],
  es: [
    'Este {f} prepara a los {a} para prestar servicios de {t} en su comunidad.',
    'Forma parte del programa nacional de formación sobre {t} y sigue las directrices vigentes.',
    'Objetivos de aprendizaje: describir los pasos clave de {t}, reconocer los signos de peligro y derivar cuando sea necesario.',
    'Duración: {n} minutos, con un breve cuestionario al final de cada lección.',
    'Público: {a} que trabajan en establecimientos de atención primaria de salud.',
    'El {f} puede usarse sin conexión e imprimirse para sesiones de grupo.',
    'Los materiales están disponibles en inglés, francés y español.',
    'Revisado por el equipo de salud del distrito; actualizado para la última edición del protocolo sobre {t}.',
    'Los facilitadores deben leer la guía antes de la sesión y preparar los estudios de caso.',
    'Se entrega un certificado a los participantes que completan todas las lecciones sobre {t}.',
  ],
}

const TITLES: Readonly<Record<Lang, string>> = {
  en: '{t}: {f} for {a}',
  fr: '{t} : {f} pour les {a}',
  es: '{t}: {f} para {a}',
}

const AUDIENCES: Readonly<Record<Lang, readonly string[]>> = {
  en: ['community health workers', 'nurses', 'midwives', 'clinical officers', 'health volunteers', 'facility managers'],
  fr: ['agents de santé communautaires', 'infirmiers', 'sages-femmes', 'cliniciens', 'volontaires de santé', 'responsables de structure'],
  es: ['agentes comunitarios de salud', 'enfermeros', 'parteras', 'clínicos', 'voluntarios de salud', 'responsables de centro'],
}

const FORMATS: Readonly<Record<Lang, readonly string[]>> = {
  en: ['module', 'course', 'handbook', 'video series', 'checklist'],
  fr: ['module', 'cours', 'manuel', 'série de vidéos', 'aide-mémoire'],
  es: ['módulo', 'curso', 'manual', 'serie de videos', 'lista de control'],
}

/** What a template's slots are filled with for one entry (the same in every language but the words). */
export interface Slots {
  /** A topic phrase per language, drawn by the caller from its word lists. */
  topic: Record<Lang, string>
  audience: number
  format: number
  minutes: number
  /** Indices into the sentence templates, in order. */
  sentences: number[]
}

/** Draws the slots of one entry: 3–5 of the templates, in catalogue order. */
export function drawSlots(rand: () => number, topic: Record<Lang, string>): Slots {
  const picks = SENTENCES.en.map((_, i) => i).filter(() => rand() < 0.35)
  for (let i = 0; picks.length < 3; i++) if (!picks.includes(i)) picks.push(i)
  picks.sort((x, y) => x - y)
  return {
    topic,
    audience: Math.floor(rand() * AUDIENCES.en.length),
    format: Math.floor(rand() * FORMATS.en.length),
    minutes: 15 * (1 + Math.floor(rand() * 8)),
    sentences: picks.slice(0, 5),
  }
}

function fill(template: string, lang: Lang, s: Slots): string {
  return template
    .replaceAll('{t}', s.topic[lang])
    .replaceAll('{a}', AUDIENCES[lang][s.audience])
    .replaceAll('{f}', FORMATS[lang][s.format])
    .replaceAll('{n}', String(s.minutes))
}

/** The entry's title in `lang`. */
export function catalogueTitle(lang: Lang, s: Slots): string {
  const t = fill(TITLES[lang], lang, s)
  return t.charAt(0).toUpperCase() + t.slice(1)
}

/** The entry's description in `lang`: its templates filled, then `extra` (one free sentence). */
export function catalogueDescription(lang: Lang, s: Slots, extra: string): string {
  return [...s.sentences.map((i) => fill(SENTENCES[lang][i], lang, s)), extra].join(' ')
}
