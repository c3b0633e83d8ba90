// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/row_group_buffer.h"

#include <algorithm>

#include <arrow/chunked_array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <parquet/arrow/writer.h>

namespace otap_parquet::dataset {

arrow::Status RowGroupBuffer::Append(const std::shared_ptr<arrow::RecordBatch>& batch,
                                     int64_t row_group_size,
                                     parquet::arrow::FileWriter& writer) {
  if (row_group_size <= 0) return arrow::Status::Invalid("row group size must be > 0");
  int64_t offset = 0;
  while (offset < batch->num_rows()) {
    const int64_t take = std::min(row_group_size - rows_, batch->num_rows() - offset);
    batches_.push_back(
        offset == 0 && take == batch->num_rows() ? batch : batch->Slice(offset, take));
    rows_ += take;
    offset += take;
    if (rows_ >= row_group_size) ARROW_RETURN_NOT_OK(Write(writer));
  }
  return arrow::Status::OK();
}

arrow::Status RowGroupBuffer::Write(parquet::arrow::FileWriter& writer) {
  if (rows_ == 0) return arrow::Status::OK();
  // Released whatever happens: a failed file is discarded, not retried.
  auto batches = std::move(batches_);
  batches_.clear();
  const int64_t rows = rows_;
  rows_ = 0;
  ARROW_RETURN_NOT_OK(writer.NewRowGroup());
  const int columns = batches.front()->num_columns();
  std::vector<std::shared_ptr<arrow::Array>> chunks(batches.size());
  for (int c = 0; c < columns; ++c) {
    for (size_t b = 0; b < batches.size(); ++b) chunks[b] = batches[b]->column(c);
    // The chunks' types may differ (a dictionary array in one batch, the dense
    // column in another: DictionaryColumns); Parquet takes each chunk as it is.
    auto chunked = std::make_shared<arrow::ChunkedArray>(
        chunks, batches.front()->schema()->field(c)->type());
    ARROW_RETURN_NOT_OK(writer.WriteColumnChunk(chunked, 0, rows));
  }
  return arrow::Status::OK();
}

}  // namespace otap_parquet::dataset
