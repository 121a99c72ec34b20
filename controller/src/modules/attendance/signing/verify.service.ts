/**
 * Verification of stored attendance records: for guild operators (audited, since it
 * is asked for with a POST) and for anyone (the public verify routes).
 */
import { notFound } from '../../../core/errors.js';
import type { CallContext } from '../../../core/principal.js';
import type { PeriodsRepository } from '../periods/periods.repository.js';
import type { SessionsRepository } from '../tracking/sessions.repository.js';
import type { AttendanceSigningService, Verification } from './signing.service.js';

export class AttendanceVerifyService {
  constructor(
    private readonly sessionsRepo: SessionsRepository,
    private readonly periodsRepo: PeriodsRepository,
    private readonly signing: AttendanceSigningService,
  ) {}

  async session(sessionId: string): Promise<Verification> {
    const row = await this.sessionsRepo.findSession(sessionId);
    if (!row) throw notFound('session');
    return this.signing.verifySession(row);
  }

  async period(guildId: string, periodIndex: number): Promise<Verification> {
    const row = await this.periodsRepo.findPeriod(guildId, periodIndex);
    if (!row) throw notFound('period');
    return this.signing.verifyPeriod(row);
  }

  async guildSession(guildId: string, sessionId: string, ctx: CallContext): Promise<Verification> {
    const row = await this.sessionsRepo.findSession(sessionId);
    if (!row || row.guildId !== guildId) throw notFound('session');
    const result = await this.signing.verifySession(row);
    await this.signing.auditVerification(ctx, guildId, { type: 'session', id: sessionId }, result);
    return result;
  }

  async guildPeriod(guildId: string, periodIndex: number, ctx: CallContext): Promise<Verification> {
    const result = await this.period(guildId, periodIndex);
    await this.signing.auditVerification(ctx, guildId, { type: 'period', id: String(periodIndex) }, result);
    return result;
  }
}
