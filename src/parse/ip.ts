/**
 * IP address test for parsers: the same answer as `isIP(s) !== 0` from
 * node:net, with the common case (a dotted-quad IPv4 address) checked by hand
 * first. node's isIP runs a regex per call; source addresses are tested on
 * every sshd and access line.
 */
import { isIP } from 'node:net';

/** True when s is an IPv4 or IPv6 address as node:net's isIP reads them. */
export function isIpAddress(s: string): boolean {
  return isDottedQuad(s) || isIP(s) !== 0;
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
