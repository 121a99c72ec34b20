/**
 * Identity and access: sign-in (password, sessions, API tokens, single sign-on), users,
 * groups, roles, grants and the access policies. Offers the authenticator the access
 * control plugin resolves callers with.
 */

import { SharedCountersRepository } from '../../cluster/shared-counters.repository.js';
import { type Config, oidcEnabled } from '../../config.js';
import type { AuditInput } from '../../core/audit.types.js';
import type { Principal } from '../../core/principal.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { AccessRepository } from './access.repository.js';
import { accessRoutes } from './access.routes.js';
import { AccessGuard } from './access-guard.js';
import { AccessPoliciesRepository } from './access-policies.repository.js';
import { AccessPoliciesService } from './access-policies.service.js';
import { AccessGenerationRepository, changesAccess, GenerationReader } from './auth/access-generation.js';
import { authRoutes } from './auth/auth.routes.js';
import { AuthService } from './auth/auth.service.js';
import { LoginThrottle, type LoginThrottlePort, SharedLoginThrottle } from './auth/login-throttle.js';
import { ApiTokensRepository, SessionsRepository } from './auth/sessions.repository.js';
import { UsersRepository } from './auth/users.repository.js';
import { GroupsRepository } from './groups.repository.js';
import { GroupsService } from './groups.service.js';
import { OidcIdentityProvider } from './oidc/oidc.idp.js';
import { OidcRepository } from './oidc/oidc.repository.js';
import { oidcRoutes } from './oidc/oidc.routes.js';
import { type AccessLock, OidcService } from './oidc/oidc.service.js';
import { ownPasswordRoutes } from './own-password.routes.js';
import { OwnPasswordService } from './own-password.service.js';
import { RolesRepository } from './roles.repository.js';
import { RolesService } from './roles.service.js';
import { UserAdminRepository } from './users.repository.js';
import { UserAdminService } from './users.service.js';

export type { AccessPoliciesService, AuthService, OidcService };

export interface AccessPorts {
  auth: AuthService;
  accessPolicies: AccessPoliciesService;
  oidc: OidcService;
  /** A user's session or API token, for the access control plugin. */
  resolveUserSecret: (secret: string) => Promise<Principal | undefined>;
  /**
   * The access generation (auth/access-generation.ts), for other modules that cache what a
   * credential resolves to: `read` it per request, and have it bumped with their own events
   * that change access (`bumpOn`, in the event's transaction).
   */
  accessGeneration: {
    read(): Promise<number>;
    bumpOn(when: (input: AuditInput) => boolean): void;
  };
}

function identityProvider(config: Config, now: () => Date): OidcIdentityProvider | undefined {
  if (!oidcEnabled(config)) return undefined;
  return new OidcIdentityProvider(
    {
      issuerUrl: config.oidcIssuerUrl!,
      clientId: config.oidcClientId!,
      clientSecret: config.oidcClientSecret,
      redirectUrl: config.oidcRedirectUrl!,
      scopes: config.oidcScopes,
    },
    now,
  );
}

function repositories({ db, provider }: ModuleCore) {
  return {
    usersRepo: new UsersRepository(db, provider),
    sessionsRepo: new SessionsRepository(db),
    apiTokensRepo: new ApiTokensRepository(db),
    accessRepo: new AccessRepository(db, provider),
    userAdminRepo: new UserAdminRepository(db),
    groupsRepo: new GroupsRepository(db),
  };
}

// IdP group → role mappings are the `oidcRoleMappings` access policy.
function oidcService(
  core: ModuleCore,
  parts: { users: UsersRepository; auth: AuthService; policies: AccessPoliciesService; access: AccessLock },
): OidcService {
  const { db, audit, config, now } = core;
  return new OidcService({
    db,
    accessLock: parts.access,
    repo: new OidcRepository(db),
    users: parts.users,
    auth: parts.auth,
    audit,
    idp: identityProvider(config, now),
    mappings: parts.policies,
    settings: { buttonLabel: config.oidcButtonLabel, groupsClaim: config.oidcGroupsClaim },
    now,
  });
}

/**
 * Every access change bumps the generation in its own transaction; resolved callers are
 * cached only while it is unchanged (auth/access-generation.ts).
 */
function accessGeneration({ raw, audit }: ModuleCore): AccessPorts['accessGeneration'] {
  const repo = new AccessGenerationRepository(raw);
  const bumpOn = (when: (input: AuditInput) => boolean) =>
    audit.onAppend({ when, run: (tx) => repo.bump(tx) });
  bumpOn(changesAccess);
  const reader = new GenerationReader(() => repo.read());
  return { read: () => reader.read(), bumpOn };
}

/** Failed logins counted in memory, or in the database the replicas share (PostgreSQL). */
function loginThrottle({ config, now, provider, raw }: ModuleCore): LoginThrottlePort {
  const limits = [config.loginFailuresPerAccountPerHour, config.loginFailuresPerAddressPerHour] as const;
  const clock = () => now().getTime();
  if (provider === 'postgresql')
    return new SharedLoginThrottle(new SharedCountersRepository(raw, now), ...limits, clock);
  return new LoginThrottle(...limits, clock);
}

export function createAccessModule(core: ModuleCore): AppModule<AccessPorts> {
  const { db, audit, config, now } = core;
  const { usersRepo, sessionsRepo, apiTokensRepo, accessRepo, userAdminRepo, groupsRepo } =
    repositories(core);
  const guard = new AccessGuard(accessRepo);
  const policies = new AccessPoliciesService({
    db,
    repo: new AccessPoliciesRepository(db),
    access: accessRepo,
    guard,
    audit,
    now,
  });
  const throttle = loginThrottle(core);
  const generation = accessGeneration(core);
  const auth = new AuthService({
    db,
    generation,
    users: usersRepo,
    sessions: sessionsRepo,
    apiTokens: apiTokensRepo,
    audit,
    throttle,
    config,
    now,
    sessionCaps: async () => (await policies.get()).sessions,
  });
  const users = new UserAdminService({
    db,
    users: userAdminRepo,
    groups: groupsRepo,
    access: accessRepo,
    sessions: sessionsRepo,
    apiTokens: apiTokensRepo,
    guard,
    policies,
    audit,
    config,
    now,
  });
  const ownPassword = new OwnPasswordService({
    db,
    users: usersRepo,
    userAdmin: userAdminRepo,
    sessions: sessionsRepo,
    policies,
    audit,
    config,
    now,
  });
  const groups = new GroupsService({
    db,
    groups: groupsRepo,
    access: accessRepo,
    sessions: sessionsRepo,
    users,
    guard,
    audit,
    now,
  });
  const roles = new RolesService(db, new RolesRepository(db), accessRepo, guard, audit);
  const oidc = oidcService(core, { users: usersRepo, auth, policies, access: accessRepo });
  return {
    name: 'access',
    routes: [
      authRoutes(auth, config),
      ownPasswordRoutes(ownPassword),
      accessRoutes({ users, groups, roles, policies }),
      oidcRoutes(oidc, config),
    ],
    ports: {
      auth,
      accessPolicies: policies,
      oidc,
      resolveUserSecret: (secret) => auth.resolve(secret),
      accessGeneration: generation,
    },
  };
}
