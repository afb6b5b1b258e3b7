// An application on node-postgres (the `pg` package from the npm registry): a pg.Pool whose
// requests run as node-postgres sends them. Parameterised statements go over the extended
// protocol (an unnamed prepared statement each), BEGIN / COMMIT / ROLLBACK as simple queries of
// their own. Reads its plan as JSON from argv[2]; prints the truth it generated as JSON.
//
// plan: {host, port, user, password, database, pool, requests, failing, validate, work,
//        work_params, fail_autocommit_every}
//   validate: send SELECT 1 on each checkout (a pool check)
//   work: the request's statement; work_params: its parameters ("$id" is a fresh id)
//   failing: how many requests fail with a unique violation; every fail_autocommit_every-th of
//     them as a statement of its own (autocommit), the others inside BEGIN ... ROLLBACK as an
//     ORM's transaction
'use strict';
const { Pool } = require('pg');

async function main() {
  const plan = JSON.parse(process.argv[2]);
  const pool = new Pool({
    host: plan.host, port: plan.port, user: plan.user, password: plan.password,
    database: plan.database, max: plan.pool, application_name: 'booking-node',
  });
  const failEvery = plan.failing ? Math.floor(plan.requests / plan.failing) : plan.requests + 1;
  let nextId = plan.first_id || 100000;
  const truth = { requests: 0, failed: 0, failed_autocommit: 0, failed_transaction: 0,
                  work_statements: 0 };
  const jobs = [];
  for (let i = 0; i < plan.requests; i++) {
    const fail = plan.failing > 0 && i % failEvery === 0 && truth.failed < plan.failing;
    if (fail) truth.failed += 1;
    const autocommit = fail && (truth.failed % (plan.fail_autocommit_every || 2) === 0);
    const id = nextId++;
    jobs.push(async () => {
      const client = await pool.connect();
      try {
        if (plan.validate) await client.query('SELECT 1');
        if (fail && autocommit) {
          truth.failed_autocommit += 1;
          await client.query('INSERT INTO bookings VALUES ($1)', [1]).catch(() => {});
          return;
        }
        await client.query('BEGIN');
        try {
          if (fail) {
            truth.failed_transaction += 1;
            await client.query('INSERT INTO bookings VALUES ($1)', [1]);
          } else {
            const params = (plan.work_params || ['$id']).map((p) => (p === '$id' ? id : p));
            await client.query(plan.work || 'INSERT INTO bookings VALUES ($1)', params);
            truth.work_statements += 1;
          }
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
        }
      } finally {
        client.release();
        truth.requests += 1;
      }
    });
  }
  // As many requests in flight as the pool has clients.
  let next = 0;
  async function worker() {
    while (next < jobs.length) await jobs[next++]();
  }
  await Promise.all(Array.from({ length: plan.pool }, worker));
  await pool.end();
  process.stdout.write(JSON.stringify(truth) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
