// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Reading Parquet column chunks that Arrow C++ refuses (upstream quirk Q14 of
/// shared/docs/otap-parquet-format.md).
///
/// parquet-rs writes an Arrow `Dictionary(_, FixedSizeBinary)` column (upstream's
/// repeated trace / span ids) through its byte-array path: each value of the
/// dictionary page (and of PLAIN fallback data pages) is preceded by a 4-byte
/// little-endian length, inside a FIXED_LEN_BYTE_ARRAY chunk, and the chunk's
/// metadata carries a byte-array size statistic. Arrow C++ refuses that metadata
/// (`Unencoded byte array data bytes does not support FIXED_LEN_BYTE_ARRAY`), so the
/// whole column, and with a row-group read the whole file, is unreadable.
///
/// RepairFooter hides the bogus statistic so that the footer parses;
/// ReadLengthPrefixedFixed then reads such a chunk page by page through Arrow's
/// page reader and decoders, stripping the prefixes. Only that one malformed encoding
/// is decoded here.

#include <memory>
#include <vector>

#include <arrow/array.h>
#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

namespace otap_parquet::dataset {

/// \brief A footer made readable by RepairFooter.
struct RepairedFooter {
  std::shared_ptr<parquet::FileMetaData> metadata;
  /// Leaf columns (FIXED_LEN_BYTE_ARRAY) whose byte-array size statistic was hidden:
  /// their chunks were written through the byte-array path and must be read with
  /// ReadLengthPrefixedFixed, never with Arrow's column readers (which would return
  /// shifted bytes).
  std::vector<int> length_prefixed_leaves;
};

/// \brief Re-reads the Thrift footer of `file` and renames, in every column chunk of
/// a FIXED_LEN_BYTE_ARRAY leaf whose `size_statistics` holds a byte-array size, that
/// field to an unknown field id, which Thrift readers skip.
/// \return Invalid when the footer is not a plain (unencrypted) Parquet footer or no
/// such statistic exists; IOError from the file.
arrow::Result<RepairedFooter> RepairFooter(arrow::io::RandomAccessFile* file);

/// \brief Reads leaf `leaf` of `row_group` (a top-level FIXED_LEN_BYTE_ARRAY column
/// written with 4-byte length prefixes, see the file comment) as a FixedSizeBinary
/// array of the row group's rows, nulls where the definition level says so. Pages
/// without prefixes (a dictionary page of exactly n × width bytes) are read as is.
/// \return Invalid (naming the column) when a page is neither form.
arrow::Result<std::shared_ptr<arrow::Array>> ReadLengthPrefixedFixed(
    parquet::RowGroupReader* row_group, int leaf, arrow::MemoryPool* pool);

}  // namespace otap_parquet::dataset
