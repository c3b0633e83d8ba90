// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/pdata/otap_batch.h"

namespace spdlog {
class logger;
}

/// \file
/// A write-ahead log of OtapBatches (docs/operations.md, "Durability").
///
/// A WAL directory holds numbered segments `<seq>.wal` of framed records
/// `[magic u32 | payload length u32 | crc32(payload) u32 | payload]` (little endian),
/// one OtapBatch per record: a version byte, the signal, then per payload type its
/// type and one Arrow IPC stream (schema, dictionaries, the record batch). Appends
/// are sequential writev()s (the column buffers as they are, no frame buffer); durability
/// is by group commit: a background thread fdatasyncs the segment once for every append
/// queued since its last sync, then runs their callbacks. A record is *done* once the
/// caller says its rows are published elsewhere (MarkDone); done marks (index and a check
/// over the segment and the index) go to the segment's `<seq>.done` side file (appended,
/// never fsynced: a mark lost, zeroed or garbled in an OS crash fails its check, so the
/// record is only replayed once more, never skipped). A record spread over several
/// partitions of the dataset can be published in some of them and not yet (or not,
/// after a failure) in others: MarkPublished notes each such partition in the
/// segment's `<seq>.parts` side file (appended, never fsynced, checked like the done
/// marks), and PublishedPartitions gives them back after a restart so that the
/// record's replay skips them. Before a publish starts, MarkPublishing notes there
/// which file completes it (an intent): a kill between the publish and its marks
/// leaves the intent, and PublishIntents gives it back so that the caller can check
/// whether that file exists. A sealed segment (rolled over at segment_size, or
/// found at Open) is deleted, with its side files, once all its records are done and
/// synced.
///
/// Open() takes an exclusive flock on `<dir>/LOCK` (a second process, or a second
/// Wal on the same directory, fails with a clear error) and reads every segment
/// back: frames are checked, and the first bad frame (short, wrong magic, wrong
/// CRC) ends the segment: the file is truncated there. When no valid frame follows
/// it is a torn tail (counted and logged with file and offset); when one does, the
/// bad bytes are corruption of synced records: the valid frames after them are
/// copied into a new segment (replayed whole), the cut bytes kept in
/// `<seq>.wal.corrupt-<offset>`, and the regions logged as errors and counted.
/// Records not marked done are then handed out by Replay().
///
/// Threading: Append, MarkDone, Replay, Read, Reclaim run on one owner thread;
/// callbacks of Append run on the sync thread; metrics() from any thread. The
/// log's mutex is held only for bookkeeping: writes, fdatasyncs and the unlink of
/// a done segment (milliseconds for 64 MiB on ext4) run outside it, so neither
/// thread waits for the other's I/O.

