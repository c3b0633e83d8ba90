// SPDX-License-Identifier: Apache-2.0
//! `arrow_rs_reader [--batch-size N] DATASET`: reads every Parquet file of a dataset
//! with arrow-rs, the Parquet reader of upstream's Rust engine
//! (ParquetRecordBatchReaderBuilder, the stored `ARROW:schema` honoured, page indexes
//! loaded), and prints JSON: {table (top-level directory): {file (path under the
//! table): signature}}. A signature holds the file's row groups and rows and, per
//! column (dot path, `[]` for list items), the Arrow type arrow-rs gave it, its nulls,
//! its non-null values and two order-independent sums (mod 2^64) over the values'
//! keys: `sum` of the keys and `hash`, the sum of mix(key). A key is an integer's
//! value (two's complement), a bool's 0/1, a float's f64 bits, FNV-1a of a string's or
//! binary's bytes, a list's length, 0 for a struct; a dictionary counts its values.
//! tests/test_arrow_rs_reader.py computes the same from pyarrow. A file arrow-rs fails
//! on (error or panic) gets {"error": ...} naming the leaf columns that fail alone, the
//! others are still read, and the exit status is 1.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::PageIndexPolicy;
use serde_json::{json, Map, Value};

type Error = Box<dyn std::error::Error>;
/// A node's keys (None: null) and its children (path, array).
type Parts = (Vec<Option<u64>>, Vec<(String, ArrayRef)>);

/// splitmix64's finalizer: sums of mixed keys tell multisets apart.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// The keys of a leaf column's values; a type without one is an error, never skipped.
fn leaf_keys(a: &dyn Array) -> Result<Vec<Option<u64>>, Error> {
    macro_rules! keys {
        ($array:expr, $key:expr) => {
            $array.iter().map(|v| v.map($key)).collect()
        };
    }
    Ok(match a.data_type() {
        DataType::Boolean => keys!(a.as_boolean(), u64::from),
        DataType::Int8 => keys!(a.as_primitive::<Int8Type>(), |v| v as u64),
        DataType::Int16 => keys!(a.as_primitive::<Int16Type>(), |v| v as u64),
        DataType::Int32 => keys!(a.as_primitive::<Int32Type>(), |v| v as u64),
        DataType::Int64 => keys!(a.as_primitive::<Int64Type>(), |v| v as u64),
        DataType::UInt8 => keys!(a.as_primitive::<UInt8Type>(), u64::from),
        DataType::UInt16 => keys!(a.as_primitive::<UInt16Type>(), u64::from),
        DataType::UInt32 => keys!(a.as_primitive::<UInt32Type>(), u64::from),
        DataType::UInt64 => keys!(a.as_primitive::<UInt64Type>(), |v| v),
        DataType::Float32 => keys!(a.as_primitive::<Float32Type>(), |v| (v as f64).to_bits()),
        DataType::Float64 => keys!(a.as_primitive::<Float64Type>(), f64::to_bits),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            keys!(a.as_primitive::<TimestampNanosecondType>(), |v| v as u64)
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            keys!(a.as_primitive::<DurationNanosecondType>(), |v| v as u64)
        }
        DataType::Utf8 => keys!(a.as_string::<i32>(), |v| fnv1a(v.as_bytes())),
        DataType::LargeUtf8 => keys!(a.as_string::<i64>(), |v| fnv1a(v.as_bytes())),
        DataType::Binary => keys!(a.as_binary::<i32>(), fnv1a),
        DataType::LargeBinary => keys!(a.as_binary::<i64>(), fnv1a),
        DataType::FixedSizeBinary(_) => keys!(a.as_fixed_size_binary(), fnv1a),
        DataType::Dictionary(_, _) => {
            let dictionary = a.as_any_dictionary();
            let values = leaf_keys(dictionary.values().as_ref())?;
            if values.is_empty() {
                return Ok(vec![None; a.len()]); // every index null
            }
            let indices = dictionary.normalized_keys();
            (0..a.len()).map(|i| if a.is_valid(i) { values[indices[i]] } else { None }).collect()
        }
        other => return Err(format!("no signature for Arrow type {other}").into()),
    })
}

fn list_parts<O: OffsetSizeTrait>(path: &str, list: &GenericListArray<O>) -> Parts {
    let offsets = list.value_offsets();
    let lengths = (0..list.len())
        .map(|i| list.is_valid(i).then(|| (offsets[i + 1] - offsets[i]).as_usize() as u64))
        .collect();
    let (start, end) = (offsets[0].as_usize(), offsets[list.len()].as_usize());
    (lengths, vec![(format!("{path}[]"), list.values().slice(start, end - start))])
}

