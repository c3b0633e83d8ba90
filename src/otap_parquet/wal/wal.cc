// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/wal/wal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <isa-l/crc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/util/fsync.h"

namespace otap_parquet::wal {

uint32_t Crc32(const void* bytes, int64_t size, uint32_t seed) {
  // ISA-L's folding kernels (PCLMULQDQ, AVX-512 where the CPU has them, picked at
  // run time): the same CRC as zlib's crc32, several times faster.
  return crc32_gzip_refl(seed, static_cast<const unsigned char*>(bytes),
                         static_cast<uint64_t>(size));
}

namespace {

using std::chrono::system_clock;

constexpr uint32_t kMagic = 0x4c41574f;  // "OWAL" little endian
constexpr size_t kHeaderSize = 12;
constexpr size_t kCrcOffset = 8;  ///< the payload's CRC in a frame header
constexpr uint8_t kVersion = 1;
constexpr std::string_view kSegmentSuffix = ".wal";
constexpr std::string_view kDoneSuffix = ".done";
constexpr std::string_view kPartsSuffix = ".parts";

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// The payload CRC of the frame starting at `frame` (also a segment's done-mark salt).
uint32_t FrameCrc(const uint8_t* frame) { return GetU32(frame + kCrcOffset); }

arrow::Status Errno(const std::string& what, const std::string& path, int err) {
  return arrow::Status::IOError("WAL ", what, " ", path, ": ", std::strerror(err));
}

// Linux's IOV_MAX: writev() refuses more pieces than that.
constexpr int kMaxIov = 1024;

// Writes all of `iov` (retrying short writes and EINTR; any number of pieces).
arrow::Status WriteAll(int fd, struct iovec* iov, int count, const std::string& path) {
  while (count > 0) {
    const ssize_t n = ::writev(fd, iov, std::min(count, kMaxIov));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write to", path, errno);
    }
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return arrow::Status::OK();
}

// Why the frame at `offset` of `data` is not a valid record ("" if it is); sets
// `*payload_size`.
std::string CheckFrame(const uint8_t* data, int64_t size, int64_t offset,
                       uint32_t* payload_size) {
  if (size - offset < static_cast<int64_t>(kHeaderSize)) return "short header";
  const uint8_t* p = data + offset;
  if (GetU32(p) != kMagic) return "bad magic";
  *payload_size = GetU32(p + 4);
  if (static_cast<int64_t>(*payload_size) >
      size - offset - static_cast<int64_t>(kHeaderSize)) {
    return "short payload";
  }
  if (Crc32(p + kHeaderSize, *payload_size) != FrameCrc(p)) return "crc mismatch";
  return "";
}

// Writes `iov` to `path` (created, or appended to) and fsyncs it.
arrow::Status WriteSynced(const std::string& path, struct iovec* iov, int count,
                          bool append = false) {
  const int fd = ::open(
      path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) return Errno("cannot create", path, errno);
  auto st = WriteAll(fd, iov, count, path);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync of", path, errno);
  ::close(fd);
  return st;
}

// The check of a `.done` or `.parts` mark: a CRC over the mark's tag, the segment's
// sequence number, its first record's CRC (a reused number of a log emptied before
// a restart gets new checks), the record index and `payload`; never 0 (an all-zero
// mark never checks out). The marks are not fsynced: after an OS crash a file
// system may show zeros or another file's stale blocks where unsynced marks were;
// those fail the check, so a mark that was not written can only make a record (or
// a partition of it) written again (a duplicate), never skipped.
uint32_t MarkCheck(uint32_t tag, uint64_t seq, uint32_t salt, uint32_t index,
                   std::string_view payload = {}) {
  uint8_t key[20];
  PutU32(key, tag);
  PutU32(key + 4, static_cast<uint32_t>(seq));
  PutU32(key + 8, static_cast<uint32_t>(seq >> 32));
  PutU32(key + 12, salt);
  PutU32(key + 16, index);
  const uint32_t crc = Crc32(payload.data(), static_cast<int64_t>(payload.size()),
                             Crc32(key, sizeof(key)));
  return crc == 0 ? 1 : crc;
}

constexpr uint32_t kDoneTag = 0x454e4f44;    // "DONE"
constexpr uint32_t kPartTag = 0x54524150;    // "PART"
constexpr uint32_t kIntentTag = 0x4e544e49;  // "INTN"

// A done mark: [record index u32 | MarkCheck(kDoneTag) u32].
constexpr size_t kDoneMarkSize = 8;

// A `.parts` mark: [record index u32 | length u32 | payload | check u32], one
// write() each. A published-partition mark's payload is the partition (check
// MarkCheck(kPartTag)); an intent's (kIntentFlag in the length) is the partition, a
// NUL and the commit file (kIntentTag). The check covers the payload, so a torn,
// zeroed or stale mark never names a partition or file it was not written for (that
// would skip rows: a loss); reading stops at the first mark that fails it (what
// follows cannot be framed reliably), so a bad mark costs duplicates of the
// partitions it and later marks named, never a loss.
constexpr size_t kPartsHeaderSize = 8;
constexpr uint32_t kMaxPartsPayload = 1 << 16;
constexpr uint32_t kIntentFlag = 1u << 31;

// Offset of the first frame at or after `from` that checks out, or -1.
int64_t NextValidFrame(const uint8_t* data, int64_t size, int64_t from) {
  for (int64_t at = from; at + static_cast<int64_t>(kHeaderSize) <= size; ++at) {
    if (GetU32(data + at) != kMagic) continue;
    uint32_t payload = 0;
    if (CheckFrame(data, size, at, &payload).empty()) return at;
  }
  return -1;
}

}  // namespace

struct Wal::Segment {
  uint64_t seq = 0;
  std::string path;
  std::string done_path;
  std::string parts_path;
  int fd = -1;        ///< append fd (segments made by this process)
  int done_fd = -1;   ///< `.done` append fd, opened at the first mark
  int parts_fd = -1;  ///< `.parts` append fd, opened at the first mark
  /// Recovered records' published partitions (from `.parts`), until done.
  std::map<uint32_t, std::vector<std::string>> published;
  /// Recovered records' publish intents (from `.parts`), until done.
  std::map<uint32_t, std::vector<PublishIntent>> intents;
  int64_t size = 0;
  std::vector<int64_t> offsets;  ///< frame start of each record
  std::vector<bool> done;
  int64_t done_count = 0;
  /// CRC of the first record (part of each done mark's check; set with it).
  uint32_t salt = 0;
  bool sealed = false;
  int64_t unsynced = 0;  ///< appends queued for the sync thread
  /// An fdatasync of it failed: no later sync vouches for its records (mu_).
  bool sync_failed = false;
  system_clock::time_point created;

