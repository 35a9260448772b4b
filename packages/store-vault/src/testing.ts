/**
 * `@easel/store-vault/testing`: a faithful fake HashiCorp Vault for tests of any package that
 * talks to Vault. Real HTTP on 127.0.0.1; no Vault binary needed. Coverage: see the README.
 */

export type { Capability, CreateAppRoleOptions, CreateTokenOptions, PolicyRules } from "./fake/auth.js";
export type { FakeVault, FakeVaultOptions, InjectedFault } from "./fake/server.js";
export { startFakeVault } from "./fake/server.js";
