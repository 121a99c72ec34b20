/**
 * The routes of every settings family, generated from its definition under
 * `/api/v1/settings/<family>`: list, export, detail, actions, history, create, update, delete
 * and rollback, each with an OpenAPI summary naming the family.
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  NoContent,
  PageOf,
  PageOnlyQuery,
  pageOf,
} from '../../core/pagination.js';
import { type ExportFormat, type ExportRows, exportTable } from '../../core/table-export.js';
import { exportRoutes } from '../../http/export-routes.js';
import { callContext } from '../../http/route-access.js';
import type { SettingsRow } from './settings.repository.js';
import {
  familySchemas,
  HistoryEntry,
  RollbackBody,
  SettingsActions,
  SettingsListQuery,
  SettingsParams,
} from './settings.schemas.js';
import { presentSettings, type SettingsService } from './settings.service.js';
import type { SettingsFamily } from './settings-family.js';
import { shownColumns } from './settings-secrets.js';

const SettingsFilters = Type.Omit(SettingsListQuery, ['cursor', 'limit']);
const read = { access: { user: 'settings:read', scope: 'fleet' } } as const;
const manage = { access: { user: 'settings:manage', scope: 'fleet' } } as const;

type Cell = string | number | boolean | null;
const cell = (value: unknown): Cell =>
  value === null || value === undefined
    ? null
    : Array.isArray(value)
      ? value.join(' ')
      : typeof value === 'object'
        ? JSON.stringify(value)
        : (value as Cell);

const FamilyInfo = Type.Object({
  name: Type.String({ description: 'The URL segment: `/api/v1/settings/<name>`' }),
  title: Type.String({ description: 'One object, e.g. `recording profile`' }),
  label: Type.String({ description: 'The family, e.g. `Recording profiles`' }),
  secretFields: Type.Array(Type.String(), {
    description: 'Body fields that are sealed at rest and never shown (`<field>Set` says whether one is)',
  }),
});

const pluralOf = (family: SettingsFamily) => `${family.title}s`.replace(/ys$/, 'ies');

export function settingsRoutes(settings: SettingsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/settings',
      {
        config: read,
        schema: {
          tags: ['settings'],
          summary:
            'The settings families this controller offers, each with its routes under /settings/<name>',
          response: { 200: Data(Type.Array(FamilyInfo)) },
        },
      },
      async () => ({
        data: settings.families.map((family) => ({
          name: family.name,
          title: family.title,
          label: cap(pluralOf(family)),
          secretFields: [...(family.secrets ?? [])],
        })),
      }),
    );
    for (const family of settings.families) await app.register(familyRoutes(settings, family));
  };
}

function familyRoutes(settings: SettingsService, family: SettingsFamily): FastifyPluginAsyncTypebox {
  const base = `/settings/${family.name}`;
  const plural = pluralOf(family);
  const tags = ['settings'];
  const schemas = familySchemas(family);
  const bodyColumns = shownColumns(family);
  const present = (row: SettingsRow) => presentSettings(row, family);
  const exportOf = (rows: ExportRows<SettingsRow>, format: ExportFormat) =>
    exportTable({
      name: family.name,
      format,
      rows,
      present,
      columns: ['id', 'name', 'revision', ...bodyColumns, 'createdBy', 'createdAt', 'updatedAt'],
      flatten: (row) => {
        const { body, ...view } = present(row);
        return { ...view, ...Object.fromEntries(bodyColumns.map((c) => [c, cell(body[c])])) };
      },
      now: new Date(),
    });

  return async (app) => {
    app.get(
      base,
      {
        config: read,
        schema: {
          tags,
          summary: `${cap(plural)}, newest first (q: text in the name)`,
          querystring: SettingsListQuery,
          response: { 200: PageOf(schemas.object), 400: ErrorResponse },
        },
      },
      async (request) => {
        const take = clampLimit(request.query.limit);
        const after = parsePositionCursor(request.query.cursor);
        const rows = await settings.list(family, request.query.q, take, after);
        return pageOf(rows, take, present, positionCursor);
      },
    );

    await app.register(
      exportRoutes({
        url: `${base}/export`,
        tags,
        noun: plural,
        access: read.access,
        filters: SettingsFilters,
        id: Type.String({ format: 'uuid' }),
        filtered: (_principal, filter, limit, after) => settings.list(family, filter.q, limit, after),
        selected: (_principal, ids) => settings.listByIds(family, ids),
        file: exportOf,
        audit: (ctx, summary) => settings.recordExport(family, ctx, summary),
      }),
    );

    app.get(
      `${base}/:id`,
      {
        config: read,
        schema: {
          tags,
          summary: `One ${family.title}`,
          params: SettingsParams,
          response: { 200: Data(schemas.object), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: present(await settings.find(family, request.params.id)) }),
    );

    app.get(
      `${base}/:id/actions`,
      {
        config: read,
        schema: {
          tags,
          summary: `What you can do with the ${family.title} now, each with the reason when not`,
          params: SettingsParams,
          response: { 200: Data(SettingsActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await settings.actions(family, request.params.id, request.principal) }),
    );

    app.get(
      `${base}/:id/history`,
      {
        config: read,
        schema: {
          tags,
          summary: `The revisions of the ${family.title}, oldest first: who, when, before and after`,
          params: SettingsParams,
          querystring: PageOnlyQuery,
          response: { 200: PageOf(HistoryEntry), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit } = request.query;
        const after = decodeCursor<number>(cursor, 'sequence');
        return settings.history(family, request.params.id, clampLimit(limit), after);
      },
    );

    app.post(
      base,
      {
        config: manage,
        schema: {
          tags,
          summary: `Create a ${family.title} (fields left out take the defaults)`,
          body: schemas.create,
          response: { 201: Data(schemas.object), 400: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const row = await settings.create(family, request.body, callContext(request));
        return reply.code(201).send({ data: present(row) });
      },
    );

    app.patch(
      `${base}/:id`,
      {
        config: manage,
        schema: {
          tags,
          summary: `Change a ${family.title}: a new revision (fields left out are kept)`,
          params: SettingsParams,
          body: schemas.update,
          response: { 200: Data(schemas.object), 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: present(await settings.update(family, request.params.id, request.body, callContext(request))),
      }),
    );

    app.delete(
      `${base}/:id`,
      {
        config: manage,
        schema: {
          tags,
          summary: `Delete a ${family.title} (409 naming its users while it is in use; history kept)`,
          params: SettingsParams,
          response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        await settings.delete(family, request.params.id, callContext(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      `${base}/:id/rollback`,
      {
        config: manage,
        schema: {
          tags,
          summary: `Restore the body of an earlier revision of the ${family.title}, as a new revision`,
          params: SettingsParams,
          body: RollbackBody,
          response: { 200: Data(schemas.object), 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: present(await settings.rollback(family, request.params.id, request.body, callContext(request))),
      }),
    );
  };
}

const cap = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
