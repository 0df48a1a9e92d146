// Checks the timer wheel against a reference model (an ordered set) in virtual time: random
// inserts (past, sub-tick, ms, hours, decades, Infinity, exact ties), cancels with id reuse,
// and advances of every size. Every Advance must return exactly the timers whose key is due, in
// (when, seq) order. Run by test/native.test.ts: c++ -std=c++17 this.cc ../timer_wheel.cc.
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "../timer_wheel.h"

using aloop::TimerWheel;

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  std::mt19937_64 rng(42);
  size_t checked = 0;
  for (int round = 0; round < rounds; round++) {
    double now = 1000.0 + static_cast<double>(rng() % 100000) / 7.0;
    TimerWheel wheel(static_cast<uint64_t>(now * 1e6));
    std::set<std::tuple<double, uint64_t, int>> model;
    std::map<int, std::pair<double, uint64_t>> live;
    std::vector<int> free_ids;
    int next_id = 0;
    uint64_t seq = 0;
    for (int step = 0; step < 3000; step++) {
      const int op = static_cast<int>(rng() % 10);
      if (rng() % 100 == 0) {
        // A burst of timers cancelled at once: garbage outnumbers live timers (the sweep).
        std::vector<int> burst;
        for (int i = 0; i < 1500; i++) {
          const int id = next_id++;
          wheel.Insert(id, now + static_cast<double>(rng() % 5000) / 1e3);
          burst.push_back(id);
        }
        for (int id : burst) {
          wheel.Cancel(id);
          free_ids.push_back(id);
        }
      } else if (op < 5) {
        int id;
        if (!free_ids.empty() && rng() % 2) {
          id = free_ids.back();
          free_ids.pop_back();
        } else {
          id = next_id++;
        }
        double when;
        switch (rng() % 7) {
          case 0: when = now - static_cast<double>(rng() % 1000) / 1e3; break;
          case 1: when = now + static_cast<double>(rng() % 100) / 1e6; break;
          case 2: when = now + static_cast<double>(rng() % 100000) / 1e6; break;
          case 3: when = now + static_cast<double>(rng() % 1000000) / 1e3; break;
          case 4: when = now + static_cast<double>(rng() % 4) * 1e-3; break;  // exact ties
          case 5: when = now + static_cast<double>(rng() % 100) * 1e7; break;   // past the top level
          default: when = rng() % 20 == 0 ? INFINITY : now + 0.5; break;
        }
        wheel.Insert(id, when);
        model.insert({when, seq, id});
        live[id] = {when, seq};
        seq++;
      } else if (op < 7 && !live.empty()) {
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng() % live.size()));
        const int id = it->first;
        model.erase({it->second.first, it->second.second, id});
        live.erase(it);
        wheel.Cancel(id);
        free_ids.push_back(id);
      } else {
        const int k = static_cast<int>(rng() % 5);
        now += k == 0 ? 0 : k == 1 ? static_cast<double>(rng() % 100) / 1e6 : k == 2 ? static_cast<double>(rng() % 10000) / 1e6
               : k == 3 ? static_cast<double>(rng() % 100000) / 1e3 : static_cast<double>(rng() % 1000) * 1e7;
        const uint64_t tick = static_cast<uint64_t>(now * 1e6);
        std::vector<int32_t> got;
        wheel.Advance(tick, got);
        std::vector<int32_t> want;
        for (auto it = model.begin(); it != model.end() && TimerWheel::KeyOf(std::get<0>(*it)) <= tick;) {
          const int id = std::get<2>(*it);
          want.push_back(id);
          live.erase(id);
          free_ids.push_back(id);
          it = model.erase(it);
        }
        if (got != want) {
          std::printf("FAIL round %d step %d: %zu timers fired, %zu expected\n", round, step, got.size(), want.size());
          return 1;
        }
        checked += got.size();
      }
      if (wheel.size() != model.size()) {
        std::printf("FAIL round %d step %d: size %zu, expected %zu\n", round, step, wheel.size(), model.size());
        return 1;
      }
    }
  }
  std::printf("ok %zu timers fired in order\n", checked);
  return 0;
}
