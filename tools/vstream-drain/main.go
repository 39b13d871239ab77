// vstream-drain opens a VStream on a VTGate and drains it as fast as it can,
// counting what arrives.  It is the raw baseline for benchmarks ("what can
// VTGate deliver to a Go client that does nothing with the data") and a
// smoke test / event dumper for the local test cluster (-v prints every
// event in protobuf text form).
//
// Examples:
//
//	vstream-drain -keyspace customer -copy -until-copy-completed
//	vstream-drain -keyspace customer -v -duration 30s          # from "current"
//	vstream-drain -keyspace customer -copy -max-rows 1000000 -tables corder
//	vstream-drain -keyspace customer -tables t -row-times -duration 30s  # arrival time of each row
//
// Exit status: 0 when a stop condition was met (or the stream ended with
// EOF), 1 on a stream error, 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	binlogdatapb "vitess.io/vitess/go/vt/proto/binlogdata"
	topodatapb "vitess.io/vitess/go/vt/proto/topodata"
	vtgatepb "vitess.io/vitess/go/vt/proto/vtgate"
	_ "vitess.io/vitess/go/vt/vtgate/grpcvtgateconn"
	"vitess.io/vitess/go/vt/vtgate/vtgateconn"
)

type stats struct {
	responses    int64
	events       int64
	rowEvents    int64
	rows         int64 // row changes (one ROW event may carry several)
	copyRows     int64 // row changes with timestamp == 0 (copy phase)
	commits      int64
	bytes        int64 // proto size of all events (only with -bytes)
	byType       map[binlogdatapb.VEventType]int64
	shardCopies  int // per-shard COPY_COMPLETED seen
	fullCopy     bool
	firstEventAt time.Duration
	copyDoneAt   time.Duration
}

