/** What every CLI command handler gets, and the helpers they share to print and to read flags. */
import { pollenError } from '../core/errors.js'
import type { Flags } from './cliArgs.js'
import type { ControlClient } from './controlClient.js'
import { terminalText } from './cliOutput.js'

export interface Ctx {
  args: string[]
  flags: Flags
  json: boolean
  dataDir: string
  client: () => Promise<ControlClient>
}

/** A command handler: resolves when done, throws a PollenError otherwise. */
export type Handler = (ctx: Ctx) => Promise<void>

export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n')
}

/** `--json`: the API's JSON, exact; otherwise the human form, with control characters escaped. */
export function print(ctx: Ctx, value: unknown, human: () => string): void {
  out(ctx.json ? JSON.stringify(value, null, 2) : terminalText(human()))
}

export function required(flags: Flags, name: string, usageLine: string): string {
  const v = flags[name]
  if (typeof v !== 'string' || v === '') throw pollenError('POLLEN_INVALID_FLAG', `--${name} is required; usage: ${usageLine}`)
  return v
}
