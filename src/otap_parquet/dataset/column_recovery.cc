// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/column_recovery.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <arrow/builder.h>
#include <arrow/util/endian.h>
#include <fmt/format.h>
#include <parquet/column_page.h>
#include <parquet/column_reader.h>
#include <parquet/encoding.h>
#include <parquet/exception.h>
#include <parquet/schema.h>

#include "otap_parquet/dataset/parquet_errors.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;

// ---------------------------------------------------------------------------------
// Thrift compact protocol: just enough to walk a FileMetaData and find one field.

enum CompactType : uint8_t {
  kStop = 0,
  kTrue = 1,
  kFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
  kUuid = 13,
};

// parquet.thrift field ids on the path FileMetaData.row_groups[].columns[].meta_data.
constexpr int16_t kFileRowGroups = 4;
constexpr int16_t kRowGroupColumns = 1;
constexpr int16_t kColumnChunkMetaData = 3;
constexpr int16_t kColumnMetaDataType = 1;
constexpr int16_t kColumnMetaDataSizeStatistics = 16;
constexpr int16_t kSizeStatisticsByteArrayBytes = 1;
constexpr int32_t kFixedLenByteArray = 7;

class CompactWalker {
 public:
  CompactWalker(uint8_t* data, size_t size) : data_(data), size_(size) {}

  // Walks a FileMetaData struct, hiding size_statistics of FIXED_LEN_BYTE_ARRAY
  // chunks; `leaves` gets the column index of each chunk patched.
  Status WalkFile(std::vector<int>* leaves) {
    return WalkStruct([&](int16_t id, uint8_t type) -> Status {
      if (id != kFileRowGroups || type != kList) return Skip(type, 0);
      return WalkList([&](uint8_t) {
        return WalkStruct([&](int16_t rg_id, uint8_t rg_type) -> Status {
          if (rg_id != kRowGroupColumns || rg_type != kList) return Skip(rg_type, 0);
          int column = 0;
          return WalkList([&](uint8_t) {
            const int leaf = column++;
            return WalkStruct([&](int16_t cc_id, uint8_t cc_type) -> Status {
              if (cc_id != kColumnChunkMetaData || cc_type != kStruct)
                return Skip(cc_type, 0);
              return WalkColumnMetaData(leaf, leaves);
            });
          });
        });
      });
    });
  }

 private:
  Status WalkColumnMetaData(int leaf, std::vector<int>* leaves) {
    int32_t physical_type = -1;
    int64_t stats_header = -1;  // position of the size_statistics field header
    bool short_form = false;
    ARROW_RETURN_NOT_OK(WalkStruct([&](int16_t id, uint8_t type) -> Status {
      if (id == kColumnMetaDataType && type == kI32) {
        uint64_t v = 0;
        ARROW_RETURN_NOT_OK(Varint(&v));
        physical_type = static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
        return Status::OK();
      }
      if (id == kColumnMetaDataSizeStatistics && type == kStruct) {
        const int64_t header = last_header_;
        const bool is_short = last_short_;
        bool byte_array_bytes = false;
        ARROW_RETURN_NOT_OK(WalkStruct([&](int16_t stats_id, uint8_t stats_type) {
          // SizeStatistics.unencoded_byte_array_data_bytes: parquet-rs's mark.
          if (stats_id == kSizeStatisticsByteArrayBytes) byte_array_bytes = true;
          return Skip(stats_type, 1);
        }));
        if (byte_array_bytes) {
          stats_header = header;
          short_form = is_short;
        }
        return Status::OK();
      }
      return Skip(type, 0);
    }));
    if (physical_type != kFixedLenByteArray || stats_header < 0) return Status::OK();
    uint8_t& header = data_[stats_header];
    if (short_form) {
      // Largest delta: the field id becomes (previous id + 15) ≥ 24, unknown to every
      // ColumnMetaData reader, which skips it.
      header = static_cast<uint8_t>(0xF0 | (header & 0x0F));
    } else {
      // Long form: the zigzag varint id follows the type byte; one byte for 16.
      if (static_cast<size_t>(stats_header) + 1 >= size_ ||
          data_[stats_header + 1] & 0x80) {
        return Status::Invalid("unexpected size_statistics field header");
      }
      data_[stats_header + 1] = 0x7E;  // zigzag(63)
    }
    leaves->push_back(leaf);
    return Status::OK();
  }

