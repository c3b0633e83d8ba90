// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/inflate.h"

#include <algorithm>

#include <arrow/status.h>
#include <zlib.h>

namespace otap_parquet::util {

namespace {

int WindowBits(DeflateFormat format) {
  switch (format) {
    case DeflateFormat::kGzip:
      return 15 + 16;
    case DeflateFormat::kZlib:
      return 15;
    case DeflateFormat::kAuto:
      break;
  }
  return 15 + 32;
}

/// A z_stream set up for inflating, ended when it goes out of scope.
class Inflater {
 public:
  Inflater(std::string_view in, DeflateFormat format) {
    ok_ = inflateInit2(&zs_, WindowBits(format)) == Z_OK;
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
  }
  ~Inflater() {
    if (ok_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool ok() const { return ok_; }
  z_stream* zs() { return &zs_; }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

}  // namespace

arrow::Result<std::string> Inflate(std::string_view compressed, size_t max_size,
                                   DeflateFormat format) {
  if (compressed.size() > UINT32_MAX) {
    return arrow::Status::CapacityError("compressed body of ", compressed.size(),
                                        " bytes");
  }
  Inflater inflater(compressed, format);
  if (!inflater.ok()) return arrow::Status::OutOfMemory("inflateInit2");
  z_stream* zs = inflater.zs();
  std::string out;
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs->next_out = reinterpret_cast<Bytef*>(chunk);
    zs->avail_out = sizeof(chunk);
    rc = inflate(zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      return arrow::Status::Invalid(rc == Z_BUF_ERROR ? "truncated data"
                                    : zs->msg         ? zs->msg
                                                      : "corrupt data");
    }
    const size_t n = sizeof(chunk) - zs->avail_out;
    if (out.size() + n > max_size) {
      return arrow::Status::CapacityError("expands beyond ", max_size, " bytes");
    }
    out.append(chunk, n);
    if (rc == Z_STREAM_END && zs->avail_in > 0) {
      // A gzip body may be a series of members (RFC 1952); anything else after the
      // end is an error, or the client's data would be cut silently.
      const bool member = format != DeflateFormat::kZlib && zs->avail_in >= 2 &&
                          zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b;
      if (!member) {
        return arrow::Status::Invalid(zs->avail_in,
                                      " bytes after the end of the compressed data");
      }
      if (inflateReset(zs) != Z_OK) return arrow::Status::Invalid("inflateReset");
      rc = Z_OK;
    }
  }
  return out;
}

std::string InflatePrefix(std::string_view compressed, size_t n, DeflateFormat format) {
  std::string out(n, '\0');
  Inflater inflater(compressed.substr(0, std::min<size_t>(compressed.size(), UINT32_MAX)),
                    format);
  if (!inflater.ok()) return {};
  z_stream* zs = inflater.zs();
  zs->next_out = reinterpret_cast<Bytef*>(out.data());
  zs->avail_out = static_cast<uInt>(n);
  while (zs->avail_out > 0) {
    const uInt before = zs->avail_out;
    const int rc = inflate(zs, Z_NO_FLUSH);
    if (rc != Z_OK || zs->avail_out == before) break;
  }
  out.resize(n - zs->avail_out);
  return out;
}

arrow::Result<std::string> Deflate(std::string_view plain, DeflateFormat format,
                                   int level) {
  z_stream zs{};
  const int bits = format == DeflateFormat::kZlib ? 15 : 15 + 16;
  if (deflateInit2(&zs, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return arrow::Status::Invalid("deflateInit2");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(plain.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return arrow::Status::Invalid("deflate: ", rc);
  return out;
}

}  // namespace otap_parquet::util
