// A hierarchical timer wheel (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels", 1987;
// the layout and the level arithmetic follow tokio's `runtime/time/wheel`).
//
// Time is counted in ticks of one microsecond of the loop clock (`uv_hrtime`). A timer due at
// `when` seconds gets the key `floor(when * 1e6) + 1`: the first tick at which `when` has surely
// passed. `Advance(now)` fires every key <= now, so a timer never fires before its `when`
// (by the clock JS reads afterwards), and at most one tick plus the iteration's latency late.
//
// Levels: 8 levels of 64 slots. A slot of level L spans 64^L ticks, the level 64^(L+1):
//
//   level  slot span          level span
//     0        1 us               64 us
//     1       64 us              4.1 ms
//     2      4.1 ms              262 ms
//     3      262 ms             16.8 s
//     4     16.8 s              17.9 min
//     5     17.9 min            19.1 h
//     6     19.1 h              50.9 days
//     7     50.9 days            8.9 years
//
// A timer goes to the level of the highest 6-bit digit in which its key differs from `elapsed`
// (the tick up to which the wheel has fired), into the slot named by its key's digit there. That
// slot is then ahead of `elapsed` within the level's current rotation, so the earliest pending
// expiry is found from the lowest non-empty level alone (one bitmask and a count-trailing-zeros
// per level). When `elapsed` reaches a slot's start the slot is taken whole: keys equal to the
// start fire, the rest drop to lower levels. A timer moves at most once per level (at most 8
// times; 2-3 for the delays programs use). Keys past the top level's rotation wait in an
// overflow list that is re-sorted into the levels when `elapsed` enters the next rotation.
//
// Slots are vectors of items (when, seq, id, generation), not intrusive lists: a slot is taken
// and re-placed by sequential passes over contiguous memory. Measured on this machine (1M timers
// over 50 ms): intrusive doubly linked lists over an entry table cost 40-58 ns per insert and
// 205-225 ns per timer to cascade and fire (a cache miss per hop); vectors cost a fraction of
// that. Insert is an append: O(1). Cancel is O(1) too: it bumps the id's generation, which
// turns the item still sitting in its slot into garbage, dropped when its slot fires, or by a
// sweep of all slots once garbage outnumbers live timers (amortized O(1), like asyncio's heap
// clean-up of cancelled timers).
//
// Order: keys of a fired slot are all equal, and slots fire in key order, so sorting each fired
// slot's timers by (when, seq) gives `when` order with ties in scheduling order. Timers inserted
// with a key already <= elapsed (a `when` in the past) go to an expired list that fires first:
// their `when`s are all below any key still in the wheel.
#ifndef ALOOP_TIMER_WHEEL_H_
#define ALOOP_TIMER_WHEEL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aloop {

class TimerWheel {
 public:
  static constexpr unsigned kSlotBits = 6;
  static constexpr unsigned kSlots = 1u << kSlotBits;
  static constexpr uint64_t kSlotMask = kSlots - 1;
  static constexpr unsigned kLevels = 8;
  /** Keys within this many ticks of `elapsed` fit in the levels; farther ones overflow. */
  static constexpr unsigned kWheelBits = kSlotBits * kLevels;
  static constexpr double kTicksPerSecond = 1e6;
  /** Keys saturate here (about 146,000 years): `Infinity` and huge `when`s never fire. */
  static constexpr uint64_t kMaxKey = uint64_t{1} << 62;
  static_assert(kWheelBits < 62, "the levels must fit below kMaxKey");

  explicit TimerWheel(uint64_t now_tick);

  /** The first tick at which `when` (seconds) has passed. */
  static uint64_t KeyOf(double when);

  /** Adds timer `id` (>= 0, not present) due at `when` seconds. */
  void Insert(int32_t id, double when);
  /** Removes timer `id`; nothing happens if it is not in the wheel. */
  void Cancel(int32_t id);
  /**
   * Removes every timer with key <= now and appends its id to `out`, in (when, seq) order.
   * `now` below the last `now` is treated as the last one.
   */
  void Advance(uint64_t now, std::vector<int32_t>& out);
  /**
   * The tick by which `Advance` next has work (a timer fires or a slot cascades), or
   * UINT64_MAX when the wheel is empty. Waking then may find nothing due yet: re-arm.
   */
  uint64_t NextDeadline() const;

  size_t size() const { return size_; }
  uint64_t elapsed() const { return elapsed_; }

 private:
  // List indices: kLevels * kSlots wheel slots, then the expired and the overflow lists.
  static constexpr int32_t kExpiredList = kLevels * kSlots;
  static constexpr int32_t kOverflowList = kExpiredList + 1;
  static constexpr int32_t kLists = kOverflowList + 1;
  /** Below this much garbage no sweep is worth it. */
  static constexpr size_t kMinSweep = 1024;

  struct Item {
    double when;
    uint64_t seq;
    int32_t id;
    uint32_t gen;
  };

  /** Per timer id: the generation of its live item, and whether it is in the wheel. */
  struct Timer {
    uint32_t gen;
    uint32_t live;
  };

  struct Expiration {
    int32_t list;
    uint64_t deadline;
  };

  static constexpr uint64_t SlotSpan(unsigned level) { return uint64_t{1} << (kSlotBits * level); }
  static constexpr uint64_t LevelSpan(unsigned level) { return uint64_t{1} << (kSlotBits * (level + 1)); }

  void Place(const Item& item);
  bool NextExpiration(Expiration* out) const;
  void Take(int32_t list);
  void Fire(std::vector<Item>& items, std::vector<int32_t>& out);
  void Sweep();

  std::vector<Item> lists_[kLists];
  uint64_t occupied_[kLevels];
  std::vector<Timer> timers_;
  uint64_t elapsed_;
  uint64_t next_seq_ = 0;
  size_t size_ = 0;
  size_t garbage_ = 0;
  std::vector<Item> taken_;
  std::vector<Item> fired_;
};

}  // namespace aloop

#endif  // ALOOP_TIMER_WHEEL_H_
