/**
 * Notification integrations: create (a draft), change, verify (a test message sent now, its
 * answer recorded), enable (only once verified), disable, rotate the signing secret (shown
 * once, sealed at rest), delete, and the delivery log. Every change is audited in its
 * transaction, never with a URL's path or a secret.
 */
import { randomUUID } from 'node:crypto';
import type { AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { conflict, notFound } from '../../core/errors.js';
import { type PagePosition, parsePositionCursor, positionCursor } from '../../core/page-position.js';
import { clampLimit, pageOf } from '../../core/pagination.js';
import type { CallContext } from '../../core/principal.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { Db, Tx } from '../../db/client.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import { sendAttempt } from './delivery/outbox-sender.js';
import { unprocessable, validateReceiverUrl } from './delivery/receiver-url.js';
import { attemptError } from './delivery/retry.js';
import { newSigningSecret, openIntegration, sealSecret, sealUrl } from './integration-secrets.js';
import type { NotificationIntegration, NotificationsRepository } from './notifications.repository.js';
import {
  attemptRequest,
  checkAnswer,
  DEFAULT_QUIET_SECONDS,
  DEFAULT_RULES,
  testBody,
  urlHint,
} from './notifications.rules.js';
import {
  type CreateIntegrationBody,
  type IntegrationKind,
  type IntegrationView,
  MAX_URL_LENGTH,
  type RotateSecretBody,
  type UpdateIntegrationBody,
} from './notifications.schemas.js';
import { auditView, presentDelivery, presentIntegration } from './notifications.views.js';

export interface NotificationsDeps {
  db: Db;
  repo: NotificationsRepository;
  audit: AuditWriter;
  secrets: () => Promise<SecretBox>;
  allowPrivateNetworks: boolean;
  version: string;
  now: () => Date;
}

/** The secret a kind takes at create: generated (webhook), given (feishu, optional), none (chat webhooks). */
function initialSecret(kind: IntegrationKind, given: string | undefined): string | undefined {
  if (kind === 'webhook') {
    if (given !== undefined) throw unprocessable('a webhook’s signing secret is generated: leave out secret');
    return newSigningSecret();
  }
  if (kind === 'feishu') return given;
  if (given !== undefined)
    throw unprocessable(
      `a ${kind} webhook has no signing secret (its URL is its credential): leave out secret`,
    );
  return undefined;
}

/** Why an integration of `kind` has no signing secret to rotate (Slack, Discord), or null. */
function noSigningSecret(kind: IntegrationKind): string | null {
  return kind === 'slack' || kind === 'discord'
    ? `a ${kind} webhook has no signing secret: its URL is its credential`
    : null;
}

export class NotificationsService {
  constructor(private readonly deps: NotificationsDeps) {}

  private url(raw: string): string {
    return validateReceiverUrl(raw, this.deps.allowPrivateNetworks, MAX_URL_LENGTH);
  }

  async found(id: string, tx: Tx | Db = this.deps.db): Promise<NotificationIntegration> {
    const row = await this.deps.repo.find(id, tx);
    if (!row) throw notFound('integration');
    return row;
  }

  async list(query: { cursor?: string; limit?: number }) {
    const limit = clampLimit(query.limit);
    const rows = await this.deps.repo.list(limit, parsePositionCursor(query.cursor));
    return pageOf(rows, limit, presentIntegration, positionCursor);
  }

  async get(id: string): Promise<IntegrationView> {
    return presentIntegration(await this.found(id));
  }

  /**
   * What may be done to the integration now, and why not when not: the refusals `setStatus` and
   * `rotateSecret` would give (every route here needs the same permission, which the caller holds).
   */
  async actions(id: string) {
    const row = await this.found(id);
    const kind = row.kind as IntegrationKind;
    const gate = (why: string | null) => ({ allowed: why === null, reason: why });
    return {
      update: gate(null),
      delete: gate(null),
      verify: gate(null),
      // As setStatus: enabling needs a verification answered 2xx; either may be asked again.
      enable: gate(
        row.verifiedAt === null ? 'Verify it first: its test message must be answered 2xx.' : null,
      ),
      disable: gate(null),
      rotateSecret: gate(noSigningSecret(kind)),
    };
  }

  private async nameFree(tx: Tx, name: string, id?: string): Promise<void> {
    const other = await this.deps.repo.findByName(name, tx);
    if (other && other.id !== id) throw conflict(`an integration named "${name}" exists`);
  }

  private audit(
    tx: Tx,
    ctx: CallContext,
    action: AuditAction,
    row: NotificationIntegration,
    before?: NotificationIntegration,
  ) {
    return this.deps.audit.recordChange(tx, ctx, {
      permission: 'integrations:manage',
      action,
      target: { type: 'notification_integration', id: row.id },
      before: before ? auditView(before) : undefined,
      after: auditView(row),
    });
  }

  /** A draft; a generic webhook's signing secret is in this answer only. */
  async create(body: CreateIntegrationBody, ctx: CallContext) {
    const url = this.url(body.url);
    const secret = initialSecret(body.kind, body.secret);
    const box = await this.deps.secrets();
    const id = randomUUID();
    const now = this.deps.now();
    const row = await retryOnUniqueViolation(() =>
      this.deps.db.$transaction(async (tx) => {
        await this.nameFree(tx, body.name);
        const created = await this.deps.repo.create(tx, {
          id,
          name: body.name,
          kind: body.kind,
          url: sealUrl(box, id, url),
          urlHint: urlHint(url),
          secret: secret === undefined ? null : sealSecret(box, id, secret),
          secretHint: secret === undefined ? null : secret.slice(-4),
          status: 'draft',
          rules: JSON.stringify(body.rules ?? DEFAULT_RULES),
          quietSeconds: body.quietSeconds ?? DEFAULT_QUIET_SECONDS,
          createdAt: now,
          updatedAt: now,
        });
        await this.audit(tx, ctx, 'integration.create', created);
        return created;
      }),
    );
    const view = presentIntegration(row);
    return body.kind === 'webhook' ? { ...view, signingSecret: secret } : view;
  }

  /** A new URL makes it a draft again: it must be verified before it is enabled. */
  async update(id: string, body: UpdateIntegrationBody, ctx: CallContext) {
    const url = body.url === undefined ? undefined : this.url(body.url);
    const box = await this.deps.secrets();
    return this.deps.db.$transaction(async (tx) => {
      const row = await this.found(id, tx);
      if (body.name !== undefined) await this.nameFree(tx, body.name, id);
      const updated = await this.deps.repo.update(tx, id, {
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.rules === undefined ? {} : { rules: JSON.stringify(body.rules) }),
        ...(body.quietSeconds === undefined ? {} : { quietSeconds: body.quietSeconds }),
        ...(url === undefined
          ? {}
          : {
              url: sealUrl(box, id, url),
              urlHint: urlHint(url),
              verifiedAt: null,
              ...(row.status === 'enabled' ? { status: 'draft' } : {}),
            }),
        updatedAt: this.deps.now(),
      });
      await this.audit(tx, ctx, 'integration.update', updated, row);
      return presentIntegration(updated);
    });
  }

  async remove(id: string, ctx: CallContext): Promise<void> {
    await this.deps.db.$transaction(async (tx) => {
      const row = await this.found(id, tx);
      await this.deps.repo.delete(tx, id);
      await this.deps.audit.recordChange(tx, ctx, {
        permission: 'integrations:manage',
        action: 'integration.delete',
        target: { type: 'notification_integration', id },
        before: auditView(row),
      });
    });
  }

  /** Enable (409 unless the last verification was answered 2xx) or disable. */
  async setStatus(id: string, action: 'enable' | 'disable', ctx: CallContext) {
    return this.deps.db.$transaction(async (tx) => {
      const row = await this.found(id, tx);
      if (action === 'enable' && row.verifiedAt === null)
        throw conflict(
          'the integration is not verified: POST /api/v1/integrations/:id/verify must be answered 2xx before it is enabled',
          { status: row.status, lastVerification: presentIntegration(row).lastVerification },
        );
      const updated = await this.deps.repo.update(tx, id, {
        status: action === 'enable' ? 'enabled' : 'disabled',
        updatedAt: this.deps.now(),
      });
      await this.audit(
        tx,
        ctx,
        action === 'enable' ? 'integration.enable' : 'integration.disable',
        updated,
        row,
      );
      return presentIntegration(updated);
    });
  }

  /** A webhook gets a new generated secret (in this answer only); Feishu takes the bot's new one. */
  async rotateSecret(id: string, body: RotateSecretBody, ctx: CallContext) {
    const box = await this.deps.secrets();
    const current = await this.found(id);
    const kind = current.kind as IntegrationKind;
    const none = noSigningSecret(kind);
    if (none) throw conflict(`${none} (change the url)`);
    if (kind === 'webhook' && body.secret !== undefined)
      throw unprocessable('a webhook’s signing secret is generated: leave out secret');
    if (kind === 'feishu' && body.secret === undefined)
      throw unprocessable('give the Feishu bot’s new signing secret as secret');
    const secret = kind === 'webhook' ? newSigningSecret() : body.secret!;
    const view = await this.deps.db.$transaction(async (tx) => {
      const row = await this.found(id, tx);
      const updated = await this.deps.repo.update(tx, id, {
        secret: sealSecret(box, id, secret),
        secretHint: secret.slice(-4),
        updatedAt: this.deps.now(),
      });
      await this.audit(tx, ctx, 'integration.rotate_secret', updated, row);
      return presentIntegration(updated);
    });
    return kind === 'webhook' ? { ...view, signingSecret: secret } : view;
  }

  /**
   * Sends a test message now and records the answer (status, time, error) on the integration
   * and in its delivery log; a 2xx verifies it (a failure un-verifies it).
   */
  async verify(id: string, ctx: CallContext) {
    const row = await this.found(id);
    const kind = row.kind as IntegrationKind;
    const { url, secret } = openIntegration(await this.deps.secrets(), row);
    const at = this.deps.now();
    const deliveryId = randomUUID();
    const body = testBody(kind, deliveryId, row, at);
    const request = attemptRequest(
      { kind, id: deliveryId, event: 'test', body, secret },
      Math.floor(at.getTime() / 1000),
      this.deps.version,
    );
    const started = performance.now();
    const result = checkAnswer(kind, await sendAttempt(url, request, this.deps.allowPrivateNetworks));
    const durationMs = Math.round(performance.now() - started);
    const error = attemptError(result);
    const status = result.kind === 'response' ? result.status : null;
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.found(id, tx);
      // Changed meanwhile (URL or secret): the answer was for the old one and verifies nothing.
      const same = current.url === row.url && current.secret === row.secret;
      const updated = await this.deps.repo.update(tx, id, {
        lastVerifyAt: at,
        lastVerifyStatus: status,
        lastVerifyError: error,
        lastVerifyMs: durationMs,
        ...(same ? { verifiedAt: error === null ? at : null } : {}),
      });
      await this.deps.repo.enqueue(tx, [
        {
          id: deliveryId,
          integrationId: id,
          event: 'test',
          body,
          status: error === null ? 'delivered' : 'failed',
          attempts: 1,
          nextAttemptAt: at,
          lastStatus: status,
          lastError: error,
          createdAt: at,
          deliveredAt: error === null ? at : null,
        },
      ]);
      await this.audit(tx, ctx, 'integration.verify', updated, current);
      return presentIntegration(updated);
    });
  }

  async deliveries(id: string, query: { cursor?: string; limit?: number; status?: string }) {
    await this.found(id);
    const limit = clampLimit(query.limit);
    const after: PagePosition | undefined = parsePositionCursor(query.cursor);
    const rows = await this.deps.repo.deliveries(id, query.status, limit, after);
    return pageOf(rows, limit, presentDelivery, positionCursor);
  }
}
