/*
 * DebeziumBench -- the baseline of benchmark (d) in tools/bench.pl: what
 * users run today to mirror Vitess into PostgreSQL, Debezium's Vitess
 * connector feeding Debezium's JDBC sink connector, in one JVM through the
 * embedded engine (no Kafka, no Kafka Connect workers, no serialization
 * between the two: this flatters Debezium).
 *
 * The engine runs the Vitess source connector; its ChangeConsumer hands each
 * batch of SourceRecords (Connect format, as Kafka Connect would deliver them
 * to a sink) to a JdbcSinkConnectorTask, which writes them with upserts and
 * commits, then marks the batch processed (the engine's offset store is a
 * file, so a second run resumes where the first stopped, as a restarted
 * Connect worker does).
 *
 * It stops when every key id in [id.base, id.base + rows) has been written
 * (put() of the sink task returned: the rows are committed), closes the
 * engine (offsets flushed) and prints one line:
 *
 *   debezium: rows=N records=M redelivered=R elapsed_s=S rows_per_s=X
 *             vm_hwm_kb=K rss_anon_peak_kb=A
 *
 * elapsed_s runs from the engine's start (JVM start-up excluded) to the
 * last row committed; vm_hwm_kb is the process's peak resident set
 * (VmHWM), rss_anon_peak_kb the peak private memory sampled every 50 ms.
 *
 * Configuration: system properties (see main()).
 */
package vstreamfdw;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.apache.kafka.connect.source.SourceRecord;

import io.debezium.connector.jdbc.JdbcSinkConnectorTask;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.debezium.embedded.Connect;

public final class DebeziumBench
{
	private static String prop(String name, String def)
	{
		String v = System.getProperty(name, def);
		if (v == null)
			throw new IllegalArgumentException("missing -D" + name);
		return v;
	}

	/* A sink task context for a task that runs outside Kafka Connect. */
	private static final class Context implements SinkTaskContext
	{
		private final Map<String, String> config;

		Context(Map<String, String> config)
		{
			this.config = config;
		}

		public Map<String, String> configs() { return config; }
		public void offset(Map<TopicPartition, Long> offsets) { }
		public void offset(TopicPartition tp, long offset) { }
		public void timeout(long timeoutMs) { }
		public Set<TopicPartition> assignment() { return Set.of(); }
		public void pause(TopicPartition... partitions) { }
		public void resume(TopicPartition... partitions) { }
		public void requestCommit() { }
		public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() { return null; }
	}

	private static volatile long anonPeak = 0;

	private static long statusKb(String field)
	{
		try
		{
			for (String line : Files.readAllLines(Paths.get("/proc/self/status")))
				if (line.startsWith(field + ":"))
					return Long.parseLong(line.replaceAll("[^0-9]", ""));
		}
		catch (Exception e)
		{
		}
		return 0;
	}

