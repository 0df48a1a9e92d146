// The hierarchical timer wheel; the design is in timer_wheel.h.
#include "timer_wheel.h"

#include <algorithm>

namespace aloop {

namespace {

inline unsigned HighestBit(uint64_t x) {  // x != 0
  return 63u - static_cast<unsigned>(__builtin_clzll(x));
}

inline unsigned LowestBit(uint64_t x) {  // x != 0
  return static_cast<unsigned>(__builtin_ctzll(x));
}

}  // namespace

TimerWheel::TimerWheel(uint64_t now_tick) : elapsed_(now_tick) {
  std::fill(std::begin(occupied_), std::end(occupied_), uint64_t{0});
}

uint64_t TimerWheel::KeyOf(double when) {
  const double t = when * kTicksPerSecond;
  if (!(t >= 0)) return 0;  // in the past (or NaN): due at once
  if (t >= static_cast<double>(kMaxKey)) return kMaxKey;
  return static_cast<uint64_t>(t) + 1;
}

void TimerWheel::Insert(int32_t id, double when) {
  if (id < 0) return;
  const size_t need = static_cast<size_t>(id) + 1;
  if (need > timers_.size()) timers_.resize(std::max(need, timers_.size() * 2), Timer{0, 0});
  Timer& t = timers_[id];
  if (t.live) Cancel(id);  // the JS side never does this; keep the table consistent anyway
  t.gen++;
  t.live = 1;
  ++size_;
  Place(Item{when, next_seq_++, id, t.gen});
}

void TimerWheel::Cancel(int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= timers_.size()) return;
  Timer& t = timers_[id];
  if (!t.live) return;
  t.live = 0;
  t.gen++;  // its item is garbage now
  --size_;
  ++garbage_;
  if (garbage_ > kMinSweep && garbage_ > size_) Sweep();
}

void TimerWheel::Place(const Item& item) {
  const uint64_t key = KeyOf(item.when);
  if (key <= elapsed_) {
    lists_[kExpiredList].push_back(item);
    return;
  }
  // The highest digit in which key and elapsed differ names the level; or-ing the slot mask
  // puts keys within the current level-0 rotation on level 0.
  const unsigned level = HighestBit((elapsed_ ^ key) | kSlotMask) / kSlotBits;
  if (level >= kLevels) {
    lists_[kOverflowList].push_back(item);
    return;
  }
  const unsigned slot = static_cast<unsigned>(key >> (level * kSlotBits)) & kSlotMask;
  lists_[level * kSlots + slot].push_back(item);
  occupied_[level] |= uint64_t{1} << slot;
}

bool TimerWheel::NextExpiration(Expiration* out) const {
  for (unsigned level = 0; level < kLevels; ++level) {
    const uint64_t occupied = occupied_[level];
    if (occupied == 0) continue;
    // Every occupied slot is ahead of elapsed's digit in this rotation (see Place), so the
    // first one above that digit is this level's next expiry, and the lowest such level wins.
    const unsigned digit = static_cast<unsigned>(elapsed_ >> (level * kSlotBits)) & kSlotMask;
    const uint64_t ahead = digit == kSlotMask ? 0 : occupied & (~uint64_t{0} << (digit + 1));
    if (ahead == 0) continue;
    const unsigned slot = LowestBit(ahead);
    out->list = static_cast<int32_t>(level * kSlots + slot);
    out->deadline = (elapsed_ & ~(LevelSpan(level) - 1)) + slot * SlotSpan(level);
    return true;
  }
  if (!lists_[kOverflowList].empty()) {
    // Overflowed keys are all past the top level's rotation: look again when the next starts.
    out->list = kOverflowList;
    out->deadline = (elapsed_ | ((uint64_t{1} << kWheelBits) - 1)) + 1;
    return true;
  }
  return false;
}

uint64_t TimerWheel::NextDeadline() const {
  if (size_ == 0) return UINT64_MAX;
  if (!lists_[kExpiredList].empty()) return elapsed_;
  Expiration e;
  return NextExpiration(&e) ? e.deadline : UINT64_MAX;
}

void TimerWheel::Take(int32_t list) {
  // Swapping keeps both vectors' capacity: slots do not reallocate as they refill.
  taken_.clear();
  taken_.swap(lists_[list]);
  if (list < kExpiredList) occupied_[list / kSlots] &= ~(uint64_t{1} << (list % kSlots));
}

void TimerWheel::Fire(std::vector<Item>& items, std::vector<int32_t>& out) {
  if (items.size() > 1) {
    std::sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
      return x.when < y.when || (x.when == y.when && x.seq < y.seq);
    });
  }
  for (const Item& item : items) {
    Timer& t = timers_[item.id];
    if (t.gen != item.gen) {
      --garbage_;  // cancelled (and maybe reused) since it was placed
      continue;
    }
    t.live = 0;
    --size_;
    out.push_back(item.id);
  }
}

void TimerWheel::Advance(uint64_t now, std::vector<int32_t>& out) {
  if (!lists_[kExpiredList].empty()) {
    Take(kExpiredList);
    Fire(taken_, out);
  }
  Expiration exp;
  while (NextExpiration(&exp) && exp.deadline <= now) {
    elapsed_ = exp.deadline;
    Take(exp.list);
    fired_.clear();
    for (const Item& item : taken_) {
      if (KeyOf(item.when) <= elapsed_) {
        fired_.push_back(item);
      } else {
        Place(item);  // drops to a lower level (or, from overflow, into the levels)
      }
    }
    Fire(fired_, out);
  }
  // Safe: nothing left is due by `now`, and every slot stays ahead of it (see Place).
  if (now > elapsed_) elapsed_ = now;
  if (size_ == 0 && garbage_ > 0) Sweep();
}

void TimerWheel::Sweep() {
  for (int32_t list = 0; list < kLists; ++list) {
    std::vector<Item>& items = lists_[list];
    if (items.empty()) continue;
    items.erase(std::remove_if(items.begin(), items.end(),
                               [this](const Item& item) { return timers_[item.id].gen != item.gen; }),
                items.end());
    if (items.empty() && list < kExpiredList) occupied_[list / kSlots] &= ~(uint64_t{1} << (list % kSlots));
  }
  garbage_ = 0;
}

}  // namespace aloop
