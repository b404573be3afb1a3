-- One row the broker rewrites to prove the database takes writes
-- (at start and on every /readyz).
CREATE TABLE readiness (
	id BIGINT PRIMARY KEY CHECK (id = 1),
	at BIGINT NOT NULL
);
