/** Worker thread of `data.ts`: generates one batch of resources and posts its JSON text. */
import { parentPort, workerData } from 'node:worker_threads'
import { generateResource } from './dataset.js'

const { seed, start, count } = workerData as { seed: number; start: number; count: number }
const out = new Array<unknown>(count)
for (let i = 0; i < count; i++) out[i] = generateResource(start + i, seed)
parentPort?.postMessage(JSON.stringify(out))
