/**
 * The console's pages and the permission each needs to be shown. A page the role cannot use is
 * not offered; the server refuses it anyway. Pages not built yet are listed in `planned`.
 */
import { can } from './session.js';

export interface NavItem {
  href: string;
  label: string;
  /** Any one of these, held over any scope. */
  needs: string[];
}

export const NAV: NavItem[] = [{ href: '/', label: 'Fleet', needs: ['node:read'] }];

export function visibleNav(): NavItem[] {
  return NAV.filter((item) => item.needs.some((permission) => can(permission)));
}
