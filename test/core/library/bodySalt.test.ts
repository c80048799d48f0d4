/**
 * Salted bodies (core/library/bodySalt.ts): the hash a purge keeps of a body cannot be
 * matched by hashing a guess, an unchanged put still writes nothing, and views never show
 * the salt.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { bodyOf, encodeBody } from '../../../core/model/operation.js'
import { sameBody, salted, unsalted } from '../../../core/library/bodySalt.js'
import { memoryInstance } from '../../helpers/instances.js'

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

t.test('two salted copies of one text hash apart, and neither as the bare text', async (t) => {
  const body = { title: 'Jane Doe, HIV positive' }
  const [a, b] = [encodeBody(salted(body)), encodeBody(salted(body))]
  t.not(hex(a), hex(b), 'a fresh salt each time')
  t.not(hex(a), hex(encodeBody(body)), 'the guess does not hash to the salted body')
  t.same(unsalted(bodyOf({ body: a })), body, 'without its salt the body is what was written')
  t.ok(sameBody(a, body), 'the same content, whatever the salt')
  t.notOk(sameBody(a, { title: 'Jane Doe' }), 'other content differs')
  t.ok(sameBody(encodeBody(body), body), 'a body from before salts compares as before')
  t.same(unsalted([1, 2]), [1, 2], 'a body that is not an object is left alone')
})

t.test('through the library: unchanged puts write nothing, views and conflicts show no salt', async (t) => {
  const { lib, log } = await memoryInstance({ languages: ['en'] })
  await lib.put({ id: 'r', title: { en: 'Masks' }, tags: ['a'] })
  const counter = log.counter
  t.equal((await lib.put({ id: 'r', title: { en: 'Masks' }, tags: ['a'] })).outcome, 'unchanged')
  t.equal(log.counter, counter, 'no operation was written')
  t.notOk(JSON.stringify(await lib.get('r')).includes('salt'), 'the view has no salt')
})
