-- The ELD platform's critical tables (FMCSA 49 CFR 395.8), as named in the backup procedures,
-- with realistic shapes and a few thousand rows of history.
CREATE TYPE duty_status AS ENUM ('off_duty', 'sleeper_berth', 'driving', 'on_duty_not_driving', 'personal_conveyance', 'yard_move');
CREATE TYPE event_origin AS ENUM ('automatic', 'driver', 'other_user', 'unidentified_driver');

CREATE TABLE log_periods (
    id bigserial PRIMARY KEY,
    driver_id integer NOT NULL,
    period_date date NOT NULL,
    cycle text NOT NULL DEFAULT 'USA 70 hour / 8 day',
    certified boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (driver_id, period_date)
);

CREATE TABLE eld_events (
    id bigserial PRIMARY KEY,
    log_period_id bigint NOT NULL,
    driver_id integer NOT NULL,
    vehicle_id integer NOT NULL,
    sequence_id integer NOT NULL,
    event_type smallint NOT NULL,
    event_code smallint NOT NULL,
    status duty_status NOT NULL,
    origin event_origin NOT NULL DEFAULT 'automatic',
    recorded_at timestamptz NOT NULL,
    latitude numeric(8,5),
    longitude numeric(8,5),
    odometer_miles integer,
    engine_hours numeric(8,1),
    annotation text,
    record_status smallint NOT NULL DEFAULT 1,
    CHECK (record_status BETWEEN 1 AND 4)
);
CREATE INDEX eld_events_driver_time ON eld_events (driver_id, recorded_at);

CREATE TABLE certifications (
    id bigserial PRIMARY KEY,
    log_period_id bigint NOT NULL,
    driver_id integer NOT NULL,
    certified_at timestamptz NOT NULL DEFAULT now(),
    statement text NOT NULL DEFAULT 'I hereby certify that my data entries and my record of duty status for this 24-hour period are true and correct.'
);

CREATE TABLE eld_records (
    id bigserial PRIMARY KEY,
    driver_id integer NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    file_name text NOT NULL,
    erod_payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    actor text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id bigint,
    details jsonb,
    at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_entries (
    id bigserial PRIMARY KEY,
    eld_event_id bigint NOT NULL,
    edited_by text NOT NULL,
    reason text NOT NULL,
    before jsonb,
    after jsonb,
    at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO log_periods (driver_id, period_date, certified)
SELECT d, current_date - p, p > 0 FROM generate_series(1, 200) d, generate_series(0, 6) p;

INSERT INTO eld_events (log_period_id, driver_id, vehicle_id, sequence_id, event_type, event_code, status, recorded_at,
                        latitude, longitude, odometer_miles, engine_hours, annotation)
SELECT lp.id, lp.driver_id, 1000 + lp.driver_id % 150, s, 1, 1 + s % 4,
       (ARRAY['off_duty','sleeper_berth','driving','on_duty_not_driving']::duty_status[])[1 + s % 4],
       lp.period_date + make_interval(mins => s * 30), 30 + random() * 15, -120 + random() * 40,
       100000 + s * 12, 4000 + s * 0.5, CASE WHEN s % 17 = 0 THEN 'fuel stop' END
FROM log_periods lp, generate_series(1, 40) s;

INSERT INTO certifications (log_period_id, driver_id) SELECT id, driver_id FROM log_periods WHERE certified;
INSERT INTO eld_records (driver_id, period_start, period_end, file_name, erod_payload)
SELECT d, current_date - 7, current_date - 1, 'driver' || d || '.erod', repeat(md5(d::text), 64) FROM generate_series(1, 200) d;
INSERT INTO audit_log (actor, action, entity, entity_id, details)
SELECT 'system', 'create', 'eld_event', g, jsonb_build_object('source', 'seed') FROM generate_series(1, 2000) g;
