import tseslint from 'typescript-eslint'

const CORE_BOUNDARY =
  'src/core is the Convox logic any front end can use: what it needs from the runner comes in as arguments or interfaces (src/toolkit implements them).'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }]
    }
  },
  {
    // __tests__/core/boundary.test.ts checks the same in npm test.
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@actions/*'], message: CORE_BOUNDARY },
            { group: ['**/action/**', '**/toolkit/**'], message: CORE_BOUNDARY }
          ]
        }
      ],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: CORE_BOUNDARY }],
      // Dynamic imports, which no-restricted-imports does not see.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^@actions\\u002F|\\u002F(action|toolkit)\\u002F/]',
          message: CORE_BOUNDARY
        }
      ]
    }
  }
)
