/** pino JSON logs to stdout; journald keeps them under systemd. */
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, name = 'pollen'): Logger {
  return pino({ name, level, base: { pid: process.pid } })
}
