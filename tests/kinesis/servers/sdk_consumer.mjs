// A consumer of the S3 + Kinesis data contract (docs/kinesis-data-contract.md) written with the
// AWS SDK for JavaScript, so that the contract is checked by a client laredo did not write: it
// loads the newest snapshot under a prefix (manifest.json, then each table's JSON-lines objects,
// gzip when the key ends in .gz), reads every shard of the manifest's stream from its
// stream_position on (parents before children; barrier records skipped), applies the change
// records, and prints the final tables as one JSON document:
//
//   {"tables": {"schema.table": [row, ...]}, "records": N, "barriers": N, "snapshot_id": "..."}
//
//   node sdk_consumer.mjs S3_ENDPOINT KINESIS_ENDPOINT BUCKET PREFIX
//
// It reads each shard until a page comes back empty with MillisBehindLatest 0 (or the shard is
// closed and read to its end): run it once the producer has stopped writing. Credentials and
// region from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). Rows keep
// the JSON values of the contract (integers beyond 2^53 as strings of digits, and so on).
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const [s3Endpoint, kinesisEndpoint, bucket, prefixArg] = process.argv.slice(2);
if (!s3Endpoint || !kinesisEndpoint || !bucket) {
  console.error('usage: node sdk_consumer.mjs S3_ENDPOINT KINESIS_ENDPOINT BUCKET [PREFIX]');
  process.exit(2);
}
const prefix = (prefixArg || '').replace(/\/+$/, '');
const under = (key) => (prefix === '' ? key : `${prefix}/${key}`);
const region = process.env.AWS_REGION || 'us-east-1';
// HTTP/1.1 with keep-alive, as the local servers (and PutRecords on AWS) take it.
const requestHandler = new NodeHttpHandler({ httpAgent: { keepAlive: true } });
const s3 = new S3Client({
  endpoint: s3Endpoint,
  region,
  forcePathStyle: true,
  requestHandler,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const kinesis = new KinesisClient({ endpoint: kinesisEndpoint, region, requestHandler });

async function getBytes(key) {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body.transformToByteArray());
}

// Every key under `keyPrefix`, in key order (the contract's "entry ending in /").
async function listKeys(keyPrefix) {
  const keys = [];
  let token;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, ContinuationToken: token }),
    );
    for (const o of page.Contents || []) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

// One table's state: rows by primary key, the contract's column list.
class Table {
  constructor(name, columns) {
    this.name = name;
    this.columns = columns.map((c) => c.name);
    const keyed = columns
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c.primary_key === true);
    // primary_key_ordinal when given, else column order.
    keyed.sort((x, y) => (x.c.primary_key_ordinal ?? x.i + 1) - (y.c.primary_key_ordinal ?? y.i + 1));
    this.key = keyed.map(({ c }) => c.name);
    this.integer = new Set(
      columns
        .filter((c) => /^(smallint|integer|int|bigint|int2|int4|int8|serial|bigserial|smallserial)\b/i.test(c.type))
        .map((c) => c.name),
    );
    this.rows = new Map();
  }

  // Integers arrive as JSON numbers or, beyond 2^53, as strings of digits: one key text for both.
  keyText(column, value) {
    if (value === undefined) throw new Error(`${this.name}: a record lacks key column ${column}`);
    if (this.integer.has(column) && value !== null) return BigInt(value).toString();
    return JSON.stringify(value);
  }

  keyOf(...sources) {
    return this.key
      .map((column) => {
        const source = sources.find((s) => s && Object.hasOwn(s, column));
        return this.keyText(column, source ? source[column] : undefined);
      })
      .join('\u0000');
  }

  // A whole row: a column left out is NULL.
  complete(values) {
    const row = {};
    for (const c of this.columns) row[c] = Object.hasOwn(values, c) ? values[c] : null;
    for (const [c, v] of Object.entries(values)) if (!Object.hasOwn(row, c)) row[c] = v;
    return row;
  }
}

