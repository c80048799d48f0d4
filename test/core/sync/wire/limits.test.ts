/**
 * What one sync message may carry (core/sync/wire/limits.ts), unit by unit: filters, vector
 * rows, and a report cut to what one message carries. The attacks these limits answer are
 * played against a real server in test/core/sync/serverLimits.test.ts.
 */
import t from 'tap'
import { decodeFilter, decodeVectors, fitReport, MAX_FILTER_PREFIXES, MAX_PREFIX_SEGMENTS, MAX_REPORT_CLAIMS, MAX_REPORT_ROWS } from '../../../../core/sync/wire/limits.js'
import { codeOf } from '../../../helpers/errorCodes.js'
import { newAuthor } from '../../../helpers/instances.js'

t.test('filters: counts, depth and shapes', async (t) => {
  t.same(decodeFilter(['', 'lib:a'], ['en', 'pt-BR'], 'x'), { prefixes: ['', 'lib:a'], languages: ['en', 'pt-BR'] })
  t.equal(await codeOf(() => decodeFilter(Array.from({ length: MAX_FILTER_PREFIXES + 1 }, (_, i) => `lib:${i}`), [], 'x')), 'POLLEN_LIMIT_EXCEEDED', `${MAX_FILTER_PREFIXES + 1} prefixes`)
  t.equal(await codeOf(() => decodeFilter([`lib${'/a'.repeat(MAX_PREFIX_SEGMENTS)}`], [], 'x')), 'POLLEN_LIMIT_EXCEEDED', `a prefix of ${MAX_PREFIX_SEGMENTS + 1} segments`)
  t.equal(await codeOf(() => decodeFilter([`lib${'/a'.repeat(MAX_PREFIX_SEGMENTS - 1)}`], [], 'x')), 'no error', `a prefix of ${MAX_PREFIX_SEGMENTS} segments`)
  t.equal(await codeOf(() => decodeFilter(['lib a'], [], 'x')), 'POLLEN_BAD_MESSAGE', 'a prefix that is no partition')
  t.equal(await codeOf(() => decodeFilter([''], ['English'], 'x')), 'POLLEN_BAD_MESSAGE', 'a language that is no language code')
  t.equal(await codeOf(() => decodeFilter('', [], 'x')), 'POLLEN_BAD_MESSAGE', 'prefixes that are no list')
})

t.test('vector rows: counts and shapes; a report over the limits is cut to its broadest rows', async (t) => {
  const a = newAuthor()
  t.equal(await codeOf(() => decodeVectors([a], Array.from({ length: MAX_REPORT_ROWS + 1 }, (_, i) => [`p${i}`, '', 0, 1]), 'x')), 'POLLEN_LIMIT_EXCEEDED', 'rows over the limit')
  t.equal(await codeOf(() => decodeVectors([a], [['p', '', ...Array.from({ length: MAX_REPORT_CLAIMS + 1 }, () => [0, 1]).flat()]], 'x')), 'POLLEN_LIMIT_EXCEEDED', 'claims over the limit')
  t.equal(await codeOf(() => decodeVectors(['x.1'], [['p', '', 0, 1]], 'x')), 'POLLEN_BAD_MESSAGE', 'an author that is no author id')
  t.equal(await codeOf(() => decodeVectors([a], [['p q', '', 0, 1]], 'x')), 'POLLEN_BAD_MESSAGE', 'a prefix that is no partition')
  t.equal(await codeOf(() => decodeVectors([a], [['p', 'English', 0, 1]], 'x')), 'POLLEN_BAD_MESSAGE', 'a layer that is no layer')
  t.same(decodeVectors([a], [['p', '*', 0, 1], ['', 'en', 0, 2]], 'x'), [{ prefix: 'p', layer: '*', counters: { [a]: 1 } }, { prefix: '', layer: 'en', counters: { [a]: 2 } }], 'rows within the limits')
  const rows = [{ prefix: 'a/b/c', layer: '', counters: { [a]: 1 } }, ...Array.from({ length: MAX_REPORT_ROWS }, (_, i) => ({ prefix: `a/${i}`, layer: '', counters: { [a]: 1 } })), { prefix: '', layer: '', counters: { [a]: 1 } }]
  const fit = fitReport(rows)
  t.equal(fit.length, MAX_REPORT_ROWS, 'a report over the limit is cut to it')
  t.ok(fit.some((e) => e.prefix === '') && !fit.some((e) => e.prefix === 'a/b/c'), 'the broadest rows stay, the narrowest go')
  t.equal(fitReport(rows.slice(0, 10)).length, 10, 'a report within the limit is whole')
})