func main() {
	// Own FlagSet: glog (pulled in by Vitess) already owns -v & co. on flag.CommandLine.
	flag := flag.NewFlagSet("vstream-drain", flag.ExitOnError)
	var (
		server       = flag.String("server", envOr("VTGATE_GRPC_ADDR", "127.0.0.1:15991"), "VTGate gRPC address (env VTGATE_GRPC_ADDR)")
		keyspace     = flag.String("keyspace", "customer", "keyspace to stream (\"\" = all keyspaces, only with gtid current)")
		shards       = flag.String("shards", "", "comma-separated shards; empty = every shard of the keyspace (VTGate expands)")
		copyMode     = flag.Bool("copy", false, "start with a copy phase (gtid \"\") instead of \"current\"")
		gtid         = flag.String("gtid", "", "explicit start gtid for every shard (overrides -copy), e.g. current or MariaDB/0-101-5")
		vgtidJSON    = flag.String("vgtid", "", "start from this VGtid (protojson, as printed on exit with -print-vgtid); overrides -copy/-gtid/-shards")
		tables       = flag.String("tables", "", "comma-separated table names for the filter (default: match /.*)")
		tabletType   = flag.String("tablet-type", "PRIMARY", "PRIMARY|REPLICA|RDONLY")
		maxRows      = flag.Int64("max-rows", 0, "stop after this many row changes (0 = no limit)")
		duration     = flag.Duration("duration", 0, "stop after this long (0 = no limit)")
		idle         = flag.Duration("idle", 0, "stop after this long without any event (0 = no limit)")
		untilCopy    = flag.Bool("until-copy-completed", false, "stop after the final (stream-wide) COPY_COMPLETED")
		heartbeat    = flag.Uint("heartbeat", 0, "VStreamFlags.heartbeat_interval in seconds (0 = off)")
		minSkew      = flag.Bool("minimize-skew", false, "VStreamFlags.minimize_skew")
		chunk        = flag.Int64("transaction-chunk-size", 0, "VStreamFlags.transaction_chunk_size (bytes, v24+)")
		verbose      = flag.Bool("v", false, "print every event (protobuf text, one per line) prefixed with elapsed time and response number")
		countBytes   = flag.Bool("bytes", false, "also sum proto.Size of all events (costs some CPU)")
		report       = flag.Duration("report", 0, "print a progress line to stderr at this interval (0 = off)")
		printVgtid   = flag.Bool("print-vgtid", true, "print the last VGtid (protojson) on exit")
		rowTimes     = flag.Bool("row-times", false, "print \"rowtime <unix time, s> <first column of the row after>\" for each row change as it arrives (latency measurements)")
		connectLimit = flag.Duration("connect-timeout", 10*time.Second, "timeout for dialing VTGate")
	)
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [flags]\n", os.Args[0])
		flag.PrintDefaults()
	}
	_ = flag.Parse(os.Args[1:])
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	tt, ok := topodatapb.TabletType_value[strings.ToUpper(*tabletType)]
	if !ok {
		fmt.Fprintf(os.Stderr, "bad -tablet-type %q\n", *tabletType)
		os.Exit(2)
	}

	vgtid := &binlogdatapb.VGtid{}
	if *vgtidJSON != "" {
		if err := protojson.Unmarshal([]byte(*vgtidJSON), vgtid); err != nil {
			fmt.Fprintf(os.Stderr, "bad -vgtid: %v\n", err)
			os.Exit(2)
		}
	} else {
		start := "current"
		if *copyMode {
			start = ""
		}
		if *gtid != "" {
			start = *gtid
		}
		if *shards == "" {
			vgtid.ShardGtids = []*binlogdatapb.ShardGtid{{Keyspace: *keyspace, Gtid: start}}
		} else {
			for _, s := range strings.Split(*shards, ",") {
				vgtid.ShardGtids = append(vgtid.ShardGtids, &binlogdatapb.ShardGtid{Keyspace: *keyspace, Shard: strings.TrimSpace(s), Gtid: start})
			}
		}
	}

	filter := &binlogdatapb.Filter{}
	if *tables == "" {
		filter.Rules = []*binlogdatapb.Rule{{Match: "/.*"}}
	} else {
		for _, t := range strings.Split(*tables, ",") {
			t = strings.TrimSpace(t)
			filter.Rules = append(filter.Rules, &binlogdatapb.Rule{Match: t, Filter: "select * from " + t})
		}
	}
	flags := &vtgatepb.VStreamFlags{
		HeartbeatInterval:    uint32(*heartbeat),
		MinimizeSkew:         *minSkew,
		TransactionChunkSize: *chunk,
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; cancel() }()

	dctx, dcancel := context.WithTimeout(ctx, *connectLimit)
	conn, err := vtgateconn.Dial(dctx, *server)
	dcancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dial %s: %v\n", *server, err)
		os.Exit(1)
	}
	defer conn.Close()

	fmt.Fprintf(os.Stderr, "vstream-drain: server=%s tablet_type=%s vgtid=%s filter=%s\n",
		*server, topodatapb.TabletType(tt), compact(vgtid), compact(filter))

	t0 := time.Now()
	reader, err := conn.VStream(ctx, topodatapb.TabletType(tt), vgtid, filter, flags)
	if err != nil {
		fmt.Fprintf(os.Stderr, "VStream: %v\n", err)
		os.Exit(1)
	}

	st := &stats{byType: map[binlogdatapb.VEventType]int64{}}
	var lastVgtid *binlogdatapb.VGtid
	stopReason := ""
	exitCode := 0

	// Recv blocks; run it in a goroutine so -duration/-idle/-report work.
	type recvResult struct {
		evs []*binlogdatapb.VEvent
		err error
	}
	ch := make(chan recvResult, 16)
	go func() {
		for {
			evs, err := reader.Recv()
			ch <- recvResult{evs, err}
			if err != nil {
				return
			}
		}
	}()

	var deadline <-chan time.Time
	if *duration > 0 {
		deadline = time.After(*duration)
	}
	var tick <-chan time.Time
	if *report > 0 {
		tk := time.NewTicker(*report)
		defer tk.Stop()
		tick = tk.C
	}
	idleTimer := time.NewTimer(time.Hour)
	if *idle > 0 {
		idleTimer.Reset(*idle)
	} else {
		idleTimer.Stop()
	}
	out := os.Stdout
	tm := prototext.MarshalOptions{}