  int64_t live() const { return static_cast<int64_t>(offsets.size()) - done_count; }
  ~Segment() {
    if (fd >= 0) ::close(fd);
    if (done_fd >= 0) ::close(done_fd);
    if (parts_fd >= 0) ::close(parts_fd);
  }
};

namespace {

// The frame of one record as the pieces of one writev(): the frame and record
// headers and Arrow IPC's own metadata and padding are copied into a small scratch
// buffer; the column buffers (IPC hands them to Write(shared_ptr<Buffer>)) are
// referenced where they are, so the rows are copied once, by write() into the page
// cache. The bytes are those of one IPC stream written into one buffer.
class FrameStream : public arrow::io::OutputStream {
 public:
  using arrow::io::OutputStream::Write;

  FrameStream() { scratch_.reserve(4096); }

  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }

  arrow::Status Write(const void* data, int64_t nbytes) override {
    if (nbytes <= 0) return arrow::Status::OK();
    if (pieces_.empty() || pieces_.back().buffer) {
      pieces_.push_back({nullptr, static_cast<int64_t>(scratch_.size()), 0});
    }
    const auto* bytes = static_cast<const uint8_t*>(data);
    scratch_.insert(scratch_.end(), bytes, bytes + nbytes);
    pieces_.back().size += nbytes;
    position_ += nbytes;
    return arrow::Status::OK();
  }

  arrow::Status Write(const std::shared_ptr<arrow::Buffer>& data) override {
    if (!data->is_cpu()) {
      return arrow::Status::NotImplemented("WAL record: a non-CPU buffer");
    }
    // A small buffer costs less copied than as a piece of its own.
    if (data->size() < kCopyBelow) return Write(data->data(), data->size());
    pieces_.push_back({data, 0, data->size()});
    position_ += data->size();
    return arrow::Status::OK();
  }

  /// Where the next byte written to the scratch buffer goes (for PatchU32).
  size_t scratch_size() const { return scratch_.size(); }
  void PatchU32(size_t at, uint32_t value) { PutU32(scratch_.data() + at, value); }
  /// CRC-32 of the frame's bytes from `from` on.
  uint32_t Crc(int64_t from) const {
    uint32_t crc = 0;
    int64_t at = 0;
    for (const Piece& piece : pieces_) {
      const int64_t skip = std::clamp<int64_t>(from - at, 0, piece.size);
      crc = Crc32(Data(piece) + skip, piece.size - skip, crc);
      at += piece.size;
    }
    return crc;
  }
  /// The pieces for writev (valid while this stream lives).
  std::vector<struct iovec> Iovecs() const {
    std::vector<struct iovec> iov;
    iov.reserve(pieces_.size());
    for (const Piece& piece : pieces_) {
      iov.push_back({const_cast<uint8_t*>(Data(piece)), static_cast<size_t>(piece.size)});
    }
    return iov;
  }
  /// The frame's bytes from `from` on, in one buffer.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Concatenate(int64_t from) const {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> out,
                          arrow::AllocateBuffer(position_ - from));
    uint8_t* dst = out->mutable_data();
    int64_t at = 0;
    for (const Piece& piece : pieces_) {
      const int64_t skip = std::clamp<int64_t>(from - at, 0, piece.size);
      std::memcpy(dst, Data(piece) + skip, static_cast<size_t>(piece.size - skip));
      dst += piece.size - skip;
      at += piece.size;
    }
    return out;
  }
  /// The first bytes of the frame (its header; always in the scratch buffer).
  const uint8_t* head() const { return scratch_.data(); }

 private:
  static constexpr int64_t kCopyBelow = 512;
  struct Piece {
    std::shared_ptr<arrow::Buffer> buffer;  ///< null: bytes of scratch_
    int64_t scratch_offset = 0;
    int64_t size = 0;
  };
  const uint8_t* Data(const Piece& piece) const {
    return piece.buffer ? piece.buffer->data() : scratch_.data() + piece.scratch_offset;
  }

  std::vector<uint8_t> scratch_;
  std::vector<Piece> pieces_;
  int64_t position_ = 0;
  bool closed_ = false;
};

