// Lint rules for the whole repository: typescript-eslint's recommended set, without type information so
// `npm test` pays seconds, not minutes. Formatting is prettier's job (.prettierrc.json), not eslint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'cdktf.out/**', 'coverage/**', '.gen/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
      },
    },
    rules: {
      // Control characters are matched on purpose: process names and terminal colour codes are sanitized or stripped.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  // Tests read synthesized JSON and CLI output, whose shapes are what they assert.
  // Tests match aligned table columns literally, and error-lines feeds numbers too large to be exact on purpose.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-regex-spaces': 'off' } },
  { files: ['test/provider/error-lines.test.ts'], rules: { 'no-loss-of-precision': 'off' } },
);
