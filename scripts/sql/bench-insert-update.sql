BEGIN;
INSERT INTO eld_events (log_period_id, driver_id, vehicle_id, sequence_id, event_type, event_code, status, recorded_at, latitude, longitude, odometer_miles, annotation)
VALUES (1, 7, 1007, 1, 1, 1, 'driving', now(), 40.1, -100.2, 120000, 'pgbench');
\set id random(1, 1000000)
UPDATE eld_events SET status = 'on_duty_not_driving', annotation = 'pgbench edit' WHERE id = :id;
END;