// Writes a whole frame into `out`: header (magic, payload length, CRC) and the
// payload (per table its IPC stream, its length patched in afterwards).
arrow::Status EncodeFrame(const OtapBatch& batch, FrameStream* out) {
  const auto types = batch.payload_types();
  const uint8_t zero[kHeaderSize] = {};
  ARROW_RETURN_NOT_OK(out->Write(zero, sizeof(zero)));
  const uint8_t head[3] = {kVersion, static_cast<uint8_t>(batch.signal()),
                           static_cast<uint8_t>(types.size())};
  ARROW_RETURN_NOT_OK(out->Write(head, sizeof(head)));
  for (PayloadType type : types) {
    const auto& rb = batch.Get(type);
    const uint8_t sub[5] = {static_cast<uint8_t>(static_cast<int32_t>(type)), 0, 0, 0, 0};
    const size_t length_at = out->scratch_size() + 1;
    ARROW_ASSIGN_OR_RAISE(const int64_t start, out->Tell());
    ARROW_RETURN_NOT_OK(out->Write(sub, sizeof(sub)));
    ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(out, rb->schema()));
    ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*rb));
    ARROW_RETURN_NOT_OK(writer->Close());
    ARROW_ASSIGN_OR_RAISE(const int64_t end, out->Tell());
    const int64_t length = end - start - static_cast<int64_t>(sizeof(sub));
    if (length > std::numeric_limits<uint32_t>::max()) {
      return arrow::Status::CapacityError("WAL record: the ", TableName(type),
                                          " table takes ", length, " bytes (> 4 GiB)");
    }
    out->PatchU32(length_at, static_cast<uint32_t>(length));
  }
  ARROW_ASSIGN_OR_RAISE(const int64_t size, out->Tell());
  const int64_t payload = size - static_cast<int64_t>(kHeaderSize);
  if (payload > std::numeric_limits<uint32_t>::max()) {
    return arrow::Status::CapacityError("WAL record: ", payload, " bytes (> 4 GiB)");
  }
  out->PatchU32(0, kMagic);
  out->PatchU32(4, static_cast<uint32_t>(payload));
  out->PatchU32(kCrcOffset, out->Crc(kHeaderSize));
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Buffer>> EncodeBatch(const OtapBatch& batch) {
  FrameStream frame;
  ARROW_RETURN_NOT_OK(EncodeFrame(batch, &frame));
  return frame.Concatenate(kHeaderSize);
}

arrow::Result<OtapBatch> DecodeBatch(const std::shared_ptr<arrow::Buffer>& payload) {
  const uint8_t* p = payload->data();
  const int64_t size = payload->size();
  if (size < 3 || p[0] != kVersion || p[1] > static_cast<uint8_t>(Signal::kMetrics)) {
    return arrow::Status::Invalid("WAL record: bad header");
  }
  OtapBatch batch(static_cast<Signal>(p[1]));
  const int count = p[2];
  int64_t pos = 3;
  for (int i = 0; i < count; ++i) {
    if (size - pos < 5) return arrow::Status::Invalid("WAL record: truncated");
    const int type = p[pos];
    const int64_t len = GetU32(p + pos + 1);
    pos += 5;
    if (type >= kPayloadTypeSlots || len > size - pos) {
      return arrow::Status::Invalid("WAL record: bad payload type ", type, " or length");
    }
    // Arrays of the decoded batch point into this stream: it must start 8-byte
    // aligned (frames are packed; Arrow's buffers and our readers of them assume
    // alignment), else it is copied into an aligned buffer.
    std::shared_ptr<arrow::Buffer> stream = arrow::SliceBuffer(payload, pos, len);
    if (stream->address() % 8 != 0) {
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> aligned,
                            arrow::AllocateBuffer(len));
      std::memcpy(aligned->mutable_data(), stream->data(), static_cast<size_t>(len));
      stream = std::move(aligned);
    }
    auto reader_input = std::make_shared<arrow::io::BufferReader>(std::move(stream));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          arrow::ipc::RecordBatchStreamReader::Open(reader_input));
    ARROW_ASSIGN_OR_RAISE(auto rb, reader->Next());
    if (!rb) return arrow::Status::Invalid("WAL record: empty IPC stream");
    // The IPC reader checks the layout, not the values (offsets, dictionary
    // indices): a record that passed its CRC yet holds bad values (written by a
    // broken or incompatible version) is refused here, not handed to a writer that
    // would read out of bounds. Replay and Read only, never on the append path.
    if (auto st = rb->ValidateFull(); !st.ok()) {
      return st.WithMessage("WAL record: invalid ",
                            TableName(static_cast<PayloadType>(type)),
                            " table: ", st.message());
    }
    batch.Set(static_cast<PayloadType>(type), std::move(rb));
    pos += len;
  }
  return batch;
}

Wal::Wal(WalOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {
  if (!logger_) logger_ = spdlog::default_logger();
}

Wal::~Wal() {
  Close();
  DeleteDoomed();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string Wal::SegmentPath(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llu", static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name + std::string(kSegmentSuffix);
}

std::string Wal::DonePath(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llu", static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name + std::string(kDoneSuffix);
}

std::string Wal::PartsPath(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llu", static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name + std::string(kPartsSuffix);
}

arrow::Result<std::unique_ptr<Wal>> Wal::Open(WalOptions options,
                                              std::shared_ptr<spdlog::logger> logger) {
  if (options.dir.empty()) return arrow::Status::Invalid("WAL: empty directory path");
  if (options.segment_size <= 0 || options.max_size <= 0) {
    return arrow::Status::Invalid("WAL ", options.dir,
                                  ": segment_size and max_size must be > 0");
  }
  // Directories this Open creates: each one's entry is durable only once its parent
  // is synced, and a segment synced inside a directory that a power loss takes
  // away is lost with its acknowledged records.
  std::vector<std::string> created;
  std::error_code ec;
  for (std::filesystem::path d = std::filesystem::path(options.dir).lexically_normal();
       !d.empty() && d != d.parent_path() && !std::filesystem::exists(d, ec);
       d = d.parent_path()) {
    created.push_back(d.string());
  }
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return arrow::Status::IOError("WAL: cannot create directory ", options.dir, ": ",
                                  ec.message());
  }
  std::unique_ptr<Wal> wal(new Wal(std::move(options), std::move(logger)));
  if (wal->options_.fsync) {
    for (const auto& dir : created) {  // innermost first
      std::string parent = std::filesystem::path(dir).parent_path().string();
      if (parent.empty()) parent = ".";
      auto st = wal->SyncDir(parent);
      if (!st.ok()) {
        return st.WithMessage("WAL: created directory ", dir,
                              " not durable: ", st.message());
      }
    }
  }
  const std::string lock_path = wal->options_.dir + "/LOCK";
  wal->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (wal->lock_fd_ < 0) return Errno("cannot open lock file", lock_path, errno);
  if (::flock(wal->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      return arrow::Status::IOError("WAL directory ", wal->options_.dir,
                                    " is in use by another writer (", lock_path,
                                    " is locked); give each exporter its own wal.path");
    }
    return Errno("cannot lock", lock_path, err);
  }
  ARROW_RETURN_NOT_OK(wal->Recover());
  return wal;
}

arrow::Status Wal::Recover() {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(std::string(kSegmentSuffix) + ".salvage")) {
      // A salvage that a crash interrupted before its rename (the commit point):
      // its original is intact and salvaged again below.
      std::error_code rm;
      std::filesystem::remove(entry.path(), rm);
      logger_->warn("wal.salvage_leftover_removed file={}{}", entry.path().string(),
                    rm ? " error=\"" + rm.message() + "\"" : std::string());
      continue;
    }
    if (!name.ends_with(kSegmentSuffix)) continue;
    const std::string stem = name.substr(0, name.size() - kSegmentSuffix.size());
    if (stem.empty() || !std::all_of(stem.begin(), stem.end(), ::isdigit)) continue;
    seqs.push_back(std::stoull(stem));
  }
  if (ec) {
    return arrow::Status::IOError("WAL: cannot list ", options_.dir, ": ", ec.message());
  }
  std::sort(seqs.begin(), seqs.end());
  // Salvaged records of a corrupt segment go to a segment after all of these.
  if (!seqs.empty()) next_seq_ = seqs.back() + 1;
  for (uint64_t seq : seqs) ARROW_RETURN_NOT_OK(RecoverSegment(seq));
  return arrow::Status::OK();
}

