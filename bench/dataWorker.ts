/** Worker thread of `data.ts`: generates one batch of resources and posts its JSON text. */
import { parentPort, workerData } from 'node:worker_threads'
import { generateResource, type TextModel } from './dataset.js'

const { seed, start, count, text } = workerData as { seed: number; start: number; count: number; text: TextModel }
const out = new Array<unknown>(count)
for (let i = 0; i < count; i++) out[i] = generateResource(start + i, seed, { text })
parentPort?.postMessage(JSON.stringify(out))
