/**
 * Users & access: users, groups, roles (with their permissions), access policies (password,
 * sessions, single-sign-on role mappings) and the caller's own API tokens, one tab each with the tab in the URL (`/access/users`, …). The management tabs are
 * for roles holding `auth:manage` (hidden otherwise); the server still decides every change
 * and its refusal is shown where the change was asked for.
 */
import { ACCESS_TABS, tabFromPath } from '../access-model.js';
import { location } from '../router.js';
import { can } from '../session.js';
import { GroupsTab, RolesTab } from './access-groups.js';
import { PoliciesTab } from './access-policies.js';
import { TokensTab } from './access-tokens.js';
import { UsersTab } from './access-users.js';
import './access.css';

export default function AccessPage() {
  const manages = can('auth:manage');
  const tab = tabFromPath(location.value.path, manages);
  const tabs = ACCESS_TABS.filter((t) => manages || !t.manage);
  return (
    <section class="page access">
      <h1>Users &amp; access</h1>
      <nav class="access-tabs" aria-label="Access sections">
        <ul>
          {tabs.map((t) => (
            <li key={t.id}>
              <a href={`/access/${t.id}`} aria-current={t.id === tab ? 'page' : undefined}>
                {t.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {tab === 'users' && <UsersTab />}
      {tab === 'groups' && <GroupsTab />}
      {tab === 'roles' && <RolesTab />}
      {tab === 'policies' && <PoliciesTab />}
      {tab === 'tokens' && <TokensTab />}
    </section>
  );
}
