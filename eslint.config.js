// ESLint for pollen: `npm run lint`, run by `npm test` (scripts/test.mjs counts it as a test).
// Type-aware (typescript-eslint's recommendedTypeChecked over tsconfig.json); formatting is
// left to the authors: no style rules here.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

/** The Node globals the plain-JavaScript scripts use (scripts/*.mjs, this file). */
const nodeGlobals = Object.fromEntries(['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((g) => [g, 'readonly']))

export default defineConfig(
  { ignores: ['dist/', 'dist-t/', 'dist-u/', 'node_modules/', 'data/', 'tmp/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `for await (const _ of keys)` counts entries and `const { x: _, ...rest }` drops a field.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // An async function without await is how this code implements a Promise-returning
      // interface (transports, stores, fastify handlers) and makes a throw a rejection.
      '@typescript-eslint/require-await': 'off',
      // `const out: T[] = new Array(n)` (preallocation on hot paths) is typed by its annotation;
      // the rule reports every such line. The other no-unsafe-* rules stay on outside test/.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // Interpolates decoded JSON (`unknown`) and URLSearchParams in CLI text on purpose;
      // no-base-to-string still catches objects that would print as [object Object].
      '@typescript-eslint/restrict-template-expressions': 'off',
      // `const self = this` feeds async generators, which cannot be arrow functions.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // A timer cleared by a callback declared before it is set: `let timer; const done = ...`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tap queues `t.test(...)`; the promise it returns is tap's to await, not the caller's.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }],
      // Tests read JSON output and poke at internals through `any` on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
)
