/** Asserting on the stable error codes of refusals. */
import { isPollenError } from '../../core/errors.js'

/**
 * The POLLEN_* code that `run` fails with — a function (sync or async) or a promise — or a
 * description of what it did instead, so a refusal that did not happen fails the assertion.
 */
export async function codeOf(run: (() => unknown) | Promise<unknown>): Promise<string> {
  try {
    await (typeof run === 'function' ? run() : run)
    return 'no error'
  } catch (err) {
    return isPollenError(err) ? err.code : `non-pollen error: ${String(err)}`
  }
}