namespace otap_parquet::wal {

struct WalOptions {
  /// Directory of this log (created if missing).
  std::string dir;
  /// A segment is sealed and a new one started once it holds this many bytes.
  int64_t segment_size = 64LL << 20;
  /// Bytes of live segments (not yet deleted) at or above which Append refuses.
  int64_t max_size = 1LL << 30;
  /// fdatasync appends before their callbacks (off only in tests / benchmarks).
  bool fsync = true;
  /// Test only: fdatasync fails with this error instead of running.
  std::function<arrow::Status()> fail_sync_for_testing;
  /// Test only: runs before a done segment's file is unlinked.
  std::function<void(const std::string& path)> before_delete_for_testing;
  /// Test only: runs instead of each directory fsync (of `dir` when a segment is
  /// created or salvaged, of the parents of directories Open creates).
  std::function<arrow::Status(const std::string& path)> sync_dir_for_testing;
  /// Test only: runs before each done mark ("done") and published-partition mark
  /// ("published") is written; false drops the mark (as a kill just before it).
  std::function<bool(std::string_view kind)> before_mark_for_testing;
};

/// \brief Where one record lives: segment sequence number and index in it.
struct RecordId {
  uint64_t segment = 0;
  uint32_t index = 0;
  auto operator<=>(const RecordId&) const = default;
};

/// \brief A publish that a record's rows in `partition` take part in (MarkPublishing).
struct PublishIntent {
  std::string partition;
  /// The file whose appearance completes the publish (the last one renamed or
  /// uploaded), as the caller named it.
  std::string commit_file;
  bool operator==(const PublishIntent&) const = default;
};

/// \brief Counters and gauges of one log (read from any thread).
struct WalMetrics {
  int64_t bytes = 0;               ///< bytes of live segments
  int64_t segments = 0;            ///< live segments (incl. the active one)
  int64_t live_records = 0;        ///< records not done
  int64_t oldest_live_age_ms = 0;  ///< age of the oldest segment with live records
  int64_t appends = 0;
  int64_t append_bytes = 0;
  int64_t syncs = 0;  ///< fdatasync calls
  int64_t sync_errors = 0;
  int64_t append_errors = 0;
  int64_t refused_full = 0;  ///< appends refused because max_size was reached
  int64_t segments_deleted = 0;
  int64_t torn_tails = 0;         ///< segments truncated at Open
  int64_t torn_bytes = 0;         ///< bytes cut by those truncations
  int64_t corrupt_regions = 0;    ///< bad bytes followed by valid frames, at Open
  int64_t corrupt_bytes = 0;      ///< bytes of those regions (their records are lost)
  int64_t salvaged_records = 0;   ///< valid records after them, moved to a new segment
  int64_t recovered_records = 0;  ///< records found at Open not done yet
  int64_t done_mark_errors = 0;   ///< failed writes of `.done` or `.parts` marks
  int64_t replay_errors = 0;      ///< whole records Replay could not decode (kept)
};

/// \brief Serializes a batch as a WAL record payload (no frame).
arrow::Result<std::shared_ptr<arrow::Buffer>> EncodeBatch(const OtapBatch& batch);
/// \brief Reads a payload of EncodeBatch back (the arrays share its memory).
arrow::Result<OtapBatch> DecodeBatch(const std::shared_ptr<arrow::Buffer>& payload);
/// \brief The CRC-32 of frames and marks (zlib's crc32: the gzip polynomial,
/// reflected), continuing `seed` (the CRC of the bytes before them; 0 to start).
uint32_t Crc32(const void* bytes, int64_t size, uint32_t seed = 0);

/// \brief Called on the sync thread once the record is durable (OK) or its sync
/// failed (the segment is then sealed; the record may or may not be on disk; every
/// record of the segment not synced before the failure gets an error too).
using DurableCallback = std::function<void(const arrow::Status&)>;

class Wal {
 public:
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  /// \brief Locks `options.dir`, recovers its segments (truncating torn tails) and
  /// reads the done marks. No segment is created until the first Append.
  static arrow::Result<std::unique_ptr<Wal>> Open(WalOptions options,
                                                  std::shared_ptr<spdlog::logger> logger);

  /// \brief Calls `fn` for every recovered record not marked done, in log order
  /// (one segment in memory at a time). Stops at the first error of `fn`; a record
  /// that cannot be decoded is logged, counted (replay_errors) and left live (its
  /// segment stays on disk).
  arrow::Status Replay(const std::function<arrow::Status(RecordId, OtapBatch)>& fn);

  /// \brief Whether live segments hold max_size bytes or more.
  bool full() const;

  /// \brief Writes `batch` as a record (rolling over to a new segment first when
  /// the active one reached segment_size) and queues its sync; `on_durable` runs on
  /// the sync thread. CapacityError when full() (counted), IOError when the write
  /// failed (the active segment is sealed; the next Append starts a new one).
  arrow::Result<RecordId> Append(const OtapBatch& batch, DurableCallback on_durable);

  /// \brief The record's rows are published: it will not be replayed; its segment
  /// is deleted once sealed and every record in it is done.
  void MarkDone(RecordId id);

  /// \brief The record's rows in dataset partition `partition` are published
  /// although the record is not done (its other partitions are not): appended to the
  /// segment's `.parts` file, not fsynced (a mark lost in an OS crash only costs a
  /// duplicate of that partition). Owner thread.
  void MarkPublished(RecordId id, const std::string& partition);

  /// \brief The partitions MarkPublished noted for a record recovered at Open (a
  /// mark that fails its check, and every mark after it in its file, is left out:
  /// those partitions are written again, a duplicate at worst). Owner thread.
  std::vector<std::string> PublishedPartitions(RecordId id) const;

