/** Shared by playwright.config.ts and the specs: where the server under test keeps its data. */
export const E2E_PORT = 4173;
export const E2E_DATABASE = 'pipewall_e2e_test';
