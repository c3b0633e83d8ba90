// SPDX-License-Identifier: Apache-2.0

// otap_sender is a test peer (not product code): it sends OTLP JSON-lines files
// (one Export request per line; or, for a file name ending in ".pb",
// length-delimited protobuf Export requests: each a varint size, then the message,
// as `otap-parquet convert` writes them) to an OTel Arrow receiver exactly as the
// Collector's otelarrowexporter does, using the same encoder
// (github.com/open-telemetry/otel-arrow/go's arrow_record.Producer, one per stream,
// IPC zstd bodies, dictionary deltas), gRPC compression "zstdarrow5" and HPACK
// per-batch headers with one encoder per stream. It waits for one BatchStatus per
// batch and prints a JSON summary (with the input lines answered OK); exit 1 if
// any batch was not answered OK.
//
// Usage: otap_sender -endpoint 127.0.0.1:4317 [-token T] [-logs F] [-traces F] [-metrics F]
//
//	otap_sender -go-decoded OUT.jsonl [-logs F] [-traces F] [-metrics F]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	arrowRecord "github.com/open-telemetry/otel-arrow/go/pkg/otel/arrow_record"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
)

// zstdCompressor is what otelarrowexporter registers as "zstdarrow5"
// (internal/otelarrow/compression/zstd): plain zstd frames under another name.
type zstdCompressor struct{ name string }

func (c zstdCompressor) Name() string { return c.name }

func (c zstdCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
}

func (c zstdCompressor) Decompress(r io.Reader) (io.Reader, error) {
	d, err := zstd.NewReader(r)
	if err != nil {
		return nil, err
	}
	return d.IOReadCloser(), nil
}

type result struct {
	Signal   string         `json:"signal"`
	Batches  int            `json:"batches"`
	Statuses map[string]int `json:"statuses"`
	Messages []string       `json:"messages,omitempty"`
	End      string         `json:"end"`
	// OKLines are the 0-based input lines (requests of a .pb file) whose batch was
	// answered OK (a test that kills the receiver mid-stream checks that exactly
	// these were kept).
	OKLines []int `json:"ok_lines"`
}

func readLines(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	return lines, sc.Err()
}

// readRequests returns the Export requests of a file: its OTLP JSON lines or, for a
// name ending in ".pb", its length-delimited protobuf messages (proto is true).
func readRequests(path string) (requests [][]byte, proto bool, err error) {
	if !strings.HasSuffix(path, ".pb") {
		requests, err = readLines(path)
		return requests, false, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, true, err
	}
	for len(data) > 0 {
		size, n := binary.Uvarint(data)
		if n <= 0 || size > uint64(len(data)-n) {
			return nil, true, fmt.Errorf("%s: message %d truncated", path, len(requests)+1)
		}
		requests = append(requests, data[n:n+int(size)])
		data = data[n+int(size):]
	}
	return requests, true, nil
}

