-- sensor_events becomes a partitioned table (iot/event-partitions.ts): LIST by type into heartbeats
-- and evidence, each RANGE by occurred_at into Asia/Shanghai days (heartbeats) or months
-- (evidence), with a default partition that takes a row whose partition is not made yet. The
-- exactly-once key becomes (sensor, eventId, occurredAt, type): a partitioned table's keys hold
-- its partition keys, and a device whose counter restarted sends an eventId again at a new time.
-- Written by hand around what drizzle-kit generated (its snapshot describes the parent).
ALTER TABLE "sensor_events" RENAME TO "sensor_events_unpartitioned";--> statement-breakpoint
DROP INDEX "sensor_events_ebike_by_facility";--> statement-breakpoint
CREATE TABLE "sensor_events" (
	"sensor_id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"facility_id" uuid NOT NULL,
	"type" "sensor_event_type" NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"payload" jsonb NOT NULL,
	CONSTRAINT "sensor_events_pkey" PRIMARY KEY("sensor_id","event_id","occurred_at","type")
) PARTITION BY LIST ("type");
--> statement-breakpoint
CREATE TABLE "sensor_events_heartbeat" PARTITION OF "sensor_events" FOR VALUES IN ('heartbeat') PARTITION BY RANGE ("occurred_at");--> statement-breakpoint
CREATE TABLE "sensor_events_evidence" PARTITION OF "sensor_events" FOR VALUES IN ('ebike_detected', 'ebike_cleared', 'fault') PARTITION BY RANGE ("occurred_at");--> statement-breakpoint
CREATE TABLE "sensor_events_heartbeat_default" PARTITION OF "sensor_events_heartbeat" DEFAULT;--> statement-breakpoint
CREATE TABLE "sensor_events_evidence_default" PARTITION OF "sensor_events_evidence" DEFAULT;--> statement-breakpoint
ALTER TABLE "sensor_events" ADD CONSTRAINT "sensor_events_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensor_events" ADD CONSTRAINT "sensor_events_facility_id_facilities_id_fk" FOREIGN KEY ("facility_id") REFERENCES "public"."facilities"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sensor_events_ebike_by_facility" ON "sensor_events" USING btree ("facility_id","occurred_at") WHERE "sensor_events"."type" in ('ebike_detected', 'ebike_cleared');--> statement-breakpoint
-- Makes the partition of `class` ('heartbeat': the day `starts`; 'evidence': its month) unless it
-- exists; returns whether it made it. Rows the class's default partition took for that range
-- (the upkeep had not run) move into it, in the same transaction. The caller's lock_timeout bounds
-- the wait for the locks (the class's tables, while the ingest writes).
CREATE FUNCTION sensor_events_add_partition(class text, starts date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	parent text := 'sensor_events_' || class;
	deflt text := 'sensor_events_' || class || '_default';
	first date;
	next date;
	name text;
	lo timestamptz;
	hi timestamptz;
	has_rows boolean;
BEGIN
	IF class = 'heartbeat' THEN
		first := starts;
		next := starts + 1;
		name := parent || '_p' || to_char(first, 'YYYYMMDD');
	ELSIF class = 'evidence' THEN
		first := date_trunc('month', starts)::date;
		next := (first + interval '1 month')::date;
		name := parent || '_p' || to_char(first, 'YYYYMM');
	ELSE
		RAISE EXCEPTION 'sensor_events_add_partition: no class %', class;
	END IF;
	IF to_regclass(name) IS NOT NULL THEN
		RETURN false;
	END IF;
	lo := first::timestamp AT TIME ZONE 'Asia/Shanghai';
	hi := next::timestamp AT TIME ZONE 'Asia/Shanghai';
	-- The class first, then its partitions (LOCK recurses): the order the ingest takes them in.
	EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent);
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE occurred_at >= $1 AND occurred_at < $2)', deflt)
		INTO has_rows USING lo, hi;
	IF has_rows THEN
		CREATE TEMP TABLE sensor_events_moved (LIKE sensor_events) ON COMMIT DROP;
		EXECUTE format('WITH m AS (DELETE FROM %I WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *)
			INSERT INTO sensor_events_moved SELECT * FROM m', deflt) USING lo, hi;
	END IF;
	EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, parent, lo, hi);
	IF has_rows THEN
		INSERT INTO sensor_events SELECT * FROM sensor_events_moved;
		DROP TABLE sensor_events_moved;
	END IF;
	RETURN true;
END $$;
--> statement-breakpoint
CREATE TABLE "sensor_days" (
	"sensor_id" uuid NOT NULL,
	"day" date NOT NULL,
	"heartbeats" integer NOT NULL,
	"first_at" timestamp with time zone NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	"longest_gap_s" double precision NOT NULL,
	"online_s" double precision NOT NULL,
	"interval_s" integer NOT NULL,
	CONSTRAINT "sensor_days_sensor_id_day_pk" PRIMARY KEY("sensor_id","day")
);
--> statement-breakpoint
ALTER TABLE "sensor_days" ADD CONSTRAINT "sensor_days_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- The days of the heartbeats stored so far, as the ingest would have rolled them up in order.
INSERT INTO "sensor_days" (sensor_id, day, heartbeats, first_at, last_at, longest_gap_s, online_s, interval_s)
SELECT b.sensor_id, b.day, count(*)::int, min(b.occurred_at), max(b.occurred_at), coalesce(max(b.gap), 0),
	coalesce(sum(b.gap) FILTER (WHERE b.gap <= 3 * s.heartbeat_interval_s), 0), s.heartbeat_interval_s
FROM (
	SELECT sensor_id, day, occurred_at,
		extract(epoch FROM occurred_at - lag(occurred_at) OVER (PARTITION BY sensor_id, day ORDER BY occurred_at))::float8 AS gap
	FROM (SELECT sensor_id, occurred_at, (occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day
		FROM "sensor_events_unpartitioned" WHERE type = 'heartbeat') h
) b JOIN "sensors" s ON s.id = b.sensor_id
GROUP BY b.sensor_id, b.day, s.heartbeat_interval_s;
--> statement-breakpoint
-- Partitions for the events stored so far and ahead (a week of days, three months); the upkeep
-- keeps them from then on and drops what is past its retention.
SELECT sensor_events_add_partition('heartbeat', d::date)
FROM generate_series(
	least((SELECT min((occurred_at AT TIME ZONE 'Asia/Shanghai')::date) FROM "sensor_events_unpartitioned" WHERE type = 'heartbeat'),
		(now() AT TIME ZONE 'Asia/Shanghai')::date - 8),
	(now() AT TIME ZONE 'Asia/Shanghai')::date + 7, interval '1 day') d;
--> statement-breakpoint
SELECT sensor_events_add_partition('evidence', d::date)
FROM generate_series(
	date_trunc('month', least((SELECT min(occurred_at AT TIME ZONE 'Asia/Shanghai') FROM "sensor_events_unpartitioned" WHERE type <> 'heartbeat'),
		now() AT TIME ZONE 'Asia/Shanghai' - interval '1 month')),
	date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') + interval '3 months', interval '1 month') d;
--> statement-breakpoint
INSERT INTO "sensor_events" (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload)
SELECT sensor_id, event_id, facility_id, type, occurred_at, received_at, payload FROM "sensor_events_unpartitioned";--> statement-breakpoint
DROP TABLE "sensor_events_unpartitioned";
