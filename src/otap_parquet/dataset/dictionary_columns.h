// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

/// \file
/// Low-cardinality string columns handed to Parquet as Arrow dictionary arrays.
///
/// Given a dense string array, Parquet's dictionary encoder hashes every value
/// (DictEncoder::PutByteArray, the largest single cost of writing attribute keys).
/// Given a DictionaryArray it takes the indices as they are (parquet::arrow's direct
/// dictionary path, `WriteArrowDictionary` in parquet/column_writer.cc), on two
/// conditions per column chunk (row group): every batch carries the same dictionary
/// (a different one makes Parquet fall back to plain encoding for the rest of the
/// chunk), and no dense batch came first (the encoder then refuses a dictionary).
/// Dense batches may follow dictionary ones: Parquet hashes them into the same
/// dictionary, after the given entries.
///
/// The file's Arrow schema (stored as `ARROW:schema`) keeps the dense type: only the
/// arrays passed to parquet::arrow::FileWriter change, so readers see the same
/// types and the same Parquet encoding (RLE_DICTIONARY pages over a dictionary page)
/// as before.

namespace otap_parquet::dataset {

/// \brief One utf8 or binary column of one Parquet file as DictionaryArrays.
///
/// Values are mapped to the indices of a dictionary learned over the file: each
/// value is first compared with the one that followed the previous value last time
/// (attribute keys repeat in the same order record after record), then looked up by
/// hash. The dictionary handed to Parquet is fixed at the first batch of each row
/// group: every value learned so far plus those of that batch. A later batch of the
/// row group holding a value outside it is returned dense (Parquet hashes it, as it
/// did every batch before) and its new values join the next row group's dictionary.
/// Past kMaxEntries values or kMaxBytes bytes the column is taken for
/// high-cardinality (its Parquet dictionary would overflow the page limit and fall
/// back anyway) and stays dense for the rest of the file.
///
/// Row groups are counted as FileWriter::WriteRecordBatch and RowGroupBuffer cut
/// them: every `row_group_size` rows of the file, a batch possibly spanning two.
class ColumnDictionary {
 public:
  static constexpr int64_t kMaxEntries = 4096;
  static constexpr int64_t kMaxBytes = 256 << 10;

  explicit ColumnDictionary(int64_t row_group_size) : row_group_size_(row_group_size) {}

  /// \brief `values` (utf8 or binary, any offset, nulls allowed) holding the file's
  /// rows [first_row, first_row + length) as a DictionaryArray (int32 indices, the
  /// values' type as value type, the same validity), or `values` itself when they
  /// must be written dense. Calls must follow the file's row order.
  arrow::Result<std::shared_ptr<arrow::Array>> Encode(
      const std::shared_ptr<arrow::Array>& values, int64_t first_row,
      arrow::MemoryPool* pool);

  /// \brief Whether the column passed kMaxEntries / kMaxBytes (dense from then on).
  bool gave_up() const { return gave_up_; }
  /// \brief Values learned so far.
  int64_t size() const { return static_cast<int64_t>(views_.size()); }

 private:
  enum class Mode { kDictionary, kDenseFirst };

  /// Index of `value`, learning it if new; -1 once the column gave up.
  int32_t IndexOf(std::string_view value);
  arrow::Status Freeze(const std::shared_ptr<arrow::DataType>& type,
                       arrow::MemoryPool* pool);

  int64_t row_group_size_;
  /// Learned values in order; views_ point into storage_ (a deque never moves them).
  std::deque<std::string> storage_;
  std::vector<std::string_view> views_;
  std::unordered_map<std::string_view, int32_t> index_;
  int64_t bytes_ = 0;
  /// successor_[i + 1]: index of the value that followed value i last time;
  /// successor_[0]: of the first value of a batch.
  std::vector<int32_t> successor_{-1};
  bool gave_up_ = false;
  /// Row group whose Parquet column writer saw this column last (-1: none yet),
  /// what it saw first, and the dictionary it was given.
  int64_t group_ = -1;
  Mode mode_ = Mode::kDictionary;
  std::shared_ptr<arrow::Array> frozen_;
};

/// \brief ColumnDictionary for the chosen string columns of one file's batches.
class DictionaryColumns {
 public:
  /// \param columns dot paths of the columns to encode; those that are not utf8 or
  ///   binary, top-level or a child of a top-level struct, are ignored.
  DictionaryColumns(const arrow::Schema& schema, const std::vector<std::string>& columns,
                    int64_t row_group_size);

  /// \brief No column to encode.
  bool empty() const { return slots_.empty(); }
  /// \brief Dot paths of the encoded columns.
  std::vector<std::string> paths() const;
  /// \brief Dot paths of the columns that gave up (high cardinality).
  std::vector<std::string> gave_up_paths() const;

  /// \brief `batch` (the file's schema) holding the file's rows from `first_row` on,
  /// with each chosen column replaced by its ColumnDictionary::Encode result (the
  /// schema's field types follow). Other columns are shared, not copied.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Encode(
      const std::shared_ptr<arrow::RecordBatch>& batch, int64_t first_row,
      arrow::MemoryPool* pool);

  /// \brief Column batches handed over as dictionaries / dense since construction.
  int64_t dictionary_batches() const { return dictionary_batches_; }
  int64_t dense_batches() const { return dense_batches_; }

 private:
  struct Slot {
    std::string path;
    int field = -1;
    int child = -1;  ///< index in the struct `field`, or -1 for a top-level column
    std::unique_ptr<ColumnDictionary> dictionary;
  };
  std::vector<Slot> slots_;
  int64_t dictionary_batches_ = 0;
  int64_t dense_batches_ = 0;
};

}  // namespace otap_parquet::dataset
