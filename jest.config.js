// ts-jest in ESM mode: the sources import each other with `.ts` extensions so that Node 24 can run
// test-support and scripts directly (type stripping) and esbuild can bundle them unchanged.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: ['TS151001'] } }
    ]
  },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  testTimeout: 60000,
  // Most of the suite's time is spent waiting on loopback racks restarting in real time (the
  // revocation files alone take about 5 minutes), not on the CPU. Jest's default on a 2-core
  // machine is one worker, which runs the files one after another (about 8.5 minutes); two
  // overlap those waits (about 5 minutes) and keep CI within its 10.
  maxWorkers: 2
}