/// Adds a column (and, walking structs and lists, its children) to `columns`.
fn add(columns: &mut Map<String, Value>, path: &str, a: &dyn Array) -> Result<(), Error> {
    let (keys, children): Parts = match a.data_type() {
        DataType::Struct(fields) => (
            (0..a.len()).map(|i| a.is_valid(i).then_some(0)).collect(),
            (fields.iter().zip(a.as_struct().columns()))
                .map(|(f, c)| (format!("{path}.{}", f.name()), c.clone()))
                .collect(),
        ),
        DataType::List(_) => list_parts(path, a.as_list::<i32>()),
        DataType::LargeList(_) => list_parts(path, a.as_list::<i64>()),
        _ => (leaf_keys(a)?, vec![]),
    };
    let type_name = match a.data_type() {
        DataType::Struct(_) => "Struct".to_string(),
        DataType::List(_) => "List".to_string(),
        DataType::LargeList(_) => "LargeList".to_string(),
        leaf => format!("{leaf:?}"),
    };
    let zero = json!({"type": type_name, "nulls": 0, "values": 0, "sum": 0, "hash": 0});
    let column = columns.entry(path).or_insert(zero);
    let [mut nulls, mut values, mut sum, mut hash] =
        ["nulls", "values", "sum", "hash"].map(|k| column[k].as_u64().unwrap_or(0));
    for key in keys {
        let Some(key) = key else {
            nulls += 1;
            continue;
        };
        (values, sum, hash) = (values + 1, sum.wrapping_add(key), hash.wrapping_add(mix(key)));
    }
    (column["nulls"], column["values"]) = (nulls.into(), values.into());
    (column["sum"], column["hash"]) = (sum.into(), hash.into());
    children.iter().try_for_each(|(child_path, child)| add(columns, child_path, child.as_ref()))
}

fn read_file(path: &Path, batch_size: usize) -> Result<Value, Error> {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path)?, options)?;
    let row_groups = builder.metadata().num_row_groups();
    let (mut rows, mut columns) = (0, Map::new());
    for batch in builder.with_batch_size(batch_size).build()? {
        let batch = batch?;
        rows += batch.num_rows();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            add(&mut columns, field.name(), column.as_ref())?;
        }
    }
    Ok(json!({"row_groups": row_groups, "rows": rows, "columns": columns}))
}

/// Runs `f`, turning a panic of arrow-rs into an error with its message.
fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = (panic.downcast_ref::<String>().map(String::as_str))
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        Err(format!("arrow-rs panicked: {message}").into())
    })
}

/// The leaf columns arrow-rs fails to read alone, with their errors.
fn failing_columns(path: &Path, batch_size: usize) -> Result<String, Error> {
    let metadata = ArrowReaderMetadata::load(&File::open(path)?, ArrowReaderOptions::new())?;
    let schema = metadata.metadata().file_metadata().schema_descr_ptr();
    let mut failures = vec![];
    for (i, column) in schema.columns().iter().enumerate() {
        let builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(File::open(path)?, metadata.clone());
        let mask = ProjectionMask::leaves(&schema, [i]);
        let builder = builder.with_projection(mask).with_batch_size(batch_size);
        let read = || Ok(builder.build()?.try_for_each(|b| b.map(|_| ()))?);
        if let Err(e) = guard(read) {
            let name = column.path().string();
            failures.push(format!("column {name} ({:?}): {e}", column.physical_type()));
        }
    }
    Ok(failures.join("; "))
}

/// `*.parquet` files under `dir`, sorted; names starting with `.` (temporary files) skipped.
fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') {
            continue;
        } else if path.is_dir() {
            parquet_files(&path, out)?;
        } else if name.ends_with(".parquet") {
            out.push(path);
        }
    }
    Ok(())
}

/// The JSON of every table, and whether every file was read.
fn run(base: &Path, batch_size: usize) -> Result<(Value, bool), Error> {
    let (mut tables, mut read_all) = (Map::new(), true);
    for entry in std::fs::read_dir(base).map_err(|e| format!("{}: {e}", base.display()))? {
        let dir = entry?.path();
        if !dir.is_dir() {
            continue;
        }
        let mut files = vec![];
        parquet_files(&dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut table = Map::new();
        for file in files {
            let signature = guard(|| read_file(&file, batch_size)).unwrap_or_else(|e| {
                let alone = failing_columns(&file, batch_size).unwrap_or_else(|e| e.to_string());
                eprintln!("arrow_rs_reader: {}: {e}; alone: {alone}", file.display());
                read_all = false;
                json!({"error": format!("{e}; alone: {alone}")})
            });
            let name = file.strip_prefix(&dir).unwrap_or(&file).display().to_string();
            table.insert(name, signature);
        }
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        tables.insert(name, table.into());
    }
    Ok((tables.into(), read_all))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (batch_size, base) = match args.as_slice() {
        [base] => (1024, base), // arrow-rs's default
        [flag, n, base] if flag == "--batch-size" && n.parse::<usize>().is_ok() => {
            (n.parse().unwrap_or(1024), base)
        }
        _ => {
            eprintln!("usage: arrow_rs_reader [--batch-size N] DATASET_DIR");
            return ExitCode::from(2);
        }
    };
    std::panic::set_hook(Box::new(|_| {})); // guard reports panics with the file's name
    match run(Path::new(base), batch_size) {
        Ok((json, read_all)) => {
            println!("{json:#}");
            if read_all {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("arrow_rs_reader: {e}");
            ExitCode::FAILURE
        }
    }
}