arrow::Status Wal::RecoverSegment(uint64_t seq) {
  auto segment = std::make_shared<Segment>();
  segment->seq = seq;
  segment->path = SegmentPath(seq);
  segment->done_path = DonePath(seq);
  segment->parts_path = PartsPath(seq);
  segment->sealed = true;
  struct stat st {};
  if (::stat(segment->path.c_str(), &st) != 0) {
    return Errno("cannot stat", segment->path, errno);
  }
  segment->created =
      system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) +
          std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(segment->path));
  ARROW_ASSIGN_OR_RAISE(const int64_t size, file->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto data, file->Read(size));
  ARROW_RETURN_NOT_OK(file->Close());
  // Whole frames up to the first bad one stay in this segment. A bad frame followed
  // by a valid one later in the file is corruption of synced data (bit rot, a bad
  // sector), not a torn append: the valid frames after it are salvaged into a new
  // segment. Bad bytes with no valid frame after them are a torn tail.
  const uint8_t* bytes = data->data();
  const int64_t file_size = data->size();
  int64_t offset = 0;
  int64_t cut = -1;   // first corrupt byte (the file is truncated there)
  int64_t tail = -1;  // start of the torn tail
  std::string tail_reason;
  std::vector<CorruptRegion> regions;
  std::vector<std::pair<int64_t, uint32_t>> salvaged;  // (offset, payload size)
  while (offset < file_size) {
    uint32_t payload = 0;
    const std::string bad = CheckFrame(bytes, file_size, offset, &payload);
    if (bad.empty()) {
      if (cut < 0) {
        segment->offsets.push_back(offset);
      } else {
        salvaged.emplace_back(offset, payload);
      }
      offset += static_cast<int64_t>(kHeaderSize) + payload;
      continue;
    }
    const int64_t next = NextValidFrame(bytes, file_size, offset + 1);
    if (next < 0) {
      tail = offset;
      tail_reason = bad;
      break;
    }
    if (cut < 0) cut = offset;
    regions.push_back({offset, next - offset, bad});
    offset = next;
  }
  if (tail >= 0) {
    const int64_t dropped = file_size - tail;
    logger_->warn(
        "wal.torn_tail file={} offset={} dropped_bytes={} reason=\"{}\" (the frame at "
        "offset and everything after it are cut: an append that never completed)",
        segment->path, tail, dropped, tail_reason);
    ++torn_tails_;
    torn_bytes_ += dropped;
  }
  std::shared_ptr<Segment> salvage;
  if (cut >= 0) {
    ARROW_ASSIGN_OR_RAISE(salvage, Salvage(*segment, data, cut, regions, salvaged));
    segment->size = cut;
  } else {
    segment->size = tail >= 0 ? tail : file_size;
  }
  if (segment->size < file_size &&
      ::truncate(segment->path.c_str(), segment->size) != 0) {
    return Errno("cannot truncate", segment->path, errno);
  }
  segment->done.assign(segment->offsets.size(), false);
  if (!segment->offsets.empty()) segment->salt = FrameCrc(bytes);
  // Done marks: a partial last mark (crash mid-write) and marks that fail their
  // check (unsynced bytes shown as zeros or stale data after an OS crash) count as
  // not done.
  int64_t bad_marks = 0;
  const int dfd = ::open(segment->done_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (dfd >= 0) {
    uint8_t buf[4096];
    std::string rest;
    for (;;) {
      const ssize_t n = ::read(dfd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
      size_t i = 0;
      for (; i + kDoneMarkSize <= rest.size(); i += kDoneMarkSize) {
        const auto* mark = reinterpret_cast<const uint8_t*>(rest.data() + i);
        const uint32_t index = GetU32(mark);
        if (index >= segment->done.size() ||
            GetU32(mark + 4) != MarkCheck(kDoneTag, seq, segment->salt, index)) {
          ++bad_marks;
          continue;
        }
        if (!segment->done[index]) {
          segment->done[index] = true;
          ++segment->done_count;
        }
      }
      rest.erase(0, i);
    }
    ::close(dfd);
  }
  if (bad_marks > 0) {
    logger_->warn(
        "wal.bad_done_marks file={} marks={} (ignored: their records are replayed, a "
        "duplicate at worst)",
        segment->done_path, bad_marks);
  }
  LoadPublishedMarks(*segment);
  recovered_records_ += segment->live();
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_[seq] = segment;
    bytes_ += segment->size;
    MaybeDelete(segment);
    if (salvage) {
      // Replayed whole: its records' done marks in the original are keyed by
      // indexes the corrupt region makes unreliable (a duplicate, never a loss).
      recovered_records_ += salvage->live();
      segments_[salvage->seq] = salvage;
      bytes_ += salvage->size;
    }
  }
  DeleteDoomed();
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<Wal::Segment>> Wal::Salvage(
    const Segment& original, const std::shared_ptr<arrow::Buffer>& data, int64_t cut,
    const std::vector<CorruptRegion>& regions,
    const std::vector<std::pair<int64_t, uint32_t>>& frames) {
  const uint8_t* bytes = data->data();
  // The copy of the cut bytes is written after the salvaged segment is in place
  // (both names synced): finding it means a crash came between the salvage and the
  // truncation of the original, whose frames are already in a segment of their own
  // (salvaging them again would replay them twice).
  const std::string copy = original.path + ".corrupt-" + std::to_string(cut);
  // A copy of other bytes is from an earlier segment of the same number (numbers are
  // reused once a log is empty): salvaged again, never skipped.
  bool salvaged_before = false;
  {
    std::ifstream in(copy, std::ios::binary);
    std::string head((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    salvaged_before = !head.empty() &&
                      static_cast<int64_t>(head.size()) <= data->size() - cut &&
                      std::memcmp(head.data(), bytes + cut, head.size()) == 0;
  }
  // 1. The valid frames after the corrupt regions, in a new segment (written under a
  // temporary name: a crash before the rename leaves the original untouched, and
  // the next Open removes the leftover and salvages again).
  std::shared_ptr<Segment> salvage;
  if (!frames.empty() && !salvaged_before) {
    salvage = std::make_shared<Segment>();
    salvage->seq = next_seq_++;
    salvage->path = SegmentPath(salvage->seq);
    salvage->done_path = DonePath(salvage->seq);
    salvage->parts_path = PartsPath(salvage->seq);
    salvage->sealed = true;
    salvage->created = original.created;
    std::vector<struct iovec> iov;
    for (const auto& [offset, payload] : frames) {
      const int64_t frame = static_cast<int64_t>(kHeaderSize) + payload;
      iov.push_back({const_cast<uint8_t*>(bytes + offset), static_cast<size_t>(frame)});
      salvage->offsets.push_back(salvage->size);
      salvage->size += frame;
    }
    salvage->done.assign(salvage->offsets.size(), false);
    salvage->salt = FrameCrc(bytes + frames.front().first);
    const std::string tmp = salvage->path + ".salvage";
    for (size_t i = 0; i < iov.size(); i += 512) {  // IOV_MAX is 1024 on Linux
      ARROW_RETURN_NOT_OK(WriteSynced(
          tmp, iov.data() + i, static_cast<int>(std::min<size_t>(512, iov.size() - i)),
          /*append=*/i > 0));
    }
    ::unlink(salvage->done_path.c_str());  // a stale one would mark records done
    ::unlink(salvage->parts_path.c_str());
    if (::rename(tmp.c_str(), salvage->path.c_str()) != 0) {
      return Errno("cannot rename salvaged segment to", salvage->path, errno);
    }
    // Before the copy's name: the copy must never be durable without it.
    ARROW_RETURN_NOT_OK(SyncDir(options_.dir));
  }
  // 2. The bytes cut from the original, kept for the operator (written again after
  // a crash: an interrupted copy is then complete).
  {
    struct iovec iov[1] = {
        {const_cast<uint8_t*>(bytes + cut), static_cast<size_t>(data->size() - cut)}};
    ARROW_RETURN_NOT_OK(WriteSynced(copy, iov, 1));
  }
  // The new names must survive a crash before the original is truncated.
  ARROW_RETURN_NOT_OK(SyncDir(options_.dir));
  if (salvaged_before) {
    logger_->warn(
        "wal.salvage_resumed file={} offset={} (its records after offset were salvaged "
        "before a crash: the original is only truncated now)",
        original.path, cut);
    return salvage;  // null: the salvaged segment is recovered as any other
  }
  int64_t corrupt = 0;
  for (const auto& region : regions) {
    corrupt += region.size;
    logger_->error(
        "wal.corrupt_region file={} offset={} bytes={} reason=\"{}\" (acknowledged "
        "records in these bytes are lost; the valid records after them are kept)",
        original.path, region.offset, region.size, region.reason);
  }
  logger_->error(
      "wal.corrupt_segment file={} offset={} regions={} corrupt_bytes={} "
      "salvaged_records={} salvaged_to={} copy={} (truncated at offset; the salvaged "
      "records are replayed, the cut bytes are kept in the copy for inspection)",
      original.path, cut, regions.size(), corrupt, frames.size(),
      salvage ? salvage->path : std::string("-"), copy);
  corrupt_regions_ += static_cast<int64_t>(regions.size());
  corrupt_bytes_ += corrupt;
  salvaged_records_ += static_cast<int64_t>(frames.size());
  return salvage;
}

arrow::Status Wal::Replay(const std::function<arrow::Status(RecordId, OtapBatch)>& fn) {
  std::vector<std::shared_ptr<Segment>> recovered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [seq, segment] : segments_) {
      if (segment->fd < 0 && segment->live() > 0) recovered.push_back(segment);
    }
  }
  for (const auto& segment : recovered) {
    ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(segment->path));
    ARROW_ASSIGN_OR_RAISE(auto data, file->Read(segment->size));
    ARROW_RETURN_NOT_OK(file->Close());
    for (size_t i = 0; i < segment->offsets.size(); ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (segment->done[i]) continue;
      }
      const int64_t offset = segment->offsets[i];
      const uint32_t payload = GetU32(data->data() + offset + 4);
      // A copy of the record: the decoded arrays point into their buffer, and a
      // writer may hold a batch until its row group is full (RowGroupBuffer); a slice
      // of `data` would keep the whole segment in memory that long.
      ARROW_ASSIGN_OR_RAISE(
          auto record,
          data->CopySlice(offset + static_cast<int64_t>(kHeaderSize), payload));
      auto decoded = DecodeBatch(std::move(record));
      if (!decoded.ok()) {
        // Whole frame, valid CRC, yet unreadable (written by an incompatible
        // version?): kept on disk for inspection, never replayed, loudly.
        ++replay_errors_;
        logger_->error(
            "wal.replay_failed file={} record={} offset={} error=\"{}\" (the record is "
            "not written to the dataset; its segment is kept)",
            segment->path, i, offset, decoded.status().ToString());
        continue;
      }
      ARROW_RETURN_NOT_OK(
          fn(RecordId{segment->seq, static_cast<uint32_t>(i)}, std::move(*decoded)));
    }
  }
  return arrow::Status::OK();
}

