// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/zstd.h"

#include <algorithm>
#include <memory>

#include <arrow/status.h>
#include <zstd.h>

namespace otap_parquet::util {

namespace {

struct DCtxFree {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

}  // namespace

arrow::Result<std::string> ZstdDecompress(std::string_view compressed, size_t max_size) {
  std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  if (ctx == nullptr) return arrow::Status::OutOfMemory("zstd: cannot create a context");
  std::string out;
  // Streaming, so a frame that claims (or expands to) more than max_size stops early
  // instead of allocating what it claims.
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  size_t pending = 1;  // zstd's "more to flush or a frame not finished yet"
  while (in.pos < in.size || pending != 0) {
    const size_t before = out.size();
    const size_t step = std::max<size_t>(ZSTD_DStreamOutSize(), before);
    out.resize(std::min(before + step, max_size + 1));
    ZSTD_outBuffer buffer{out.data() + before, out.size() - before, 0};
    pending = ZSTD_decompressStream(ctx.get(), &buffer, &in);
    out.resize(before + buffer.pos);
    if (ZSTD_isError(pending)) {
      return arrow::Status::Invalid("zstd: ", ZSTD_getErrorName(pending));
    }
    if (out.size() > max_size) {
      return arrow::Status::CapacityError("zstd body expands beyond ", max_size,
                                          " bytes");
    }
    if (in.pos == in.size && buffer.pos == 0 && pending != 0) {
      return arrow::Status::Invalid("zstd: truncated frame");
    }
  }
  return out;
}

arrow::Result<std::string> ZstdCompress(std::string_view plain, int level) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  const size_t size =
      ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), level);
  if (ZSTD_isError(size))
    return arrow::Status::Invalid("zstd: ", ZSTD_getErrorName(size));
  out.resize(size);
  return out;
}

}  // namespace otap_parquet::util
