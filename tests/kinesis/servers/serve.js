// Starts kinesalite, s3rver and dynalite in this one process, each bound to 127.0.0.1 on a port
// the kernel picks, with their data under the directory given as the only argument. Once all
// three listen it writes DIR/ports.env ("kinesis=PORT" lines) and keeps serving until killed.
// Used by ../servers.sh; kinesalite and dynalite have no host option, hence this wrapper.
'use strict';

const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node serve.js DATA_DIR');
  process.exit(2);
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function main() {
  for (const sub of ['kinesis', 's3', 'dynamodb']) fs.mkdirSync(path.join(dir, sub), { recursive: true });

  // Streams become ACTIVE at once: tests create streams and use them straight away.
  const kinesis = require('kinesalite')({
    path: path.join(dir, 'kinesis'),
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100000,  // every test makes its own stream
  });
  const dynamodb = require('dynalite')({
    path: path.join(dir, 'dynamodb'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const S3rver = require('s3rver');
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(dir, 's3'),
    vhostBuckets: false,
  });

  const ports = {
    kinesis: await listen(kinesis),
    dynamodb: await listen(dynamodb),
    s3: (await s3.run()).port,
  };
  // A second Kinesis over TLS, for the certificate-verification tests, when servers.sh made a
  // certificate (DIR/tls/cert.pem, self-signed for "localhost").
  const tlsDir = path.join(dir, 'tls');
  if (fs.existsSync(path.join(tlsDir, 'cert.pem'))) {
    const kinesisTls = require('kinesalite')({
      ssl: true,
      key: fs.readFileSync(path.join(tlsDir, 'key.pem')),
      cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')),
      ca: fs.readFileSync(path.join(tlsDir, 'cert.pem')),
      createStreamMs: 0,
      deleteStreamMs: 0,
      updateStreamMs: 0,
    });
    ports.kinesis_tls = await listen(kinesisTls);
  }
  const text = Object.entries(ports).map(([k, v]) => `${k}=${v}\n`).join('');
  // Written then renamed, so the script never reads half a file.
  fs.writeFileSync(path.join(dir, 'ports.env.tmp'), text);
  fs.renameSync(path.join(dir, 'ports.env.tmp'), path.join(dir, 'ports.env'));
}

main().catch((err) => {
  console.error('serve.js:', err);
  process.exit(1);
});
