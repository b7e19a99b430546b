// ESLint (flat config): eslint:recommended and typescript-eslint's type-aware recommended rules,
// which catch what strict tsc does not: promises nobody awaits or handles, promises passed where a
// plain callback is expected (an event listener, a timer), `any` leaking into typed code.
// Formatting is Prettier's (.prettierrc), not ESLint's. `npm run lint` runs both.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'tmp/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // tsconfig.json: src, test, bench (Node); tsconfig.web.json: client, web, src/protocol (browser).
        project: ['./tsconfig.json', './tsconfig.web.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A `let` that closures read before its one assignment cannot be const (it would be in its temporal dead zone).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs what test()/describe() return itself; awaiting them is not the idiom.
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // `import { x, type Y }` as the code writes it; `typeof import('m')` stays allowed for modules loaded lazily.
      // An async method that implements a Promise-returning interface needs no await: async turns its throws into rejections.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    // Not in either tsconfig (Vite reads it on its own): linted without type information.
    files: ['web/vite.config.ts'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { parserOptions: { project: null } },
  },
  {
    files: ['src/**', 'test/**', 'bench/**', 'scripts/**', '*.js', 'web/vite.config.ts'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['client/**', 'web/**'],
    languageOptions: { globals: globals.browser },
  },
);
