-- Each key's newest row, and for host observations its newest good row, by
-- id: the writer moves them in the transaction that inserts and prunes, so
-- reading a fleet's newest rows looks each row up by id instead of
-- searching the `_newest` index once per key. `latest_ts` and `ok_ts` let a
-- writer keep the newer of its rows and the pointer's without reading the
-- rows. Only the two fleet-sized tables have them; branch heads and Windows
-- pools are a few rows.
CREATE TABLE host_observations_latest (
    host TEXT PRIMARY KEY,
    latest_id BIGINT NOT NULL,
    latest_ts BIGINT NOT NULL,
    ok_id BIGINT,
    ok_ts BIGINT
);

CREATE TABLE tc_workers_latest (
    host TEXT PRIMARY KEY,
    latest_id BIGINT NOT NULL,
    latest_ts BIGINT NOT NULL
);

INSERT INTO host_observations_latest (host, latest_id, latest_ts, ok_id, ok_ts)
SELECT n.host, n.id, n.ts, g.id, g.ts
FROM (
    SELECT host, id, ts, ROW_NUMBER() OVER (PARTITION BY host ORDER BY ts DESC, id DESC) AS rn
    FROM host_observations
) n
LEFT JOIN (
    SELECT host, id, ts, ROW_NUMBER() OVER (PARTITION BY host ORDER BY ts DESC, id DESC) AS rn
    FROM host_observations WHERE ok
) g ON g.host = n.host AND g.rn = 1
WHERE n.rn = 1;

INSERT INTO tc_workers_latest (host, latest_id, latest_ts)
SELECT host, id, ts
FROM (
    SELECT host, id, ts, ROW_NUMBER() OVER (PARTITION BY host ORDER BY ts DESC, id DESC) AS rn
    FROM tc_workers
) n
WHERE rn = 1;
