/**
 * IP address test for parsers: the same answer as `isIP(s) !== 0` from
 * node:net, with the common case (a dotted-quad IPv4 address) checked by hand
 * first. node's isIP runs a regex per call; source addresses are tested on
 * every sshd and access line.
 */
import { isIP } from 'node:net';

/**
 * True when s is an IPv4 or IPv6 address an ECS ip field can hold: what
 * node:net's isIP reads, except an IPv6 zone ID ("fe80::1%eth0"), which isIP
 * accepts and the schema's ipv6 format does not (the whole event would fail
 * validation and ship as a stand-in without its fields).
 */
export function isIpAddress(s: string): boolean {
  return isDottedQuad(s) || (isIP(s) !== 0 && !s.includes('%'));
}

/**
 * The ECS ip value of a peer address a log line names: the address itself, or
 * without its zone ID (sshd writes link-local peers as "fe80::1%eth0"; the
 * zone stays in source.address); undefined when it is no IP address.
 */
export function ipOfAddress(s: string): string | undefined {
  if (isIpAddress(s)) return s;
  const zone = s.indexOf('%');
  if (zone <= 0 || isIP(s) !== 6) return undefined;
  const bare = s.slice(0, zone);
  return isIpAddress(bare) ? bare : undefined;
}

/**
 * Four decimal octets 0-255 separated by dots, no leading zeros ("0" itself
 * is fine): exactly the addresses node's IPv4 pattern accepts. Anything else
 * (IPv6, hostnames, zero-padded octets) is left to isIP.
 */
function isDottedQuad(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let i = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (s.charCodeAt(i) !== 46) return false;
      i++;
    }
    const start = i;
    let v = 0;
    while (i < n && i - start < 3) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const len = i - start;
    if (len === 0 || v > 255 || (len > 1 && s.charCodeAt(start) === 48)) return false;
  }
  return i === n;
}
