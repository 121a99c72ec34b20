/** Access / RBAC routes (users, groups, roles, access policies), all under auth:manage. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { accessPoliciesRoutes } from './access-policies.routes.js';
import type { AccessPoliciesService } from './access-policies.service.js';
import { groupsRoutes } from './groups.routes.js';
import type { GroupsService } from './groups.service.js';
import { rolesRoutes } from './roles.routes.js';
import type { RolesService } from './roles.service.js';
import { usersRoutes } from './users.routes.js';
import type { UserAdminService } from './users.service.js';

export function accessRoutes(services: {
  users: UserAdminService;
  groups: GroupsService;
  roles: RolesService;
  policies: AccessPoliciesService;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(usersRoutes(services.users));
    await app.register(groupsRoutes(services.groups));
    await app.register(rolesRoutes(services.roles));
    await app.register(accessPoliciesRoutes(services.policies));
  };
}
