/**
 * Where outbound deliveries (attendance webhooks, notification integrations) may connect. A
 * receiver URL is chosen by a user (for attendance, a guild manager who may be a Discord user
 * with no Earshot account), and the delivery log shows each attempt's status and error: without
 * a guard, that is a probe of the controller's own network (cloud metadata at 169.254.169.254,
 * admin ports on localhost, the LAN).
 *
 * So, unless EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS is set (a self-hosted receiver on
 * the LAN, or tests), only public addresses: a literal private IP or `localhost` is
 * refused when the URL is set, and every connection checks the addresses DNS gives at
 * that moment (the check is in the socket's own lookup, so a name cannot resolve to a
 * public address for a check and a private one for the connection).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv6');

/** Loopback, private, link-local, shared, documentation, multicast or reserved (IPv4-mapped too). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family === 6) return PRIVATE.check(address, 'ipv6');
  return true;
}

/** The URL's host as an address when it is one (brackets of IPv6 literals removed). */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) ? bare : undefined;
}

/** Why a URL may not be used, judged from the URL alone (no DNS); undefined when it may. */
export function privateHostProblem(url: URL): string | undefined {
  const literal = literalAddress(url.hostname);
  if (literal !== undefined && isPrivateAddress(literal))
    return 'url points at a private, loopback or reserved address';
  if (url.hostname === 'localhost' || url.hostname.endsWith('.localhost')) return 'url points at localhost';
  return undefined;
}

export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor() {
    super('the host resolves to a private, loopback or reserved address (blocked)');
    this.name = 'PrivateAddressError';
  }
}

/** A socket lookup that refuses private addresses: net.connect calls it for every host name. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    const done = callback as (err: Error | null, address?: string | LookupAddress[], family?: number) => void;
    if (error) return done(error);
    const list = addresses as LookupAddress[];
    if (list.length === 0 || list.some((a) => isPrivateAddress(a.address)))
      return done(new PrivateAddressError());
    if (options.all) return done(null, list);
    return done(null, list[0]!.address, list[0]!.family);
  });
};
