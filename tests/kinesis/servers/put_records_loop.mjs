// The peer of bench/kinesis_publisher.cpp: the AWS SDK for JavaScript's own PutRecords loop,
// writing the records the publisher writes (a JSON-lines file of {"k": partition key, "d": data
// in base64}) to one stream, `concurrency` requests at a time, 500 records or 5 MiB per request,
// failed entries sent again. It keeps no per-key order (the publisher does): an upper bound.
//
//   node put_records_loop.mjs ENDPOINT STREAM FILE CONCURRENCY
//
// Credentials and region from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION). Prints one JSON line: records, bytes, seconds (the loop only, after loading).
import { readFileSync } from 'node:fs';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const [endpoint, stream, file, concurrencyText] = process.argv.slice(2);
const concurrency = Number(concurrencyText || 4);
const records = readFileSync(file, 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => {
    const r = JSON.parse(line);
    return { PartitionKey: r.k, Data: Buffer.from(r.d, 'base64') };
  });
const client = new KinesisClient({
  endpoint,
  region: process.env.AWS_REGION || 'us-east-1',
  maxAttempts: 10,
  // The SDK speaks HTTP/2 to Kinesis by default (for SubscribeToShard); the local server, like
  // PutRecords on AWS, takes HTTP/1.1 with keep-alive.
  requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 16 } }),
});

const kMaxRecords = 500;
const kMaxBytes = 5 * 1024 * 1024;
const batches = [];
for (let i = 0; i < records.length; ) {
  const batch = [];
  let bytes = 0;
  while (i < records.length && batch.length < kMaxRecords) {
    const size = records[i].PartitionKey.length + records[i].Data.length;
    if (batch.length > 0 && bytes + size > kMaxBytes) break;
    batch.push(records[i]);
    bytes += size;
    i += 1;
  }
  batches.push(batch);
}

let next = 0;
let written = 0;
async function worker() {
  while (next < batches.length) {
    let pending = batches[next];
    next += 1;
    while (pending.length > 0) {
      const out = await client.send(new PutRecordsCommand({ StreamName: stream, Records: pending }));
      const failed = [];
      out.Records.forEach((r, i) => {
        if (r.ErrorCode) failed.push(pending[i]);
      });
      written += pending.length - failed.length;
      pending = failed;
    }
  }
}

const start = process.hrtime.bigint();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const bytes = records.reduce((n, r) => n + r.PartitionKey.length + r.Data.length, 0);
if (written !== records.length) {
  console.error(`wrote ${written} of ${records.length}`);
  process.exit(1);
}
console.log(JSON.stringify({ records: written, bytes, seconds }));