  /// \brief The record's rows in `partition` are about to be published, complete
  /// once `commit_file` exists: appended to the segment's `.parts` file before the
  /// publish starts (not fsynced, checked like the other marks: a lost or bad intent
  /// only costs a duplicate). Owner thread.
  void MarkPublishing(RecordId id, const std::string& partition,
                      const std::string& commit_file);

  /// \brief The intents MarkPublishing noted for a record recovered at Open, but
  /// for partitions PublishedPartitions already names (read like those). Owner
  /// thread.
  std::vector<PublishIntent> PublishIntents(RecordId id) const;

  /// \brief Reads a live record back from its segment (for a re-write after a
  /// failed flush).
  arrow::Result<OtapBatch> Read(RecordId id);

  /// \brief Seals the active segment when all its records are done, so that it is
  /// deleted (frees space when full).
  void Reclaim();

  /// \brief Waits for queued syncs (their callbacks run) and stops the sync thread.
  void Close();

  WalMetrics metrics() const;
  const std::string& dir() const { return options_.dir; }
  const WalOptions& options() const { return options_; }

  struct Segment;  ///< implementation detail

 private:
  Wal(WalOptions options, std::shared_ptr<spdlog::logger> logger);

  arrow::Status Recover();
  arrow::Status RecoverSegment(uint64_t seq);
  struct CorruptRegion {
    int64_t offset = 0;
    int64_t size = 0;
    std::string reason;
  };
  /// Keeps the bytes of `original` from `cut` on in `<path>.corrupt-<cut>` and
  /// copies `frames` (offset, payload size in `data`) into a new, synced segment
  /// (null when there are none); counts and logs the corrupt regions.
  arrow::Result<std::shared_ptr<Segment>> Salvage(
      const Segment& original, const std::shared_ptr<arrow::Buffer>& data, int64_t cut,
      const std::vector<CorruptRegion>& regions,
      const std::vector<std::pair<int64_t, uint32_t>>& frames);
  arrow::Status StartSegment();
  /// fsync of a directory (or options_.sync_dir_for_testing).
  arrow::Status SyncDir(const std::string& path) const;
  void SealActive();
  /// Drops a sealed segment whose records are all done and synced from the log
  /// (mu_ held); its files go in the next DeleteDoomed.
  void MaybeDelete(const std::shared_ptr<Segment>& segment);
  /// Unlinks the segments MaybeDelete dropped (mu_ not held).
  void DeleteDoomed();
  void SetDone(RecordId id);
  void SyncLoop();
  std::string SegmentPath(uint64_t seq) const;
  std::string DonePath(uint64_t seq) const;
  std::string PartsPath(uint64_t seq) const;
  /// Reads a recovered segment's `.parts` marks of records not done.
  void LoadPublishedMarks(Segment& segment);
  /// Appends a `.parts` mark of `kind` (published or intent) with `payload`.
  void AppendPartsMark(RecordId id, uint32_t kind, std::string_view payload);

  WalOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  int lock_fd_ = -1;

  /// Guards segments_, the segments' done/sync state and the sync queue.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<Segment>> segments_;
  std::shared_ptr<Segment> active_;
  /// Dropped segments whose files are not unlinked yet.
  std::vector<std::shared_ptr<Segment>> doomed_;
  uint64_t next_seq_ = 1;
  struct PendingSync {
    std::shared_ptr<Segment> segment;
    DurableCallback callback;
  };
  std::deque<PendingSync> queue_;
  bool stop_ = false;
  std::thread sync_thread_;

  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> appends_{0};
  std::atomic<int64_t> append_bytes_{0};
  std::atomic<int64_t> syncs_{0};
  std::atomic<int64_t> sync_errors_{0};
  std::atomic<int64_t> append_errors_{0};
  std::atomic<int64_t> refused_full_{0};
  std::atomic<int64_t> segments_deleted_{0};
  std::atomic<int64_t> done_mark_errors_{0};
  std::atomic<int64_t> replay_errors_{0};
  int64_t torn_tails_ = 0;
  int64_t torn_bytes_ = 0;
  int64_t corrupt_regions_ = 0;
  int64_t corrupt_bytes_ = 0;
  int64_t salvaged_records_ = 0;
  int64_t recovered_records_ = 0;
};

}  // namespace otap_parquet::wal
