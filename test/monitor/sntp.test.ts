/**
 * SNTP client: the timestamp arithmetic with fixed values, and the network
 * path against a tiny fake NTP server on 127.0.0.1. The fake is legitimate
 * here: it produces the malformed and hostile replies a real server never
 * sends (the real chronyd is exercised in test/interop/chrony.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import {
  buildRequest,
  ntpDiffMs,
  ntpToUnixMs,
  offsetAndDelay,
  parseReply,
  SntpError,
  sntpQuery,
  unixMsToNtp,
  type SntpFailure,
} from '../../src/monitor/sntp.js';

// ---------------------------------------------------------------- arithmetic

const ntp = (secs: number, frac: number): bigint => (BigInt(secs) << 32n) | BigInt(frac);

test('Unix ms converts to the NTP seconds and fraction of the digest example', () => {
  // Unix 1716200000.5 → seconds 0xE9F5A0C0, fraction 0x80000000.
  assert.equal(unixMsToNtp(1716200000500), ntp(0xe9f5a0c0, 0x80000000));
  assert.equal(unixMsToNtp(0), ntp(2208988800, 0));
  assert.equal(ntpToUnixMs(ntp(0xe9f5a0c0, 0x80000000)), 1716200000500);
});

test('sub-millisecond parts survive the conversion both ways', () => {
  const ms = 1716200000123.456;
  const back = ntpToUnixMs(unixMsToNtp(ms));
  assert.ok(Math.abs(back - ms) < 0.001, `${back} vs ${ms}`);
  // 0.25 ms is exactly 2^32/4000 fraction units (rounded): 1073741.824
  assert.equal(unixMsToNtp(0.25) & 0xffffffffn, 1073742n);
});

test('a fraction that rounds up to a whole second carries into the seconds', () => {
  const ms = 999.99999999999;
  assert.equal(unixMsToNtp(ms), ntp(2208988801, 0));
});

test('timestamps after the 2036 rollover map to era 1', () => {
  const rollover = 2085978496000; // 2036-02-07T06:28:16Z
  assert.equal(unixMsToNtp(rollover), ntp(0, 0));
  assert.equal(unixMsToNtp(rollover + 1500), ntp(1, 0x80000000));
  // RFC 4330 MSB rule: seconds with MSB clear are 2036–2104.
  assert.equal(ntpToUnixMs(ntp(1, 0x80000000)), rollover + 1500);
  // RFC 5905 rule: the era nearest the pivot.
  assert.equal(ntpToUnixMs(ntp(1, 0), rollover - 10_000), rollover + 1000);
  assert.equal(ntpToUnixMs(ntp(0xffffffff, 0), rollover + 10_000), rollover - 1000);
  // With a 1970 pivot, an MSB-clear value is read in era 0 (the MSB rule alone would say 2036+).
  assert.equal(ntpToUnixMs(ntp(2208988800, 0), 1000), 0);
});

test('differences across the rollover are small and signed', () => {
  const before = unixMsToNtp(2085978495900); // era 0, seconds 0xFFFFFFFF
  const after = unixMsToNtp(2085978496100); // era 1, seconds 0
  assert.equal(before >> 32n, 0xffffffffn);
  assert.equal(after >> 32n, 0n);
  assert.ok(Math.abs(ntpDiffMs(after, before) - 200) < 1e-6);
  assert.ok(Math.abs(ntpDiffMs(before, after) + 200) < 1e-6);
});

test('offset and delay follow RFC 5905 (the digest example, with the sign of T3 − T4 right)', () => {
  // T1 1000.000, T2 1000.150, T3 1000.151, T4 1000.101 (s). The digest reads T3 − T4 as
  // −0.050 and gets θ = 50 ms; it is +0.050, so θ = (150 + 50) / 2 = 100 ms. δ = 101 − 1 = 100 ms.
  const t = (ms: number): bigint => unixMsToNtp(ms);
  const { offsetMs, delayMs } = offsetAndDelay(t(1_000_000), t(1_000_150), t(1_000_151), t(1_000_101));
  assert.ok(Math.abs(offsetMs - 100) < 1e-6, String(offsetMs));
  assert.ok(Math.abs(delayMs - 100) < 1e-6, String(delayMs));
  // Local clock 50 ms slow on a symmetric 100 ms path: T2 = T1 + 50 + 50, T4 = T3 − 50 + 50.
  const sym = offsetAndDelay(t(1_000_000), t(1_000_100), t(1_000_101), t(1_000_101));
  assert.ok(Math.abs(sym.offsetMs - 50) < 1e-6, String(sym.offsetMs));
  assert.ok(Math.abs(sym.delayMs - 100) < 1e-6, String(sym.delayMs));
});

test('offset is exact with full-fraction timestamps and across the era boundary', () => {
  // T1 just before the rollover on the client, T2/T3 just after on a server 5 s ahead.
  const T1 = ntp(0xfffffffe, 0); // client
  const T2 = ntp(3, 0x40000000); // server: 5.25 s later on its clock
  const T3 = ntp(3, 0x80000000); // +0.25 s processing
  const T4 = ntp(0xffffffff, 0); // client: 1 s after T1
  const { offsetMs, delayMs } = offsetAndDelay(T1, T2, T3, T4);
  // θ = ((5250) + (5500 - 1000)) / 2 = 4875; δ = 1000 - 250 = 750
  assert.equal(offsetMs, 4875);
  assert.equal(delayMs, 750);
});

// ---------------------------------------------------------------- packets

function reply(opts: { li?: number; vn?: number; mode?: number; stratum?: number; refId?: Buffer; origin: Buffer; rx?: bigint; tx?: bigint }): Buffer {
  const b = Buffer.alloc(48);
  b[0] = ((opts.li ?? 0) << 6) | ((opts.vn ?? 4) << 3) | (opts.mode ?? 4);
  b[1] = opts.stratum ?? 2;
  (opts.refId ?? Buffer.from([192, 0, 2, 1])).copy(b, 12);
  opts.origin.copy(b, 24);
  b.writeBigUInt64BE(opts.rx ?? unixMsToNtp(Date.now()), 32);
  b.writeBigUInt64BE(opts.tx ?? unixMsToNtp(Date.now()), 40);
  return b;
}

test('the client request is 48 bytes, LI 0 VN 4 mode 3, carrying the transmit bytes', () => {
  const tx = Buffer.from('0102030405060708', 'hex');
  const r = buildRequest(tx);
  assert.equal(r.length, 48);
  assert.equal(r[0], 0x23);
  assert.deepEqual(r.subarray(40), tx);
  assert.ok(r.subarray(1, 40).every((x) => x === 0));
});

test('parseReply names the first failed check', () => {
  const origin = Buffer.from('1122334455667788', 'hex');
  const reason = (b: Buffer): string => {
    try {
      parseReply(b, origin, 's:123');
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof SntpError);
      return e.reason;
    }
  };
  assert.equal(reason(reply({ origin })), 'ok');
  assert.equal(reason(reply({ origin }).subarray(0, 47)), 'short');
  assert.equal(reason(reply({ origin, mode: 3 })), 'bad_mode');
  assert.equal(reason(reply({ origin, vn: 2 })), 'bad_version');
  assert.equal(reason(reply({ origin, vn: 3 })), 'ok');
  assert.equal(reason(reply({ origin: Buffer.alloc(8) })), 'bad_origin');
  assert.equal(reason(reply({ origin, stratum: 0, refId: Buffer.from('DENY') })), 'kiss_of_death');
  assert.equal(reason(reply({ origin, stratum: 16 })), 'stratum');
  assert.equal(reason(reply({ origin, li: 3 })), 'unsynchronized');
  assert.equal(reason(reply({ origin, tx: 0n })), 'bad_timestamp');
  assert.equal(reason(reply({ origin, rx: unixMsToNtp(2000), tx: unixMsToNtp(1000) })), 'bad_timestamp');
  // A spoofed kiss-o'-death (wrong origin) is not believed.
  assert.equal(reason(reply({ origin: Buffer.alloc(8, 1), stratum: 0, refId: Buffer.from('DENY') })), 'bad_origin');
});

test('reference ids read as dotted IPv4 above stratum 1 and as ASCII at stratum 1', () => {
  const origin = Buffer.alloc(8, 7);
  assert.equal(parseReply(reply({ origin, stratum: 8, refId: Buffer.from([127, 127, 1, 1]) }), origin, 's').refId, '127.127.1.1');
  assert.equal(parseReply(reply({ origin, stratum: 1, refId: Buffer.from('GPS\0') }), origin, 's').refId, 'GPS');
  assert.equal(parseReply(reply({ origin, stratum: 1, refId: Buffer.from([0x47, 0x0a, 0x1b, 0x50]) }), origin, 's').refId, '0x470a1b50');
});

// ---------------------------------------------------------------- fake server

type Handler = (req: Buffer, rinfo: dgram.RemoteInfo, sock: dgram.Socket) => Buffer | null;

interface Fake {
  port: number;
  requests: Buffer[];
  close(): Promise<void>;
}

async function fakeServer(t: { after: (fn: () => Promise<void>) => void }, handler: Handler, address = '127.0.0.1'): Promise<Fake> {
  const sock = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const requests: Buffer[] = [];
  sock.on('message', (msg, rinfo) => {
    requests.push(msg);
    const out = handler(msg, rinfo, sock);
    if (out) sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await new Promise<void>((r) => sock.close(() => r()));
  };
  t.after(close);
  return { port: sock.address().port, requests, close };
}

const monotonicWall = (): number => performance.timeOrigin + performance.now();

/** A server whose clock is the test's clock shifted by shiftMs; T2 on arrival, T3 on reply. */
function shiftedServer(shiftMs: number, patch?: (b: Buffer) => void): Handler {
  return (req) => {
    const t2 = unixMsToNtp(monotonicWall() + shiftMs);
    const b = Buffer.alloc(48);
    b[0] = 0x24;
    b[1] = 3;
    Buffer.from([10, 0, 0, 1]).copy(b, 12);
    b.writeBigUInt64BE(unixMsToNtp(monotonicWall() + shiftMs - 60_000), 16);
    req.copy(b, 24, 40, 48);
    b.writeBigUInt64BE(t2, 32);
    b.writeBigUInt64BE(unixMsToNtp(monotonicWall() + shiftMs), 40);
    patch?.(b);
    return b;
  };
}

