/** The few parts of oidc-provider (no bundled types) that the test identity provider uses. */
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  export interface KoaContext {
    path: string;
    method: string;
    body: unknown;
  }

  export interface Account {
    accountId: string;
    claims: (use: string, scope: string) => Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface ProviderConfiguration {
    clients?: Record<string, unknown>[];
    pkce?: { required?: () => boolean };
    findAccount?: (ctx: unknown, id: string) => Promise<Account | undefined> | Account | undefined;
    features?: Record<string, unknown>;
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    ttl?: Record<string, number | ((...args: unknown[]) => number)>;
    cookies?: { keys?: string[] };
    jwks?: { keys: Record<string, unknown>[] };
  }

  export class Provider {
    constructor(issuer: string, configuration?: ProviderConfiguration);
    listen(port: number, host: string, callback?: () => void): Server;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: unknown[]) => void): void;
  }
  export default Provider;
}
