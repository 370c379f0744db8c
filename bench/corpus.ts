/**
 * A deterministic mixed corpus (auth, nginx, JSON app logs, ~150 bytes a
 * line), built in memory so benchmarks measure our code, not the disk.
 */
const USERS = ['alice', 'bob', 'carol', 'admin', 'root', 'deploy', 'git', 'oracle'];
const PATHS = ['/index.html', '/api/orders', '/api/login', '/static/app.js', '/account?tab=orders', '/healthz'];

export function corpusLine(i: number): string {
  const u = USERS[i % USERS.length]!;
  const ip = `203.0.${(i >> 8) & 255}.${i & 255}`;
  const port = 1024 + (i % 60000);
  switch (i % 6) {
    case 0:
      return `Nov 22 10:${pad((i >> 6) % 60)}:${pad(i % 60)} web01 sshd[${800 + (i % 5000)}]: Failed password for invalid user ${u} from ${ip} port ${port} ssh2`;
    case 1:
      return `Nov 22 10:${pad((i >> 6) % 60)}:${pad(i % 60)} web01 sshd[${800 + (i % 5000)}]: Accepted publickey for ${u} from ${ip} port ${port} ssh2: ED25519 SHA256:Zq3mQk0J4mXc6v2yL1oAq9xPZbDk7rE5sUuWn8hT2fY`;
    case 2:
      return `${ip} - - [22/Nov/2026:10:${pad((i >> 6) % 60)}:${pad(i % 60)} +0000] "GET ${PATHS[i % PATHS.length]} HTTP/1.1" ${i % 10 === 0 ? 404 : 200} ${512 + (i % 9000)} "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"`;
    case 3:
      return `${ip} - ${u} [22/Nov/2026:10:${pad((i >> 6) % 60)}:${pad(i % 60)} +0100] "POST /api/login HTTP/1.1" 401 53 "https://shop.example.com/" "python-requests/2.32.3"`;
    case 4:
      return `{"@timestamp":"2026-11-22T10:${pad((i >> 6) % 60)}:${pad(i % 60)}.120Z","level":"info","message":"order created","order_id":"A-${i}","user":{"name":"${u}"},"duration_ms":${i % 900}}`;
    default:
      return `Nov 22 10:${pad((i >> 6) % 60)}:${pad(i % 60)} web01 sudo:    ${u} : TTY=pts/0 ; PWD=/home/${u} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx`;
  }
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
