/** Signatures of outbound deliveries: Earshot's own (generic webhooks) and Feishu's bot scheme. */
import { createHmac } from 'node:crypto';

/** The `x-earshot-signature` value: `v1=` hex HMAC-SHA256(secret, "<timestamp>.<body>"). */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * A Feishu (Lark) custom bot's `sign`: base64 of HMAC-SHA256 keyed with
 * "<timestamp>\n<secret>" over an empty message (Feishu's documented scheme).
 */
export function feishuSign(secret: string, timestamp: number): string {
  return createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
}