  template <typename OnField>
  Status WalkStruct(OnField&& on_field, int depth = 0) {
    if (depth > 64) return Status::Invalid("thrift nesting too deep");
    int16_t last_id = 0;
    while (true) {
      const int64_t header_pos = static_cast<int64_t>(pos_);
      uint8_t byte = 0;
      ARROW_RETURN_NOT_OK(Byte(&byte));
      const uint8_t type = byte & 0x0F;
      if (type == kStop) return Status::OK();
      const int delta = byte >> 4;
      int16_t id = 0;
      if (delta != 0) {
        id = static_cast<int16_t>(last_id + delta);
      } else {
        uint64_t v = 0;
        ARROW_RETURN_NOT_OK(Varint(&v));
        id = static_cast<int16_t>((v >> 1) ^ (~(v & 1) + 1));
      }
      last_id = id;
      last_header_ = header_pos;
      last_short_ = delta != 0;
      ARROW_RETURN_NOT_OK(on_field(id, type));
    }
  }

  template <typename OnElement>
  Status WalkList(OnElement&& on_element) {
    uint8_t byte = 0;
    ARROW_RETURN_NOT_OK(Byte(&byte));
    uint64_t n = byte >> 4;
    if (n == 15) ARROW_RETURN_NOT_OK(Varint(&n));
    const uint8_t type = byte & 0x0F;
    if (type != kStruct) return Status::Invalid("expected a list of structs");
    for (uint64_t i = 0; i < n; ++i) ARROW_RETURN_NOT_OK(on_element(type));
    return Status::OK();
  }

  Status Skip(uint8_t type, int depth, bool in_container = false) {
    if (depth > 64) return Status::Invalid("thrift nesting too deep");
    uint64_t v = 0;
    switch (type) {
      case kTrue:
      case kFalse:
        return in_container ? Advance(1) : Status::OK();
      case kByte:
        return Advance(1);
      case kI16:
      case kI32:
      case kI64:
        return Varint(&v);
      case kDouble:
        return Advance(8);
      case kUuid:
        return Advance(16);
      case kBinary:
        ARROW_RETURN_NOT_OK(Varint(&v));
        return Advance(v);
      case kList:
      case kSet: {
        uint8_t byte = 0;
        ARROW_RETURN_NOT_OK(Byte(&byte));
        uint64_t n = byte >> 4;
        if (n == 15) ARROW_RETURN_NOT_OK(Varint(&n));
        for (uint64_t i = 0; i < n; ++i)
          ARROW_RETURN_NOT_OK(Skip(byte & 0x0F, depth + 1, true));
        return Status::OK();
      }
      case kMap: {
        uint64_t n = 0;
        ARROW_RETURN_NOT_OK(Varint(&n));
        if (n == 0) return Status::OK();
        uint8_t types = 0;
        ARROW_RETURN_NOT_OK(Byte(&types));
        for (uint64_t i = 0; i < n; ++i) {
          ARROW_RETURN_NOT_OK(Skip(types >> 4, depth + 1, true));
          ARROW_RETURN_NOT_OK(Skip(types & 0x0F, depth + 1, true));
        }
        return Status::OK();
      }
      case kStruct:
        return WalkStruct(
            [&](int16_t, uint8_t field_type) { return Skip(field_type, depth + 1); },
            depth + 1);
      default:
        return Status::Invalid("unknown thrift compact type ", static_cast<int>(type));
    }
  }

  Status Byte(uint8_t* out) {
    if (pos_ >= size_) return Status::Invalid("thrift footer truncated");
    *out = data_[pos_++];
    return Status::OK();
  }
  Status Advance(uint64_t n) {
    if (n > size_ - pos_) return Status::Invalid("thrift footer truncated");
    pos_ += static_cast<size_t>(n);
    return Status::OK();
  }
  Status Varint(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte = 0;
      ARROW_RETURN_NOT_OK(Byte(&byte));
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *out = value;
        return Status::OK();
      }
    }
    return Status::Invalid("thrift varint too long");
  }

  uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  int64_t last_header_ = -1;
  bool last_short_ = false;
};

