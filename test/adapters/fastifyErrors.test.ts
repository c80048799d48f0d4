/**
 * The one mapping from fastify's errors to pollen's, as each HTTP API uses it: the sync API
 * (no JSON bodies; malformed is POLLEN_BAD_MESSAGE) and the control API (JSON bodies;
 * malformed is POLLEN_INVALID_INPUT). Every row is an answer one of them gave before the
 * mapping was shared.
 */
import t from 'tap'
import { pollenError } from '../../core/errors.js'
import { fromFastifyError, type ErrorEdge } from '../../adapters/fastifyErrors.js'

const SYNC: ErrorEdge = { badRequest: 'POLLEN_BAD_MESSAGE', internal: 'POLLEN_SYNC_FAILED', notFound: 'no such sync endpoint' }
const CONTROL: ErrorEdge = { badRequest: 'POLLEN_INVALID_INPUT', internal: 'POLLEN_STORAGE', json: true }

const fst = (code: string, statusCode: number, message: string) => Object.assign(new Error(message), { code, statusCode })

const cases: { name: string; err: unknown; sync: [string, string | RegExp]; control: [string, string | RegExp] }[] = [
  { name: 'a PollenError is itself', err: pollenError('POLLEN_FORBIDDEN', 'no'), sync: ['POLLEN_FORBIDDEN', 'no'], control: ['POLLEN_FORBIDDEN', 'no'] },
  {
    name: 'body too large',
    err: fst('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'Request body is too large'),
    sync: ['POLLEN_BODY_TOO_LARGE', 'the request body is too large'],
    control: ['POLLEN_BODY_TOO_LARGE', 'the request body is too large'],
  },
  {
    name: 'invalid JSON',
    err: fst('FST_ERR_CTP_INVALID_JSON_BODY', 400, 'Body is not valid JSON'),
    sync: ['POLLEN_BAD_MESSAGE', 'Body is not valid JSON'],
    control: ['POLLEN_INVALID_JSON', 'the request body is not valid JSON: Body is not valid JSON'],
  },
  {
    name: 'empty JSON',
    err: fst('FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'Body cannot be empty'),
    sync: ['POLLEN_BAD_MESSAGE', 'Body cannot be empty'],
    control: ['POLLEN_INVALID_JSON', /not valid JSON: Body cannot be empty/],
  },
  { name: 'a SyntaxError', err: new SyntaxError('Unexpected token'), sync: ['POLLEN_SYNC_FAILED', 'internal error: Unexpected token'], control: ['POLLEN_INVALID_JSON', /Unexpected token/] },
  {
    name: 'unsupported media type',
    err: fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'Unsupported Media Type: x/y'),
    sync: ['POLLEN_BAD_MESSAGE', 'Unsupported Media Type: x/y'],
    control: ['POLLEN_INVALID_INPUT', 'unsupported content type'],
  },
  { name: 'a 404', err: fst('FST_ERR_NOT_FOUND', 404, 'Route not found'), sync: ['POLLEN_NOT_FOUND', 'no such sync endpoint'], control: ['POLLEN_NOT_FOUND', 'Route not found'] },
  { name: 'another 4xx', err: fst('FST_ERR_X', 400, 'bad header'), sync: ['POLLEN_BAD_MESSAGE', 'bad header'], control: ['POLLEN_INVALID_INPUT', 'bad header'] },
  { name: 'a plain Error', err: new Error('disk gone'), sync: ['POLLEN_SYNC_FAILED', 'internal error: disk gone'], control: ['POLLEN_STORAGE', 'internal error: disk gone'] },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    for (const [edge, [code, message]] of [[SYNC, c.sync], [CONTROL, c.control]] as const) {
      const pe = fromFastifyError(c.err, edge)
      t.equal(pe.code, code, `${edge.internal === 'POLLEN_STORAGE' ? 'control' : 'sync'}: ${code}`)
      if (typeof message === 'string') t.equal(pe.message, message)
      else t.match(pe.message, message)
    }
  })
}
