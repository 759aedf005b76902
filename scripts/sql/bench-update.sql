\set id random(1, 1000000)
UPDATE eld_events SET status = 'on_duty_not_driving', annotation = 'pgbench edit' WHERE id = :id;