// The n values of a page, `width` bytes each, either plain (n × width bytes) or each
// behind a 4-byte little-endian length equal to `width`.
arrow::Result<std::shared_ptr<arrow::Buffer>> Unprefix(const uint8_t* data, int64_t size,
                                                       int64_t n, int width,
                                                       arrow::MemoryPool* pool,
                                                       const std::string& column) {
  const int64_t plain = n * width;
  const int64_t prefixed = n * (width + 4);
  if (size != plain && size != prefixed) {
    return Status::Invalid("column ", column, ": ", n, " values of ", width,
                           " bytes in a page of ", size, " bytes");
  }
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateBuffer(plain, pool));
  if (size == plain) {
    if (plain > 0) std::memcpy(out->mutable_data(), data, static_cast<size_t>(plain));
    return std::shared_ptr<arrow::Buffer>(std::move(out));
  }
  uint8_t* dst = out->mutable_data();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* value = data + i * (width + 4);
    uint32_t length = 0;
    std::memcpy(&length, value, 4);
    length = arrow::bit_util::FromLittleEndian(length);
    if (length != static_cast<uint32_t>(width)) {
      return Status::Invalid("column ", column, ": value ", i, " has length ", length,
                             ", expected ", width);
    }
    std::memcpy(dst + i * width, value + 4, static_cast<size_t>(width));
  }
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

}  // namespace

arrow::Result<RepairedFooter> RepairFooter(arrow::io::RandomAccessFile* file) {
  ARROW_ASSIGN_OR_RAISE(const int64_t size, file->GetSize());
  if (size < 12) return Status::Invalid("not a Parquet file (", size, " bytes)");
  ARROW_ASSIGN_OR_RAISE(auto tail, file->ReadAt(size - 8, 8));
  if (tail->size() != 8 || std::memcmp(tail->data() + 4, "PAR1", 4) != 0) {
    return Status::Invalid("not a plain Parquet footer");
  }
  uint32_t length = 0;
  std::memcpy(&length, tail->data(), 4);
  length = arrow::bit_util::FromLittleEndian(length);
  if (static_cast<int64_t>(length) > size - 12) {
    return Status::Invalid("Parquet footer length ", length, " beyond the file");
  }
  ARROW_ASSIGN_OR_RAISE(auto footer,
                        file->ReadAt(size - 8 - static_cast<int64_t>(length), length));
  if (footer->size() != static_cast<int64_t>(length)) {
    return Status::IOError("short read of the Parquet footer");
  }
  std::vector<uint8_t> bytes(footer->data(), footer->data() + footer->size());
  RepairedFooter repaired;
  CompactWalker walker(bytes.data(), bytes.size());
  ARROW_RETURN_NOT_OK(walker.WalkFile(&repaired.length_prefixed_leaves));
  if (repaired.length_prefixed_leaves.empty()) {
    return Status::Invalid("no byte-array size statistic on a fixed-size column");
  }
  std::sort(repaired.length_prefixed_leaves.begin(),
            repaired.length_prefixed_leaves.end());
  repaired.length_prefixed_leaves.erase(
      std::unique(repaired.length_prefixed_leaves.begin(),
                  repaired.length_prefixed_leaves.end()),
      repaired.length_prefixed_leaves.end());
  // The caller names the file.
  ARROW_RETURN_NOT_OK(CatchParquet(
      "repaired footer",
      [&] {
        repaired.metadata =
            parquet::FileMetaData::Make(bytes.data(), static_cast<int64_t>(bytes.size()));
        return Status::OK();
      },
      arrow::StatusCode::Invalid));
  return repaired;
}

