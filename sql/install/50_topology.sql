-- vstream_fdw install script, part 50: topology changes (resharding).
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).

-- Resharding journals received by each stream: one row per journal and
-- participant (source shard of the cut-over), written in the transaction
-- that carries the journal's checkpoint.  switched_at is set when the last
-- participant's journal arrived and the checkpoint moved to the new shards.
CREATE TABLE vstream_fdw.reshard_journal (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    journal_id      bigint NOT NULL,
    keyspace        text NOT NULL,
    shard           text NOT NULL,
    workflow        text,
    participants    text[] NOT NULL,
    shard_gtids     jsonb NOT NULL,
    local_position  text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    switched_at     timestamptz,
    PRIMARY KEY (stream_id, journal_id, keyspace, shard)
);

COMMENT ON TABLE vstream_fdw.reshard_journal IS
'reshard history of each stream: the resharding journals (Reshard SwitchTraffic / ReverseTraffic cut-overs) received, one row per journal and participant shard';
COMMENT ON COLUMN vstream_fdw.reshard_journal.stream_id IS 'the stream that received the journal';
COMMENT ON COLUMN vstream_fdw.reshard_journal.journal_id IS 'the journal id (the same for every participant of one cut-over)';
COMMENT ON COLUMN vstream_fdw.reshard_journal.keyspace IS 'keyspace of the participant shard whose JOURNAL event this row records';
COMMENT ON COLUMN vstream_fdw.reshard_journal.shard IS 'the participant shard whose JOURNAL event this row records';
COMMENT ON COLUMN vstream_fdw.reshard_journal.workflow IS 'the VReplication workflow that was switched (the journal''s first source workflow)';
COMMENT ON COLUMN vstream_fdw.reshard_journal.participants IS 'keyspace/shard of every source shard of the cut-over; the stream switches once all of them sent the journal';
COMMENT ON COLUMN vstream_fdw.reshard_journal.shard_gtids IS 'the new shards and the positions the stream continues from, as vgtid_to_jsonb renders a VGTID';
COMMENT ON COLUMN vstream_fdw.reshard_journal.local_position IS 'the participant shard''s position at the cut-over';
COMMENT ON COLUMN vstream_fdw.reshard_journal.received_at IS 'when the journal was applied (last time, if VTGate sent it again after a restart)';
COMMENT ON COLUMN vstream_fdw.reshard_journal.switched_at IS 'when the checkpoint replaced the participants by the new shards; NULL while journals of other participants are due';

SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.reshard_journal', '');

REVOKE ALL ON vstream_fdw.reshard_journal FROM PUBLIC;
