/**
 * The console's pages: one row each, the only place a page is added. A row says which paths
 * it answers, what it needs (any one permission, held over any scope: the server still decides
 * per object), and where it sits in the navigation. The navigation shows only what the role
 * can use; a page the role cannot use says so instead of failing request by request. Each
 * page's code is loaded when first shown (page-frame.tsx).
 */
import type { PageLoader } from './page-frame.js';
import { can } from './session.js';

export interface PageDef {
  /** Paths it answers (exact), or a pattern for paths with ids. */
  paths: (string | RegExp)[];
  title: string;
  /** Any one of these permissions; empty: any signed-in user. */
  needs: string[];
  /** In the main navigation at this link, when set. */
  nav?: string;
  /** The page's module (its own chunk), whose default export is the page. */
  load: PageLoader;
}

/** One loader for the access page's two rows (so moving between their tabs keeps the page). */
const accessPage: PageLoader = () => import('./pages/access.js');

export const PAGES: PageDef[] = [
  {
    paths: ['/', '/fleet'],
    title: 'Fleet',
    needs: ['node:read'],
    nav: '/fleet',
    load: () => import('./pages/fleet.js'),
  },
  {
    paths: ['/health'],
    title: 'Health events',
    needs: ['health:read'],
    nav: '/health',
    load: () => import('./pages/health.js'),
  },
  {
    paths: ['/recordings'],
    title: 'Recordings',
    needs: ['recording:read'],
    nav: '/recordings',
    load: () => import('./pages/recordings.js'),
  },
  {
    // The recording id pattern (recordings.schemas.ts ObjectId); ID_PATH in pages/recording.tsx reads it back.
    paths: [/^\/recordings\/[A-Za-z0-9_-]+$/],
    title: 'Recording',
    needs: ['recording:read'],
    load: () => import('./pages/recording.js'),
  },
  {
    paths: ['/schedules'],
    title: 'Schedules',
    needs: ['schedule:read'],
    nav: '/schedules',
    load: () => import('./pages/schedules.js'),
  },
  {
    paths: ['/jobs'],
    title: 'Jobs & uploads',
    needs: ['recording:read'],
    nav: '/jobs',
    load: () => import('./pages/jobs.js'),
  },
  {
    paths: ['/meters'],
    title: 'Meters',
    needs: ['node:read'],
    nav: '/meters',
    load: () => import('./pages/meters.js'),
  },
  {
    // A node's live audio: the node and channels in the query (listen-model.ts).
    paths: ['/listen'],
    title: 'Listen',
    needs: ['listen:monitor'],
    nav: '/listen',
    load: () => import('./pages/listen.js'),
  },
  {
    // The node id pattern (shared/src/ids.ts); NODE_PATH in pages/node.tsx reads it back.
    paths: [/^\/nodes\/[A-Za-z0-9_-]+$/],
    title: 'Node',
    needs: ['node:read'],
    load: () => import('./pages/node.js'),
  },
  {
    paths: ['/audit'],
    title: 'Audit trail',
    needs: ['audit:read'],
    nav: '/audit',
    load: () => import('./pages/audit.js'),
  },
  {
    // Users, groups and roles need auth:manage; ACCESS_PATH in access-model.ts reads the tab back.
    paths: ['/access', /^\/access\/(users|groups|roles|policies)$/],
    title: 'Users & access',
    needs: ['auth:manage'],
    nav: '/access',
    load: accessPage,
  },
  {
    // One's own API tokens: for every signed-in user (the same page, its other tabs hidden).
    paths: ['/access/tokens'],
    title: 'Users & access',
    needs: [],
    load: accessPage,
  },
  {
    paths: ['/settings'],
    title: 'Settings',
    needs: ['settings:read'],
    nav: '/settings',
    load: () => import('./pages/settings.js'),
  },
  {
    paths: ['/attendance'],
    title: 'Attendance',
    needs: ['attendance:read'],
    nav: '/attendance',
    load: () => import('./pages/attendance.js'),
  },
  {
    paths: ['/system'],
    title: 'System',
    needs: ['health:read'],
    nav: '/system',
    load: () => import('./pages/system.js'),
  },
];

export function allowed(page: PageDef): boolean {
  return page.needs.length === 0 || page.needs.some((permission) => can(permission));
}

export function pageFor(path: string): PageDef | undefined {
  return PAGES.find((page) => page.paths.some((p) => (typeof p === 'string' ? p === path : p.test(path))));
}

/** The navigation's links: the pages in it that the role can use. */
export function visibleNav(): { href: string; label: string; page: PageDef }[] {
  return PAGES.filter((page) => page.nav && allowed(page)).map((page) => ({
    href: page.nav!,
    label: page.title,
    page,
  }));
}