arrow::Result<std::shared_ptr<arrow::Array>> ReadLengthPrefixedFixed(
    parquet::RowGroupReader* row_group, int leaf, arrow::MemoryPool* pool) {
  const parquet::ColumnDescriptor* descr = row_group->metadata()->schema()->Column(leaf);
  const std::string name = descr->path()->ToDotString();
  if (descr->physical_type() != parquet::Type::FIXED_LEN_BYTE_ARRAY ||
      descr->max_repetition_level() != 0 || descr->type_length() <= 0) {
    return Status::NotImplemented("column ", name,
                                  ": not a flat FIXED_LEN_BYTE_ARRAY column");
  }
  const int width = descr->type_length();
  const int16_t max_def = descr->max_definition_level();
  const int64_t rows = row_group->metadata()->num_rows();
  arrow::FixedSizeBinaryBuilder builder(arrow::fixed_size_binary(width), pool);
  ARROW_RETURN_NOT_OK(builder.Reserve(rows));
  try {
    auto pages = row_group->GetColumnPageReader(leaf);
    std::unique_ptr<parquet::DictDecoder<parquet::FLBAType>> dict;
    std::shared_ptr<arrow::Buffer> dict_values;
    std::vector<int16_t> defs;
    std::vector<parquet::FixedLenByteArray> values;
    while (auto page = pages->NextPage()) {
      if (page->type() == parquet::PageType::DICTIONARY_PAGE) {
        const auto& dict_page = static_cast<const parquet::DictionaryPage&>(*page);
        ARROW_ASSIGN_OR_RAISE(dict_values,
                              Unprefix(dict_page.data(), dict_page.size(),
                                       dict_page.num_values(), width, pool, name));
        auto plain = parquet::MakeTypedDecoder<parquet::FLBAType>(
            parquet::Encoding::PLAIN, descr, pool);
        plain->SetData(dict_page.num_values(), dict_values->data(),
                       static_cast<int>(dict_values->size()));
        dict = parquet::MakeDictDecoder<parquet::FLBAType>(descr, pool);
        dict->SetDict(plain.get());
        continue;
      }
      if (page->type() != parquet::PageType::DATA_PAGE &&
          page->type() != parquet::PageType::DATA_PAGE_V2) {
        continue;
      }
      const auto& data_page = static_cast<const parquet::DataPage&>(*page);
      const int n = data_page.num_values();
      const uint8_t* data = data_page.data();
      int64_t size = data_page.size();
      defs.assign(static_cast<size_t>(n), max_def);
      if (page->type() == parquet::PageType::DATA_PAGE_V2) {
        const auto& v2 = static_cast<const parquet::DataPageV2&>(data_page);
        const int64_t levels = static_cast<int64_t>(v2.repetition_levels_byte_length()) +
                               v2.definition_levels_byte_length();
        if (levels > size) return Status::Invalid("column ", name, ": bad page levels");
        if (max_def > 0) {
          parquet::LevelDecoder decoder;
          decoder.SetDataV2(v2.definition_levels_byte_length(), max_def, n,
                            data + v2.repetition_levels_byte_length());
          if (decoder.Decode(n, defs.data()) != n)
            return Status::Invalid("column ", name, ": short definition levels");
        }
        data += levels;
        size -= levels;
      } else if (max_def > 0) {
        const auto& v1 = static_cast<const parquet::DataPageV1&>(data_page);
        parquet::LevelDecoder decoder;
        const int used = decoder.SetData(v1.definition_level_encoding(), max_def, n, data,
                                         static_cast<int32_t>(size));
        if (decoder.Decode(n, defs.data()) != n)
          return Status::Invalid("column ", name, ": short definition levels");
        data += used;
        size -= used;
      }
      int present = 0;
      for (int16_t d : defs) present += d == max_def;
      values.resize(static_cast<size_t>(present));
      std::shared_ptr<arrow::Buffer> plain_values;
      switch (data_page.encoding()) {
        case parquet::Encoding::PLAIN_DICTIONARY:
        case parquet::Encoding::RLE_DICTIONARY:
          if (!dict) return Status::Invalid("column ", name, ": no dictionary page");
          dict->SetData(present, data, static_cast<int>(size));
          if (dict->Decode(values.data(), present) != present)
            return Status::Invalid("column ", name, ": short dictionary indices");
          break;
        case parquet::Encoding::PLAIN: {
          ARROW_ASSIGN_OR_RAISE(plain_values,
                                Unprefix(data, size, present, width, pool, name));
          for (int i = 0; i < present; ++i)
            values[static_cast<size_t>(i)].ptr = plain_values->data() + i * width;
          break;
        }
        default:
          return Status::NotImplemented("column ", name, ": encoding ",
                                        static_cast<int>(data_page.encoding()));
      }
      if (builder.length() + n > rows)
        return Status::Invalid("column ", name, ": more values than rows");
      size_t next = 0;
      for (int16_t d : defs) {
        if (d == max_def) {
          builder.UnsafeAppend(values[next++].ptr);
        } else {
          builder.UnsafeAppendNull();
        }
      }
    }
  } catch (...) {
    // The caller names the file; a ParquetStatusException (e.g. an I/O error of
    // the file) keeps its code.
    return StatusFromCurrentException(fmt::format("column {}", name),
                                      arrow::StatusCode::Invalid);
  }
  if (builder.length() != rows) {
    return Status::Invalid("column ", name, ": ", builder.length(), " values for ", rows,
                           " rows");
  }
  return builder.Finish();
}

}  // namespace otap_parquet::dataset