// encode turns each request (OTLP JSON, or protobuf when proto) into a
// BatchArrowRecords of one producer.
func encode(signal string, lines [][]byte, proto bool, producer *arrowRecord.Producer) ([]*arrowpb.BatchArrowRecords, []int, error) {
	var logsIn plog.Unmarshaler = &plog.JSONUnmarshaler{}
	var tracesIn ptrace.Unmarshaler = &ptrace.JSONUnmarshaler{}
	var metricsIn pmetric.Unmarshaler = &pmetric.JSONUnmarshaler{}
	if proto {
		logsIn, tracesIn, metricsIn = &plog.ProtoUnmarshaler{}, &ptrace.ProtoUnmarshaler{}, &pmetric.ProtoUnmarshaler{}
	}
	var bars []*arrowpb.BatchArrowRecords
	var sizes []int
	for i, line := range lines {
		var bar *arrowpb.BatchArrowRecords
		var err error
		var size int
		switch signal {
		case "logs":
			var l plog.Logs
			if l, err = logsIn.UnmarshalLogs(line); err == nil {
				size = (&plog.ProtoMarshaler{}).LogsSize(l)
				bar, err = producer.BatchArrowRecordsFromLogs(l)
			}
		case "traces":
			var t ptrace.Traces
			if t, err = tracesIn.UnmarshalTraces(line); err == nil {
				size = (&ptrace.ProtoMarshaler{}).TracesSize(t)
				bar, err = producer.BatchArrowRecordsFromTraces(t)
			}
		case "metrics":
			var m pmetric.Metrics
			if m, err = metricsIn.UnmarshalMetrics(line); err == nil {
				size = (&pmetric.ProtoMarshaler{}).MetricsSize(m)
				bar, err = producer.BatchArrowRecordsFromMetrics(m)
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s request %d: %w", signal, i+1, err)
		}
		bars = append(bars, bar)
		sizes = append(sizes, size)
	}
	return bars, sizes, nil
}

func send(ctx context.Context, conn *grpc.ClientConn, signal, path, token string) (result, error) {
	res := result{Signal: signal, Statuses: map[string]int{}}
	lines, proto, err := readRequests(path)
	if err != nil {
		return res, err
	}
	producer := arrowRecord.NewProducer()
	defer producer.Close()
	bars, sizes, err := encode(signal, lines, proto, producer)
	if err != nil {
		return res, err
	}
	res.Batches = len(bars)
	res.OKLines = []int{}
	lineOf := map[int64]int{}
	for i, bar := range bars {
		lineOf[bar.BatchId] = i
	}
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	opt := grpc.UseCompressor("zstdarrow5")
	var stream grpc.ClientStream
	switch signal {
	case "logs":
		stream, err = arrowpb.NewArrowLogsServiceClient(conn).ArrowLogs(ctx, opt)
	case "traces":
		stream, err = arrowpb.NewArrowTracesServiceClient(conn).ArrowTraces(ctx, opt)
	case "metrics":
		stream, err = arrowpb.NewArrowMetricsServiceClient(conn).ArrowMetrics(ctx, opt)
	}
	if err != nil {
		return res, err
	}
	// One HPACK encoder per stream: its dynamic table is shared by all batches.
	var hbuf bytes.Buffer
	henc := hpack.NewEncoder(&hbuf)
	sendErr := make(chan error, 1)
	go func() {
		for i, bar := range bars {
			hbuf.Reset()
			if token != "" {
				_ = henc.WriteField(hpack.HeaderField{Name: "authorization", Value: "Bearer " + token})
			}
			_ = henc.WriteField(hpack.HeaderField{Name: "otlp-pdata-size", Value: strconv.Itoa(sizes[i])})
			bar.Headers = append([]byte(nil), hbuf.Bytes()...)
			if err := stream.SendMsg(bar); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	seen := map[int64]bool{}
	for {
		var st arrowpb.BatchStatus
		err := stream.RecvMsg(&st)
		if err == io.EOF {
			res.End = "OK"
			break
		}
		if err != nil {
			res.End = err.Error()
			break
		}
		if seen[st.BatchId] {
			res.Messages = append(res.Messages, fmt.Sprintf("duplicate status for batch %d", st.BatchId))
		}
		seen[st.BatchId] = true
		res.Statuses[st.StatusCode.String()]++
		if st.StatusCode == arrowpb.StatusCode_OK {
			res.OKLines = append(res.OKLines, lineOf[st.BatchId])
		} else {
			res.Messages = append(res.Messages, fmt.Sprintf("batch %d: %s %s", st.BatchId, st.StatusCode, st.StatusMessage))
		}
	}
	if err := <-sendErr; err != nil && res.End == "OK" {
		res.End = "send: " + err.Error()
	}
	return res, nil
}

// decodeWithGo writes what upstream's own consumer (the otelarrowreceiver's decoder)
// makes of the same batches, as OTLP JSON lines: the oracle for lossy encodings (Go's
// producer drops attributes with an empty key or an empty value, for instance).
func decodeWithGo(signal, path, out string) error {
	lines, proto, err := readRequests(path)
	if err != nil {
		return err
	}
	producer := arrowRecord.NewProducer()
	defer producer.Close()
	bars, _, err := encode(signal, lines, proto, producer)
	if err != nil {
		return err
	}
	consumer := arrowRecord.NewConsumer()
	defer consumer.Close()
	var buf bytes.Buffer
	for _, bar := range bars {
		var chunks [][]byte
		switch signal {
		case "logs":
			all, err := consumer.LogsFrom(bar)
			if err != nil {
				return err
			}
			for _, l := range all {
				b, err := (&plog.JSONMarshaler{}).MarshalLogs(l)
				if err != nil {
					return err
				}
				chunks = append(chunks, b)
			}
		case "traces":
			all, err := consumer.TracesFrom(bar)
			if err != nil {
				return err
			}
			for _, t := range all {
				b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(t)
				if err != nil {
					return err
				}
				chunks = append(chunks, b)
			}
		case "metrics":
			all, err := consumer.MetricsFrom(bar)
			if err != nil {
				return err
			}
			for _, m := range all {
				b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(m)
				if err != nil {
					return err
				}
				chunks = append(chunks, b)
			}
		}
		for _, c := range chunks {
			buf.Write(c)
			buf.WriteByte('\n')
		}
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:4317", "receiver host:port (loopback)")
	token := flag.String("token", "", "bearer token (stream metadata and per-batch header)")
	timeout := flag.Duration("timeout", 120*time.Second, "whole run")
	files := map[string]*string{
		"logs":    flag.String("logs", "", "OTLP JSON lines of logs (*.pb: length-delimited protobuf)"),
		"traces":  flag.String("traces", "", "OTLP JSON lines of traces (*.pb: length-delimited protobuf)"),
		"metrics": flag.String("metrics", "", "OTLP JSON lines of metrics (*.pb: length-delimited protobuf)"),
	}
	goDecoded := flag.String("go-decoded", "", "instead of sending: write what upstream's consumer decodes from the encoded files (OTLP JSON lines) to this file")
	flag.Parse()
	if *goDecoded != "" {
		var all []byte
		for _, signal := range []string{"logs", "traces", "metrics"} {
			if *files[signal] == "" {
				continue
			}
			tmp := *goDecoded + "." + signal
			if err := decodeWithGo(signal, *files[signal], tmp); err != nil {
				fmt.Fprintln(os.Stderr, "otap_sender:", signal+":", err)
				os.Exit(2)
			}
			b, _ := os.ReadFile(tmp)
			_ = os.Remove(tmp)
			all = append(all, b...)
		}
		if err := os.WriteFile(*goDecoded, all, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "otap_sender:", err)
			os.Exit(2)
		}
		return
	}
	encoding.RegisterCompressor(zstdCompressor{name: "zstdarrow5"})
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "otap_sender:", err)
		os.Exit(2)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	failed := false
	var results []result
	for _, signal := range []string{"logs", "traces", "metrics"} {
		if *files[signal] == "" {
			continue
		}
		res, err := send(ctx, conn, signal, *files[signal], *token)
		if err != nil {
			fmt.Fprintln(os.Stderr, "otap_sender:", signal+":", err)
			os.Exit(2)
		}
		if res.End != "OK" || res.Statuses["OK"] != res.Batches {
			failed = true
		}
		results = append(results, res)
	}
	out, _ := json.Marshal(results)
	fmt.Println(string(out))
	if failed {
		os.Exit(1)
	}
}
