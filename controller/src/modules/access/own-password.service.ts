/**
 * Any signed-in user changes their own password: the current one is required, the
 * access policy's minimum length applies, and every other session of theirs ends
 * (the one making the change survives). Managing other users' passwords is
 * UserAdminService's job and needs auth:manage.
 */
import type { Config } from '../../config.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { badRequest, forbidden } from '../../core/errors.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import { hashPassword, verifyPassword } from '../../crypto/password.js';
import type { Db } from '../../db/client.js';
import { userOf } from './access-guard.js';
import type { AccessPoliciesService } from './access-policies.service.js';
import type { SessionsRepository } from './auth/sessions.repository.js';
import type { UsersRepository } from './auth/users.repository.js';
import type { UserAdminRepository } from './users.repository.js';

export class OwnPasswordService {
  private readonly db: Db;
  private readonly users: UsersRepository;
  private readonly userAdmin: UserAdminRepository;
  private readonly sessions: SessionsRepository;
  private readonly policies: AccessPoliciesService;
  private readonly audit: AuditWriter;
  private readonly config: Pick<Config, 'scryptLogN'>;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    users: UsersRepository;
    userAdmin: UserAdminRepository;
    sessions: SessionsRepository;
    policies: AccessPoliciesService;
    audit: AuditWriter;
    config: Pick<Config, 'scryptLogN'>;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.users = options.users;
    this.userAdmin = options.userAdmin;
    this.sessions = options.sessions;
    this.policies = options.policies;
    this.audit = options.audit;
    this.config = options.config;
    this.now = options.now ?? (() => new Date());
  }

  async change(input: { currentPassword: string; password: string }, ctx: CallContext): Promise<void> {
    const principal = userOf(ctx);
    const user = await this.users.findById(principal.userId);
    const refuse = async (message: string, reason: string): Promise<never> => {
      throw forbidden(message, {
        action: 'auth.own_password_change',
        target: { type: 'user', id: principal.userId },
        reason,
      });
    };
    if (!user?.passwordHash) {
      return refuse(
        'Your account signs in through single sign-on; it has no password to change.',
        'no password',
      );
    }
    if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
      return refuse('The current password is wrong.', 'wrong current password');
    }
    const { minLength } = (await this.policies.get()).password;
    if ([...input.password].length < minLength)
      throw badRequest(`The password policy needs at least ${minLength} characters.`);
    const passwordHash = await hashPassword(input.password, this.config.scryptLogN);
    await this.db.$transaction(async (tx) => {
      await this.userAdmin.setPasswordHash(tx, principal.userId, passwordHash);
      const sessionsEnded = await this.sessions.revokeAllOfUser(
        tx,
        principal.userId,
        this.now(),
        principal.sessionId,
      );
      await this.audit.record(tx, {
        actor: actorOf(principal),
        action: 'auth.own_password_change',
        target: { type: 'user', id: principal.userId },
        outcome: 'success',
        after: { sessionsEnded },
        context: ctx.request,
      });
    });
  }
}
