#include <string>
#include <vector>

#include "check.h"
#include "fakes.h"
#include "ring.h"

using namespace sy;

static std::string payload(uint32_t i) { return "{\"ts\":" + std::to_string(1772323200000LL + i) + ",\"seq\":" + std::to_string(i) + "}"; }

// Every unacknowledged record, oldest first.
static std::vector<std::string> unacked(Ring& r) {
  std::vector<std::string> out;
  uint32_t from = r.headSlot();
  RecordRef ref;
  uint8_t ch;
  char buf[kMaxRecord];
  uint16_t len;
  while (r.nextAt(from, ref, ch, buf, len)) {
    out.emplace_back(buf, len);
    from = r.next(ref.slot);
  }
  return out;
}

static bool add(Ring& r, uint32_t i, RecordRef* ref = nullptr, uint32_t* dropped = nullptr) {
  std::string p = payload(i);
  RecordRef x;
  uint32_t d = 0;
  bool ok = r.append(0, p.data(), static_cast<uint16_t>(p.size()), x, d);
  if (ref) *ref = x;
  if (dropped) *dropped = d;
  return ok;
}

TEST(ring_keeps_order_and_forgets_only_what_is_acknowledged) {
  RamFlash f(4 * 4096, 4096);
  Ring r(f);
  CHECK(r.mount());
  CHECK_EQ(r.capacity(), uint32_t(24));
  RecordRef refs[5];
  for (uint32_t i = 0; i < 5; i++) CHECK(add(r, i, &refs[i]));
  CHECK_EQ(r.unacked(), uint32_t(5));
  CHECK(r.ack(refs[1]));  // out of order: a PUBACK may come before an older one's
  CHECK(r.ack(refs[0]));
  CHECK(!r.ack(refs[0]));
  std::vector<std::string> want = {payload(2), payload(3), payload(4)};
  CHECK(unacked(r) == want);
  Ring again(f);  // a reboot
  CHECK(again.mount());
  CHECK(unacked(again) == want);
  CHECK_EQ(again.unacked(), uint32_t(3));
  CHECK(add(again, 5));
  want.push_back(payload(5));
  CHECK(unacked(again) == want);
  CHECK(!f.setsBits);
}

TEST(ring_full_drops_the_oldest_sector_and_counts_it) {
  RamFlash f(3 * 4096, 4096);  // 24 slots, 8 per sector
  Ring r(f);
  CHECK(r.mount());
  uint32_t droppedTotal = 0;
  for (uint32_t i = 0; i < 40; i++) {
    uint32_t d = 0;
    CHECK(add(r, i, nullptr, &d));
    droppedTotal += d;
  }
  std::vector<std::string> got = unacked(r);
  CHECK_EQ(droppedTotal + static_cast<uint32_t>(got.size()), uint32_t(40));
  CHECK(got.size() >= r.capacity());
  CHECK_EQ(got.back(), payload(39));
  for (size_t k = 1; k < got.size(); k++) CHECK(got[k] > got[k - 1] || got[k].size() > got[k - 1].size());
  Ring again(f);
  CHECK(again.mount());
  CHECK(unacked(again) == got);
  CHECK(!f.setsBits);
}

TEST(ring_wraps_many_times_when_acknowledged) {
  RamFlash f(2 * 4096, 4096);
  Ring r(f);
  CHECK(r.mount());
  for (uint32_t i = 0; i < 500; i++) {
    RecordRef ref;
    uint32_t d = 0;
    CHECK(add(r, i, &ref, &d));
    CHECK_EQ(d, uint32_t(0));
    if (i >= 3) {
      RecordRef old;
      uint8_t ch;
      char buf[kMaxRecord];
      uint16_t len;
      CHECK(r.nextAt(r.headSlot(), old, ch, buf, len));
      CHECK(r.ack(old));
    }
  }
  std::vector<std::string> want = {payload(497), payload(498), payload(499)};
  CHECK(unacked(r) == want);
  Ring again(f);
  CHECK(again.mount());
  CHECK(unacked(again) == want);
}

