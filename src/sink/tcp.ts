/**
 * Legacy plain TCP (RFC 6587), octet-counted like RFC 5425. Only reachable
 * with allow_insecure: true (SyslogSink refuses it otherwise), and the sink
 * raises an insecure_transport event at start. syslog-client is not used: it
 * frames with LF only, which lets an embedded newline forge a record.
 */

import net from 'node:net';
import { ConnectFailure, classifyConnectError } from './classify.js';
import type { StreamConnector } from './tls.js';

export function createTcpConnector(connectTimeoutMs: number): StreamConnector {
  return (target) =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      let settled = false;
      const finish = (err?: ConnectFailure): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          resolve({ socket, target });
        }
      };
      const onConnect = (): void => {
        socket.setNoDelay(true);
        finish();
      };
      const onError = (err: Error): void => {
        const { reason, detail } = classifyConnectError(err, false);
        finish(new ConnectFailure(target.label, reason, detail, { cause: err }));
      };
      const timer = setTimeout(
        () => finish(new ConnectFailure(target.label, 'timeout', `no TCP connection within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      timer.unref();
      socket.once('connect', onConnect);
      socket.on('error', onError);
    });
}
