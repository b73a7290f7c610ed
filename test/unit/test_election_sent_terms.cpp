// The terms this process sent (election/sent_terms.h): a record is ours only if it carries an
// acquireTime we sent, and our renewal counts only while the observed record is ours.
#include <doctest/doctest.h>

#include <chrono>

#include "election/sent_terms.h"

using namespace std::chrono_literals;
using le::election::BootTime;
using le::election::SendTime;
using le::election::SentTerms;
using le::election::WallClockTime;

namespace {

const WallClockTime wall0{1'700'000'000s};
const BootTime boot0{100h};

}  // namespace

TEST_CASE("a new term's record names us, with acquire and renew time now, and is remembered") {
  SentTerms terms("a");
  const auto record = terms.start(7, 15s, wall0);
  CHECK(record.holder_identity == "a");
  CHECK(record.lease_duration == 15s);
  CHECK(record.acquire_time == le::util::to_micro(wall0));
  CHECK(record.renew_time == record.acquire_time);
  CHECK(record.lease_transitions == 7);
  const SentTerms::Term* term = terms.find(record);
  REQUIRE(term);
  CHECK(term->number == 1);
  CHECK(term == &terms.latest());
  CHECK(terms.find(terms.start(8, 15s, wall0 + 1s))->number == 2);  // never reused
}

TEST_CASE("a record is a sent term only under our identity and with an acquireTime we sent") {
  SentTerms terms("a");
  auto record = terms.start(1, 15s, wall0);
  SentTerms others("b");
  CHECK_FALSE(terms.find(others.start(1, 15s, wall0)));  // the same acquireTime, another holder
  auto earlier_incarnation = record;
  earlier_incarnation.acquire_time = le::util::to_micro(wall0 - 1h);
  CHECK_FALSE(terms.find(earlier_incarnation));
  auto no_acquire_time = record;
  no_acquire_time.acquire_time.reset();
  CHECK_FALSE(terms.find(no_acquire_time));
}

TEST_CASE("only the last kRememberedTerms terms are remembered") {
  SentTerms terms("a");
  const auto first = terms.start(0, 15s, wall0);
  for (std::size_t i = 1; i < SentTerms::kRememberedTerms; ++i) terms.start(0, 15s, wall0 + i * 1s);
  CHECK(terms.find(first));
  terms.start(0, 15s, wall0 + 1h);
  CHECK_FALSE(terms.find(first));  // forgotten: it would only be waited out
}

TEST_CASE("the renewal counts only while the observed record is ours") {
  SentTerms terms("a");
  const auto record = terms.start(1, 15s, wall0);
  terms.latest().leading_not_before = boot0 + 10s;
  CHECK_FALSE(terms.ours());

  terms.adopt(terms.find(record));
  terms.renewed(SendTime{boot0, wall0});
  CHECK(terms.ours());
  CHECK(terms.leading_not_before() == boot0 + 10s);
  REQUIRE(terms.last_renewal());
  CHECK(terms.last_renewal()->boot == boot0);

  SUBCASE("someone else's record: the renewal and the wait after a create are dropped") {
    terms.adopt(nullptr);
    CHECK_FALSE(terms.ours());
    CHECK_FALSE(terms.last_renewal());
    CHECK_FALSE(terms.leading_not_before());
  }
  SUBCASE("released or gone: the renewal is dropped, the wait stays published") {
    terms.disown();
    CHECK_FALSE(terms.ours());
    CHECK_FALSE(terms.last_renewal());
    CHECK(terms.leading_not_before() == boot0 + 10s);
  }
  SUBCASE("a lost write: the renewal alone is forgotten") {
    terms.forget_renewal();
    CHECK(terms.ours());
    CHECK_FALSE(terms.last_renewal());
  }
}
