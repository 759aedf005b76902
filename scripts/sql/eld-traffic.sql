-- pgbench script: what the ELD platform writes all day (new events, edits with their audit trail).
\set driver random(1, 200)
\set ev random(1, 50000)
BEGIN;
INSERT INTO eld_events (log_period_id, driver_id, vehicle_id, sequence_id, event_type, event_code, status, recorded_at, latitude, longitude, odometer_miles)
  VALUES (:driver, :driver, 1000 + :driver % 150, 1000 + :ev, 1, 1, 'driving', now(), 40.1, -100.2, 120000);
UPDATE eld_events SET annotation = 'edited by carrier', origin = 'other_user' WHERE id = :ev;
INSERT INTO audit_entries (eld_event_id, edited_by, reason, before, after) VALUES (:ev, 'carrier-admin', 'missing annotation', '{}', '{"annotation":"edited by carrier"}');
INSERT INTO audit_log (actor, action, entity, entity_id) VALUES ('carrier-admin', 'edit', 'eld_event', :ev);
END;