TEST(ring_survives_a_power_cut_at_every_byte) {
  // The scenario: fill past a wrap with acknowledgements on the way. Run it with the flash dying
  // after n programmed bytes, for every n, then mount what is left.
  const uint32_t kRecords = 30;
  auto scenario = [&](RamFlash& f, std::vector<int>& committed, std::vector<int>& acked, int& maybe) {
    Ring r(f);
    if (!r.mount()) return;
    std::vector<RecordRef> refs;
    for (uint32_t i = 0; i < kRecords; i++) {
      RecordRef ref;
      uint32_t d = 0;
      if (!add(r, i, &ref, &d)) return;
      committed.push_back(static_cast<int>(i));
      refs.push_back(ref);
      if (i % 3 == 2) {  // acknowledge the oldest two
        for (int k = 0; k < 2; k++) {
          RecordRef old;
          uint8_t ch;
          char buf[kMaxRecord];
          uint16_t len;
          if (!r.nextAt(r.headSlot(), old, ch, buf, len)) break;
          int which = -1;
          for (size_t j = 0; j < refs.size(); j++) if (refs[j].id == old.id) which = static_cast<int>(j);
          maybe = which;  // cut during its acknowledgement: it may be kept or not
          if (!r.ack(old)) return;
          maybe = -1;
          acked.push_back(which);
        }
      }
    }
  };
  RamFlash whole(3 * 4096, 4096);
  std::vector<int> c0, a0;
  int m0 = -1;
  scenario(whole, c0, a0, m0);
  CHECK_EQ(c0.size(), size_t(kRecords));
  long total = 0;
  {
    RamFlash counting(3 * 4096, 4096);
    counting.budget = 1L << 40;
    std::vector<int> c, a;
    int m = -1;
    scenario(counting, c, a, m);
    total = (1L << 40) - counting.budget;
  }
  int cuts = 0;
  for (long n = 0; n <= total; n += 1) {
    RamFlash f(3 * 4096, 4096);
    f.budget = n;
    std::vector<int> committed, acked;
    int maybe = -1;
    scenario(f, committed, acked, maybe);
    f.crashed = false;
    f.budget = -1;
    Ring after(f);
    CHECK(after.mount());
    std::vector<std::string> got = unacked(after);
    // Every record committed and not acknowledged is there (the one being acknowledged at the
    // cut may be either), in order, intact; nothing else is (the one being appended at the cut
    // may be there if its body was whole).
    std::vector<std::string> must, may;
    for (int i : committed) {
      bool wasAcked = false;
      for (int k : acked) wasAcked |= k == i;
      if (!wasAcked && i != maybe) must.push_back(payload(static_cast<uint32_t>(i)));
    }
    size_t gi = 0;
    bool ordered = true;
    for (const std::string& m : must) {
      while (gi < got.size() && got[gi] != m) gi++;
      if (gi == got.size()) { ordered = false; break; }
    }
    if (!ordered) {
      check::fail(__FILE__, __LINE__, "cut at byte " + std::to_string(n) + ": a committed record is missing or out of order");
      break;
    }
    if (got.size() > must.size() + 2) {
      check::fail(__FILE__, __LINE__, "cut at byte " + std::to_string(n) + ": records that were never committed");
      break;
    }
    bool allKnown = true;
    for (const std::string& g : got) {
      bool known = false;
      for (uint32_t i = 0; i < kRecords + 1; i++) known |= g == payload(i);
      allKnown &= known;
    }
    if (!allKnown) {
      check::fail(__FILE__, __LINE__, "cut at byte " + std::to_string(n) + ": a torn record was read");
      break;
    }
    // And the ring goes on working after the cut.
    std::vector<std::string> more = add(after, 1000) ? unacked(after) : std::vector<std::string>();
    if (more.empty() || more.back() != payload(1000)) {
      check::fail(__FILE__, __LINE__, "cut at byte " + std::to_string(n) + ": the ring does not go on after it");
      break;
    }
    cuts++;
  }
  CHECK(cuts > 10000);
  std::printf("     a power cut at each of %d programmed bytes\n", cuts);
}