bool Wal::full() const { return bytes_.load() >= options_.max_size; }

arrow::Status Wal::SyncDir(const std::string& path) const {
  if (options_.sync_dir_for_testing) return options_.sync_dir_for_testing(path);
  return util::FsyncPath(path, /*directory=*/true);
}

arrow::Status Wal::StartSegment() {
  auto segment = std::make_shared<Segment>();
  segment->seq = next_seq_++;
  segment->path = SegmentPath(segment->seq);
  segment->done_path = DonePath(segment->seq);
  segment->parts_path = PartsPath(segment->seq);
  segment->created = system_clock::now();
  segment->fd = ::open(segment->path.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (segment->fd < 0) return Errno("cannot create segment", segment->path, errno);
  ::unlink(segment->done_path.c_str());  // a stale one would mark new records done
  ::unlink(segment->parts_path.c_str());
  if (options_.fsync) {
    // The new name must survive a crash with the records in it: without it, the
    // records' fdatasync vouches for nothing and must not lead to an Ack.
    auto st = SyncDir(options_.dir);
    if (!st.ok()) {
      ::close(segment->fd);
      segment->fd = -1;
      ::unlink(segment->path.c_str());
      return st.WithMessage("WAL: new segment ", segment->path,
                            " not durable: ", st.message());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  segments_[segment->seq] = segment;
  active_ = std::move(segment);
  return arrow::Status::OK();
}

void Wal::SealActive() {
  // mu_ held.
  if (!active_) return;
  auto segment = std::move(active_);
  active_.reset();
  segment->sealed = true;
  MaybeDelete(segment);
}

void Wal::MaybeDelete(const std::shared_ptr<Segment>& segment) {
  // mu_ held. The files are removed by DeleteDoomed, outside mu_: unlinking a
  // 64 MiB segment can take milliseconds, and the appender and the sync thread
  // (the next Acks) wait for mu_.
  if (!segment->sealed || segment->unsynced > 0 || segment->live() > 0) return;
  if (segments_.erase(segment->seq) == 0) return;  // already doomed
  bytes_ -= segment->size;
  doomed_.push_back(segment);
}

void Wal::DeleteDoomed() {
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    doomed.swap(doomed_);
  }
  for (const auto& segment : doomed) {
    if (options_.before_delete_for_testing) {
      options_.before_delete_for_testing(segment->path);
    }
    if (::unlink(segment->path.c_str()) != 0 && errno != ENOENT) {
      // Its done marks stay: the next Open finds every record done and deletes it.
      logger_->warn("wal.delete_failed file={} error={}", segment->path,
                    std::strerror(errno));
      continue;
    }
    ::unlink(segment->done_path.c_str());
    ::unlink(segment->parts_path.c_str());
    ++segments_deleted_;
  }
}

arrow::Result<RecordId> Wal::Append(const OtapBatch& batch, DurableCallback on_durable) {
  if (full()) {
    ++refused_full_;
    return arrow::Status::CapacityError("WAL ", options_.dir, " is full: ", bytes_.load(),
                                        " bytes of unpublished segments >= max_size ",
                                        options_.max_size);
  }
  FrameStream frame_stream;
  ARROW_RETURN_NOT_OK(EncodeFrame(batch, &frame_stream));
  std::shared_ptr<Segment> segment;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ && active_->size >= options_.segment_size) SealActive();
    segment = active_;
  }
  DeleteDoomed();
  if (!segment) {
    auto st = StartSegment();
    if (!st.ok()) {
      ++append_errors_;
      return st;
    }
    std::lock_guard<std::mutex> lock(mu_);
    segment = active_;
  }
  std::vector<struct iovec> iov = frame_stream.Iovecs();
  const int64_t offset = segment->size;
  auto st =
      WriteAll(segment->fd, iov.data(), static_cast<int>(iov.size()), segment->path);
  ARROW_ASSIGN_OR_RAISE(const int64_t frame, frame_stream.Tell());
  std::lock_guard<std::mutex> lock(mu_);
  if (!st.ok()) {
    ++append_errors_;
    // Part of the frame may be on disk: cut it (recovery would cut it as a torn
    // tail anyway) and write no more into this segment.
    if (::ftruncate(segment->fd, offset) != 0) {
      logger_->warn("wal.truncate_failed file={} offset={} error={}", segment->path,
                    offset, std::strerror(errno));
    }
    if (segment == active_) SealActive();
    return st.WithMessage(st.message(), " at offset ", offset);
  }
  if (segment->offsets.empty()) segment->salt = FrameCrc(frame_stream.head());
  segment->offsets.push_back(offset);
  segment->done.push_back(false);
  segment->size += frame;
  segment->unsynced++;
  bytes_ += frame;
  ++appends_;
  append_bytes_ += frame;
  queue_.push_back({segment, std::move(on_durable)});
  if (!sync_thread_.joinable()) sync_thread_ = std::thread([this] { SyncLoop(); });
  cv_.notify_one();
  return RecordId{segment->seq, static_cast<uint32_t>(segment->offsets.size() - 1)};
}

