import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }]
    }
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // In the CommonJS bundle a default or namespace import of a Node built-in is copied property by
      // property at start-up (esbuild's __toESM): about 3 ms for node:crypto alone (docs/performance.md).
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[importKind!='type'][source.value=/^node:/] > :matches(ImportDefaultSpecifier, ImportNamespaceSpecifier)",
          message:
            "Import Node built-ins by name (import { readFileSync } from 'node:fs'): see docs/performance.md."
        }
      ]
    }
  },
  {
    // The bench's lean reference login is CommonJS on purpose: it is measured the way dist/index.cjs runs.
    files: ['scripts/lean-login.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  }
)