async function failure(p: Promise<unknown>): Promise<SntpError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SntpError, `not an SntpError: ${String(e)}`);
    return e;
  }
  assert.fail('query unexpectedly succeeded');
}

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

/** Waits until no more UDP handles are open than `n` (handles go away a few turns after close()). */
async function udpHandlesBackTo(n: number): Promise<void> {
  const end = Date.now() + 10_000;
  while (udpHandles() > n) {
    if (Date.now() > end) assert.fail(`UDP sockets left open: ${udpHandles()} > ${n}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a server 5000 ms ahead gives offset +5000 ms within half the measured delay', async (t) => {
  const srv = await fakeServer(t, shiftedServer(5000));
  const r = await sntpQuery('127.0.0.1', srv.port, { now: monotonicWall, timeoutMs: 5000 });
  // Both sides read the same clock, so T1 ≤ T2−5000 ≤ T3−5000 ≤ T4: the on-wire
  // error of θ is bounded by δ/2 — arithmetic, not a timing assumption.
  assert.ok(r.delayMs >= 0, `delay ${r.delayMs}`);
  assert.ok(Math.abs(r.offsetMs - 5000) <= r.delayMs / 2 + 0.001, `offset ${r.offsetMs} delay ${r.delayMs}`);
  assert.equal(r.stratum, 3);
  assert.equal(r.leap, 0);
  assert.equal(r.refId, '10.0.0.1');
  assert.equal(r.server, `127.0.0.1:${srv.port}`);
});

test('with fixed client and server clocks the offset and delay are exact', async (t) => {
  // Client reads T1 = 1_000_000_000 then T4 = +100 ms; the server writes T2/T3 from its own fixed clock.
  const base = 1_700_000_000_000.25;
  const reads = [base, base + 100];
  const srv = await fakeServer(t, (req) => {
    const b = Buffer.alloc(48);
    b[0] = 0x24;
    b[1] = 2;
    req.copy(b, 24, 40, 48);
    b.writeBigUInt64BE(unixMsToNtp(base + 5030), 32); // T2
    b.writeBigUInt64BE(unixMsToNtp(base + 5040), 40); // T3
    return b;
  });
  const r = await sntpQuery('127.0.0.1', srv.port, { now: () => reads.shift()!, timeoutMs: 5000 });
  // θ = (5030 + (5040 − 100)) / 2 = 4985; δ = 100 − 10 = 90
  assert.ok(Math.abs(r.offsetMs - 4985) < 1e-6, String(r.offsetMs));
  assert.ok(Math.abs(r.delayMs - 90) < 1e-6, String(r.delayMs));
  assert.equal(r.receivedAt, base + 100);
});

test('every request carries fresh random transmit bytes and the standard first byte', async (t) => {
  const srv = await fakeServer(t, shiftedServer(0));
  await sntpQuery('127.0.0.1', srv.port, { timeoutMs: 5000 });
  await sntpQuery('127.0.0.1', srv.port, { timeoutMs: 5000 });
  assert.equal(srv.requests.length, 2);
  const [a, b] = srv.requests as [Buffer, Buffer];
  assert.equal(a.length, 48);
  assert.equal(a[0], 0x23);
  assert.ok(!a.subarray(40).equals(Buffer.alloc(8)));
  assert.ok(!a.subarray(40).equals(b.subarray(40)));
});

const malformed: [string, SntpFailure, (b: Buffer) => void, string?][] = [
  ['a reply whose origin timestamp is not what we sent', 'bad_origin', (b) => b.writeBigUInt64BE(0x0102030405060708n, 24)],
  ['a stratum 0 kiss-o\'-death RATE', 'kiss_of_death', (b) => {
    b[1] = 0;
    Buffer.from('RATE').copy(b, 12);
  }, 'RATE'],
  ['a stratum 16 (unsynchronized) server', 'stratum', (b) => (b[1] = 16)],
  ['a reply with LI = 3', 'unsynchronized', (b) => (b[0] = 0xe4)],
  ['a reply in mode 3 (client)', 'bad_mode', (b) => (b[0] = 0x23)],
  ['a reply with version 2', 'bad_version', (b) => (b[0] = 0x14)],
  ['a zero transmit timestamp', 'bad_timestamp', (b) => b.writeBigUInt64BE(0n, 40)],
];

for (const [what, reason, patch, kiss] of malformed) {
  test(`rejects ${what} (${reason})`, async (t) => {
    const srv = await fakeServer(t, shiftedServer(0, patch));
    const e = await failure(sntpQuery('127.0.0.1', srv.port, { timeoutMs: 5000 }));
    assert.equal(e.reason, reason, e.message);
    assert.equal(e.server, `127.0.0.1:${srv.port}`);
    if (kiss) assert.equal(e.kissCode, kiss);
  });
}

test('rejects a short packet', async (t) => {
  const srv = await fakeServer(t, (req, rinfo, sock) => {
    const full = shiftedServer(0)(req, rinfo, sock)!;
    return full.subarray(0, 40);
  });
  const e = await failure(sntpQuery('127.0.0.1', srv.port, { timeoutMs: 5000 }));
  assert.equal(e.reason, 'short');
});

test('times out when the server never answers, and closes its socket', async (t) => {
  const srv = await fakeServer(t, () => null);
  await udpHandlesBackTo(1); // earlier tests' sockets are closed by now; ours is the fake server
  const before = udpHandles();
  const e = await failure(sntpQuery('127.0.0.1', srv.port, { timeoutMs: 150 }));
  assert.equal(e.reason, 'timeout');
  assert.equal(srv.requests.length, 1);
  await udpHandlesBackTo(before);
});

test('ignores a reply sent from another port and takes the real one', async (t) => {
  const other = dgram.createSocket('udp4');
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => other.close(() => r())));
  const good = shiftedServer(2000);
  const srv = await fakeServer(t, (req, rinfo, sock) => {
    // An impostor with a perfect origin echo and a wild offset answers first.
    const bad = shiftedServer(-900_000)(req, rinfo, sock)!;
    other.send(bad, rinfo.port, rinfo.address, () => {
      setTimeout(() => sock.send(good(req, rinfo, sock)!, rinfo.port, rinfo.address), 20);
    });
    return null;
  });
  const r = await sntpQuery('127.0.0.1', srv.port, { now: monotonicWall, timeoutMs: 5000 });
  assert.ok(Math.abs(r.offsetMs - 2000) <= r.delayMs / 2 + 0.001, `offset ${r.offsetMs}`);
});

test('a closed port fails fast as a network error, not a timeout', async (t) => {
  const srv = await fakeServer(t, () => null);
  const port = srv.port;
  await srv.close();
  const e = await failure(sntpQuery('127.0.0.1', port, { timeoutMs: 10_000 }));
  assert.equal(e.reason, 'network', e.message);
});

test('resolves host names on each query', async (t) => {
  const { address } = await lookup('localhost');
  const srv = await fakeServer(t, shiftedServer(0), address);
  const r = await sntpQuery('localhost', srv.port, { timeoutMs: 5000 });
  assert.equal(r.server, `localhost:${srv.port}`);
});

test('an unresolvable host name fails with reason dns', async () => {
  const e = await failure(sntpQuery('no-such-host.invalid', 123, { timeoutMs: 10_000 }));
  assert.equal(e.reason, 'dns', e.message);
});

test('an abort signal ends the query with reason aborted and closes the socket', async (t) => {
  const srv = await fakeServer(t, () => null);
  await udpHandlesBackTo(1); // earlier tests' sockets are closed by now; ours is the fake server
  const before = udpHandles();
  const ac = new AbortController();
  const p = sntpQuery('127.0.0.1', srv.port, { timeoutMs: 10_000, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const e = await failure(p);
  assert.equal(e.reason, 'aborted');
  await udpHandlesBackTo(before);
});

test('an invalid port is a rejected query, not a throw or an unhandled rejection', async () => {
  const e = await failure(sntpQuery('127.0.0.1', 0, { timeoutMs: 5000 }));
  assert.equal(e.reason, 'network', e.message);
  assert.equal(e.server, '127.0.0.1:0');
});
