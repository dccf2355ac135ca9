/**
 * Jest runs the TypeScript sources as native ES modules (ts-jest's ESM mode under
 * --experimental-vm-modules), the same module system the package ships, so ESM-only
 * dependencies such as execa 9 load in tests exactly as they do in production.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'cts', 'js', 'cjs', 'json'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.c?js$': '$1' },
  transform: { '^.+\\.c?ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  setupFilesAfterEnv: ['<rootDir>/test/setup-jest.ts'],
  testTimeout: 120000,
};
