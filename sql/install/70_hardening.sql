-- vstream_fdw install script, part 70: hardening (issue 12).  The history of
-- stream errors, and the guard on vstream_fdw.stream.owner.
-- It is also an 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/71_hardening.sql links to it).

-- Recent errors of each stream (the last 100), written by a trigger when the
-- worker records an error in vstream_fdw.stream, so that a user can tell
-- current trouble (stream_status.last_error_current) from past trouble.
CREATE TABLE vstream_fdw.stream_error (
    id              bigserial PRIMARY KEY,
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    error_at        timestamptz NOT NULL,
    message         text NOT NULL,
    stopped_stream  boolean NOT NULL
);
CREATE INDEX stream_error_stream_id_idx ON vstream_fdw.stream_error (stream_id, id);

COMMENT ON TABLE vstream_fdw.stream_error IS
'recent errors of each stream (the last 100 per stream), oldest first by id: transient ones that were retried and the one that stopped the stream';
COMMENT ON COLUMN vstream_fdw.stream_error.id IS 'order of the errors';
COMMENT ON COLUMN vstream_fdw.stream_error.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.stream_error.error_at IS 'when the error happened';
COMMENT ON COLUMN vstream_fdw.stream_error.message IS 'the error message (with its detail)';
COMMENT ON COLUMN vstream_fdw.stream_error.stopped_stream IS 'true if the error needed a person and stopped the stream; false if the worker retried';
COMMENT ON SEQUENCE vstream_fdw.stream_error_id_seq IS 'ids of vstream_fdw.stream_error';
COMMENT ON INDEX vstream_fdw.stream_error_stream_id_idx IS 'the errors of a stream in order';

REVOKE ALL ON vstream_fdw.stream_error FROM PUBLIC;

CREATE FUNCTION vstream_fdw._record_stream_error()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO vstream_fdw.stream_error (stream_id, error_at, message, stopped_stream)
    VALUES (NEW.id, coalesce(NEW.last_error_at, now()), NEW.last_error, NEW.state = 'error');
    DELETE FROM vstream_fdw.stream_error
     WHERE stream_id = NEW.id
       AND id <= (SELECT e.id FROM vstream_fdw.stream_error e
                   WHERE e.stream_id = NEW.id ORDER BY e.id DESC OFFSET 100 LIMIT 1);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION vstream_fdw._record_stream_error() IS
'internal: trigger on vstream_fdw.stream that appends a newly recorded error to vstream_fdw.stream_error and keeps the last 100 per stream';

CREATE TRIGGER record_error
    AFTER INSERT OR UPDATE OF last_error, last_error_at ON vstream_fdw.stream
    FOR EACH ROW
    WHEN (NEW.last_error IS NOT NULL)
    EXECUTE FUNCTION vstream_fdw._record_stream_error();
ALTER TABLE vstream_fdw.stream ENABLE ALWAYS TRIGGER record_error;

COMMENT ON TRIGGER record_error ON vstream_fdw.stream IS
'keeps the history of stream errors in vstream_fdw.stream_error';

-- The launcher starts each stream's worker as stream.owner.  Whoever may
-- write vstream_fdw.stream (a role granted INSERT or UPDATE on it) must not
-- be able to make the worker run as another role: only a superuser, or a
-- member of the owner role, may create or change a stream of that owner.
CREATE FUNCTION vstream_fdw._check_stream_owner()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NOT pg_has_role(current_user, OLD.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to change the vstream_fdw stream of server "%"', OLD.server_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The stream is owned by role "%s"; its worker runs as that role.', OLD.owner),
                  HINT = 'Only a superuser or a member of the stream''s owner role may change it.';
    END IF;
    IF NOT pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to make role "%" the owner of a vstream_fdw stream', NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The worker of a stream runs as its owner.',
                  HINT = 'Only a superuser or a member of that role may do this.';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION vstream_fdw._check_stream_owner() IS
'internal: trigger on vstream_fdw.stream: only a superuser or a member of the owner role may create a stream with that owner or change a stream of that owner';

CREATE TRIGGER check_owner
    BEFORE INSERT OR UPDATE ON vstream_fdw.stream
    FOR EACH ROW
    EXECUTE FUNCTION vstream_fdw._check_stream_owner();
ALTER TABLE vstream_fdw.stream ENABLE ALWAYS TRIGGER check_owner;

COMMENT ON TRIGGER check_owner ON vstream_fdw.stream IS
'only a superuser or a member of the owner role may create or change a stream of that owner (its worker runs as the owner)';

REVOKE ALL ON FUNCTION vstream_fdw._record_stream_error(),
    vstream_fdw._check_stream_owner() FROM PUBLIC;