void Wal::SyncLoop() {
  for (;;) {
    std::deque<PendingSync> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    // One fdatasync per segment covers every write that returned before it.
    std::vector<std::pair<Segment*, arrow::Status>> results;
    for (const auto& pending : batch) {
      Segment* segment = pending.segment.get();
      if (std::any_of(results.begin(), results.end(),
                      [&](const auto& r) { return r.first == segment; })) {
        continue;
      }
      arrow::Status st;
      bool failed_before = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        failed_before = segment->sync_failed;
      }
      if (failed_before) {
        // Appended before the failure sealed the segment. Linux reports a writeback
        // error once: a new fdatasync may succeed although earlier bytes of the file
        // are lost, and recovery cuts the segment at the first bad frame.
        st = arrow::Status::IOError("WAL ", segment->path,
                                    ": an earlier fdatasync of the segment failed");
      } else if (options_.fail_sync_for_testing) {
        st = options_.fail_sync_for_testing();
      } else if (options_.fsync && ::fdatasync(segment->fd) != 0) {
        st = Errno("fdatasync of", segment->path, errno);
      }
      if (!failed_before) ++syncs_;
      if (!st.ok()) {
        ++sync_errors_;
        logger_->error(
            "wal.sync_failed file={} error=\"{}\" (segment sealed; its unsynced records "
            "are refused, a new segment takes the next appends)",
            segment->path, st.ToString());
        std::lock_guard<std::mutex> lock(mu_);
        segment->sync_failed = true;
        if (pending.segment == active_) SealActive();
      }
      results.emplace_back(segment, std::move(st));
    }
    for (auto& pending : batch) {
      for (const auto& [segment, st] : results) {
        if (segment == pending.segment.get()) {
          if (pending.callback) pending.callback(st);
          break;
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& pending : batch) {
        pending.segment->unsynced--;
        MaybeDelete(pending.segment);
      }
    }
    DeleteDoomed();
  }
}

