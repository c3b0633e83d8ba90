#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""zstd level vs compression CPU and bytes of Arrow IPC bodies, offline (issue #16):
one replay batch (16,384 logs and their attributes, from the dataset of
bench/replay_baselines.py) written as IPC by pyarrow, as exporter:otap sends its
tables (attribute `key` as a dictionary, all-null columns left out). Process CPU,
minimum of --reps repetitions, so a busy machine changes little. With --buffers, the
level-1 cost and ratio of each body buffer, costliest first.

Usage: .venv/bin/python bench/ipc_zstd_levels.py [--levels 1,-1,-3,-5,3,lz4] [--buffers]
"""
import argparse
import pathlib
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import replay_baselines as rb  # noqa: E402

LOGS = 16384


def table(lake, name, rows):
    first = sorted(lake.glob(f"{name}/*/*.parquet"))[0]
    return pq.ParquetFile(first).read_row_groups([0]).slice(0, rows)


def as_sent(t):
    """The columns exporter:otap sends, in buffers of exactly the batch's rows."""
    cols, names = [], []
    for name, col in zip(t.column_names, t.columns):
        if name.startswith("_") or col.null_count == len(col):
            continue
        cols.append(pc.dictionary_encode(col) if name == "key" else col)
        names.append(name)
    batch = pa.Table.from_arrays(cols, names=names).combine_chunks().to_batches()[0]
    sink = pa.BufferOutputStream()  # an IPC round trip drops the slices' offsets
    with ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return ipc.open_stream(sink.getvalue()).read_next_batch()


def codec(level):
    return pa.Codec("lz4") if level == "lz4" else pa.Codec("zstd", compression_level=int(level))


def best(fn, reps):
    times = []
    for _ in range(reps):
        start = time.process_time()
        out = fn()
        times.append(time.process_time() - start)
    return min(times), out


def write(batches, options):
    size = 0
    for b in batches:
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, b.schema, options=options) as w:
            w.write_batch(b)
        size += len(sink.getvalue())
    return size


def buffers(name, arr):
    if pa.types.is_struct(arr.type):
        out = [(f"{name}.validity", arr.buffers()[0])] if arr.buffers()[0] else []
        for i in range(arr.type.num_fields):
            out += buffers(f"{name}.{arr.type.field(i).name}", arr.field(i))
        return out
    out = [(f"{name}[{i}]", b) for i, b in enumerate(arr.buffers()[:3]) if b and b.size]
    if isinstance(arr.type, pa.DictionaryType):
        out += buffers(f"{name}.dictionary", arr.dictionary)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=1_000_000, help="dataset size")
    parser.add_argument("--levels", default="1,-1,-3,-5,-10,3,lz4")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--buffers", action="store_true")
    parser.add_argument("--cache", type=pathlib.Path, default=rb.ROOT / "build" / "bench-data")
    args = parser.parse_args()
    lake = rb.dataset(args.cache, args.logs)
    batches = [as_sent(table(lake, "logs", LOGS)), as_sent(table(lake, "log_attrs", LOGS * 10))]
    base, raw = best(lambda: write(batches, ipc.IpcWriteOptions(use_threads=False)), args.reps)
    per_million = 1e6 / LOGS
    print(f"{LOGS:,} logs: {raw / LOGS:.0f} B per log uncompressed")
    print(f"{'level':>6} {'B/log':>7} {'CPU-s per 1M logs':>18}")
    for level in args.levels.split(","):
        options = ipc.IpcWriteOptions(use_threads=False, compression=codec(level))
        t, size = best(lambda: write(batches, options), args.reps)
        print(f"{level:>6} {size / LOGS:7.1f} {(t - base) * per_million:18.2f}")
    if args.buffers:
        c = codec(1)
        rows = []
        for b in batches:
            for name, col in zip(b.schema.names, b.columns):
                for label, buf in buffers(name, col):
                    t, out = best(lambda buf=buf: c.compress(buf), args.reps)
                    rows.append((t, label, buf.size, buf.size / out.size))
        total = sum(r[0] for r in rows)
        print(f"\nzstd level 1 per buffer ({total * 1e3:.2f} ms in all):")
        for t, label, size, ratio in sorted(rows, reverse=True):
            print(f"{label:<40} {size:>9} B {t * 1e3:6.2f} ms {100 * t / total:5.1f}% "
                  f"ratio {ratio:8.2f}")


if __name__ == "__main__":
    main()