const manifest = JSON.parse((await getBytes(under('manifest.json'))).toString('utf8'));
if (manifest.format !== 'laredo-s3-baseline/1') throw new Error(`format ${manifest.format}`);
const tables = new Map();
for (const [name, entry] of Object.entries(manifest.tables)) {
  const table = new Table(name, entry.columns);
  tables.set(name, table);
  for (const object of entry.objects) {
    // Keys are relative to the prefix; an entry ending in "/" is every object under it.
    const keys = object.endsWith('/') ? await listKeys(under(object)) : [under(object)];
    for (const key of keys) {
      let bytes = await getBytes(key);
      if (key.endsWith('.gz')) bytes = gunzipSync(bytes);  // concatenated members included
      for (const raw of bytes.toString('utf8').split('\n')) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line.trim() === '') continue;
        const row = table.complete(JSON.parse(line));
        table.rows.set(table.keyOf(row), row);
      }
    }
  }
}

function apply(record) {
  const table = tables.get(record.table);
  if (!table) throw new Error(`record of a table the manifest does not list: ${record.table}`);
  switch (record.action) {
    case 'insert':
      table.rows.set(table.keyOf(record.new), table.complete(record.new));
      break;
    case 'update': {
      // The row is found by its old key (old's key columns, else new's); a column left out of
      // `new` keeps its current value; when the key changed, the row moves.
      const oldKey = table.keyOf(record.old, record.new);
      const current = table.rows.get(oldKey);
      if (!current) console.error(`${table.name}: update of a missing row ${oldKey}`);
      const row = { ...(current || table.complete({})), ...record.new };
      table.rows.delete(oldKey);
      table.rows.set(table.keyOf(row), row);
      break;
    }
    case 'delete':
      table.rows.delete(table.keyOf(record.old));
      break;
    case 'truncate':
      table.rows.clear();
      break;
    default:
      throw new Error(`unknown action ${record.action}`);
  }
}

// Every shard, parents before children: a shard the manifest lists starts after its position,
// one it does not list starts at TRIM_HORIZON.
const shards = [];
let nextToken;
do {
  const page = await kinesis.send(
    new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: manifest.stream }),
  );
  shards.push(...page.Shards);
  nextToken = page.NextToken;
} while (nextToken);
const positions = manifest.stream_position || {};
const done = new Set();
const ids = new Set(shards.map((s) => s.ShardId));
let records = 0;
let barriers = 0;
while (done.size < shards.length) {
  const ready = shards.filter(
    (s) =>
      !done.has(s.ShardId) &&
      [s.ParentShardId, s.AdjacentParentShardId].every((p) => !p || !ids.has(p) || done.has(p)),
  );
  if (ready.length === 0) throw new Error('shard parents form a cycle');
  for (const shard of ready) {
    done.add(shard.ShardId);
    const position = positions[shard.ShardId];
    const end = shard.SequenceNumberRange.EndingSequenceNumber;
    // A closed shard listed at or past its end is wholly in the snapshot.
    if (position !== undefined && end !== undefined && BigInt(position) >= BigInt(end)) continue;
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: manifest.stream,
          ShardId: shard.ShardId,
          ...(position === undefined
            ? { ShardIteratorType: 'TRIM_HORIZON' }
            : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: position }),
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
      for (const r of page.Records) {
        const record = JSON.parse(Buffer.from(r.Data).toString('utf8'));
        // A barrier marks a snapshot's moment in the shard; it carries no change.
        if (record.action === 'barrier') {
          ++barriers;
          continue;
        }
        apply(record);
        ++records;
      }
      iterator = page.NextShardIterator;
      if (page.Records.length === 0 && page.MillisBehindLatest === 0) break;
    }
  }
}

const out = { snapshot_id: manifest.snapshot_id, records, barriers, tables: {} };
for (const [name, table] of tables) out.tables[name] = [...table.rows.values()];
process.stdout.write(`${JSON.stringify(out)}\n`);
