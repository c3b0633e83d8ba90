// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/status.h>
#include <arrow/type_fwd.h>

namespace parquet::arrow {
class FileWriter;
}  // namespace parquet::arrow

namespace otap_parquet::dataset {

/// \brief The batches of one file's current row group, held until the row group is
/// full (or the file closes) and then written column after column.
///
/// parquet::arrow::FileWriter::WriteRecordBatch appends each batch to a buffered
/// row group: every column's encoder and page buffer stays alive until the group
/// closes, and the batches' columns are interleaved. Their buffers then grow by
/// reallocation into memory that rarely has room behind them (copies and fresh page
/// faults: ~8% memmove against ~5% for WriteTable in a profile of the same data).
/// Written column by column (FileWriter::NewRowGroup + WriteColumnChunk, what
/// WriteTable does), one column chunk is encoded at a time.
///
/// The cost is memory: the row group's rows are held as Arrow batches (the OTAP
/// batches' own buffers, not copies) instead of as encoded, compressed pages.
class RowGroupBuffer {
 public:
  /// \brief Appends `batch` (the file's schema, possibly with dictionary arrays in
  /// place of string columns) to the row group; every `row_group_size` rows the
  /// group is written to `writer`, the batch split where a group ends.
  arrow::Status Append(const std::shared_ptr<arrow::RecordBatch>& batch,
                       int64_t row_group_size, parquet::arrow::FileWriter& writer);

  /// \brief Writes the held rows (if any) as one row group.
  arrow::Status Write(parquet::arrow::FileWriter& writer);

  /// \brief Rows held, not yet handed to Parquet.
  int64_t rows() const { return rows_; }

 private:
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  int64_t rows_ = 0;
};

}  // namespace otap_parquet::dataset