void Wal::MarkDone(RecordId id) {
  SetDone(id);
  DeleteDoomed();
}

void Wal::SetDone(RecordId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.find(id.segment);
  if (it == segments_.end()) return;
  auto segment = it->second;
  if (id.index >= segment->done.size() || segment->done[id.index]) return;
  segment->done[id.index] = true;
  segment->done_count++;
  segment->published.erase(id.index);
  segment->intents.erase(id.index);
  if (segment->live() == 0 && segment->sealed && segment->unsynced == 0) {
    MaybeDelete(segment);  // the whole segment goes: no mark needed
    return;
  }
  if (options_.before_mark_for_testing && !options_.before_mark_for_testing("done")) {
    MaybeDelete(segment);
    return;
  }
  if (segment->done_fd < 0) {
    segment->done_fd = ::open(segment->done_path.c_str(),
                              O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  uint8_t mark[kDoneMarkSize];
  PutU32(mark, id.index);
  PutU32(mark + 4, MarkCheck(kDoneTag, segment->seq, segment->salt, id.index));
  if (segment->done_fd < 0 || ::write(segment->done_fd, mark, kDoneMarkSize) !=
                                  static_cast<ssize_t>(kDoneMarkSize)) {
    // Only costs a duplicate after a restart (the record is replayed).
    if (++done_mark_errors_ == 1) {
      logger_->warn("wal.done_mark_failed file={} error={}", segment->done_path,
                    std::strerror(errno));
    }
  }
  MaybeDelete(segment);
}

void Wal::LoadPublishedMarks(Segment& segment) {
  std::ifstream in(segment.parts_path, std::ios::binary);
  if (!in) return;
  const std::string data((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < kPartsHeaderSize) break;
    const uint32_t index = GetU32(p + at);
    const bool intent = (GetU32(p + at + 4) & kIntentFlag) != 0;
    const uint32_t length = GetU32(p + at + 4) & ~kIntentFlag;
    if (length > kMaxPartsPayload ||
        data.size() - at - kPartsHeaderSize < static_cast<size_t>(length) + 4) {
      break;
    }
    const std::string_view payload(data.data() + at + kPartsHeaderSize, length);
    if (index >= segment.done.size() ||
        GetU32(p + at + kPartsHeaderSize + length) !=
            MarkCheck(intent ? kIntentTag : kPartTag, segment.seq, segment.salt, index,
                      payload)) {
      break;
    }
    at += kPartsHeaderSize + length + 4;
    if (segment.done[index]) continue;
    if (intent) {
      const size_t nul = payload.find('\0');
      if (nul == std::string_view::npos) continue;  // not written by MarkPublishing
      PublishIntent entry{std::string(payload.substr(0, nul)),
                          std::string(payload.substr(nul + 1))};
      auto& intents = segment.intents[index];
      if (std::find(intents.begin(), intents.end(), entry) == intents.end()) {
        intents.push_back(std::move(entry));
      }
      continue;
    }
    auto& parts = segment.published[index];
    if (std::find(parts.begin(), parts.end(), payload) == parts.end()) {
      parts.emplace_back(payload);
    }
  }
  if (at < data.size()) {
    logger_->warn(
        "wal.bad_parts_marks file={} offset={} ignored_bytes={} (the partitions named "
        "from there on are written again at replay, a duplicate at worst)",
        segment.parts_path, at, data.size() - at);
    // Cut, so that marks this run appends are read after the next restart.
    if (::truncate(segment.parts_path.c_str(), static_cast<off_t>(at)) != 0) {
      ::unlink(segment.parts_path.c_str());
      segment.published.clear();
      segment.intents.clear();
    }
  }
}

void Wal::AppendPartsMark(RecordId id, uint32_t kind, std::string_view payload) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.find(id.segment);
  if (it == segments_.end()) return;
  Segment& segment = *it->second;
  if (id.index >= segment.done.size() || segment.done[id.index]) return;
  if (payload.size() > kMaxPartsPayload) return;  // replayed whole: a duplicate
  if (segment.parts_fd < 0) {
    segment.parts_fd = ::open(segment.parts_path.c_str(),
                              O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  const auto length = static_cast<uint32_t>(payload.size());
  std::string mark(kPartsHeaderSize + payload.size() + 4, '\0');
  auto* p = reinterpret_cast<uint8_t*>(mark.data());
  PutU32(p, id.index);
  PutU32(p + 4, kind == kIntentTag ? length | kIntentFlag : length);
  std::memcpy(p + kPartsHeaderSize, payload.data(), payload.size());
  PutU32(p + kPartsHeaderSize + payload.size(),
         MarkCheck(kind, segment.seq, segment.salt, id.index, payload));
  // One write() with O_APPEND: a crash leaves the mark whole or torn at the end.
  if (segment.parts_fd < 0 || ::write(segment.parts_fd, mark.data(), mark.size()) !=
                                  static_cast<ssize_t>(mark.size())) {
    if (++done_mark_errors_ == 1) {
      logger_->warn("wal.parts_mark_failed file={} error={}", segment.parts_path,
                    std::strerror(errno));
    }
  }
}

void Wal::MarkPublished(RecordId id, const std::string& partition) {
  if (options_.before_mark_for_testing &&
      !options_.before_mark_for_testing("published")) {
    return;
  }
  AppendPartsMark(id, kPartTag, partition);
}

void Wal::MarkPublishing(RecordId id, const std::string& partition,
                         const std::string& commit_file) {
  if (partition.find('\0') != std::string::npos) return;  // cannot be framed
  AppendPartsMark(id, kIntentTag, partition + '\0' + commit_file);
}

std::vector<PublishIntent> Wal::PublishIntents(RecordId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.find(id.segment);
  if (it == segments_.end()) return {};
  const Segment& segment = *it->second;
  auto found = segment.intents.find(id.index);
  if (found == segment.intents.end()) return {};
  std::vector<PublishIntent> out;
  auto published = segment.published.find(id.index);
  for (const auto& intent : found->second) {
    if (published != segment.published.end() &&
        std::find(published->second.begin(), published->second.end(), intent.partition) !=
            published->second.end()) {
      continue;
    }
    out.push_back(intent);
  }
  return out;
}

std::vector<std::string> Wal::PublishedPartitions(RecordId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.find(id.segment);
  if (it == segments_.end()) return {};
  auto found = it->second->published.find(id.index);
  if (found == it->second->published.end()) return {};
  return found->second;
}

arrow::Result<OtapBatch> Wal::Read(RecordId id) {
  std::string path;
  int64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = segments_.find(id.segment);
    if (it == segments_.end() || id.index >= it->second->offsets.size()) {
      return arrow::Status::KeyError("WAL ", options_.dir, ": no record ", id.segment,
                                     ":", id.index);
    }
    path = it->second->path;
    offset = it->second->offsets[id.index];
  }
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto header, file->ReadAt(offset, kHeaderSize));
  if (header->size() != static_cast<int64_t>(kHeaderSize) ||
      GetU32(header->data()) != kMagic) {
    return arrow::Status::IOError("WAL ", path, ": bad frame at offset ", offset);
  }
  const uint32_t size = GetU32(header->data() + 4);
  ARROW_ASSIGN_OR_RAISE(auto payload, file->ReadAt(offset + kHeaderSize, size));
  if (payload->size() != size ||
      Crc32(payload->data(), payload->size()) != FrameCrc(header->data())) {
    return arrow::Status::IOError("WAL ", path, ": crc mismatch at offset ", offset);
  }
  auto decoded = DecodeBatch(payload);
  if (!decoded.ok()) {
    return decoded.status().WithMessage("WAL ", path, " offset ", offset, ": ",
                                        decoded.status().message());
  }
  return decoded;
}

void Wal::Reclaim() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ && active_->live() == 0) SealActive();
  }
  DeleteDoomed();
}

