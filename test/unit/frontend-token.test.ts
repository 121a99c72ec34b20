import { CompactSign, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../controller/src/core/errors.js';
import {
  FrontendTokenVerifier,
  frontendTokenGate,
  looksLikeJwt,
  ManageServerCache,
} from '../../controller/src/http/frontend-token.js';

const SECRET = 'a-front-end-secret-of-at-least-32-bytes!';
const USER = '500000000000000101';
const GUILD = '500000000000000001';
const NOW = new Date('2026-05-01T12:00:00Z');
const nowSeconds = NOW.getTime() / 1000;
const clock = () => NOW;

type Claims = Record<string, unknown>;

function sign(claims: Claims, { alg = 'HS256', secret = SECRET } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

const goodClaims = (extra: Claims = {}): Claims => ({
  user_id: USER,
  guild_id: GUILD,
  exp: nowSeconds + 60,
  ...extra,
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const verifier = new FrontendTokenVerifier(SECRET, clock);
const refusal = async (token: string) => {
  const result = await verifier.verify(token);
  if (result.ok) throw new Error('expected a refusal');
  return result.reason;
};

describe('front-end token verifier', () => {
  it('accepts a 60-second HS256 token and returns the user and guild', async () => {
    const result = await verifier.verify(await sign(goodClaims({ iat: nowSeconds })));
    expect(result).toEqual({
      ok: true,
      userId: USER,
      guildId: GUILD,
      expiresAt: new Date((nowSeconds + 60) * 1000),
    });
  });

  it('tolerates a few seconds of clock skew on exp and iat', async () => {
    expect((await verifier.verify(await sign(goodClaims({ exp: nowSeconds - 3 })))).ok).toBe(true);
    expect((await verifier.verify(await sign(goodClaims({ exp: nowSeconds + 64 })))).ok).toBe(true);
    expect((await verifier.verify(await sign(goodClaims({ iat: nowSeconds + 4 })))).ok).toBe(true);
  });

  it('refuses an expired token', async () => {
    expect(await refusal(await sign(goodClaims({ exp: nowSeconds - 10 })))).toBe('expired');
    // The same token, valid when minted, is refused once the injected clock passes exp.
    const token = await sign(goodClaims());
    const later = new FrontendTokenVerifier(SECRET, () => new Date(NOW.getTime() + 70_000));
    expect(await later.verify(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a token whose exp is more than 60 s (+ skew) ahead', async () => {
    expect(await refusal(await sign(goodClaims({ exp: nowSeconds + 66 })))).toMatch(/^exp: more than 60 s/);
    expect(await refusal(await sign(goodClaims({ exp: nowSeconds + 86_400 })))).toMatch(/^exp:/);
  });

  it('refuses an iat in the future', async () => {
    expect(await refusal(await sign(goodClaims({ iat: nowSeconds + 30 })))).toBe('iat: in the future');
  });

  it('refuses a token signed with another secret', async () => {
    const token = await sign(goodClaims(), { secret: 'another-secret-that-is-32-bytes-long!!' });
    expect(await refusal(token)).toBe('bad signature');
  });

  it('refuses alg none, RS256 and HS512', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(goodClaims())}.`;
    expect(looksLikeJwt(none)).toBe(true);
    expect(await refusal(none)).toBe('algorithm not allowed (HS256 only)');

    const { privateKey } = await generateKeyPair('RS256');
    const rs256 = await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    expect(await refusal(rs256)).toBe('algorithm not allowed (HS256 only)');

    // HS512 with the right secret: still refused, the algorithm is pinned.
    expect(await refusal(await sign(goodClaims(), { alg: 'HS512' }))).toBe(
      'algorithm not allowed (HS256 only)',
    );
  });

  it('requires exp', async () => {
    const { exp: _exp, ...noExp } = goodClaims();
    expect(await refusal(await sign(noExp))).toBe('exp: missing');
    expect(await refusal(await sign(goodClaims({ exp: String(nowSeconds + 60) })))).toBe('exp: invalid');
  });

  it('requires user_id and guild_id as Discord ids in strings', async () => {
    const { user_id: _u, ...noUser } = goodClaims();
    const { guild_id: _g, ...noGuild } = goodClaims();
    expect(await refusal(await sign(noUser))).toMatch(/^user_id: must be a Discord id/);
    expect(await refusal(await sign(noGuild))).toMatch(/^guild_id: must be a Discord id/);
    for (const bad of [Number(USER), '12345', '1234567890123456789012', `${USER}x`, ' 500000000000000101']) {
      expect(await refusal(await sign(goodClaims({ user_id: bad })))).toMatch(/^user_id:/);
      expect(await refusal(await sign(goodClaims({ guild_id: bad })))).toMatch(/^guild_id:/);
    }
  });

  it('refuses a tampered payload and malformed tokens', async () => {
    const [header, , signature] = (await sign(goodClaims())).split('.');
    const tampered = `${header}.${b64(goodClaims({ guild_id: '500000000000000002' }))}.${signature}`;
    expect(await refusal(tampered)).toBe('bad signature');
    expect(await refusal('a.b.c')).toBe('malformed');
    const notJson = await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    expect(await refusal(notJson)).toBe('malformed');
  });

  it('tells JWT-shaped bearers from user secrets and node credentials', () => {
    expect(looksLikeJwt('eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln')).toBe(true);
    expect(looksLikeJwt('ess_abcDEF123-_')).toBe(false);
    expect(looksLikeJwt('node-1.secret')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a..c')).toBe(false);
  });
});

describe('Manage Server cache', () => {
  function counted(answer: (guildId: string, userId: string) => boolean) {
    const calls: string[] = [];
    const check = async (guildId: string, userId: string) => {
      calls.push(`${guildId}:${userId}`);
      return answer(guildId, userId);
    };
    return { calls, check };
  }

  it('keeps a yes for the positive TTL and a no for the shorter negative TTL', async () => {
    let nowMs = NOW.getTime();
    const { calls, check } = counted((_g, user) => user === 'mod');
    const cache = new ManageServerCache(check, () => new Date(nowMs), {
      positiveTtlMs: 60_000,
      negativeTtlMs: 10_000,
      maxEntries: 100,
    });
    expect(await cache.canManage('g', 'mod')).toBe(true);
    expect(await cache.canManage('g', 'member')).toBe(false);
    nowMs += 9_000;
    expect(await cache.canManage('g', 'mod')).toBe(true);
    expect(await cache.canManage('g', 'member')).toBe(false);
    expect(calls).toEqual(['g:mod', 'g:member']);
    nowMs += 2_000; // 11 s: the no has expired, the yes has not
    await cache.canManage('g', 'mod');
    await cache.canManage('g', 'member');
    expect(calls).toEqual(['g:mod', 'g:member', 'g:member']);
    nowMs += 50_000; // 61 s
    await cache.canManage('g', 'mod');
    expect(calls.at(-1)).toBe('g:mod');
    expect(calls).toHaveLength(4);
  });

  it('shares one lookup between concurrent requests and does not cache failures', async () => {
    let fail = true;
    const calls: string[] = [];
    const cache = new ManageServerCache(async (guildId) => {
      calls.push(guildId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) throw new Error('discord down');
      return true;
    }, clock);
    const both = await Promise.allSettled([cache.canManage('g', 'u'), cache.canManage('g', 'u')]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toHaveLength(1);
    fail = false;
    expect(await cache.canManage('g', 'u')).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it('stays bounded, dropping the oldest pairs', async () => {
    const { calls, check } = counted(() => true);
    const cache = new ManageServerCache(check, clock, {
      positiveTtlMs: 60_000,
      negativeTtlMs: 10_000,
      maxEntries: 3,
    });
    for (const user of ['a', 'b', 'c', 'd']) await cache.canManage('g', user);
    expect(cache.size).toBe(3);
    await cache.canManage('g', 'd');
    await cache.canManage('g', 'a'); // dropped: looked up again
    expect(calls).toEqual(['g:a', 'g:b', 'g:c', 'g:d', 'g:a']);
  });
});

describe('front-end token gate', () => {
  const log = { warn: () => undefined };

  it('passes the bot-unavailable 503 through and turns other Discord failures into a 503', async () => {
    const unavailable = new AppError(503, 'discord_unavailable', 'bot not connected');
    const down = frontendTokenGate({
      secret: SECRET,
      now: clock,
      log,
      canManageGuild: async () => {
        throw unavailable;
      },
    });
    await expect(down.canManageGuild(GUILD, USER)).rejects.toBe(unavailable);

    const broken = frontendTokenGate({
      secret: SECRET,
      now: clock,
      log,
      canManageGuild: async () => {
        throw new Error('socket hang up');
      },
    });
    await expect(broken.canManageGuild(GUILD, USER)).rejects.toMatchObject({
      statusCode: 503,
      code: 'discord_unavailable',
    });
  });
});
