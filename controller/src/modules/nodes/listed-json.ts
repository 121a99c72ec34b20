/**
 * The node list's page, written as JSON text straight from the cells its query reads
 * (`NodesRepository.listed`), in `NodeSchema`'s order with its types: byte for byte what the
 * schema's serialiser writes for `NodesService.present` of each node
 * (test/integration/list-answers.test.ts), without building the objects in between
 * (docs/architecture.md, "The raw driver").
 */
import {
  jsonDate as date,
  jsonBool,
  jsonPage,
  jsonNumber as num,
  jsonText as str,
} from '../../core/json-text.js';
import { encodeCursor } from '../../core/pagination.js';
import { tagsOf } from './node-management.service.js';

/** Whether a node is online now, from its id and last heartbeat (ms; 0 for none). */
export type OnlineCheck = (nodeId: string, lastSeenMs: number) => boolean;

/** One listed node's JSON, from the cells of `LISTED_NODE_CELLS`. */
export function listedNodeJson(c: readonly unknown[], online: OnlineCheck): string {
  const lastSeen = c[6] as string | null;
  const isOnline = online(c[0] as string, lastSeen === null ? 0 : Date.parse(lastSeen));
  const tags = c[14] as string;
  return (
    `{"id":${str(c[0])},"name":${str(c[1])},"site":{"id":${str(c[2])},"name":${str(c[3])}},` +
    `"enrolled":${jsonBool(c[4])},"credentialHint":${str(c[5])},` +
    `"presence":{"online":${jsonBool(isOnline)},"lastSeenAt":${date(lastSeen)}},` +
    `"agentVersion":${str(c[7])},"capture":{"device":${str(c[8])},"state":${str(c[9])},` +
    `"sampleRate":${num(c[10])},"channels":${num(c[11])}},"diskFreeBytes":${num(c[12])},` +
    `"headroomHours":${num(c[21])},"clockOffsetMs":${num(c[13])},"tags":${tags === '[]' ? '[]' : JSON.stringify(tagsOf({ tags }))},` +
    `"location":${str(c[15])},"notes":${str(c[16])},"recordingProfileId":${str(c[17])},` +
    `"watchdogPolicyId":${str(c[18])},"decommissionedAt":${date(c[19])},"createdAt":${date(c[20])}}`
  );
}

/** `{ data, nextCursor }` for a page read with `limit`, as JSON text. */
export function listedNodesPageJson(rows: readonly unknown[][], limit: number, online: OnlineCheck): string {
  const last = rows.at(-1);
  return jsonPage(
    rows.map((c) => listedNodeJson(c, online)),
    rows.length === limit && last ? encodeCursor(last[0] as string) : null,
  );
}