void Wal::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
}

WalMetrics Wal::metrics() const {
  WalMetrics m;
  m.bytes = bytes_.load();
  m.appends = appends_.load();
  m.append_bytes = append_bytes_.load();
  m.syncs = syncs_.load();
  m.sync_errors = sync_errors_.load();
  m.append_errors = append_errors_.load();
  m.refused_full = refused_full_.load();
  m.segments_deleted = segments_deleted_.load();
  m.done_mark_errors = done_mark_errors_.load();
  std::lock_guard<std::mutex> lock(mu_);
  m.torn_tails = torn_tails_;
  m.torn_bytes = torn_bytes_;
  m.corrupt_regions = corrupt_regions_;
  m.corrupt_bytes = corrupt_bytes_;
  m.salvaged_records = salvaged_records_;
  m.recovered_records = recovered_records_;
  m.replay_errors = replay_errors_.load();
  m.segments = static_cast<int64_t>(segments_.size());
  const auto now = system_clock::now();
  for (const auto& [seq, segment] : segments_) {
    m.live_records += segment->live();
    if (segment->live() > 0 && m.oldest_live_age_ms == 0) {
      m.oldest_live_age_ms = std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(now - segment->created)
                 .count());
    }
  }
  return m;
}

}  // namespace otap_parquet::wal