	public static void main(String[] args) throws Exception
	{
		String host = prop("vtgate.host", "127.0.0.1");
		String port = prop("vtgate.port", "15991");
		String keyspace = prop("keyspace", "customer");
		String table = prop("table", null);
		String jdbcUrl = prop("jdbc.url", null);
		String jdbcUser = prop("jdbc.user", "vstream");
		String target = prop("target", "dbz_" + table);
		String offsets = prop("offsets", null);
		long idBase = Long.parseLong(prop("id.base", "1"));
		int rows = Integer.parseInt(prop("rows", null));
		long timeoutS = Long.parseLong(prop("timeout.s", "900"));

		/* sampler of private memory */
		Thread sampler = new Thread(() -> {
			while (true)
			{
				long a = statusKb("RssAnon");
				if (a > anonPeak)
					anonPeak = a;
				try { Thread.sleep(50); } catch (InterruptedException e) { return; }
			}
		});
		sampler.setDaemon(true);
		sampler.start();

		/* the JDBC sink, configured as its documentation's PostgreSQL example */
		Map<String, String> sinkConfig = new HashMap<>();
		sinkConfig.put("name", "bench-sink");
		sinkConfig.put("connection.url", jdbcUrl);
		sinkConfig.put("connection.username", jdbcUser);
		sinkConfig.put("connection.password", "");
		sinkConfig.put("insert.mode", "upsert");
		sinkConfig.put("delete.enabled", "true");
		sinkConfig.put("primary.key.mode", "record_key");
		sinkConfig.put("schema.evolution", "basic");
		sinkConfig.put("collection.name.format", target);
		/* one sink batch per engine batch (the engine's default 2048) */
		sinkConfig.put("batch.size", "2048");
		JdbcSinkConnectorTask sink = new JdbcSinkConnectorTask();
		sink.initialize(new Context(sinkConfig));
		sink.start(sinkConfig);

		Properties src = new Properties();
		src.setProperty("name", "bench-source");
		src.setProperty("connector.class", "io.debezium.connector.vitess.VitessConnector");
		src.setProperty("topic.prefix", "bench");
		src.setProperty("database.hostname", host);
		src.setProperty("database.port", port);
		src.setProperty("vitess.keyspace", keyspace);
		src.setProperty("vitess.tablet.type", "MASTER");	/* PRIMARY in Vitess terms */
		src.setProperty("table.include.list", keyspace + "." + table);
		src.setProperty("snapshot.mode", "initial");
		src.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
		src.setProperty("offset.storage.file.filename", offsets);
		src.setProperty("offset.flush.interval.ms", "1000");

		BitSet seen = new BitSet(rows);
		AtomicLong records = new AtomicLong();
		AtomicLong redelivered = new AtomicLong();
		CountDownLatch done = new CountDownLatch(1);
		long[] doneAt = new long[1];
		String[] failure = new String[1];

		DebeziumEngine.ChangeConsumer<RecordChangeEvent<SourceRecord>> consumer =
			(List<RecordChangeEvent<SourceRecord>> batch,
			 DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) -> {
				List<SinkRecord> out = new ArrayList<>(batch.size());
				long off = records.get();
				for (RecordChangeEvent<SourceRecord> ev : batch)
				{
					SourceRecord r = ev.record();
					if (r.value() == null)
						continue;	/* tombstone */
					out.add(new SinkRecord(r.topic(), 0, r.keySchema(), r.key(),
										   r.valueSchema(), r.value(), off++));
				}
				if (!out.isEmpty())
					sink.put(out);
				for (SinkRecord r : out)
				{
					if (!(r.key() instanceof Struct))
						continue;
					Object id = ((Struct) r.key()).get("id");
					if (!(id instanceof Number))
						continue;
					long i = ((Number) id).longValue() - idBase;
					if (i < 0 || i >= rows)
						continue;
					if (seen.get((int) i))
						redelivered.incrementAndGet();
					seen.set((int) i);
				}
				records.addAndGet(out.size());
				for (RecordChangeEvent<SourceRecord> ev : batch)
					committer.markProcessed(ev);
				committer.markBatchFinished();
				if (seen.cardinality() >= rows && doneAt[0] == 0)
				{
					doneAt[0] = System.nanoTime();
					done.countDown();
				}
			};

		long t0 = System.nanoTime();
		DebeziumEngine<RecordChangeEvent<SourceRecord>> engine =
			DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
				.using(src)
				.notifying(consumer)
				.using((success, message, error) -> {
					/* the engine stopped: by close() below, or by itself */
					if (doneAt[0] == 0)
						failure[0] = "engine stopped: " + message + (error != null ? ": " + error : "");
					done.countDown();
				})
				.build();
		ExecutorService ex = Executors.newSingleThreadExecutor();
		ex.execute(engine);
		boolean ok = done.await(timeoutS, TimeUnit.SECONDS);
		long hwm = statusKb("VmHWM");
		try
		{
			engine.close();
		}
		catch (IllegalStateException e)
		{
			/* already stopped by itself: failure[0] says why */
		}
		ex.shutdown();
		ex.awaitTermination(60, TimeUnit.SECONDS);
		sink.stop();
		if (!ok || failure[0] != null || doneAt[0] == 0)
		{
			System.out.println("debezium: failed: "
							   + (failure[0] != null ? failure[0] : "timeout, rows seen " + seen.cardinality()));
			System.exit(1);
		}
		double el = (doneAt[0] - t0) / 1e9;
		System.out.printf("debezium: rows=%d records=%d redelivered=%d elapsed_s=%.3f rows_per_s=%.0f vm_hwm_kb=%d rss_anon_peak_kb=%d%n",
						  seen.cardinality(), records.get(), redelivered.get(), el, rows / el,
						  Math.max(hwm, statusKb("VmHWM")), anonPeak);
		System.exit(0);
	}
}