loop:
	for {
		select {
		case <-deadline:
			stopReason = "duration reached"
			break loop
		case <-idleTimer.C:
			stopReason = "idle timeout"
			break loop
		case <-ctx.Done():
			stopReason = "interrupted"
			break loop
		case <-tick:
			el := time.Since(t0).Seconds()
			fmt.Fprintf(os.Stderr, "progress: %.1fs events=%d rows=%d commits=%d rows/s=%.0f\n",
				el, st.events, st.rows, st.commits, float64(st.rows)/el)
		case r := <-ch:
			if r.err != nil {
				if errors.Is(r.err, io.EOF) {
					stopReason = "stream ended (EOF)"
				} else {
					stopReason = "stream error: " + r.err.Error()
					exitCode = 1
				}
				break loop
			}
			if *idle > 0 {
				idleTimer.Reset(*idle)
			}
			st.responses++
			el := time.Since(t0)
			if st.events == 0 && len(r.evs) > 0 {
				st.firstEventAt = el
			}
			stop := false
			for _, ev := range r.evs {
				st.events++
				st.byType[ev.Type]++
				if *countBytes {
					st.bytes += int64(proto.Size(ev))
				}
				if *verbose {
					fmt.Fprintf(out, "%9.3fs r%-5d %s\n", el.Seconds(), st.responses, tm.Format(ev))
				}
				switch ev.Type {
				case binlogdatapb.VEventType_ROW:
					st.rowEvents++
					if *rowTimes {
						now := float64(time.Now().UnixNano()) / 1e9
						for _, rc := range ev.RowEvent.GetRowChanges() {
							if a := rc.GetAfter(); a != nil && len(a.Lengths) > 0 && a.Lengths[0] >= 0 {
								fmt.Fprintf(out, "rowtime %.6f %s\n", now, a.Values[:a.Lengths[0]])
							}
						}
					}
					n := int64(len(ev.RowEvent.GetRowChanges()))
					st.rows += n
					if ev.Timestamp == 0 {
						st.copyRows += n
					}
				case binlogdatapb.VEventType_COMMIT:
					st.commits++
				case binlogdatapb.VEventType_VGTID:
					lastVgtid = ev.Vgtid
				case binlogdatapb.VEventType_COPY_COMPLETED:
					if ev.Keyspace == "" && ev.Shard == "" {
						st.fullCopy = true
						st.copyDoneAt = el
						if *untilCopy {
							stop = true
							stopReason = "final COPY_COMPLETED"
						}
					} else {
						st.shardCopies++
					}
				}
			}
			if *maxRows > 0 && st.rows >= *maxRows {
				stop = true
				stopReason = fmt.Sprintf("max-rows %d reached", *maxRows)
			}
			if stop {
				break loop
			}
		}
	}
	elapsed := time.Since(t0)
	cancel()

	sec := elapsed.Seconds()
	fmt.Printf("stop: %s\n", stopReason)
	fmt.Printf("elapsed_s=%.3f first_event_s=%.3f responses=%d events=%d row_events=%d rows=%d copy_rows=%d transactions=%d rows_per_s=%.0f events_per_s=%.0f",
		sec, st.firstEventAt.Seconds(), st.responses, st.events, st.rowEvents, st.rows, st.copyRows, st.commits,
		float64(st.rows)/sec, float64(st.events)/sec)
	if *countBytes {
		fmt.Printf(" bytes=%d MB_per_s=%.2f", st.bytes, float64(st.bytes)/sec/1e6)
	}
	fmt.Println()
	if st.shardCopies > 0 || st.fullCopy {
		fmt.Printf("copy: shard_copy_completed=%d final_copy_completed=%v copy_completed_at_s=%.3f\n",
			st.shardCopies, st.fullCopy, st.copyDoneAt.Seconds())
	}
	var types []string
	for t, n := range st.byType {
		types = append(types, fmt.Sprintf("%s=%d", t, n))
	}
	sort.Strings(types)
	fmt.Printf("by_type: %s\n", strings.Join(types, " "))
	if *printVgtid && lastVgtid != nil {
		b, _ := protojson.Marshal(lastVgtid)
		fmt.Printf("last_vgtid: %s\n", b)
	}
	os.Exit(exitCode)
}

func compact(m proto.Message) string {
	return prototext.MarshalOptions{}.Format(m)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
