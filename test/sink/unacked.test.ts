/**
 * The pure half of the dead-peer check: finding a socket's tx_queue in the
 * kernel's /proc/<pid>/net/tcp and tcp6 tables. Lines below were captured from
 * a real kernel (x86-64) in a network namespace.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  findTxQueue,
  ipv6Bytes,
  kernelHexAddress,
  rowKey,
  scanTable,
  txQueueOfLine,
} from '../../src/sink/unacked.js';

const TCP4 = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     ',
  '   0: 0100007F:AA9D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 621995 1 0000000041ba9140 100 0 0 10 0                    ',
  '   1: 0100007F:8688 0100007F:AA9D 01 0000000A:00000000 04:0000000B 00000000     0        1 621996 2 000000001d582985 20 0 0 11 -1                    ',
  '   2: 0100007F:AA9D 0100007F:8688 01 00000000:00000003 00:00000000 00000000     0        0 621997 1 00000000279ec67d 20 4 30 10 -1                   ',
  '   3: 0A00020F:D431 C0A80001:1A0A 01 0001F3A2:00000000 01:00000014 00000000     0        0 621998 1 00000000279ec67d 20 4 30 10 -1                   ',
  '',
].join('\n');

const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000000000000000000000000000:A1A9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 622993 1 0000000024d29de1 100 0 0 10 0',
  '   1: 00000000000000000000000001000000:A1A9 00000000000000000000000001000000:E48A 01 00000000:00000000 00:00000000 00000000     0        0 622995 1 000000008ea9204b 20 0 0 10 -1',
  '   2: 0000000000000000FFFF00000100007F:A1A9 0000000000000000FFFF00000100007F:810E 01 00000000:00000000 00:00000000 00000000     0        0 622997 1 00000000fdeca9b9 20 0 0 10 -1',
  '   4: 0000000000000000FFFF00000100007F:810E 0000000000000000FFFF00000100007F:A1A9 01 00000011:00000000 01:00000020 00000000     0        0 622996 2 000000003a139a29 20 0 0 10 -1',
  '   5: 00000000000000000000000001000000:E48A 00000000000000000000000001000000:A1A9 01 00000200:00000000 01:00000020 00000000     0        0 622994 2 0000000057c8840a 20 0 0 10 -1',
  '   6: B80D0120000000000000000001000000:01BB B80D0120000000000000000002000000:C350 01 00000007:00000000 01:00000020 00000000     0        0 622999 2 0000000057c8840a 20 0 0 10 -1',
  '',
].join('\n');

test('IPv4 addresses: little-endian words on x86, network order on big-endian; ports big-endian hex', () => {
  assert.equal(kernelHexAddress(Uint8Array.from([127, 0, 0, 1]), 'LE'), '0100007F');
  assert.equal(kernelHexAddress(Uint8Array.from([127, 0, 0, 1]), 'BE'), '7F000001');
  assert.equal(kernelHexAddress(Uint8Array.from([192, 168, 0, 1]), 'LE'), '0100A8C0');
  const k = rowKey({ localAddress: '127.0.0.1', localPort: 34440, remoteAddress: '127.0.0.1', remotePort: 43677 }, 'LE');
  assert.deepEqual(k && { table: k.table, needle: k.needle.toString('latin1'), text: k.text }, {
    table: 'tcp',
    needle: '0100007F:8688 0100007F:AA9D ',
    text: '0100007F:8688 0100007F:AA9D ',
  });
  const be = rowKey({ localAddress: '10.0.2.15', localPort: 1, remoteAddress: '192.168.0.1', remotePort: 6514 }, 'BE');
  assert.equal(be?.needle.toString('latin1'), '0A00020F:0001 C0A80001:1972 ');
});

test('IPv4: both directions of a loopback connection are told apart', () => {
  const client = rowKey({ localAddress: '127.0.0.1', localPort: 0x8688, remoteAddress: '127.0.0.1', remotePort: 0xaa9d }, 'LE');
  const server = rowKey({ localAddress: '127.0.0.1', localPort: 0xaa9d, remoteAddress: '127.0.0.1', remotePort: 0x8688 }, 'LE');
  assert.ok(client && server);
  assert.equal(findTxQueue(TCP4, client), 10);
  assert.equal(findTxQueue(TCP4, server), 0);
  const remote = rowKey({ localAddress: '15.2.0.10', localPort: 0xd431, remoteAddress: '1.0.168.192', remotePort: 6666 }, 'LE');
  assert.ok(remote);
  assert.equal(findTxQueue(TCP4, remote), 0x1f3a2, 'tx_queue is hex');
});

test('IPv6: four host-order words; v4-mapped sockets are in tcp6', () => {
  assert.equal(kernelHexAddress(ipv6Bytes('::1') as Uint8Array, 'LE'), '00000000000000000000000001000000');
  assert.equal(kernelHexAddress(ipv6Bytes('::1') as Uint8Array, 'BE'), '00000000000000000000000000000001');
  assert.equal(kernelHexAddress(ipv6Bytes('::ffff:127.0.0.1') as Uint8Array, 'LE'), '0000000000000000FFFF00000100007F');
  assert.equal(kernelHexAddress(ipv6Bytes('2001:db8::2') as Uint8Array, 'LE'), 'B80D0120000000000000000002000000');
  assert.equal(kernelHexAddress(ipv6Bytes('fe80::1%eth0') as Uint8Array, 'BE'), 'FE800000000000000000000000000001');
  assert.deepEqual(ipv6Bytes('1:2:3:4:5:6:7:8'), Uint8Array.from([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]));
  assert.equal(ipv6Bytes('not-an-address'), undefined);

  const loop = rowKey({ localAddress: '::1', localPort: 0xe48a, remoteAddress: '::1', remotePort: 0xa1a9 }, 'LE');
  assert.equal(loop?.table, 'tcp6');
  assert.equal(findTxQueue(TCP6, loop as NonNullable<typeof loop>), 0x200);
  const mapped = rowKey(
    { localAddress: '::ffff:127.0.0.1', localPort: 0x810e, remoteAddress: '::ffff:127.0.0.1', remotePort: 0xa1a9 },
    'LE',
  );
  assert.equal(mapped?.table, 'tcp6');
  assert.equal(findTxQueue(TCP6, mapped as NonNullable<typeof mapped>), 0x11);
  const other = rowKey({ localAddress: '2001:db8::1', localPort: 443, remoteAddress: '2001:db8::2', remotePort: 50000 }, 'LE');
  assert.equal(findTxQueue(TCP6, other as NonNullable<typeof other>), 7);
  // An IPv4 address paired with an IPv6 one can only be a v4-mapped AF_INET6 socket.
  const mixed = rowKey({ localAddress: '127.0.0.1', localPort: 0x810e, remoteAddress: '::ffff:127.0.0.1', remotePort: 0xa1a9 }, 'LE');
  assert.equal(mixed?.table, 'tcp6');
  assert.equal(findTxQueue(TCP6, mixed as NonNullable<typeof mixed>), 0x11);
});

test('a socket that is not listed, and keys that cannot be made, give undefined', () => {
  const absent = rowKey({ localAddress: '127.0.0.1', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 2 }, 'LE');
  assert.equal(findTxQueue(TCP4, absent as NonNullable<typeof absent>), undefined);
  // The listener shares the local address but has no remote: not a match.
  const listener = rowKey({ localAddress: '127.0.0.1', localPort: 0xaa9d, remoteAddress: '0.0.0.0', remotePort: 1 }, 'LE');
  assert.equal(findTxQueue(TCP4, listener as NonNullable<typeof listener>), undefined);
  assert.equal(rowKey({ localAddress: 'localhost', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 2 }), undefined);
  assert.equal(rowKey({ localAddress: '127.0.0.1', localPort: 0, remoteAddress: '127.0.0.1', remotePort: 2 }), undefined);
  assert.equal(rowKey({ localAddress: '127.0.0.1', localPort: 70000, remoteAddress: '127.0.0.1', remotePort: 2 }), undefined);
});

test('garbage lines, TIME_WAIT rows and matches in the wrong column are ignored', () => {
  const key = rowKey({ localAddress: '127.0.0.1', localPort: 0x8688, remoteAddress: '127.0.0.1', remotePort: 0xaa9d }, 'LE');
  assert.ok(key);
  const needle = key.needle.toString('latin1');
  const table = [
    'garbage 0100007F:8688 0100007F:AA9D 01 0000000A:00000000',
    '   9: 0100007F:8688 0100007F:AA9D 01 zz:00000000 00:00000000',
    '   7: 0100007F:8688 0100007F:AA9D 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3 0000000000000000',
    '   8: 0100007F:8688 0100007F:AA9D',
    '   2: 0100007F:AA9D 0100007F:8688 01 00000000:00000000 00:00000000 00000000     0        0 621997 1',
    '   1: 0100007F:8688 0100007F:AA9D 01 00000005:00000000 01:00000014 00000000     0        0 621996 2',
    '',
  ].join('\n');
  assert.equal(findTxQueue(table, key), 5);
  assert.equal(txQueueOfLine('', needle), undefined);
  assert.equal(txQueueOfLine('   7: 0100007F:8688 0100007F:AA9D 06 00000000:00000000', needle), undefined, 'TIME_WAIT');
  assert.equal(txQueueOfLine('   1: 0100007F:8688 0100007F:AA9D 04 00000010:00000000', needle), 16, 'FIN_WAIT1 still counts');
  assert.equal(findTxQueue('\u0000\u00ff\n\n\n', key), undefined);
});

test('scanTable streams: only complete lines are judged, the incomplete tail is handed back', () => {
  const key = rowKey({ localAddress: '127.0.0.1', localPort: 0x8688, remoteAddress: '127.0.0.1', remotePort: 0xaa9d }, 'LE');
  assert.ok(key);
  const whole = Buffer.from(TCP4, 'latin1');
  const rowAt = whole.indexOf(key.needle);
  // Cut inside the row: not found yet, the row's start is where to continue.
  const cut = rowAt + 20;
  const first = scanTable(whole, cut, key, false);
  assert.equal(first.found, false);
  const rest = first.found ? -1 : first.rest;
  assert.equal(whole[rest - 1], 0x0a);
  assert.ok(rest <= rowAt);
  const next = Buffer.concat([whole.subarray(rest, cut), whole.subarray(cut)]);
  assert.deepEqual(scanTable(next, next.length, key, false), { found: true, txQueue: 10 });
  // A last line without a newline is judged only at the end of the file.
  const noNl = Buffer.from('   1: 0100007F:8688 0100007F:AA9D 01 00000003:00000000 00', 'latin1');
  assert.deepEqual(scanTable(noNl, noNl.length, key, false), { found: false, rest: 0 });
  assert.deepEqual(scanTable(noNl, noNl.length, key, true), { found: true, txQueue: 3 });
  // Bytes beyond `end` (a reused buffer) are never looked at.
  assert.deepEqual(scanTable(whole, 10, key, true), { found: false, rest: 10 });
});
