// ESLint for the whole repository: the recommended JavaScript and typescript-eslint rules.
// Formatting is Prettier's job (npm run format), so no style rule lives here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.cluster/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests, e2e, the benchmark and scripts read untyped JSON (reviews, pods, API answers) all day.
    files: ['test/**', 'e2e/**', 'bench/**', 'scripts/**', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
