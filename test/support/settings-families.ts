/**
 * The settings families the controller serves, as the route-table tests (RBAC matrix, audit
 * completeness, invariants) list them: each family has the same generated routes. Written out
 * here, not read from the controller, so a family added there without its rows fails them.
 */
export const SETTINGS_FAMILY_NAMES = [
  'recording-profiles',
  'watchdog-policies',
  'retention-policies',
  'upload-providers',
  'upload-policies',
  'channel-map-templates',
] as const;
